// Small enhancements; every page works without them.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // Uploads: drag and drop onto the form, and a progress bar. Without this script the plain file
  // input and submit button do the same.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector(".upload-progress");
    var hint = form.querySelector(".drop-hint");
    if (hint) hint.hidden = false;
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (event) { event.preventDefault(); form.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) input.files = event.dataTransfer.files;
    });
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) return;
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      bar.hidden = false;
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      });
      request.addEventListener("load", function () {
        // Success redirects to the case page: go there. A refusal answers with its error page: show it.
        if (request.status < 400 && request.responseURL) { window.location.assign(request.responseURL); return; }
        document.open(); document.write(request.responseText); document.close();
      });
      request.send(new FormData(form));
    });
  });
})();
