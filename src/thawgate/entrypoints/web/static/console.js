// Thawgate console: renders the dashboard's charts from the JSON the server embedded.
(function () {
  "use strict";
  var palette = ["#2f6f4f", "#b23b3b", "#8a8f98", "#c28a2c", "#6b4fa3", "#d0643a", "#3b6fb2"];
  function draw(id, spec, type, stacked) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) { return; }
    new window.Chart(canvas, {
      type: type,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: palette[i % palette.length] };
        })
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }
  function init() {
    var node = document.getElementById("chart-data");
    if (!node) { return; }
    var d = JSON.parse(node.textContent);
    draw("chart-per-day", d.perDay, "bar", true);
    draw("chart-decision", d.decision, "bar", false);
    draw("chart-per-team", d.perTeam, "bar", true);
    draw("chart-executions", d.executions, "bar", false);
    if (d.badThaws) { draw("chart-bad-thaws", d.badThaws, "bar", false); }
    document.body.setAttribute("data-charts", "drawn");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
