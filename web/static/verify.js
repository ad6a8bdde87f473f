"use strict";
// Pharmacy verification: reads GET /api/v1/verify; all text via textContent.
const names = {};
async function loadOrgs() {
  const r = await fetch("/api/v1/identities?kind=organisation");
  if (!r.ok) return;
  const sel = document.getElementById("as");
  for (const o of await r.json()) {
    names[o.id] = o.name;
    const opt = document.createElement("option");
    opt.value = o.id;
    opt.textContent = o.name + " (" + o.org_type + ")";
    sel.appendChild(opt);
  }
  const want = new URLSearchParams(location.search).get("as");
  if (want) sel.value = want;
}
const who = id => names[id] || (id ? id.slice(0, 10) + "…" : "");
async function verify(ev) {
  ev.preventDefault();
  const code = document.getElementById("code").value.trim();
  if (!code) return;
  const q = new URLSearchParams({code, as: document.getElementById("as").value});
  const r = await fetch("/api/v1/verify?" + q);
  const v = await r.json();
  const box = document.getElementById("result");
  box.hidden = false;
  // A scan to repeat (the scanner dropped a separator) is no alarm.
  box.className = "card verdict-" + (v.dispensable ? "ok" : v.verdict === "missing_separator" ? "again" : "stop");
  document.getElementById("verdict").textContent = r.ok ? (v.dispensable ? "✓ " : "✗ ") + v.verdict.replaceAll("_", " ") : "error";
  document.getElementById("verdict").dataset.verdict = v.verdict || v.code;
  document.getElementById("message").textContent = r.ok ? [v.message, v.reading].filter(Boolean).join(". ") : v.detail;
  const p = v.product;
  document.getElementById("product").textContent = p ? [p.name, p.strength, p.form].filter(Boolean).join(" ") + " (GTIN " + p.gtin + ")" : (v.gtin || "");
  document.getElementById("identity").textContent = [v.serial, v.lot, v.expiry].filter(Boolean).join(" / ");
  // The custody state as the pharmacist reads it: a recalled or
  // quarantined pack is not simply "active".
  const state = v.verdict === "recalled" ? "lot recalled" : v.verdict === "quarantined" ? "quarantined as suspect"
    : ({ active: "in stock", in_transit: "in transit", dispensed: "dispensed" }[v.status] || v.status);
  document.getElementById("custodian").textContent = v.custodian ? who(v.custodian) + " (" + state + ")" : "";
  // The verdict carries the latest steps of a long trail, and how many
  // there are; the whole trail pages from the object's route.
  const note = document.getElementById("trail-note");
  const shown = (v.trail || []).length;
  note.hidden = !(v.trail_steps > shown);
  note.textContent = note.hidden ? "" : `The latest ${shown} of ${v.trail_steps} steps. The whole trail, a page at a time: /api/v1/supply/objects/${v.key}`;
  const body = document.querySelector("#trail tbody");
  body.replaceChildren();
  for (const s of v.trail || []) {
    const tr = document.createElement("tr");
    for (const c of [s.seq + 1, new Date(s.time).toLocaleString(), s.action, who(s.by), s.to ? who(s.to) : (s.parent || "")]) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  // Ready for the next scan: it replaces this code (a scanner types it and
  // sends Enter).
  const input = document.getElementById("code");
  input.focus();
  input.select();
}
document.getElementById("verify-form").addEventListener("submit", verify);
loadOrgs();
