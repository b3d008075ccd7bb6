// The issuing form's small conveniences. Kept out of the pages (no inline scripts: a Content
// Security Policy comes later). Nothing here is needed for correctness: the server validates
// everything, and the idempotency key, not a disabled button, prevents double issuing.
(() => {
  "use strict";

  const PREFIX = "holders";
  const ROW_PATTERN = new RegExp(`^${PREFIX}-\\d+-`);
  const ID_PATTERN = new RegExp(`^id_${PREFIX}-\\d+-`);

  const rowsContainer = () => document.getElementById("holder-rows");
  const rows = () => Array.from(document.querySelectorAll("#holder-rows [data-holder-row]"));

  // Rows are numbered holders-0, holders-1, ... without gaps; Django's formset reads exactly
  // TOTAL_FORMS of them. After a removal, renumber what is left.
  function renumber() {
    const all = rows();
    all.forEach((row, index) => {
      for (const el of row.querySelectorAll("[name], [id], label[for]")) {
        const name = el.getAttribute("name");
        if (name) el.setAttribute("name", name.replace(ROW_PATTERN, `${PREFIX}-${index}-`));
        const id = el.getAttribute("id");
        if (id) el.setAttribute("id", id.replace(ID_PATTERN, `id_${PREFIX}-${index}-`));
        const forAttr = el.getAttribute("for");
        if (forAttr) el.setAttribute("for", forAttr.replace(ID_PATTERN, `id_${PREFIX}-${index}-`));
      }
      for (const number of row.querySelectorAll("[data-row-number]")) {
        number.textContent = String(index + 1);
      }
      const remove = row.querySelector("[data-remove-row]");
      if (remove) remove.setAttribute("aria-label", `Remove holder ${index + 1}`);
    });
    const total = document.getElementById(`id_${PREFIX}-TOTAL_FORMS`);
    if (total) total.value = String(all.length);
  }

  function clearRow(row) {
    for (const el of row.querySelectorAll("input, select, textarea")) {
      if (el.tagName === "SELECT") {
        for (const option of el.options) option.selected = false;
        if (!el.multiple && el.options.length) el.options[0].selected = true;
      } else {
        el.value = "";
      }
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-row]");
    if (!button || !rowsContainer()) return;
    const row = button.closest("[data-holder-row]");
    if (rows().length <= 1) {
      clearRow(row); // at least one row stays, empty
    } else {
      row.remove();
    }
    renumber();
    const messages = document.getElementById("row-messages");
    if (messages) messages.replaceChildren();
  });

  // Attribution: show the channel or the promoter list, and clear the other, so the form
  // never carries both (the server refuses both anyway).
  function syncAttribution(clearHidden) {
    const checked = document.querySelector("input[name='attribution']:checked");
    if (!checked) return;
    for (const target of document.querySelectorAll("[data-attribution-target]")) {
      const shown = target.dataset.attributionTarget === checked.value;
      target.hidden = !shown;
      if (!shown && clearHidden) {
        const select = target.querySelector("select");
        if (select) select.value = "";
      }
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.name === "attribution") syncAttribution(true);
  });

  // Supplements follow the rate: the options partial sends a <template> of the rate's
  // supplements; every row's list is rebuilt from it, keeping what is still selectable.
  function syncSupplements() {
    const template = document.getElementById("supplement-options");
    if (!template) return;
    for (const select of document.querySelectorAll("select[data-supplements]")) {
      const chosen = new Set(Array.from(select.selectedOptions, (o) => o.value));
      select.replaceChildren(template.content.cloneNode(true));
      for (const option of select.options) option.selected = chosen.has(option.value);
    }
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail && event.detail.target;
    if (target && (target.id === "id_price_option" || target.id === "id_rate")) {
      syncSupplements();
    }
  });

  // A second click while the page is submitting does nothing. Disabled after the submit event
  // has been dispatched, so the browser has already collected the form's values.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("[data-disable-on-submit]")) return;
    window.setTimeout(() => {
      for (const button of form.querySelectorAll("button[type='submit']")) {
        button.disabled = true;
      }
    }, 0);
  });

  // Back/forward may restore the page from memory with its buttons still disabled.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    for (const button of document.querySelectorAll("[data-disable-on-submit] button[type='submit']")) {
      button.disabled = false;
    }
  });

  document.addEventListener("DOMContentLoaded", () => syncAttribution(false));
})();
