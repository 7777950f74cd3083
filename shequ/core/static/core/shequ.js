// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
});

// Uploads over the platform's limit are refused before they are read (a 413 page, and what was typed
// is gone): say so while the form is still here. The server still checks.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var maxMb = Number(document.body.getAttribute("data-max-mb"));
  if (!maxMb || !form.querySelector || form.enctype !== "multipart/form-data") { return; }
  var total = 0;
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
  });
  var notice = form.querySelector(".size-error");
  if (total <= maxMb * 1024 * 1024) {
    if (notice) { notice.remove(); }
    return;
  }
  event.preventDefault();
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "error size-error";
    notice.setAttribute("role", "alert");
    var button = form.querySelector("[type=submit]");
    var before = button ? button.closest("p") || button : null;
    if (before) { before.parentNode.insertBefore(notice, before); } else { form.appendChild(notice); }
  }
  notice.textContent = document.body.getAttribute("data-too-big");
});
