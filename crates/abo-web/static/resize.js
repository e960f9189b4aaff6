// Abo hosted pages: tells the framing page how tall this page is, so it can size its
// iframe without scrollbars. Optional: every page works without it.
// The parent listens for: { type: "abo:height", height: <CSS pixels> }.
(function () {
  if (window.parent === window) return;
  var last = 0;
  function post() {
    var h = Math.ceil(document.documentElement.scrollHeight);
    if (h !== last) {
      last = h;
      window.parent.postMessage({ type: "abo:height", height: h }, "*");
    }
  }
  window.addEventListener("load", post);
  window.addEventListener("resize", post);
  if (window.ResizeObserver) new ResizeObserver(post).observe(document.documentElement);
  post();
})();
