// "Select all on this page" for lists of checkboxes; the lists work without it.
//
// <input type="checkbox" data-select-all="NAME"> inside a [data-select-all-scope] form
// ticks or clears every checkbox named NAME in that form, and shows itself as partly
// ticked when only some are.  Its container ([data-select-all-control]) is hidden until
// this script runs, so nobody without JavaScript sees a control that does nothing.
(function () {
  "use strict";

  function setUp(control) {
    const scope = control.closest("[data-select-all-scope]") || document;
    const name = control.getAttribute("data-select-all");
    const boxes = Array.prototype.filter.call(
      scope.querySelectorAll('input[type="checkbox"]'),
      function (box) { return box.name === name && box !== control; }
    );
    if (!boxes.length) {
      return;
    }

    function reflect() {
      const ticked = boxes.filter(function (box) { return box.checked; }).length;
      control.checked = ticked === boxes.length;
      control.indeterminate = ticked > 0 && ticked < boxes.length;
    }

    control.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = control.checked; });
      control.indeterminate = false;
    });
    boxes.forEach(function (box) { box.addEventListener("change", reflect); });
    reflect();

    const container = control.closest("[data-select-all-control]");
    if (container) {
      container.hidden = false;
    }
  }

  function start() {
    document.querySelectorAll("input[data-select-all]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
