/* What the Plan panel's charts share (plan_chart.js, plan_budget.js, plan_speed.js, loaded after this file): the
 * admin theme's colours, the series the server handed over, and the options of a line chart of the panel. */
"use strict";
window.registryPlan = (function () {
  function colour(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // The text and grid colours of the admin's theme (light or dark).
  function theme() {
    return { text: colour("--body-fg", "#333"), grid: colour("--hairline-color", "#e8e8e8") };
  }

  // Calls draw(data, canvas) once the page is read: the series of json_script sourceId and the canvas canvasId;
  // nothing without either, or without Chart.js.
  function whenReady(sourceId, canvasId, draw) {
    function run() {
      const source = document.getElementById(sourceId);
      const canvas = document.getElementById(canvasId);
      if (!source || !canvas || typeof window.Chart === "undefined") return;
      draw(JSON.parse(source.textContent), canvas);
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
    else run();
  }

  // An axis with its title, text and grid in the theme's colours; more adds to or replaces those options.
  function axis(colours, title, more) {
    const options = {
      title: { display: true, text: title, color: colours.text },
      ticks: { color: colours.text },
      grid: { color: colours.grid },
    };
    return Object.assign(options, more);
  }

  // A line chart of the panel: drawn at once in its box's size, the tooltip of the nearest point; options adds to
  // or replaces those (scales, plugins).
  function lineChart(canvas, colours, datasets, options) {
    const base = {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      color: colours.text,
    };
    return new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: Object.assign(base, options),
    });
  }

  return { colour: colour, theme: theme, whenReady: whenReady, axis: axis, lineChart: lineChart };
})();
