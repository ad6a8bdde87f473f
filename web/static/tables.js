"use strict";
// On a narrow screen a table's rows stack (style.css, "phones"): each cell
// then shows its column's heading, which it takes from the table's head as
// data-label. Tables are filled by the pages' scripts at any time, so new
// rows are labelled as they appear.
function labelCells() {
  for (const table of document.querySelectorAll("table")) {
    const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
    if (!heads.length) continue;
    for (const tr of table.querySelectorAll("tbody tr")) {
      [...tr.children].forEach((td, i) => {
        if (heads[i] && td.dataset.label !== heads[i] && !td.hasAttribute("colspan")) td.dataset.label = heads[i];
      });
    }
  }
}
// A table marked data-filter gets a filter box: rows whose text does not
// hold what is typed (any case) are hidden, and stay hidden as the page
// refreshes the table; its CSV holds the rows shown.
function filterRows() {
  for (const table of document.querySelectorAll("table[data-filter]")) {
    const box = table.filterBox;
    const q = box ? box.value.trim().toLowerCase() : "";
    let shown = 0, all = 0;
    for (const tr of table.querySelectorAll("tbody tr")) {
      const hide = q !== "" && !tr.textContent.toLowerCase().includes(q);
      if (tr.hidden !== hide) tr.hidden = hide;
      all++;
      if (!hide) shown++;
    }
    if (box) {
      const note = q ? `${shown} of ${all} rows` : "";
      if (box.nextElementSibling.textContent !== note) box.nextElementSibling.textContent = note;
    }
  }
}
for (const table of document.querySelectorAll("table[data-filter]")) {
  const p = document.createElement("p");
  p.className = "filter";
  const label = document.createElement("label");
  const box = document.createElement("input");
  const id = table.id + "-filter";
  box.id = id;
  box.type = "search";
  box.autocomplete = "off";
  label.htmlFor = id;
  label.textContent = "Filter " + table.dataset.filter;
  const count = document.createElement("span");
  count.className = "muted";
  count.setAttribute("aria-live", "polite");
  box.addEventListener("input", filterRows);
  p.append(label, " ", box, " ", count);
  table.before(p);
  table.filterBox = box;
}
new MutationObserver(() => { labelCells(); filterRows(); }).observe(document.documentElement, { childList: true, subtree: true });
labelCells();

// A table marked data-csv gets a button that downloads it as CSV, as it is
// shown (the regulator's exports). A cell that a spreadsheet would read as
// a formula is written as text.
function csvCell(text) {
  let t = text.trim();
  if (/^[=+\-@\t\r]/.test(t)) t = "'" + t;
  // Every cell quoted: a ";" or a lone "\r" must not start a new cell or
  // row in a spreadsheet set up otherwise.
  return '"' + t.replaceAll('"', '""') + '"';
}
function tableCSV(table) {
  const rows = [[...table.querySelectorAll("thead th")].map(th => th.textContent)];
  for (const tr of table.querySelectorAll("tbody tr")) {
    if (tr.hidden) continue; // filtered out
    rows.push([...tr.children].map(td => td.querySelector("button") ? "" : td.textContent));
  }
  return rows.map(r => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
for (const table of document.querySelectorAll("table[data-csv]")) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "csv";
  b.textContent = "Download CSV";
  b.setAttribute("aria-label", "Download " + table.dataset.csv + " as CSV");
  b.addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([tableCSV(table)], { type: "text/csv" }));
    a.download = table.dataset.csv + "-" + new Date().toISOString().slice(0, 10) + ".csv";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
  table.after(b);
}
