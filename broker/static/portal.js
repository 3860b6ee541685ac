/* Improvements only: every page works the same without this script.
   - A form sent back with errors: the error summary takes the focus, so it is read first.
   - Library search: as the patron types, the result list under the form is refreshed
     from /libraries/suggest. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();

(function () {
  "use strict";
  var form = document.getElementById("library-search");
  if (!form || !window.fetch || !("content" in document.createElement("template"))) { return; }
  var input = form.querySelector("input[type=search]");
  var list = document.getElementById("library-results");
  var count = document.getElementById("library-count");
  var texts = document.getElementById("library-count-texts");
  var template = document.getElementById("library-choice-template");
  var url = form.getAttribute("data-suggest");
  var timer = null;
  var last = null;
  var controller = null;

  function say(n) {
    if (n === 0) { count.textContent = texts.getAttribute("data-none"); }
    else if (n === 1) { count.textContent = texts.getAttribute("data-one"); }
    else { count.textContent = texts.getAttribute("data-many").replace("{n}", String(n)); }
  }

  function render(results) {
    list.textContent = "";
    results.forEach(function (lib) {
      var item = template.content.firstElementChild.cloneNode(true);
      item.querySelector("input[name=library]").value = lib.code;
      item.querySelector(".choice-name").textContent = lib.name;
      item.querySelector(".choice-meta").textContent = (lib.commune ? lib.commune + " · " : "") + lib.network;
      list.appendChild(item);
    });
    say(results.length);
  }

  function refresh() {
    var q = input.value.trim();
    if (q === last) { return; }
    last = q;
    if (q.length < 2) { return; }
    if (controller) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(q), {
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data && data.query === input.value.trim()) { render(data.results); }
    }).catch(function () { /* the plain form still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 200);
  });
})();
