// detdex: a "Copy" button on each code block of a rule page (rule body, translations).
// Served as a file so the Content-Security-Policy allows only scripts from this site.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("pre.code[data-copy]").forEach(function (pre) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      var text = pre.textContent;
      var done = function () { button.textContent = "Copied"; };
      var failed = function () { button.textContent = "Copy failed"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, failed);
      } else {
        failed();
      }
    });
    pre.parentNode.insertBefore(button, pre);
  });
});
