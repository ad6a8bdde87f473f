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
