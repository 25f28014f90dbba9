/* Wide tables and charts on a small screen scroll sideways: show that they do.
 *
 * Each scrolling box (a data table's output, a Markdown table, a chart) is
 * wrapped in a frame that draws a shadow on the side where more is hidden;
 * the shadows follow as the reader scrolls (the theme already makes each
 * scrolling box a keyboard stop). Styles: course.css (htc-scroll-frame).
 */
(function () {
  "use strict";
  var SELECTOR = ".bd-content .cell_output .output.text_html, .bd-content .pst-scrollable-table-container, figure.htc-chart .htc-chart-view";

  function update(box) {
    var frame = box.parentElement;
    var more = box.scrollWidth - box.clientWidth;
    // A box that scrolls must be reachable from the keyboard (the theme does this at load, before the frame).
    box.tabIndex = more > 1 ? 0 : -1;
    frame.classList.toggle("htc-more-left", more > 1 && box.scrollLeft > 1);
    frame.classList.toggle("htc-more-right", more > 1 && box.scrollLeft < more - 1);
  }

  function setUp() {
    document.querySelectorAll(SELECTOR).forEach(function (box) {
      if (box.parentElement.classList.contains("htc-scroll-frame")) return;
      var frame = document.createElement("div");
      frame.className = "htc-scroll-frame";
      box.parentNode.insertBefore(frame, box);
      frame.appendChild(box);
      box.addEventListener("scroll", function () { update(box); }, { passive: true });
      update(box);
    });
  }

  function updateAll() {
    document.querySelectorAll(".htc-scroll-frame > *").forEach(update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  window.addEventListener("resize", updateAll);
  window.addEventListener("load", updateAll);
  // A chart replaces its picture with the live chart; measure again when it does.
  new MutationObserver(updateAll).observe(document.documentElement, { subtree: true, childList: true });
})();
