// Call-out pages: the message's live character count (it goes by SMS), the answer page's
// "my position" button, and the roll-call map redrawn each time htmx brings fresh counts.
(function () {
  "use strict";

  function charCount() {
    document.querySelectorAll("[data-count-for]").forEach(function (out) {
      var box = document.getElementById(out.getAttribute("data-count-for"));
      if (!box) { return; }
      var max = box.getAttribute("data-count") || box.getAttribute("maxlength") || "400";
      var template = out.getAttribute("data-template") || "{n} / {max}";
      function show() {
        var n = box.value.length;
        out.textContent = template.replace("{n}", n).replace("{max}", max);
        out.classList.toggle("over", n > parseInt(max, 10));
      }
      box.addEventListener("input", show);
      show();
    });
  }

  function geolocate() {
    var button = document.querySelector("[data-geolocate]");
    if (!button || !navigator.geolocation) { return; }
    var input = document.getElementById(button.getAttribute("data-target"));
    var status = document.getElementById("geo-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var where = (button.getAttribute("data-label") || "") + " " +
          pos.coords.latitude.toFixed(5) + "," + pos.coords.longitude.toFixed(5);
        if (input) { input.value = (input.value ? input.value + " " : "") + where.trim(); }
        if (status) { status.textContent = button.getAttribute("data-done") || ""; }
      }, function () {
        if (status) { status.textContent = button.getAttribute("data-failed") || ""; }
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }

  // The roll-call map: core/maps.js draws it once from its source; after each refresh of the
  // counts, fetch the grids again and repaint them (same colours, new shares).
  function rollcallMap() {
    var box = document.getElementById("map");
    var source = document.getElementById("map-config");
    if (!box || !source || !document.getElementById("rollcall") || !window.L || !window.ShequMap) { return; }
    var config = JSON.parse(source.textContent);
    var url = config.sources && config.sources[0] && config.sources[0].url;
    if (!url) { return; }
    // core/maps.js owns the first drawing; take the box over with our own map so it can be redrawn.
    var map = null, drawn = null;
    function redraw(fitIt) {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !map) { return; }
          if (drawn) { map.removeLayer(drawn.regions); map.removeLayer(drawn.points); }
          drawn = window.ShequMap.draw(map, data, { text: config.text, regionPopups: true });
          if (fitIt) { window.ShequMap.fit(map, [drawn]); }
        })
        .catch(function () { /* the table holds everything */ });
    }
    box.hidden = false;
    map = window.ShequMap.create(box, config);
    redraw(true);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target && event.target.id === "rollcall") { redraw(false); }
    });
  }

  // Deferred like core/maps.js but earlier in the page: claim the roll-call's map box before
  // maps.js draws it once and for all.
  var claimed = document.getElementById("map");
  if (claimed && document.getElementById("rollcall")) { claimed.removeAttribute("data-map-config"); }

  function start() {
    charCount();
    geolocate();
    rollcallMap();
  }
  if (document.readyState === "complete") { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
