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
      // The row's anchor (the review page's "Edit" links to #holder-N) follows its number.
      row.id = `holder-${index + 1}`;
      // The label comes translated from the page ("Quitar titular 3"): only its number changes.
      const remove = row.querySelector("[data-remove-row]");
      if (remove) {
        const label = remove.getAttribute("aria-label") || "";
        remove.setAttribute("aria-label", label.replace(/\d+/, String(index + 1)));
      }
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

  // Back/forward may restore the page from memory with its buttons still disabled. The form and
  // the review are asked for again instead: after issuing, the server leads a used key to its
  // issuance or gives a fresh form, never the old draft still editable.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    if (document.querySelector("[data-reload-on-restore]")) {
      window.location.reload();
      return;
    }
    for (const button of document.querySelectorAll("[data-disable-on-submit] button[type='submit']")) {
      button.disabled = false;
    }
  });

  // The event picker: a filter box above the list (24+ nights make a long dropdown). Without
  // JavaScript the box stays hidden and the plain list is the picker.
  function setUpEventFilter() {
    const box = document.querySelector("[data-event-filter]");
    const select = document.getElementById("id_event");
    const input = document.getElementById("event-filter");
    const count = document.getElementById("event-filter-count");
    if (!box || !select || !input) return;
    box.hidden = false;
    const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    const options = Array.from(select.options).filter((option) => option.value);
    const texts = new Map(options.map((option) => [option, fold(option.textContent)]));

    function matches() {
      const words = fold(input.value).split(/\s+/).filter(Boolean);
      return options.filter((option) => words.every((word) => texts.get(option).includes(word)));
    }

    function say(found) {
      if (!count) return;
      if (!input.value.trim()) {
        count.textContent = "";
      } else if (found.length === 0) {
        count.textContent = count.dataset.none;
      } else if (found.length === 1) {
        count.textContent = count.dataset.one;
      } else {
        count.textContent = count.dataset.many.replace("__N__", String(found.length));
      }
    }

    function choose(option) {
      if (!option || select.value === option.value) return;
      select.value = option.value;
      // htmx loads the event's rates on the select's change, as when picked by hand.
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", () => {
      const found = matches();
      const shown = new Set(found);
      for (const option of options) option.hidden = !shown.has(option);
      say(found);
      if (found.length === 1) choose(found[0]);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        // Enter picks the first match and moves on to the list; it never submits the form.
        event.preventDefault();
        choose(matches()[0]);
        select.focus();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        select.focus();
      }
    });
    // Typing in the box is not a change of the event: only the select's own change loads rates.
    input.addEventListener("change", (event) => event.stopPropagation());
  }

  // Arriving at a row from the review page ("Edit" links to #holder-N): put the cursor in it.
  function focusTargetRow() {
    const match = /^#holder-(\d+)$/.exec(window.location.hash);
    if (!match) return;
    const row = document.getElementById(`holder-${match[1]}`);
    const field = row && row.querySelector("input, select");
    if (field) field.focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    syncAttribution(false);
    setUpEventFilter();
  });
  // After load: the browser's own jump to the #holder-N fragment clears the focus when it runs.
  window.addEventListener("load", () => window.setTimeout(focusTargetRow, 0));
})();
