// /verify: dropping a file on a drop zone checks it at once.  Without JavaScript the
// same forms work with their file inputs and buttons.
//
// <form data-drop-zone> holds one <input type="file">; a file dropped anywhere on the
// form fills that input and submits the form.  Only the first file of a drop is used.
(function () {
  "use strict";

  function hasFiles(event) {
    const types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function setUp(form) {
    const input = form.querySelector('input[type="file"]');
    const status = form.querySelector("[data-drop-status]");
    if (!input || typeof DataTransfer === "undefined") {
      return;
    }
    let depth = 0;

    function leave() {
      depth = 0;
      form.classList.remove("drop-zone--over");
    }

    form.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      depth += 1;
      form.classList.add("drop-zone--over");
    });
    form.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    form.addEventListener("dragleave", function () {
      depth -= 1;
      if (depth <= 0) { leave(); }
    });
    form.addEventListener("drop", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      leave();
      const file = event.dataTransfer.files[0];
      if (!file) { return; }
      const chosen = new DataTransfer();
      chosen.items.add(file);
      input.files = chosen.files;
      // A pasted credential and a dropped file would be refused together: the file wins.
      const text = form.querySelector("textarea");
      if (text) { text.value = ""; }
      if (status) { status.textContent = "Checking " + file.name + "…"; }
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit();
      } else {
        form.submit();
      }
    });
  }

  // A file dropped beside a zone would make the browser leave the page to open it.
  function keepPage(event) {
    if (hasFiles(event) && !event.target.closest("[data-drop-zone]")) {
      event.preventDefault();
      if (event.type === "dragover") { event.dataTransfer.dropEffect = "none"; }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const zones = document.querySelectorAll("form[data-drop-zone]");
    if (!zones.length) { return; }
    Array.prototype.forEach.call(zones, setUp);
    window.addEventListener("dragover", keepPage);
    window.addEventListener("drop", keepPage);
  });
})();
