/* Self-service terminal: the print button, and signing the resident out after two minutes without
   a touch (a notice 20 seconds before); the server forgets them after five minutes anyway. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    var idle = Number(document.body.getAttribute("data-kiosk-idle") || 0);
    var form = document.getElementById("kiosk-signout");
    var note = document.querySelector("[data-kiosk-idle-note]");
    if (!idle || !form) { return; }
    var warnTimer = 0, outTimer = 0;
    function reset() {
      window.clearTimeout(warnTimer);
      window.clearTimeout(outTimer);
      if (note) { note.hidden = true; }
      warnTimer = window.setTimeout(function () { if (note) { note.hidden = false; } }, Math.max(idle - 20, 1) * 1000);
      outTimer = window.setTimeout(function () { form.submit(); }, idle * 1000);
    }
    ["pointerdown", "keydown", "touchstart", "input", "scroll"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    reset();
  });
})();
