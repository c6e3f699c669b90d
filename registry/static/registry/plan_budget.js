/* The Plan panel's budget bar: one device's memory stacked in the engine's order (weights, activations,
 * reserves, KV cache, free). Reads the lines the server computed (json_script "plan-budget-data", bytes) and
 * draws them with the vendored Chart.js; nothing is computed here but the unit (GiB, powers of 1024). */
"use strict";
(function () {
  const GIB = 1073741824;
  const COLOURS = ["#417690", "#e0a800", "#9b59b6", "#79aec8", "#d8d8d8"];

  function gibibytes(bytes) {
    return (bytes / GIB).toLocaleString("en-US", { maximumFractionDigits: 2 }) + " GiB";
  }

  function draw() {
    const source = document.getElementById("plan-budget-data");
    const canvas = document.getElementById("plan-budget-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const text = getComputedStyle(document.documentElement).getPropertyValue("--body-fg").trim() || "#333";
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
