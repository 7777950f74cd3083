// Map pages (Leaflet): region boundaries, buildings, key places, tickets, devices and alerts as vector layers on a
// plain background, with a tile layer underneath only when one is configured. Every map repeats
// a list or table on its page, which stays the accessible version; the map adds the picture.
// Data comes as GeoJSON from the page's own endpoints (data-sources) or inline (json_script).
(function () {
  "use strict";
  var L = window.L;

  function text(config, key, fallback) {
    return (config.text && config.text[key]) || fallback || key;
  }

  function create(box, options) {
    options = options || {};
    var map = L.map(box, { zoomSnap: 0.25, keyboard: true, attributionControl: Boolean(options.tiles) });
    if (options.tiles) {
      L.tileLayer(options.tiles, { maxZoom: 19, attribution: options.attribution || "" }).addTo(map);
      box.classList.add("has-tiles");
    }
    var lat = parseFloat(options.lat), lng = parseFloat(options.lng);
    map.setView([isNaN(lat) ? 28.2282 : lat, isNaN(lng) ? 112.9388 : lng], 15);
    return map;
  }

  function link(href, label) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    return a;
  }

  function para(content, cls) {
    var p = document.createElement("p");
    if (cls) { p.className = cls; }
    if (typeof content === "string") { p.textContent = content; } else { p.appendChild(content); }
    return p;
  }

  function popup(config, props) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var title = document.createElement("strong");
    title.textContent = props.label || props.name || "";
    box.appendChild(title);
    if (props.kind === "building" && props.houses !== undefined) {
      box.appendChild(para(text(config, "houses").replace("%s", props.houses)));
    }
    if (props.state_label) { box.appendChild(para(props.state_label, "state state-" + props.state)); }
    if (props.kind_label) { box.appendChild(para(props.kind_label)); }
    if (props.kind === "region" && props.count !== undefined) {
      box.appendChild(para(text(config, "open").replace("%s", props.count)));
    }
    if (props.outside) { box.appendChild(para(text(config, "outside"), "map-warning")); }
    if (props.url) { box.appendChild(para(link(props.url, text(config, "open_" + props.kind, text(config, "details"))))); }
    return box;
  }

  var SHAPES = { green: "●", yellow: "▲", red: "■", done: "✓" };

  function pin(config, feature, latlng) {
    var p = feature.properties;
    var cls = "map-pin pin-" + p.kind + (p.state ? " pin-" + p.state : "") + (p.outside ? " is-outside" : "");
    var mark = p.kind === "ticket" ? (SHAPES[p.state] || "●") : (p.kind === "place" ? "◆" : (p.kind === "alert" ? "!" : ""));
    var label = (p.label || p.name || "") + (p.state_label ? " · " + p.state_label : "") +
      (p.outside ? " · " + text(config, "outside") : "");
    var marker = L.marker(latlng, {
      icon: L.divIcon({ className: cls, html: "<span aria-hidden=\"true\">" + mark + "</span>", iconSize: null }),
      keyboard: true, title: label, riseOnHover: true
    });
    marker.on("add", function () {
      var el = marker.getElement();
      if (el) { el.setAttribute("aria-label", label); }
    });
    // Leaflet opens a bound popup on Enter; a button also answers the space bar.
    marker.on("keypress", function (event) {
      if (event.originalEvent && event.originalEvent.key === " ") { event.originalEvent.preventDefault(); marker.openPopup(); }
    });
    return marker;
  }

  function draw(map, data, config) {
    config = config || {};
    var kinds = config.kinds || null;
    var regions = L.featureGroup(), points = L.featureGroup();
    (data.features || []).forEach(function (feature) {
      var p = feature.properties || {};
      if (kinds && kinds.indexOf(p.kind) < 0) { return; }
      if (p.kind === "warning") {
        // A warning's area (a region's outline or the zone drawn): coloured by level, over the rest.
        var area = L.geoJSON(feature, { style: { className: "map-warning-area warning-" + p.color, weight: 3 } });
        area.bindTooltip(p.label || "", { sticky: true });
        area.bindPopup(popup(config, p));
        regions.addLayer(area);
      } else if (p.kind === "region") {
        var cls = "map-region level-" + p.level + (p.band !== undefined ? " heat-" + p.band : "") +
          (p.focus ? " is-focus" : "");
        var layer = L.geoJSON(feature, { style: { className: cls, weight: p.focus ? 3 : 1.5 }, interactive: Boolean(config.regionPopups) });
        if (config.regionPopups) { layer.bindPopup(popup(config, p)); }
        layer.bindTooltip(p.name + (p.count !== undefined ? ": " + p.count : ""), { sticky: true });
        regions.addLayer(layer);
      } else if (feature.geometry && feature.geometry.type === "Point") {
        var c = feature.geometry.coordinates;
        if (config.passive) {
          // Only a picture (the report page: a tap anywhere sets the point, marks must not catch it).
          points.addLayer(L.circleMarker([c[1], c[0]], { radius: 4, interactive: false, className: "map-dot" }));
          return;
        }
        var marker = pin(config, feature, [c[1], c[0]]);
        marker.bindPopup(popup(config, p));
        points.addLayer(marker);
      }
    });
    regions.addTo(map);
    points.addTo(map);
    return { regions: regions, points: points };
  }

  function fit(map, groups) {
    var bounds = null;
    groups.forEach(function (g) {
      if (g.regions.getLayers().length) { bounds = bounds ? bounds.extend(g.regions.getBounds()) : g.regions.getBounds(); }
    });
    if (!bounds) {
      groups.forEach(function (g) {
        if (g.points.getLayers().length) { bounds = bounds ? bounds.extend(g.points.getBounds()) : g.points.getBounds(); }
      });
    }
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12], maxZoom: 18 }); }
  }

  // The tickets of a source, as a list for those who cannot use the map (the registry's map
  // gets them from the grid app's endpoint, so it cannot render them on the server).
  function listTickets(config, data, target) {
    var list = document.getElementById(target);
    if (!list) { return; }
    var items = (data.features || []).filter(function (f) { return f.properties && f.properties.kind === "ticket"; });
    list.textContent = "";
    items.forEach(function (f) {
      var p = f.properties;
      var li = document.createElement("li");
      li.className = "row";
      li.appendChild(link(p.url, p.label));
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = p.state_label + (p.outside ? " · " + text(config, "outside") : "");
      li.appendChild(meta);
      list.appendChild(li);
    });
    var empty = document.getElementById(target + "-empty");
    if (empty) { empty.hidden = items.length > 0; }
  }

  // Another app's layer (a source with "layer") is shown or hidden by its checkbox
  // (input[data-map-layer]), with the list of its marks on the page (the box's aria-controls).
  function bindToggles(map, layers) {
    document.querySelectorAll("input[data-map-layer]").forEach(function (box) {
      function apply() {
        var group = layers[box.getAttribute("data-map-layer")];
        if (group) {
          [group.regions, group.points].forEach(function (g) { if (box.checked) { g.addTo(map); } else { map.removeLayer(g); } });
        }
        var list = document.getElementById(box.getAttribute("aria-controls") || "");
        if (list) { list.hidden = !box.checked; }
      }
      box.addEventListener("change", apply);
      apply();
    });
  }

  function start() {
    document.querySelectorAll("[data-map-config]").forEach(function (box) {
      var source = document.getElementById(box.getAttribute("data-map-config"));
      if (!source || !L) { return; }
      var config = JSON.parse(source.textContent);
      box.hidden = false;
      var map = create(box, config);
      var groups = [], layers = {};
      var pending = (config.sources || []).map(function (s) {
        return fetch(s.url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (data) {
            var group = draw(map, data, { kinds: s.kinds, text: config.text, regionPopups: config.regionPopups });
            groups.push(group);
            if (s.layer) { layers[s.layer] = group; }
            if (s.list) { listTickets(config, data, s.list); }
          })
          .catch(function () { /* the lists on the page still hold everything */ });
      });
      Promise.all(pending).then(function () {
        fit(map, groups);
        bindToggles(map, layers);
        var status = document.getElementById(box.getAttribute("data-map-status") || "");
        if (status) { status.textContent = text(config, "ready", ""); }
      });
    });
  }

  window.ShequMap = { create: create, draw: draw, fit: fit };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
