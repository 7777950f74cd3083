// A warning's area on a map (staff and public pages): its regions' boundaries and the zone drawn,
// on a plain background (core/maps.js). The page lists the area's names as text: the map only
// adds the picture.
(function () {
  "use strict";

  function start() {
    var box = document.getElementById("area-map");
    var L = window.L;
    if (!box || !L || !window.ShequMap) { return; }
    var config = JSON.parse(document.getElementById(box.getAttribute("data-config")).textContent);
    box.hidden = false;
    var map = window.ShequMap.create(box, config);
    var group = window.ShequMap.draw(map, config.regions || { features: [] }, {});
    if (config.zone) {
      var zone = L.geoJSON(config.zone, { style: { className: "map-zone map-zone-" + config.color }, interactive: false });
      group.regions.addLayer(zone);
    }
    window.ShequMap.fit(map, [group]);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
