// Small enhancements on top of pages that work without JavaScript.
// A toast is any element added to #toasts: it disappears after a while.
function dismissToastsLater(event) {
  var toasts = document.getElementById("toasts");
  if (!toasts || !toasts.contains(event.detail.target)) return;
  Array.prototype.forEach.call(toasts.children, function (toast) {
    if (toast.dataset.timer) return;
    toast.dataset.timer = "1";
    setTimeout(function () { toast.remove(); }, 8000);
  });
}
document.addEventListener("htmx:afterSwap", dismissToastsLater);
// Live updates put toasts into #toasts out of band (the dashboard's SSE stream).
document.addEventListener("htmx:oobAfterSwap", dismissToastsLater);
