// Charts of the statistics page, drawn with ECharts from the JSON the page carries
// (#stats-charts). Each chart repeats a table on the page, which stays the accessible version.
(function () {
  "use strict";
  function start() {
    var source = document.getElementById("stats-charts");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var charts = [];
    var palette = ["#1f5f99", "#2e8540", "#c05600", "#6f42c1", "#a61b1b", "#00798c", "#8a6d00", "#4f5761", "#b03a7a", "#335c00"];
    function draw(name, option) {
      var box = document.querySelector('[data-chart="' + name + '"]');
      if (!box) { return; }
      var chart = window.echarts.init(box, null, { renderer: "svg" });
      option.color = palette;
      option.animation = false;
      chart.setOption(option);
      charts.push(chart);
    }
    draw("status", {
      tooltip: { trigger: "item" },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["40%", "68%"], center: ["50%", "42%"], data: data.status,
                 label: { formatter: "{b}: {c}" } }]
    });
    var regions = data.regions;
    draw("regions", {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { bottom: 0, data: regions.names },
      grid: { left: 8, right: 16, top: 16, bottom: 40, containLabel: true },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: regions.labels, inverse: true },
      series: [
        { name: regions.names[0], type: "bar", data: regions.response },
        { name: regions.names[1], type: "bar", data: regions.resolve }
      ]
    });
    // The choropleth of the "By region" table, from our own boundaries (no map download).
    var shaded = data.regionmap;
    if (shaded) {
      window.echarts.registerMap("shequ-regions", shaded.geojson);
      var labels = {};
      var top = 0;
      shaded.data.forEach(function (d) { labels[d.name] = d.label; top = Math.max(top, d.value); });
      draw("regionmap", {
        tooltip: { trigger: "item", formatter: function (p) { return (labels[p.name] || p.name) + ": " + (p.value || 0); } },
        visualMap: { min: 0, max: Math.max(1, top), left: 8, bottom: 8, calculable: false, text: [String(top), "0"],
                     inRange: { color: ["#fff7ec", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000"] } },
        series: [{ name: shaded.title, type: "map", map: "shequ-regions", roam: false, data: shaded.data,
                   label: { show: shaded.data.length <= 16, fontSize: 11, formatter: function (p) { return labels[p.name] || ""; } },
                   emphasis: { label: { show: true } }, itemStyle: { borderColor: "#4f5761", borderWidth: 1 } }]
      });
    }
    var days = data.days;
    draw("days", {
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: days.names },
      grid: { left: 8, right: 16, top: 16, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: days.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: days.names[0], type: "line", data: days.submitted },
        { name: days.names[1], type: "line", data: days.resolved }
      ]
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
