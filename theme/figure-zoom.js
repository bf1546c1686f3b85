// Figures on a narrow screen (a phone): the figure is scaled down to the
// column, where its labels are too small to read; a tap shows it at its
// full size (scrolling sideways in its own box), another tap scales it
// down again. Wider screens show every figure at full size anyway.
(function () {
  "use strict";
  const narrow = window.matchMedia("(max-width: 720px)");
  for (const figure of document.querySelectorAll("figure.figure")) {
    const svg = figure.querySelector("svg.plot");
    if (!svg) continue;
    svg.addEventListener("click", function () {
      if (narrow.matches || figure.classList.contains("zoomed")) {
        figure.classList.toggle("zoomed");
      }
    });
  }
})();
