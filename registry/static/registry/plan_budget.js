/* The Plan panel's budget bar: one device's memory stacked in the engine's order (weights, activations,
 * reserves, KV cache, free). Reads the lines the server computed (json_script "plan-budget-data", bytes) and
 * draws them with the vendored Chart.js (through plan_common.js); nothing is computed here but the unit (GiB,
 * powers of 1024). */
"use strict";
(function () {
  const GIB = 1073741824;
  const COLOURS = ["#417690", "#e0a800", "#9b59b6", "#79aec8", "#d8d8d8"];

  function gibibytes(bytes) {
    return (bytes / GIB).toLocaleString("en-US", { maximumFractionDigits: 2 }) + " GiB";
  }

  function draw(data, canvas) {
    const text = window.registryPlan.theme().text;
    const datasets = data.segments.map(([label, bytes], i) => ({
      label: label,
      data: [Math.max(bytes, 0) / GIB],
      backgroundColor: COLOURS[i % COLOURS.length],
      bytes: bytes,
    }));
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: [data.engine === "none" ? "device" : data.engine], datasets: datasets },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: true, title: { display: true, text: "Memory of one device (GiB)", color: text }, ticks: { color: text } },
          y: { stacked: true, ticks: { color: text } },
        },
        plugins: {
          legend: { labels: { color: text } },
          tooltip: { callbacks: { label: (item) => item.dataset.label + ": " + gibibytes(item.dataset.bytes) } },
        },
      },
    });
    canvas.dataset.drawn = "true";
    window.planBudgetChart = chart;
  }

  window.registryPlan.whenReady("plan-budget-data", "plan-budget-chart", draw);
})();
