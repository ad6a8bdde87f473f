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
new MutationObserver(labelCells).observe(document.documentElement, { childList: true, subtree: true });
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
