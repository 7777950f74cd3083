// "Choose all" for the department's bulk actions; the page works without it.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input[data-select-all]")) { return; }
  var name = box.getAttribute("data-select-all");
  document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (each) {
    each.checked = box.checked;
  });
});
