"use strict";
let me = null;

// The grounds GDPR Art. 17(3) gives an institution to keep a record.
const bases = {
  legal_obligation: "a legal obligation (GDPR Art. 17(3)(b))",
  public_health: "public health (Art. 17(3)(c))",
  archiving_research: "archiving or research (Art. 17(3)(d))",
  legal_claims: "legal claims (Art. 17(3)(e))",
};

async function refresh() {
  const who = await names();
  const records = await getAll(`/api/v1/patients/${me.id}/records`);
  fill("#records", records.map(r => [{ text: r.id, cls: "mono" }, r.category, who[r.custodian] || r.custodian, when(r.registered),
    { text: r.status === "retained" ? "retained until " + when(r.retained_until) : r.status, cls: "status-" + r.status }]));
  await showErasure(who);
  const consents = await getAll(`/api/v1/patients/${me.id}/consents`);
  fill("#consents", consents.map(c => {
    const scope = c.scope.all ? "all records" : (c.scope.categories || []).join(", ") || (c.scope.records || []).length + " record(s)";
    const active = c.status === "active" && new Date(c.expires) > new Date();
    return [who[c.grantee] || c.grantee, c.purpose, scope, when(c.expires), { text: active ? "active" : c.status === "active" ? "expired" : c.status, cls: "status-" + (active ? "active" : "revoked") },
      active ? button("Revoke", () => revoke(c.id), "revoke") : ""];
  }));
  const trail = await getAll(`/api/v1/patients/${me.id}/access`);
  trail.reverse();
  fill("#trail", trail.map(a => [when(a.time), who[a.requester] || a.requester, { text: a.record, cls: "mono" }, a.purpose,
    { text: a.outcome + (a.refusal ? " (" + a.refusal + ")" : ""), cls: a.outcome === "granted" ? "status-active" : "status-revoked" },
    a.emergency ? "EMERGENCY: " + a.emergency_reason : ""]), i => trail[i].emergency ? "emergency" : "");
}

// showErasure shows where the patient's erasure stands and what each
// institution still keeps, why and until when.
async function showErasure(who) {
  const st = await get(`/api/v1/patients/${me.id}/erasure`);
  document.getElementById("erasure").dataset.state = st.state;
  const summary = document.getElementById("erasure-summary");
  if (st.state === "none") {
    summary.textContent = "You have not asked for erasure.";
  } else {
    const asked = "You asked for erasure on " + when(st.request.time) + ": ";
    summary.textContent = st.state === "in_progress"
      ? asked + `in progress, ${st.erased} record(s) erased, ${st.remaining} not reached yet.`
      : asked + `complete. ${st.erased} record(s) erased, ${st.retained.length} kept under a legal duty.` +
        (st.remaining ? ` ${st.remaining} record(s) registered since.` : "");
  }
  document.getElementById("retained").hidden = st.retained.length === 0;
  fill("#retained", st.retained.map(r => [{ text: r.id, cls: "mono" }, r.category, who[r.custodian] || r.custodian,
    when(r.retained_until), bases[r.retention_basis] || r.retention_basis]));
  return st;
}

// erase sends records.erase until every record has been reached: one
// transaction reaches at most 500.
async function erase(msg) {
  let st = await get(`/api/v1/patients/${me.id}/erasure`);
  if (st.state === "complete" && st.remaining === 0) {
    msg.textContent = "Your erasure is already complete: nothing is left to erase" +
      (st.retained.length ? `, except ${st.retained.length} record(s) kept by law (below).` : ".");
    return;
  }
  for (let steps = Math.ceil(st.remaining / 500) + 2; steps > 0; steps--) {
    await act("records.erase", {});
    st = await get(`/api/v1/patients/${me.id}/erasure`);
    if (st.remaining === 0) {
      msg.textContent = "Erasure complete: every institution has destroyed the keys of your records" +
        (st.retained.length ? `, except ${st.retained.length} it must keep by law (below).` : ".");
      return;
    }
    msg.textContent = `Erasing… ${st.erased} record(s) erased, ${st.remaining} to go.`;
  }
  msg.textContent = "Records are still being added; press Erase again.";
}

async function revoke(id) {
  const msg = document.getElementById("consent-message");
  try {
    await act("consent.revoke", { id });
    msg.textContent = "Consent revoked: it no longer covers any access.";
  } catch (e) { msg.textContent = "Could not revoke: " + e.message; }
  await refresh();
}

async function ready(who) {
  me = who;
  if (withKey()) {
    document.getElementById("export").hidden = true;
    document.getElementById("export-key-note").hidden = false;
  }
  const select = document.getElementById("grantee");
  const n = await names();
  for (const i of await get("/api/v1/identities")) {
    if (i.kind !== "practitioner" && i.kind !== "organisation") continue;
    const o = document.createElement("option");
    o.value = i.id;
    o.textContent = i.kind === "practitioner" ? `${i.profession} ${i.licence} (${i.specialty || ""}) at ${n[i.org_id] || i.org_id}` : i.name;
    select.appendChild(o);
  }
  const scope = document.getElementById("scope");
  const mine = await getAll(`/api/v1/patients/${me.id}/records`);
  const cats = [...new Set(mine.map(r => r.category))].sort();
  for (const c of cats) { const o = document.createElement("option"); o.value = c; o.textContent = "my " + c + " records"; scope.appendChild(o); }
  for (const r of mine.filter(r => r.status === "stored")) {
    const o = document.createElement("option");
    o.value = "record:" + r.id;
    o.textContent = `only record ${r.id} (${r.category}, ${n[r.custodian] || r.custodian})`;
    scope.appendChild(o);
  }
  document.getElementById("grant").addEventListener("submit", async ev => {
    ev.preventDefault();
    const msg = document.getElementById("consent-message");
    const s = scope.value === "all" ? { all: true } : scope.value.startsWith("record:") ? { records: [scope.value.slice(7)] } : { categories: [scope.value] };
    const expires = new Date(Date.now() + Number(document.getElementById("days").value) * 864e5).toISOString().replace(/\.\d+Z$/, "Z");
    try {
      await act("consent.grant", { grantee: select.value, scope: s, purpose: document.getElementById("purpose").value, expires });
      msg.textContent = "Consent granted.";
    } catch (e) { msg.textContent = "Could not grant: " + e.message + (e.problem.detail ? " — " + e.problem.detail : ""); }
    await refresh();
  });
  document.getElementById("export").addEventListener("click", async () => {
    const msg = document.getElementById("rights-message");
    msg.textContent = "Collecting your records from every institution…";
    try {
      // The export comes a page at a time (each page's records are read
      // from their custodians); the pages make one Bundle to download.
      let { items: bundle, next } = await getPage(`/api/v1/patients/${me.id}/export`);
      while (next) {
        msg.textContent = `Collecting your records from every institution… (${bundle.entry.length} entries so far)`;
        const page = await getPage(next);
        bundle.entry = bundle.entry.concat(page.items.entry || []);
        next = page.next;
      }
      delete bundle.link;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: "application/fhir+json" }));
      a.download = "my-health-records.json";
      a.click();
      msg.textContent = `Export ready: ${bundle.entry.length} entries.`;
    } catch (e) { msg.textContent = "Export failed: " + e.message; }
    await refresh();
  });
  document.getElementById("erase").addEventListener("click", async () => {
    if (!confirm("Erase all your records at every institution? This cannot be undone.")) return;
    const msg = document.getElementById("rights-message");
    try {
      await erase(msg);
    } catch (e) { msg.textContent = "Erasure failed: " + e.message; }
    await refresh();
  });
  await refresh();
  setInterval(refresh, 5000);
}
signIn(ready);
