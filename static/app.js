// Progressive enhancement only: every page works without this file.
(() => {
  "use strict";
  // Translated texts come from the <script> tag's data attributes (see base.html).
  const texts = (document.currentScript && document.currentScript.dataset) || {};
  const counterText = texts.counter || "{n} / {max}";

  const lang = document.documentElement.lang || undefined;
  function fill(template, n, max) {
    return template.replace("{n}", n.toLocaleString(lang)).replace("{max}", max.toLocaleString(lang));
  }

  // Character counters on long text fields: visible text for the eye, and a calm announcement
  // for screen readers once the typing pauses (not at every key).
  function addCounter(area, index) {
    const max = Number(area.getAttribute("maxlength"));
    if (!max) return;
    const id = (area.id || "text-" + index) + "-counter";
    const shown = document.createElement("p");
    shown.className = "counter";
    shown.id = id;
    const spoken = document.createElement("p");
    spoken.className = "sr-only";
    spoken.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", spoken);
    area.insertAdjacentElement("afterend", shown);
    const described = (area.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    area.setAttribute("aria-describedby", described.concat(id).join(" "));
    let timer = null;
    const update = () => {
      const n = area.value.length;
      shown.textContent = fill(area.dataset.counter || counterText, n, max);
      shown.classList.toggle("near", n >= max * 0.9);
    };
    area.addEventListener("input", () => {
      update();
      clearTimeout(timer);
      timer = setTimeout(() => { spoken.textContent = shown.textContent; }, 1200);
    });
    update();
  }

  // Ask before actions that cannot be undone: data-confirm on a form or on its submit button.
  function confirmSubmit(event) {
    const form = event.target;
    const button = event.submitter;
    const question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // One click is enough: a second one on a slow connection would send the form twice.
    if (form.method.toLowerCase() === "post") {
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      setTimeout(() => { delete form.dataset.sending; }, 8000);
    }
  }

  // The error summary of a refused form (base.html): focused on load (autofocus does it too, but
  // not on a page restored from history), and each link puts the cursor in its field.
  function errorSummary() {
    const summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    if (!window.location.hash) summary.focus();
    summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[href^='#']");
      const target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      const details = target.closest("details");
      if (details) details.open = true;
      const label = target.id && document.querySelector(`label[for="${CSS.escape(target.id)}"]`);
      const legend = target.closest("fieldset") && target.closest("fieldset").querySelector("legend");
      (legend || label || target).scrollIntoView();
      target.focus({ preventScroll: true });
    });
  }

  // The place picker (templates/auth/_locality.html): without this, "Find" sends the form back
  // with the matches as radio buttons. Here the name field becomes a combobox (ARIA 1.2, list
  // popup) fed by /localities/search.json as the resident types; choosing a place puts it in
  // the same radio buttons, so the form sends `locality` (a code) either way.
  function localityPicker(box) {
    const input = box.querySelector("input[name=locality_q]");
    const options = box.querySelector("[data-locality-options]");
    if (!input || !options || !window.fetch) return;
    const t = box.dataset;
    const listId = input.id + "-listbox";
    const list = document.createElement("ul");
    list.id = listId;
    list.className = "locality-listbox";
    list.setAttribute("role", "listbox");
    const legend = box.querySelector("legend");
    if (legend) list.setAttribute("aria-label", legend.textContent.trim());
    list.hidden = true;
    const spoken = document.createElement("p");
    spoken.className = "sr-only";
    spoken.setAttribute("aria-live", "polite");
    const row = input.closest(".locality-search") || input;
    row.insertAdjacentElement("afterend", spoken);
    row.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    const cache = new Map();
    let results = [];
    let active = -1;
    let timer = null;
    let controller = null;
    let asked = null;
    let chosenLabel = null;

    function say(text) { spoken.textContent = text || ""; }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function draw() {
      list.replaceChildren(...results.map((place, i) => {
        const item = document.createElement("li");
        item.id = `${listId}-${i}`;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", i === active ? "true" : "false");
        item.textContent = place.label;
        item.addEventListener("mousedown", (event) => event.preventDefault()); // focus stays in the field
        item.addEventListener("click", () => choose(i));
        return item;
      }));
      const open = results.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", String(open));
      if (open && active >= 0) {
        input.setAttribute("aria-activedescendant", `${listId}-${active}`);
        list.children[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function choose(i) {
      const place = results[i];
      if (!place) return;
      input.value = place.label;
      chosenLabel = place.label;
      const status = document.createElement("p");
      status.className = "locality-status";
      status.textContent = (t.textChosen || "{label}").replace("{label}", place.label);
      const radios = document.createElement("ul");
      radios.className = "radio-list";
      const item = document.createElement("li");
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "locality";
      radio.id = input.id + "-0";
      radio.value = place.code;
      radio.checked = true;
      label.htmlFor = radio.id;
      const text = document.createElement("span");
      text.textContent = place.label;
      label.append(radio, " ", text);
      item.append(label);
      radios.append(item);
      options.replaceChildren(status, radios);
      close();
      say(status.textContent);
    }
    async function lookup() {
      const query = input.value.trim();
      if (query === asked) return;
      asked = query;
      if (query.length < 2) { results = []; close(); return; }
      let data = cache.get(query);
      if (!data) {
        if (controller) controller.abort();
        controller = new AbortController();
        try {
          const response = await fetch(`${t.url}?q=${encodeURIComponent(query)}`, {
            signal: controller.signal, headers: { Accept: "application/json" },
          });
          if (!response.ok) throw new Error(String(response.status));
          data = await response.json();
          cache.set(query, data);
        } catch (error) {
          if (error.name !== "AbortError") { asked = null; say(t.textError); }
          return;
        }
      }
      if (input.value.trim() !== query) return;
      results = data.results || [];
      active = -1;
      draw();
      say(results.length ? (t.textFound || "{n}").replace("{n}", results.length.toLocaleString(lang)) : t.textNone);
    }
    input.addEventListener("input", () => {
      // A name typed anew: the place chosen before no longer goes with it.
      if (chosenLabel !== null && input.value !== chosenLabel) {
        options.replaceChildren();
        chosenLabel = null;
      } else if (chosenLabel === null && options.querySelector("input[type=radio]") && !options.querySelector("input:checked")) {
        options.replaceChildren();
      }
      clearTimeout(timer);
      timer = setTimeout(lookup, 250);
    });
    input.addEventListener("keydown", (event) => {
      const n = results.length;
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && n) {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        active = list.hidden ? (step > 0 ? 0 : n - 1) : (active + step + n) % n;
        draw();
      } else if (event.key === "Enter" && !list.hidden && n) {
        // Enter picks the highlighted place (or the only one) instead of sending the form.
        if (active >= 0 || n === 1) {
          event.preventDefault();
          choose(active >= 0 ? active : 0);
        }
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", () => { setTimeout(close, 200); });
    input.addEventListener("focus", () => { if (results.length && chosenLabel === null) draw(); });
  }

  // An export made in the background: follow its progress without reloading the page (the
  // page reloads itself only without JavaScript), then fetch the file once it is ready.
  function exportProgress(box) {
    const bar = box.querySelector("progress");
    const count = box.querySelector("[data-count]");
    const poll = () => {
      fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((job) => {
          if (job.status === "done") {
            count.textContent = box.dataset.ready;
            bar.value = bar.max;
            window.location.href = box.dataset.downloadUrl;
          } else if (job.status === "queued" || job.status === "running") {
            bar.max = job.total || 1;
            bar.value = job.done;
            count.textContent = job.text;
            setTimeout(poll, 2000);
          } else {
            window.location.reload(); // failed (the page offers a retry) or gone
          }
        })
        .catch(() => { setTimeout(() => window.location.reload(), 3000); });
    };
    setTimeout(poll, 1500);
  }

  function start() {
    errorSummary();
    document.querySelectorAll("[data-export-progress]").forEach(exportProgress);
    document.querySelectorAll("[data-locality-picker]").forEach(localityPicker);
    document.querySelectorAll("textarea[maxlength]").forEach(addCounter);
    document.addEventListener("submit", confirmSubmit);
    document.querySelectorAll("a[data-confirm]").forEach((link) => {
      link.addEventListener("click", (event) => {
        if (!window.confirm(link.dataset.confirm)) event.preventDefault();
      });
    });
    // "Print" buttons are hidden without JavaScript (the browser's own Print command remains).
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => window.print());
    });
    // "Copy the link": shown only with JavaScript; without it the link is there to select.
    document.querySelectorAll("[data-copy]").forEach((button) => {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      button.hidden = false;
      button.addEventListener("click", () => {
        const done = () => { button.textContent = button.dataset.copied; };
        field.select();
        if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => {});
        else if (document.execCommand("copy")) done();
      });
    });
  }

  // A page restored from the back/forward cache may keep the "sending" mark.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sending]").forEach((form) => { delete form.dataset.sending; });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
