"use strict";
async function get(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(r.statusText);
  return r.json();
}
function fill(table, rows) {
  const body = document.querySelector(table + " tbody");
  body.replaceChildren();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c == null ? "" : String(c);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}
async function refresh() {
  const names = {};
  for (const o of await get("/api/v1/identities?kind=organisation")) names[o.id] = o.name;
  const who = id => names[id] || id;
  const recalls = await get("/api/v1/supply/recalls");
  const products = {};
  for (const r of recalls) {
    if (!(r.gtin in products)) {
      products[r.gtin] = await get("/api/v1/supply/products/" + r.gtin).then(p => p.name).catch(() => "");
    }
  }
  fill("#recalls", recalls.map(r => [r.gtin, products[r.gtin], r.lot, r.reason, who(r.by), new Date(r.time).toLocaleString()]));
  const suspects = await get("/api/v1/supply/suspects");
  fill("#suspects", suspects.map(o => [o.key, o.lot, o.suspect_reason, o.quarantined ? "yes" : "no", who(o.custodian)]));
}
refresh();
setInterval(refresh, 5000);
