// The portal's only script (served as a file: the CSP allows no inline script).
// Reveal/hide and copy the setup key; show the transaction password while typing.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var reveal = document.getElementById("reveal-key");
  var key = document.getElementById("setup-key");
  if (reveal && key) {
    reveal.addEventListener("click", function () {
      var show = key.hidden;
      key.hidden = !show;
      reveal.textContent = show ? "コードを隠す" : "コードを表示";
      reveal.setAttribute("aria-expanded", show ? "true" : "false");
    });
  }
  var copy = document.getElementById("copy-key");
  var status = document.getElementById("copy-status");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = copy.getAttribute("data-key") || "";
      var done = function (message) { if (status) { status.textContent = message; } };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () { done("コードをコピーしました。"); },
          function () { done("コピーできませんでした。「コードを表示」で表示されたコードを入力してください。"); }
        );
      } else {
        done("コピーできませんでした。「コードを表示」で表示されたコードを入力してください。");
      }
    });
  }
  var toggles = document.querySelectorAll("input[type=checkbox][data-target]");
  Array.prototype.forEach.call(toggles, function (box) {
    var field = document.getElementById(box.getAttribute("data-target"));
    if (field) {
      box.addEventListener("change", function () { field.type = box.checked ? "text" : "password"; });
    }
  });
});
