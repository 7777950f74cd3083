// The draft form's zone: drawn on a map of the officer's regions with Leaflet-Geoman, kept as a
// GeoJSON Polygon in the form's text box (which also takes a pasted polygon, the way in for
// those who cannot draw with a pointer). Without JavaScript the text box alone works.
(function () {
  "use strict";

  function start() {
    var box = document.getElementById("draw-map");
    var L = window.L;
    var field = document.getElementById("id_area_polygon");
    if (!box || !field || !L || !window.ShequMap || !L.PM) { return; }
    var config = JSON.parse(document.getElementById(box.getAttribute("data-config")).textContent);
    var text = config.text || {};
    var tools = document.querySelector(".zone-tools");
    var drawButton = document.querySelector("[data-zone-draw]");
    var clearButton = document.querySelector("[data-zone-clear]");
    var status = document.getElementById("zone-status");
    box.hidden = false;
    tools.hidden = false;

    var map = window.ShequMap.create(box, config);
    map.pm.setLang((document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
    map.pm.setGlobalOptions({ allowSelfIntersection: false, snappable: false, pathOptions: { className: "map-zone" } });
    var group = window.ShequMap.draw(map, config.regions || { features: [] }, {});
    window.ShequMap.fit(map, [group]);
    var zone = null;

    function say(message) { status.textContent = message || ""; }

    function save() {
      field.value = zone ? JSON.stringify(zone.toGeoJSON(6).geometry) : "";
      clearButton.hidden = !zone;
      drawButton.hidden = Boolean(zone);
    }

    function keep(layer) {
      if (zone && zone !== layer) { zone.remove(); }
      zone = layer;
      zone.pm.enable({ allowSelfIntersection: false });
      zone.on("pm:edit", save);
      save();
    }

    function fromField() {
      var value;
      try { value = JSON.parse(field.value); } catch (e) { return; }
      if (value && value.type === "Feature") { value = value.geometry; }
      if (!value || value.type !== "Polygon") { return; }
      var layers = L.geoJSON(value, { style: { className: "map-zone" } }).getLayers();
      if (!layers.length) { return; }
      if (zone) { zone.remove(); }
      zone = layers[0].addTo(map);
      zone.pm.enable({ allowSelfIntersection: false });
      zone.on("pm:edit", save);
      clearButton.hidden = false;
      drawButton.hidden = true;
      map.fitBounds(zone.getBounds(), { padding: [12, 12], maxZoom: 18 });
    }

    map.on("pm:create", function (event) {
      keep(event.layer);
      say(text.drawn);
    });
    drawButton.addEventListener("click", function () {
      map.pm.enableDraw("Polygon", { allowSelfIntersection: false, pathOptions: { className: "map-zone" } });
      say(text.drawing);
      box.scrollIntoView({ block: "nearest" });
    });
    clearButton.addEventListener("click", function () {
      map.pm.disableDraw();
      if (zone) { zone.remove(); zone = null; }
      save();
      say(text.cleared);
      drawButton.focus();
    });
    field.addEventListener("change", fromField);
    if (field.value.trim()) { fromField(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
