"use strict";
// The regulator's dashboard: counts at a glance, the recalled lots and the
// suspect packs (public), the access audit (the regulator's: shown once
// signed in as the regulator), each table downloadable as CSV (tables.js),
// and the regulator's actions: recall a lot, release a quarantine.
let recallPages = 1;
let regulator = false; // signed in as the regulator (or one of its people)
document.getElementById("more-recalls").addEventListener("click", () => { recallPages++; refresh(); });
const count = (id, n, more) => { document.getElementById(id).textContent = n + (more ? "+" : ""); };

async function refresh() {
  const all = await names();
  const who = id => all[id] || id;
  // Recalls come a page at a time: as many pages as asked for ("Show more").
  let recalls = [], next = "/api/v1/supply/recalls";
  for (let i = 0; i < recallPages && next; i++) {
    const page = await getPage(next);
    recalls = recalls.concat(page.items);
    next = page.next;
  }
  document.getElementById("more-recalls").hidden = !next;
  count("n-recalls", recalls.length, next);
  const products = {};
  for (const r of recalls) {
    if (!(r.gtin in products)) {
      products[r.gtin] = await get("/api/v1/supply/products/" + r.gtin).then(p => p.name).catch(() => "");
    }
  }
  fill("#recalls", recalls.map(r => [r.gtin, products[r.gtin], r.lot, r.reason, who(r.by), new Date(r.time).toLocaleString()]));
  const suspects = await get("/api/v1/supply/suspects");
  count("n-suspects", suspects.length, suspects.length >= 1000);
  count("n-quarantined", suspects.filter(o => o.quarantined).length, suspects.length >= 1000);
  fill("#suspects", suspects.map(o => [o.key, o.lot, o.suspect_reason, o.quarantined ? "yes" : "no", who(o.custodian),
    regulator && o.quarantined && o.gtin && o.serial ? button("Release", () => release(o), "secondary") : ""]));
}

// release lifts a pack's quarantine (the regulator, once the report is
// cleared).
async function release(o) {
  const out = document.getElementById("suspect-result");
  if (!confirm("Release " + o.key + " from quarantine? It becomes dispensable again where it is held.")) return;
  out.textContent = "Releasing…";
  try {
    const res = await act("supply.release_quarantine", { code: "(01)" + o.gtin + "(21)" + o.serial });
    out.textContent = "Released " + o.key + " (block " + res.height + ").";
    await refresh();
  } catch (e) { out.textContent = "Not released: " + e.message; }
}

document.getElementById("recall-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("recall-result");
  const body = { gtin: document.getElementById("recall-gtin").value.trim(), lot: document.getElementById("recall-lot").value.trim(),
    reason: document.getElementById("recall-reason").value.trim() };
  if (!confirm("Recall lot " + body.lot + " of " + body.gtin + "? Every scan of its packs will answer recalled; this cannot be undone.")) return;
  out.textContent = "Recalling…";
  try {
    const res = await act("supply.recall", body);
    out.textContent = "Lot " + body.lot + " of " + body.gtin + " recalled (block " + res.height + "): every scan of its packs now answers recalled.";
    await refresh();
  } catch (e) { out.textContent = "Not recalled: " + e.message; }
});

// The access audit is the regulator's (the node refuses it to anyone
// else): shown once signed in. Counts come from the newest page of each
// listing; a full page shows "+".
async function audit() {
  const all = await names();
  const who = id => all[id] || id;
  const out = document.getElementById("audit-error");
  try {
    const emergencies = await getPage("/api/v1/access?emergency=true&limit=1000");
    const refused = await getPage("/api/v1/access?outcome=refused&limit=1000");
    const now = Date.now(), day = 86400000;
    const since = (list, days) => list.filter(a => now - new Date(a.time).getTime() <= days * day).length;
    count("n-emergency-1", since(emergencies.items, 1));
    count("n-emergency-7", since(emergencies.items, 7));
    count("n-emergency-30", since(emergencies.items, 30), emergencies.next && since(emergencies.items, 30) === emergencies.items.length);
    count("n-refused-7", since(refused.items, 7), refused.next && since(refused.items, 7) === refused.items.length);
    for (const t of document.querySelectorAll(".audit-only")) t.hidden = false;
    fill("#emergencies", emergencies.items.map(a => [when(a.time), who(a.requester), { text: a.patient, cls: "mono" },
      { text: a.record, cls: "mono" }, a.emergency_reason, who(a.custodian)]));
    fill("#refused", refused.items.map(a => [when(a.time), who(a.requester), { text: a.patient, cls: "mono" },
      { text: a.record, cls: "mono" }, a.purpose, { text: (a.refusal || a.outcome).replaceAll("_", " "), cls: "stop" }]));
    out.textContent = "";
  } catch (e) {
    out.textContent = e.message === "regulator_only" ? "Only a regulator may read the access audit." : "Cannot read the audit: " + e.message;
  }
}
refresh();
setInterval(refresh, 5000);
signIn(async me => {
  regulator = me.kind === "organisation" ? me.org_type === "regulator" : false;
  document.getElementById("recall-form").hidden = !regulator;
  document.getElementById("who").textContent = me.name || me.id;
  await Promise.all([audit(), refresh()]);
  setInterval(audit, 5000);
});
