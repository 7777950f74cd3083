/* 好差评 form: with 1 or 2 stars only the "what went wrong" reasons are offered (the others are
   hidden and not sent); without JavaScript both groups show and the server checks. */
(function () {
  "use strict";
  function setup(form) {
    var good = form.querySelector("[data-reasons=good]");
    if (!good) { return; }
    function update() {
      var chosen = form.querySelector("input[name=stars]:checked");
      var bad = chosen && Number(chosen.value) <= 2;
      good.hidden = !!bad;
      good.querySelectorAll("input").forEach(function (box) { box.disabled = !!bad; });
    }
    form.addEventListener("change", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-gs-rate]").forEach(setup);
  });
})();
