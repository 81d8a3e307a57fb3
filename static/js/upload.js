// Evidence uploads, made nicer when JavaScript runs; the forms work without it.
//
// <form data-upload="item">: files upload as soon as they are chosen or dropped,
//   each on its own request, with its own progress bar and Cancel button.
// <form data-upload="new">: chosen files wait; on submit the item is created
//   first (asking for JSON), then each file is uploaded to it the same way.
//
// Every request carries the CSRF token of the form's hidden input and asks for
// JSON: {"ok": true, ...} or {"ok": false, "error": "..."}.
(function () {
  "use strict";

  function token(form) {
    const input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (_error) {
      return null;
    }
  }

  // One line of the upload list: name, progress bar, status text, Cancel button.
  function makeRow(list, file) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    const progress = document.createElement("progress");
    const status = document.createElement("span");
    const cancel = document.createElement("button");
    name.className = "filename";
    name.textContent = file.name;
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", "Upload of " + file.name);
    status.className = "upload__status";
    cancel.type = "button";
    cancel.className = "button button--small button--quiet";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", "Cancel " + file.name);
    li.append(name, progress, status, cancel);
    list.appendChild(li);
    const end = function (text, kind) {
      status.textContent = text;
      status.className = "upload__status upload__status--" + kind;
      cancel.remove();
    };
    return {
      file: file, li: li, progress: progress, cancel: cancel,
      say: function (text) { status.textContent = text; },
      done: function (text) { progress.value = progress.max; end(text, "done"); },
      fail: function (text) { end(text, "error"); }
    };
  }

  // POST one file; resolves to true when the server kept it.
  function send(url, csrf, row) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      const data = new FormData();
      data.append("csrf_token", csrf);
      data.append("files", row.file, row.file.name);
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          row.progress.max = event.total;
          row.progress.value = event.loaded;
        }
      });
      xhr.addEventListener("load", function () {
        const answer = parse(xhr.responseText);
        if (xhr.status < 300 && answer && answer.ok) {
          row.done("Uploaded");
          resolve(true);
        } else {
          row.fail((answer && answer.error) ||
                   (xhr.status === 413 ? "The file is larger than this site accepts."
                                       : "The upload failed (error " + xhr.status + ")."));
          resolve(false);
        }
      });
      xhr.addEventListener("error", function () {
        row.fail("The connection failed; try again.");
        resolve(false);
      });
      xhr.addEventListener("abort", function () {
        row.fail("Cancelled");
        resolve(false);
      });
      row.cancel.onclick = function () { xhr.abort(); };
      row.say("Uploading…");
      xhr.send(data);
    });
  }

  function dropZone(form, take) {
    const zone = form.querySelector(".upload") || form;
    zone.classList.add("upload--dropzone");
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("upload--dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.remove("upload--dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        take(event.dataTransfer.files);
      }
    });
  }

  function notice(list, text, href, label) {
    const li = document.createElement("li");
    li.textContent = text + " ";
    const link = document.createElement("a");
    link.href = href;
    link.textContent = label;
    li.appendChild(link);
    list.appendChild(li);
  }

  // One file at a time: each has the whole connection, and two uploads never race
  // for the database (SQLite refuses the second writer of two that read together).
  // A row cancelled while it waits is never sent.
  function uploadAll(url, csrf, rows) {
    rows.forEach(function (row) {
      row.say("Waiting…");
      row.cancel.onclick = function () { row.skipped = true; row.fail("Cancelled"); };
    });
    return rows.reduce(function (previous, row) {
      return previous.then(function (allKept) {
        if (row.skipped) {
          return false;
        }
        return send(url, csrf, row).then(function (kept) { return allKept && kept; });
      });
    }, Promise.resolve(true));
  }

  function enhanceItem(form) {
    const input = form.querySelector('input[type="file"]');
    const list = form.querySelector("[data-upload-list]");
    const button = form.querySelector('button[type="submit"]');
    if (button) {
      button.hidden = true; // choosing or dropping files uploads them
    }
    const take = function (files) {
      const rows = Array.from(files).map(function (file) { return makeRow(list, file); });
      input.value = "";
      uploadAll(form.action, token(form), rows).then(function (allKept) {
        if (allKept) {
          window.location.reload(); // shows the new files in the table
        } else {
          notice(list, "Some files were not added.", window.location.href,
                 "Show the current list of files");
        }
      });
    };
    input.addEventListener("change", function () { take(input.files); });
    dropZone(form, take);
  }

  function enhanceNew(form) {
    const input = form.querySelector('input[type="file"]');
    const list = form.querySelector("[data-upload-list]");
    let queue = [];
    // The input holds exactly the queued files, so that a plain post sends them too.
    const sync = function () {
      const transfer = new DataTransfer();
      queue.forEach(function (row) { transfer.items.add(row.file); });
      input.files = transfer.files;
    };
    const take = function (files) {
      Array.from(files).forEach(function (file) {
        const row = makeRow(list, file);
        row.say("Ready to upload");
        row.cancel.onclick = function () {
          queue = queue.filter(function (other) { return other !== row; });
          row.li.remove();
          sync();
        };
        queue.push(row);
      });
      sync();
    };
    input.addEventListener("change", function () {
      const chosen = Array.from(input.files);
      take(chosen);
    });
    dropZone(form, take);

    form.addEventListener("submit", function (event) {
      if (!queue.length) {
        return; // nothing to upload: the plain post is enough
      }
      event.preventDefault();
      const data = new FormData(form);
      data.delete("files");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.addEventListener("load", function () {
        const answer = parse(xhr.responseText);
        if (xhr.status !== 201 || !answer || !answer.ok) {
          form.submit(); // the server explains what to correct, as without JavaScript
          return;
        }
        form.querySelectorAll("input, select, textarea, button").forEach(function (field) {
          field.disabled = true;
        });
        uploadAll(answer.item.files_url, token(form), queue).then(function (allKept) {
          if (allKept) {
            window.location.assign(answer.item.url);
          } else {
            notice(list, "The item is saved, but not every file.", answer.item.url,
                   "Open the item to add them again");
          }
        });
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(data);
    });
  }

  document.querySelectorAll('form[data-upload="item"]').forEach(enhanceItem);
  document.querySelectorAll('form[data-upload="new"]').forEach(enhanceNew);
})();
