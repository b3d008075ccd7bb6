// The search box may hold a holder's full document number. Such a search is posted first, so the
// number never appears in an address (history, access logs): the server finds it by its digest and
// answers with a page that carries only a token, or, when it is no holder's document number, with
// the ordinary search address. Kept out of the page itself: no inline scripts anywhere.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("ticket-search-form");
  if (!form || !form.dataset.postAction) {
    return;
  }
  form.addEventListener("submit", () => {
    const compact = form.querySelector("[name=q]").value.replace(/[^0-9A-Za-z]/g, "");
    // Names and emails are searched as they are; a document number has digits, and 5 or more
    // letters and digits in all (the shortest the server matches).
    if (compact.length < 5 || !/[0-9]/.test(compact)) {
      return;
    }
    const token = document.querySelector("#document-search-form [name=csrfmiddlewaretoken]");
    if (token) {
      form.appendChild(token.cloneNode());
    }
    form.method = "post";
    form.action = form.dataset.postAction;
  });
});
