/* The Plan panel's speed chart: output tokens per second per device against TPOT as concurrency grows (the
 * serving trade-off curve), and the cost per million output tokens on a second axis. Reads the series the
 * server computed (json_script "plan-speed-data": registry.core.serving.concurrency_curve); computes nothing. */
"use strict";
(function () {
  function colour(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function number(value, digits) {
    return value.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function draw() {
    const source = document.getElementById("plan-speed-data");
    const canvas = document.getElementById("plan-speed-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const text = colour("--body-fg", "#333");
    const grid = colour("--hairline-color", "#e8e8e8");
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
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: "nearest", intersect: false },
        color: text,
        scales: {
          x: {
            type: "linear",
            title: { display: true, text: "TPOT (ms per output token, excludes the first token)", color: text },
            ticks: { color: text },
            grid: { color: grid },
          },
          y: {
            beginAtZero: true,
            title: { display: true, text: "Output tokens/s per device", color: text },
            ticks: { color: text },
            grid: { color: grid },
          },
          cost: {
            position: "right",
            beginAtZero: true,
            title: { display: true, text: "$ per million output tokens", color: text },
            ticks: { color: text },
            grid: { drawOnChartArea: false },
          },
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
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
