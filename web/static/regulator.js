"use strict";
// The regulator's dashboard: counts at a glance, the recalled lots and the
// suspect packs (public), the access audit (the regulator's: shown once
// signed in as the regulator), where a lot's packs are (a recall's reach),
// each table downloadable as CSV (tables.js), and the regulator's actions:
// recall a lot, release a quarantine.
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
  fill("#recalls", recalls.map(r => [r.gtin, products[r.gtin], r.lot, r.reason, who(r.by), new Date(r.time).toLocaleString(),
    packsButton(r)]));
  // Temperature excursions: the latest page, and counts by route and carrier.
  const exc = await getPage("/api/v1/supply/excursions?limit=1000");
  exc.items = exc.items || [];
  count("n-excursions", exc.items.length, exc.next);
  for (const e of exc.items) {
    if (!(e.gtin in products)) {
      products[e.gtin] = await get("/api/v1/supply/products/" + e.gtin).then(p => p.name).catch(() => "");
    }
  }
  fill("#excursions", exc.items.map(e => [e.id, new Date(e.time).toLocaleString(), products[e.gtin] || e.gtin, (e.lots || []).join(", "), e.packs,
    e.to ? who(e.from) + " → " + who(e.to) : "at " + who(e.from) + " (in store)", e.carrier || "", e.reason + " (readings by " + who(e.reporter) + ")",
    e.decision ? `${e.decision} by ${who(e.decided_by)}: ${e.note}` : regulator ? decideButtons(e) : "waiting for the manufacturer"]));
  const counts = await get("/api/v1/supply/excursions/counts");
  const none = id => (id === "-" ? "(not named)" : who(id));
  fill("#excursion-routes", (counts.routes || []).map(r => [none(r.from), r.to === "-" ? "(in store)" : none(r.to), r.count]));
  fill("#excursion-carriers", (counts.carriers || []).map(c => [c.carrier === "-" ? "(not named)" : c.carrier, c.count]));
  const suspects = await get("/api/v1/supply/suspects");
  count("n-suspects", suspects.length, suspects.length >= 1000);
  count("n-quarantined", suspects.filter(o => o.quarantined).length, suspects.length >= 1000);
  fill("#suspects", suspects.map(o => [o.key, o.lot, o.suspect_reason, o.quarantined ? "yes" : "no", who(o.custodian),
    regulator && o.quarantined && o.gtin && o.serial ? button("Release", () => release(o), "secondary") : ""]));
}

// decideButtons lets the regulator decide an excursion itself.
function decideButtons(e) {
  const span = document.createElement("span");
  for (const d of ["release", "destroy"]) {
    const b = button(d === "release" ? "Release" : "Destroy", async () => {
      const note = prompt(`Why ${d} the packs of excursion ${e.id}? (no patient data)`);
      if (!note) return;
      const out = document.getElementById("excursion-result");
      try {
        await act("supply.excursion_decision", { id: e.id, decision: d, note });
        out.textContent = `Excursion ${e.id}: ${d} recorded.`;
        refresh();
      } catch (err) {
        out.textContent = `Excursion ${e.id} not decided: ${err.message}`;
      }
    }, "secondary");
    b.setAttribute("aria-label", `${d} excursion ${e.id}`);
    span.append(b, " ");
  }
  return span;
}

function packsButton(r) {
  const b = button("Packs", () => showLot(r.gtin, r.lot, true), "secondary");
  b.setAttribute("aria-label", "Packs of lot " + r.lot);
  return b;
}

// showLot lists where every pack of a lot is now (the reach of a recall),
// with counts by status; more pages on asking. A page of the listing
// examines a bounded number of the product's packs, so it may hold few
// packs and still go on: pages are read until a thousand packs are shown,
// five pages are read, or the listing ends.
let lotShown = null; // {gtin, lot, packs, next, recall, product}
async function showLot(gtin, lot, scroll) {
  const out = document.getElementById("lot-summary");
  document.getElementById("lot-gtin").value = gtin;
  document.getElementById("lot-lot").value = lot;
  if (scroll) document.getElementById("lot-card").scrollIntoView({ block: "start" });
  out.textContent = "Reading lot " + lot + "…";
  const path = "/api/v1/supply/lots/" + encodeURIComponent(gtin) + "/" + encodeURIComponent(lot) + "/packs";
  try {
    const [product, recall] = await Promise.all([
      get("/api/v1/supply/products/" + encodeURIComponent(gtin)).catch(() => null),
      getAll("/api/v1/supply/recalls").then(rs => rs.find(r => r.gtin === gtin && r.lot === lot)).catch(() => null)]);
    lotShown = { gtin, lot, packs: [], next: path, recall, product };
    await morePacks();
  } catch (e) {
    lotShown = null;
    fill("#lot-packs", []);
    document.getElementById("more-packs").hidden = true;
    out.textContent = e.message === "bad_code" ? "That is not a GTIN (14 digits) and a lot (up to 20 characters)." : "Cannot read the lot: " + e.message;
  }
}
async function morePacks() {
  const l = lotShown, all = await names();
  const who = id => id ? all[id] || id : "";
  // At most five pages a click (each examines up to 10,000 of the
  // product's packs): "Show more packs" goes on.
  for (let shown = l.packs.length, pages = 0; l.next && l.packs.length < shown + 1000 && pages < 5; pages++) {
    const page = await getPage(l.next);
    l.packs = l.packs.concat(page.items);
    l.next = page.next;
  }
  fill("#lot-packs", l.packs.map(o => [o.serial, o.status.replaceAll("_", " ") + (l.recall && o.status !== "dispensed" ? " — lot recalled" : ""), who(o.custodian), who(o.ship_to),
    o.parent || "", o.quarantined ? "yes" + (o.suspect_reason ? ": " + o.suspect_reason : "") : "",
    o.dispensed_by ? who(o.dispensed_by) + ", " + when(o.dispensed_at) : ""]));
  document.getElementById("more-packs").hidden = !l.next;
  document.getElementById("lot-packs").dataset.csv = "lot-" + l.gtin + "-" + l.lot;
  const by = {};
  for (const o of l.packs) by[o.status] = (by[o.status] || 0) + 1;
  const parts = Object.keys(by).sort().map(s => by[s] + " " + s.replaceAll("_", " "));
  const quarantined = l.packs.filter(o => o.quarantined).length;
  if (quarantined) parts.push(quarantined + " quarantined");
  const name = l.product ? l.product.name + (l.product.strength ? " " + l.product.strength : "") : l.gtin;
  document.getElementById("lot-summary").textContent = "Lot " + l.lot + " of " + name + ": " +
    (l.packs.length ? l.packs.length + (l.next ? "+" : "") + " packs (" + parts.join(", ") + ")" : "no packs") +
    (l.recall ? ". Recalled " + when(l.recall.time) + " by " + who(l.recall.by) + ": " + l.recall.reason + "." : ". Not recalled.");
}
document.getElementById("more-packs").addEventListener("click", () => morePacks().catch(e => {
  document.getElementById("lot-summary").textContent = "Cannot read more packs: " + e.message;
}));
document.getElementById("lot-form").addEventListener("submit", ev => {
  ev.preventDefault();
  showLot(document.getElementById("lot-gtin").value.trim(), document.getElementById("lot-lot").value.trim(), false);
});

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
      { text: a.record, cls: "mono" }, a.emergency_reason.replaceAll("_", " "), who(a.custodian)]));
    fill("#refused", refused.items.map(a => [when(a.time), who(a.requester), { text: a.patient, cls: "mono" },
      { text: a.record, cls: "mono" }, a.purpose, { text: (a.refusal || a.outcome).replaceAll("_", " "), cls: "stop" }]));
    chart(emergencies.items, refused.items);
    out.textContent = "";
  } catch (e) {
    out.textContent = e.message === "regulator_only" ? "Only a regulator may read the access audit." : "Cannot read the audit: " + e.message;
  }
}
// chart draws emergency and refused reads a day over the last 30 days
// (from the newest page of each listing) as paired bars, each with its
// count as a tooltip, and says the totals in words.
function chart(emergencies, refused) {
  const day = 864e5, today = Math.floor(Date.now() / day);
  const per = list => {
    const n = new Array(30).fill(0);
    for (const a of list) {
      const d = today - Math.floor(new Date(a.time).getTime() / day);
      if (d >= 0 && d < 30) n[29 - d]++;
    }
    return n;
  };
  const e = per(emergencies), r = per(refused);
  const top = Math.max(1, ...e, ...r);
  const svg = document.getElementById("audit-chart");
  svg.replaceChildren();
  const bar = (i, n, dx, cls, what) => {
    if (!n) return;
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const h = 76 * n / top;
    rect.setAttribute("x", (i * 10 + dx).toFixed(1));
    rect.setAttribute("y", (78 - h).toFixed(1));
    rect.setAttribute("width", "4");
    rect.setAttribute("height", h.toFixed(1));
    rect.setAttribute("class", cls);
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${new Date((today - 29 + i) * day).toLocaleDateString()}: ${n} ${what}`;
    rect.appendChild(title);
    svg.appendChild(rect);
  };
  e.forEach((n, i) => bar(i, n, 1, "bar-emergency", "emergency"));
  r.forEach((n, i) => bar(i, n, 5, "bar-refused", "refused"));
  const sum = a => a.reduce((x, y) => x + y, 0);
  document.getElementById("chart-summary").textContent = `${sum(e)} emergency and ${sum(r)} refused reads in the last 30 days; ` +
    `busiest day ${top} of either.`;
  document.getElementById("chart-from").textContent = new Date((today - 29) * day).toLocaleDateString();
  document.getElementById("chart-to").textContent = "today";
}

// The regulator suspends, reinstates or revokes a practitioner's licence.
async function practitioners() {
  const sel = document.getElementById("prac"), all = await names();
  const list = await get("/api/v1/identities?kind=practitioner");
  const chosen = sel.value;
  sel.replaceChildren(new Option("Choose…", ""), ...list.map(p =>
    new Option(`${p.name || p.profession} — ${p.licence}, ${all[p.org_id] || p.org_id} (${p.status})`, p.id)));
  sel.value = chosen;
}
document.getElementById("status-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const out = document.getElementById("prac-result"), sel = document.getElementById("prac");
  const body = { id: sel.value, status: document.getElementById("prac-status").value, note: document.getElementById("prac-note").value.trim() };
  const who = sel.selectedOptions[0].textContent.replace(/ \([a-z]+\)$/, "");
  if (!confirm(`Set ${who} to ${body.status}? It applies to every identity holding the licence.`)) return;
  out.textContent = "Sending…";
  try {
    const res = await act("identity.set_practitioner_status", body);
    out.textContent = `${who} is now ${body.status} (block ${res.height}).`;
    await practitioners();
  } catch (e) { out.textContent = "Not changed: " + e.message + (e.problem && e.problem.detail ? " — " + e.problem.detail : ""); }
});

refresh();
setInterval(refresh, 5000);
signIn(async me => {
  regulator = me.kind === "organisation" ? me.org_type === "regulator" : false;
  document.getElementById("recall-form").hidden = !regulator;
  document.getElementById("status-form").hidden = !regulator;
  if (regulator) await practitioners();
  document.getElementById("who").textContent = me.name || me.id;
  await Promise.all([audit(), refresh()]);
  setInterval(audit, 5000);
});
