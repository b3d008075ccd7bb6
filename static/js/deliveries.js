// "Copy guest link" on the issuance page. Delegated from the document: the rows are swapped by
// htmx while the page updates itself, and new buttons must work without being bound again.
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.dataset.copied || label;
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copyTarget);
    if (!input) return;
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { copied(button); });
    } else {
      // Plain http (a training laptop): the older way still copies the selection.
      document.execCommand("copy");
      copied(button);
    }
  });
})();
