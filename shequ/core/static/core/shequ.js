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

// --- Error summary (issue 9) ---
// A refused form opens with focus on its error summary (core/admin/_form_errors.html), so a screen
// reader reads what went wrong and one Tab reaches the first link; a link moves focus to its field
// (a fragment link alone would only scroll) and shows the field with its label.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
});
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
  if (!link) { return; }
  var field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) { return; }
  event.preventDefault();
  var closed = field.closest("details:not([open])");
  if (closed) { closed.open = true; }
  var label = document.querySelector("label[for='" + field.id + "']") || field.closest("fieldset") || field;
  label.scrollIntoView();
  field.focus({preventScroll: true});
});
