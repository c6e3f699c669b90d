/* The Plan panel's chart: one device's memory (weights + KV cache) against the context length.
 * Reads the series the server computed (json_script "plan-chart-data", bytes) and draws them with
 * the vendored Chart.js (through plan_common.js); nothing is computed here but the unit (GiB, powers of 1024). */
"use strict";
(function () {
  const GB = 1073741824; // GiB: devices' memory is counted in powers of 1024

  function tokens(n) {
    if (n >= 1048576 && n % 1048576 === 0) return n / 1048576 + "M";
    if (n >= 1024 && n % 1024 === 0) return n / 1024 + "k";
    return n.toLocaleString("en-US");
  }

  function gigabytes(bytes) {
    return (bytes / GB).toLocaleString("en-US", { maximumFractionDigits: 2 }) + " GiB";
  }

  function draw(data, canvas) {
    const { colour, theme, axis, lineChart } = window.registryPlan;
    const first = data.contexts[0];
    const last = data.contexts[data.contexts.length - 1];
    // Ticks at the powers of two (and the ends): the points between them are not labelled.
    const ticks = data.contexts.filter((n, i) => (n & (n - 1)) === 0 || i === 0 || i === data.contexts.length - 1);
    const points = (values) => data.contexts.map((n, i) => ({ x: n, y: values[i] / GB }));
    const colours = theme();
    const text = colours.text;
    const datasets = [
      {
        label: "Weights + KV cache",
        data: points(data.total_bytes),
        borderColor: colour("--primary", "#79aec8"),
        backgroundColor: colour("--primary", "#79aec8"),
        pointRadius: 3,
      },
      {
        label: "Weights",
        data: points(data.weight_bytes),
        borderColor: colour("--body-quiet-color", "#666"),
        backgroundColor: colour("--body-quiet-color", "#666"),
        borderDash: [2, 3],
        pointRadius: 0,
      },
      {
        label: "Usable memory (" + Math.round(data.utilization * 100) + "% of " + gigabytes(data.device_memory) + ")",
        data: [
          { x: first, y: data.usable_bytes / GB },
          { x: last, y: data.usable_bytes / GB },
        ],
        borderColor: colour("--error-fg", "#ba2121"),
        backgroundColor: colour("--error-fg", "#ba2121"),
        borderDash: [8, 4],
        pointRadius: 0,
      },
    ];
    if (data.max_context && data.max_context >= first && data.max_context <= last) {
      datasets.push({
        label: "Max context (" + tokens(data.max_context) + " tokens)",
        data: [{ x: data.max_context, y: data.usable_bytes / GB }],
        borderColor: colour("--error-fg", "#ba2121"),
        backgroundColor: colour("--body-bg", "#fff"),
        pointStyle: "rectRot",
        pointRadius: 7,
        pointBorderWidth: 2,
        showLine: false,
      });
    }
    lineChart(canvas, colours, datasets, {
      scales: {
        x: axis(colours, "Context length (tokens per sequence)", {
          type: "logarithmic",
          min: first,
          max: last,
          ticks: { color: text, callback: (value) => tokens(value), autoSkip: false },
          afterBuildTicks: (scale) => {
            scale.ticks = ticks.map((n) => ({ value: n }));
          },
        }),
        y: axis(colours, "Memory per device (GiB)", { beginAtZero: true }),
      },
      plugins: {
        legend: { labels: { color: text, usePointStyle: true, pointStyle: "line", pointStyleWidth: 32 } },
        title: {
          display: true,
          color: text,
          text:
            data.model_id + " on " + data.device + ", tp " + data.tp + ", " + data.dtype +
            " weights, batch " + data.batch,
        },
        tooltip: {
          callbacks: {
            title: (items) => tokens(items[0].parsed.x) + " tokens",
            label: (item) => item.dataset.label + ": " + gigabytes(item.parsed.y * GB),
          },
        },
      },
    });
  }

  window.registryPlan.whenReady("plan-chart-data", "plan-chart", draw);
})();
