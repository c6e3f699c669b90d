/* The Plan panel's speed chart: output tokens per second per device against TPOT as concurrency grows (the
 * serving trade-off curve), and the cost per million output tokens on a second axis. Reads the series the
 * server computed (json_script "plan-speed-data": registry.core.serving.concurrency_curve); computes nothing.
 * Drawn through plan_common.js. */
"use strict";
(function () {
  function number(value, digits) {
    return value.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function draw(data, canvas) {
    const { colour, theme, axis, lineChart } = window.registryPlan;
    const colours = theme();
    const text = colours.text;
    const point = (p, y) => ({ x: p.tpot_ms, y: y, concurrency: p.concurrency, fits: p.fits });
    const fitting = data.points.filter((p) => p.fits);
    const over = data.points.filter((p) => !p.fits);
    const datasets = [
      {
        label: "Output tokens/s per device",
        data: data.points.map((p) => point(p, p.tokens_per_second_per_device)),
        borderColor: colour("--primary", "#79aec8"),
        backgroundColor: colour("--primary", "#79aec8"),
        pointRadius: 4,
        yAxisID: "y",
      },
      {
        label: "Cost per million output tokens ($)",
        data: data.points.map((p) => point(p, p.cost_per_million_output_tokens)),
        borderColor: colour("--body-quiet-color", "#666"),
        backgroundColor: colour("--body-quiet-color", "#666"),
        borderDash: [6, 3],
        pointRadius: 2,
        yAxisID: "cost",
      },
    ];
    if (over.length) {
      datasets.push({
        label: "Does not fit in memory",
        data: over.map((p) => point(p, p.tokens_per_second_per_device)),
        borderColor: colour("--error-fg", "#ba2121"),
        backgroundColor: colour("--body-bg", "#fff"),
        pointStyle: "crossRot",
        pointRadius: 7,
        pointBorderWidth: 2,
        showLine: false,
        yAxisID: "y",
      });
    }
    lineChart(canvas, colours, datasets, {
      parsing: false,
      scales: {
        x: axis(colours, "TPOT (ms per output token, excludes the first token)", { type: "linear" }),
        y: axis(colours, "Output tokens/s per device", { beginAtZero: true }),
        cost: axis(colours, "$ per million output tokens", {
          position: "right",
          beginAtZero: true,
          grid: { drawOnChartArea: false },
        }),
      },
      plugins: {
        legend: { labels: { color: text, usePointStyle: true } },
        title: {
          display: true,
          color: text,
          text:
            data.model_id + " on " + data.device + " × " + data.tp + ", " + data.dtype + ", " + data.isl +
            " in / " + data.osl + " out, concurrency " + data.points.map((p) => p.concurrency).join(", ") +
            (fitting.length === data.points.length ? "" : " (× : does not fit)"),
        },
        tooltip: {
          callbacks: {
            title: (items) => "concurrency " + items[0].raw.concurrency + ", TPOT " + number(items[0].raw.x, 2) + " ms",
            label: (item) => item.dataset.label + ": " + number(item.parsed.y, item.dataset.yAxisID === "cost" ? 4 : 0),
          },
        },
      },
    });
  }

  window.registryPlan.whenReady("plan-speed-data", "plan-speed-chart", draw);
})();
