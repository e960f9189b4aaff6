// Abo hosted pages: tells the framing page how tall this page is, so it can size its
// iframe without scrollbars. Optional: every page works without it.
// The parent listens for: { type: "abo:height", height: <CSS pixels> }.
(function () {
  if (window.parent === window) return;
  var last = 0;
  function post() {
    // The content's own height: scrollHeight never drops below the frame's
    // current height, so a frame that was once tall would never shrink.
    var body = document.body;
    if (!body) return;
    var h = Math.ceil(
      body.getBoundingClientRect().bottom + window.scrollY +
        parseFloat(getComputedStyle(body).marginBottom || "0")
    );
    if (h !== last) {
      last = h;
      window.parent.postMessage({ type: "abo:height", height: h }, "*");
    }
  }
  window.addEventListener("load", post);
  window.addEventListener("resize", post);
  if (window.ResizeObserver) new ResizeObserver(post).observe(document.body || document.documentElement);
  post();
})();
