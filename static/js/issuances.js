// The print view's "Print" button. Kept out of the page itself: no inline scripts anywhere.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print-page]")) {
    button.addEventListener("click", () => window.print());
  }
});
