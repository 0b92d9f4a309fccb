// Keyboard shortcuts of the review pages. Every page works without them.
// Queue: j or n next row, k previous, o or Enter open, a approve.
// Document: a focus the approve button (Enter then approves), r focus the rejection reason, q back to the queue.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return e.ctrlKey || e.metaKey || e.altKey ||
      (t && t.closest && t.closest("input, textarea, select, [contenteditable]"));
  }
  document.addEventListener("keydown", function (e) {
    if (typing(e)) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
    if (rows.length) {
      var i = rows.findIndex(function (r) { return r.classList.contains("current"); });
      var go = function (j) {
        if (i >= 0) rows[i].classList.remove("current");
        j = Math.max(0, Math.min(rows.length - 1, j));
        rows[j].classList.add("current");
        var a = rows[j].querySelector("a[data-open]");
        if (a) a.focus();
      };
      if (e.key === "j" || e.key === "n") { go(i + 1); e.preventDefault(); return; }
      if (e.key === "k") { go(i < 0 ? 0 : i - 1); e.preventDefault(); return; }
      var row = i >= 0 ? rows[i] : null;
      if (row && (e.key === "o" || e.key === "Enter")) {
        var open = row.querySelector("a[data-open]");
        if (open) { open.click(); e.preventDefault(); }
        return;
      }
      if (row && e.key === "a") {
        var f = row.querySelector("form[data-approve]");
        if (f) { f.requestSubmit(); e.preventDefault(); }
        return;
      }
    }
    var approve = document.querySelector("form[data-approve-doc]");
    if (approve && e.key === "a") { approve.querySelector("button").focus(); e.preventDefault(); return; }
    var reason = document.querySelector("#reject-reason");
    if (reason && e.key === "r") { reason.focus(); e.preventDefault(); return; }
    var back = document.querySelector("a[data-queue]");
    if (back && e.key === "q") { back.click(); e.preventDefault(); }
  });
})();
