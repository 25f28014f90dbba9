// Charts and widgets that cost nothing until a reader reaches them.
//
// The build adds this one small deferred script to pages with a course chart
// or a Jupyter widget (htcourse.sitebuild.pages), naming on its own tag the
// libraries those need: data-charts (the vega shim and bundle) and
// data-widgets (require.js and the widget manager), all shipped with the site.
// A library group is loaded only when one of its charts or widgets scrolls
// near the screen, or when a reader points at, touches or focuses it. Until
// then, and if anything fails, the chart's static SVG drawn at build time
// stays in place, so the chart never disappears.
(function () {
  "use strict";

  var me = document.currentScript;
  var base = me.src.slice(0, me.src.lastIndexOf("/") + 1);
  function names(attr) {
    return (me.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
  }
  var chartLibraries = names("data-charts");
  var widgetLibraries = names("data-widgets");

  function loadScript(name) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = base + name;
      s.onload = resolve;
      s.onerror = function () {
        reject(new Error("could not load " + name));
      };
      document.head.appendChild(s);
    });
  }
  function loadInOrder(list) {
    return list.reduce(function (done, name) {
      return done.then(function () {
        return loadScript(name);
      });
    }, Promise.resolve());
  }

  var chartsLoading = null;
  var widgetsLoading = null;
  function loadCharts() {
    if (!chartsLoading) chartsLoading = loadInOrder(chartLibraries);
    return chartsLoading;
  }
  function loadWidgets() {
    // The vega bundle must run before require.js (it would otherwise register
    // itself as an AMD module), so on a page with both, charts load first.
    if (!widgetsLoading) {
      var first = chartLibraries.length ? loadCharts() : Promise.resolve();
      widgetsLoading = first.then(function () {
        return loadInOrder(widgetLibraries);
      });
    }
    return widgetsLoading;
  }

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
    if (figure.dataset.htcUpgrading) return;
    figure.dataset.htcUpgrading = "1";
    loadCharts()
      .then(function () {
        var specNode = figure.querySelector("script.htc-chart-spec");
        var view = figure.querySelector(".htc-chart-view");
        if (!specNode || !view || typeof window.vegaEmbed !== "function") {
          throw new Error("the chart libraries did not load");
        }
        var live = document.createElement("div");
        live.className = "htc-chart-live-view";
        // Keep the space the static picture took, so the page does not jump.
        view.style.minHeight = view.offsetHeight + "px";
        return window
          .vegaEmbed(live, JSON.parse(specNode.textContent), { actions: false, renderer: "svg" })
          .then(function () {
            view.replaceChildren(live);
            // A chart with controls (e.g. a threshold slider) is no longer a
            // single image: it becomes a labelled group so the controls stay usable.
            if (view.querySelector("input, select")) view.setAttribute("role", "group");
            labelBindings(view, figure);
            figure.classList.add("htc-chart-live");
          });
      })
      .catch(function (err) {
        figure.classList.add("htc-chart-failed");
        console.warn("Chart kept as a static image:", err);
      });
  }

  // Call `act` once for `el`, when it comes near the screen or a reader uses it.
  function whenReached(el, act) {
    var done = false;
    function go() {
      if (done) return;
      done = true;
      if (observer) observer.disconnect();
      ["pointerenter", "touchstart", "focusin", "click"].forEach(function (type) {
        el.removeEventListener(type, go);
      });
      act();
    }
    ["pointerenter", "touchstart", "focusin", "click"].forEach(function (type) {
      el.addEventListener(type, go, { passive: true });
    });
    var observer = null;
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(
        function (entries) {
          if (entries.some(function (e) { return e.isIntersecting; })) go();
        },
        { rootMargin: "200px 0px" }
      );
      observer.observe(el);
    } else {
      go();
    }
  }

  function init() {
    if (chartLibraries.length) {
      document.querySelectorAll("figure.htc-chart").forEach(function (figure) {
        whenReached(figure, function () {
          upgrade(figure);
        });
      });
    }
    if (widgetLibraries.length) {
      document
        .querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')
        .forEach(function (view) {
          whenReached(view.parentElement, function () {
            loadWidgets().catch(function (err) {
              console.warn("Widgets not loaded:", err);
            });
          });
        });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
