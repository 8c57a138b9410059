// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Character counters on long text fields.
  document.querySelectorAll("textarea[maxlength]").forEach((area) => {
    const max = Number(area.getAttribute("maxlength"));
    const out = document.createElement("p");
    out.className = "hint";
    out.setAttribute("aria-live", "polite");
    const template = area.dataset.counter || "{n} / {max}";
    const update = () => { out.textContent = template.replace("{n}", area.value.length).replace("{max}", max); };
    area.insertAdjacentElement("afterend", out);
    area.addEventListener("input", update);
    update();
  });
  // Ask before actions that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
