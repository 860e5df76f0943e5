// Small progressive enhancements; every page works without them.
document.addEventListener("click", function (e) {
  // Copy buttons: <button data-copy="#id"> copies the text of the element it names.
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.querySelector(b.getAttribute("data-copy"));
  if (!el) return;
  var text = el.value !== undefined ? el.value : el.textContent;
  var done = function () { var old = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = old; }, 1500); };
  var fallback = function () {
    if (el.select) { el.select(); }
    try { if (document.execCommand("copy")) { done(); return; } } catch (err) {}
    b.textContent = "Press Ctrl+C";
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
});
// Select-all checkbox for bulk actions.
document.addEventListener("change", function (e) {
  if (!e.target.matches("[data-select-all]")) return;
  document.querySelectorAll(e.target.getAttribute("data-select-all")).forEach(function (c) { c.checked = e.target.checked; });
});
