// Resident pages: category chips, the place choice, "use my location" and the optional map pin.
// Only extras: the report form works without JavaScript (and without a map).
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function markChips() {
    var select = byId("id_category");
    document.querySelectorAll(".chip[data-category]").forEach(function (chip) {
      chip.setAttribute("aria-pressed", select && chip.getAttribute("data-category") === select.value ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var chip = event.target.closest ? event.target.closest(".chip[data-category]") : null;
    var select = byId("id_category");
    if (!chip || !select) { return; }
    select.value = chip.getAttribute("aria-pressed") === "true" ? "" : chip.getAttribute("data-category");
    markChips();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_category") { markChips(); }
    if (event.target.name === "place") { showPlace(); }
  });
  document.addEventListener("htmx:afterSwap", markChips);

  // The address and the map only matter for "somewhere else".
  function showPlace() {
    var home = document.querySelector("input[name=place][value=home]");
    var elsewhere = byId("elsewhere");
    if (home && elsewhere) { elsewhere.hidden = home.checked; }
  }

  var marker = null;
  var map = null;
  function setPoint(lat, lng, message) {
    var latInput = byId("id_latitude");
    var lngInput = byId("id_longitude");
    if (!latInput || !lngInput) { return; }
    latInput.value = lat.toFixed(6);
    lngInput.value = lng.toFixed(6);
    var status = byId("point-status");
    if (status) { status.textContent = message; }
    if (map && window.L) {
      if (marker) { marker.setLatLng([lat, lng]); } else { marker = window.L.circleMarker([lat, lng], {radius: 10}).addTo(map); }
      map.setView([lat, lng]);
    }
  }

  function setUp() {
    showPlace();
    var status = byId("point-status");
    var button = document.querySelector("[data-geolocate]");
    if (button && navigator.geolocation) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          setPoint(pos.coords.latitude, pos.coords.longitude, button.getAttribute("data-done") || "✓");
        }, function () {
          if (status) { status.textContent = button.getAttribute("data-failed") || "×"; }
        }, {enableHighAccuracy: true, timeout: 10000});
      });
    }
    var box = byId("report-map");
    if (box && window.L && window.ShequMap) {
      // The reporting area's boundaries and buildings on a plain background (core/maps.js),
      // over tiles only when a tile server is configured.
      box.hidden = false;
      var lat = parseFloat(byId("id_latitude").value) || parseFloat(box.getAttribute("data-lat"));
      var lng = parseFloat(byId("id_longitude").value) || parseFloat(box.getAttribute("data-lng"));
      map = window.ShequMap.create(box, {
        tiles: box.getAttribute("data-tiles"), attribution: box.getAttribute("data-attribution"), lat: lat, lng: lng
      });
      var source = byId("report-map-data");
      if (source) {
        var drawn = window.ShequMap.draw(map, JSON.parse(source.textContent), { passive: true });
        if (!byId("id_latitude").value) { window.ShequMap.fit(map, [drawn]); }
      }
      if (byId("id_latitude").value) { setPoint(lat, lng, status ? status.textContent : ""); }
      map.on("click", function (event) {
        setPoint(event.latlng.lat, event.latlng.lng, box.getAttribute("data-done") || "✓");
      });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setUp); } else { setUp(); }
})();
