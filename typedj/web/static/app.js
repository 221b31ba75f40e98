// typedj web: the little the pages need beyond HTML (no build step, no network).
"use strict";

function filterOptions(search) {
  const select = document.getElementById(search.dataset.for);
  const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
  let first = null;
  for (const option of select.options) {
    const shown = option.value === "" || words.every((w) => option.text.toLowerCase().includes(w));
    option.hidden = !shown;
    if (shown && option.value !== "" && first === null) first = option;
  }
  if (first !== null && select.selectedOptions.length && select.selectedOptions[0].hidden) {
    first.selected = true;
  }
}

function pollJobs(box) {
  const refresh = () => {
    fetch(box.dataset.poll, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        const opened = new Set([...box.querySelectorAll("details[open]")].map((d) => d.parentElement.textContent));
        box.innerHTML = html;
        box.querySelectorAll("details").forEach((d) => {
          if (opened.has(d.parentElement.textContent)) d.open = true;
        });
        box.dataset.refreshed = String(Date.now());
      })
      .catch(() => {});
  };
  setInterval(refresh, Number(box.dataset.interval || 2000));
}

function addPartRow(button) {
  const body = button.parentElement.querySelector("tbody");
  const last = body.rows[body.rows.length - 1];
  const next = body.rows.length;
  const row = last.cloneNode(true);
  const rename = (text) => text.replace(/^(in-)?part\.(\d+)\.\d+\./, `$1part.$2.${next}.`);
  row.querySelectorAll(".field-error").forEach((e) => e.remove());
  row.querySelectorAll("td").forEach((td) => td.classList.remove("invalid"));
  row.querySelectorAll("input, select, textarea").forEach((input) => {
    if (input.name) input.name = rename(input.name);
    if (input.id) input.id = rename(input.id);
    if (input.dataset.for) input.dataset.for = rename(input.dataset.for);
    if (input.tagName === "SELECT") input.selectedIndex = 0;
    else input.value = "";
  });
  row.querySelectorAll("input.ref-search").forEach((s) => s.addEventListener("input", () => filterOptions(s)));
  body.appendChild(row);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.add-row").forEach((b) => b.addEventListener("click", () => addPartRow(b)));
  document.querySelectorAll("input.ref-search").forEach((s) => s.addEventListener("input", () => filterOptions(s)));
  document.querySelectorAll("[data-poll]").forEach(pollJobs);
  document.querySelectorAll("a[data-back]").forEach((a) =>
    a.addEventListener("click", (e) => {
      if (history.length > 1) {
        e.preventDefault();
        history.back();
      }
    })
  );
});
