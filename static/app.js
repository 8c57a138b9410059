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

  function start() {
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
  }

  // A page restored from the back/forward cache may keep the "sending" mark.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sending]").forEach((form) => { delete form.dataset.sending; });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
