/* The pending queue without the wait: the page comes at once, then each card's SIGB check
   is asked for (a few at a time) and written into its column as it arrives, with the progress
   said in #sigb-progress (aria-live). Without this script, each card has a link that checks it. */
(function () {
  "use strict";
  var progress = document.getElementById("sigb-progress");
  var slots = Array.prototype.slice.call(document.querySelectorAll(".sigb-slot[data-sigb-url]"));
  if (!progress || !slots.length || !window.fetch) { return; }
  var total = slots.length;
  var done = 0;
  var next = 0;
  var PARALLEL = 3;

  function say(key) {
    progress.textContent = progress.getAttribute(key)
      .replace("{done}", String(done)).replace("{total}", String(total));
  }

  function failed(slot) {
    var wait = slot.querySelector(".sigb-wait");
    if (wait) { wait.textContent = progress.getAttribute("data-failed"); }
  }

  function one() {
    if (next >= total) { return Promise.resolve(); }
    var slot = slots[next];
    next += 1;
    slot.setAttribute("aria-busy", "true");
    return fetch(slot.getAttribute("data-sigb-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        slot.innerHTML = answer.html;  /* rendered and escaped by the server */
        slot.removeAttribute("data-sigb-url");
      })
      .catch(function () { failed(slot); })
      .then(function () {
        slot.removeAttribute("aria-busy");
        done += 1;
        say(done < total ? "data-running" : "data-finished");
        return one();
      });
  }

  say("data-running");
  for (var i = 0; i < Math.min(PARALLEL, total); i += 1) { one(); }
})();
