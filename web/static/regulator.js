"use strict";
let recallPages = 1;
document.getElementById("more-recalls").addEventListener("click", () => { recallPages++; refresh(); });
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

// The emergency list is the regulator's audit (the node refuses it to
// anyone else): shown once signed in.
async function audit() {
  const all = await names();
  const who = id => all[id] || id;
  const out = document.getElementById("audit-error");
  try {
    const emergencies = await get("/api/v1/access?emergency=true");
    fill("#emergencies", emergencies.map(a => [when(a.time), who(a.requester), { text: a.patient, cls: "mono" },
      { text: a.record, cls: "mono" }, a.emergency_reason, who(a.custodian)]));
    out.textContent = "";
  } catch (e) {
    out.textContent = e.message === "regulator_only" ? "Only a regulator may read the emergency-access audit." : "Cannot read the audit: " + e.message;
  }
}
refresh();
setInterval(refresh, 5000);
signIn(async () => {
  await audit();
  setInterval(audit, 5000);
});
