// Turns each course chart into an interactive one with the vega libraries the
// site ships (book/_vendor/vega-bundle.js, loaded just before this file on
// chart pages only). Until then, and if anything fails, the static SVG drawn
// at build time stays in place, so the chart never disappears.
(function () {
  "use strict";

  function labelBindings(view, figure) {
    // Give every input vega-embed creates for a parameter (e.g. a threshold
    // slider) an accessible name taken from its visible label.
    view.querySelectorAll(".vega-bind").forEach(function (bind, i) {
      var name = bind.querySelector(".vega-bind-name");
      bind.querySelectorAll("input, select").forEach(function (input) {
        if (!input.id) input.id = figure.id + "-bind-" + i + "-" + (input.type || "input");
        if (!input.getAttribute("aria-label") && name) {
          input.setAttribute("aria-label", name.textContent.trim());
        }
      });
    });
  }

  function upgrade(figure) {
    var specNode = figure.querySelector("script.htc-chart-spec");
    var view = figure.querySelector(".htc-chart-view");
    if (!specNode || !view || typeof window.vegaEmbed !== "function") return;
    var spec = JSON.parse(specNode.textContent);
    var live = document.createElement("div");
    live.className = "htc-chart-live-view";
    window
      .vegaEmbed(live, spec, { actions: false, renderer: "svg" })
      .then(function () {
        view.replaceChildren(live);
        // A chart with controls (e.g. a threshold slider) is no longer a
        // single image: it becomes a labelled group so the controls stay usable.
        if (view.querySelector("input, select")) view.setAttribute("role", "group");
        labelBindings(view, figure);
        figure.classList.add("htc-chart-live");
      })
      .catch(function (err) {
        figure.classList.add("htc-chart-failed");
        console.warn("Chart kept as a static image:", err);
      });
  }

  function init() {
    document.querySelectorAll("figure.htc-chart").forEach(upgrade);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
