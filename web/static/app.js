"use strict";
// Reads the node's REST API; all text goes through textContent (no HTML injection).
async function get(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error((await r.json()).detail || r.statusText);
  return r.json();
}
function row(table, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c && typeof c === "object") { td.textContent = c.text; td.className = c.cls || ""; }
    else td.textContent = c == null ? "" : String(c);
    tr.appendChild(td);
  }
  document.querySelector(table + " tbody").appendChild(tr);
}
function clear(table) { document.querySelector(table + " tbody").replaceChildren(); }
const short = id => id ? id.slice(0, 10) + "…" : "";
async function refresh() {
  try {
    const s = await get("/api/v1/status");
    document.getElementById("chain-id").textContent = s.chain_id;
    document.getElementById("height").textContent = s.height;
    document.getElementById("block-time").textContent = new Date(s.block_time).toLocaleString();
    document.getElementById("app-hash").textContent = s.app_hash;
    document.getElementById("validators").textContent = s.validators.length + " (total power " + s.validators.reduce((a, v) => a + v.power, 0) + ")";
    const orgs = await get("/api/v1/identities?kind=organisation");
    const names = {};
    clear("#members");
    for (const o of orgs) {
      names[o.id] = o.name;
      row("#members", [o.name, o.org_type, o.power || 0, {text: o.status, cls: "status-" + o.status}, {text: short(o.id), cls: "mono"}]);
    }
    clear("#practitioners");
    for (const p of await get("/api/v1/identities?kind=practitioner")) {
      row("#practitioners", [p.licence, p.profession, p.specialty, p.valid_until, {text: p.status, cls: "status-" + p.status}, names[p.org_id] || short(p.org_id)]);
    }
    clear("#proposals");
    // The newest page; older proposals page back from the Link header.
    const r = await fetch("/api/v1/proposals");
    if (!r.ok) throw new Error(r.statusText);
    const older = /<([^>]*)>;\s*rel="next"/.exec(r.headers.get("Link") || "");
    const note = document.getElementById("proposals-note");
    note.hidden = !older;
    note.textContent = older ? "The newest proposals; older ones, a page at a time: " + older[1] : "";
    for (const p of await r.json()) {
      const subject = p.member ? p.member.name : (names[p.org_id] || short(p.org_id));
      row("#proposals", [p.id, p.action, subject, p.yes.length + " yes / " + p.no.length + " no of " + p.electors, {text: p.status, cls: "status-" + p.status}]);
    }
  } catch (e) {
    document.getElementById("chain-id").textContent = "node unreachable: " + e.message;
  }
}
refresh();
setInterval(refresh, 3000);
