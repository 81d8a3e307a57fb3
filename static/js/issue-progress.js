// A bulk issue's progress bar, kept up to date while the job runs; the page works without it
// (its "Refresh" link reloads it).
//
// <div data-job-status-url="..." data-finished="false"> holds a <progress> and elements
// marked data-job-field="summary" / "status".  Every second the script asks the JSON
// address for {status, total, issued, failed, done, percent, finished, summary} and
// updates them; the bar never moves backwards.  When the job has finished it reloads
// the page once, which then lists every certificate and has no script running.
(function () {
  "use strict";

  const INTERVAL_MS = 1000;

  function setUp(box) {
    if (box.getAttribute("data-finished") === "true") {
      return;
    }
    const url = box.getAttribute("data-job-status-url");
    const bar = box.querySelector("progress");
    const summary = box.querySelector('[data-job-field="summary"]');
    const status = box.querySelector('[data-job-field="status"]');
    let shown = bar ? Number(bar.value) || 0 : 0;
    let reloading = false;

    function update(state) {
      if (bar && state.total) {
        bar.max = state.total;
        shown = Math.max(shown, state.done);
        bar.value = shown;
        bar.textContent = state.percent + " %";
      }
      if (summary && state.summary) {
        summary.textContent = state.summary;
      }
      if (status && state.status) {
        status.textContent = state.status.charAt(0).toUpperCase() + state.status.slice(1);
        status.className = "status status--job-" + state.status;
      }
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin",
                   cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (state) {
          update(state);
          if (state.finished) {
            if (!reloading) {
              reloading = true;
              window.location.reload();
            }
            return;
          }
          window.setTimeout(poll, INTERVAL_MS);
        })
        .catch(function () {
          // A dropped request is tried again a little later; the Refresh link still works.
          window.setTimeout(poll, INTERVAL_MS * 5);
        });
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  function start() {
    document.querySelectorAll("[data-job-status-url]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
