/* werft UI: draws the charts a page describes in <figure data-chart> and keeps them sized.
   Data: <script type="application/json"> {"x_label": "step", "series": [{"label", "x", "y"}]}.
   Several series are aligned on a common x with uPlot.join. No network access. */
(function () {
  "use strict";
  var COLORS = ["#0b4f8a", "#c2410c", "#15803d", "#7e22ce", "#a1181d", "#0e7490", "#854d0e", "#be185d"];
  var charts = [];

  function draw(figure) {
    if (figure.dataset.drawn) return;
    var script = figure.querySelector('script[type="application/json"]');
    if (!script || typeof uPlot === "undefined") return;
    var spec = JSON.parse(script.textContent);
    if (!spec.series || !spec.series.length) return;
    var tables = spec.series.map(function (s) { return [s.x, s.y]; });
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var series = [{ label: spec.x_label || "step" }];
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5,
                    points: { show: s.x.length < 60 }, spanGaps: true });
    });
    var opts = {
      width: Math.max(280, figure.clientWidth - 4),
      height: parseInt(figure.dataset.height || "260", 10),
      series: series,
      scales: { x: { time: !!spec.time } },
      axes: [{ label: spec.x_label || "" }, {}],
      legend: { live: true },
    };
    figure.dataset.drawn = "1";
    var plot = new uPlot(opts, data, figure);
    charts.push([figure, plot]);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure[data-chart]").forEach(draw);
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts = charts.filter(function (pair) { return document.body.contains(pair[0]); });
      charts.forEach(function (pair) {
        pair[1].setSize({ width: Math.max(280, pair[0].clientWidth - 4), height: pair[1].height });
      });
    }, 150);
  });
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });

  /* The compare button says how many runs are ticked; it needs two. */
  document.addEventListener("change", function (e) {
    if (!e.target.matches || !e.target.matches("input[name=run]")) return;
    var form = e.target.form;
    var n = form.querySelectorAll("input[name=run]:checked").length;
    var button = form.querySelector("button[data-compare]");
    if (button) {
      button.disabled = n < 2;
      var count = button.querySelector("[data-count]");
      if (count) count.textContent = n;
    }
  });
})();
