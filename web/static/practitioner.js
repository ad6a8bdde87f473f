"use strict";
async function read(id) {
  const result = document.getElementById("result");
  const title = document.getElementById("result-title"), detail = document.getElementById("result-detail"), pre = document.getElementById("record");
  result.hidden = false;
  result.scrollIntoView({ block: "nearest" });
  title.textContent = "Reading " + id + "…";
  const text = document.getElementById("result-text"), fields = document.getElementById("result-fields"), json = document.getElementById("record-json");
  detail.textContent = ""; pre.textContent = ""; json.hidden = true; text.textContent = ""; fields.replaceChildren();
  const body = { purpose: document.getElementById("purpose").value };
  const reason = document.getElementById("reason").value;
  if (reason) body.emergency_reason = reason;
  try {
    const ans = await post(`/api/v1/records/${encodeURIComponent(id)}/read`, body);
    result.className = "card verdict-ok";
    result.dataset.outcome = "granted";
    title.textContent = "Record read";
    detail.textContent = `Verified against its commitment on the ledger. Access entry ${ans.access.id}` + (ans.access.emergency ? " (EMERGENCY access: the patient and the regulator are notified)" : "") + ".";
    const t = fhirText(ans.record);
    text.textContent = t.title + (t.value ? " " + t.value : "") + (t.date ? " · " + t.date : "");
    for (const [k, v] of t.rows) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v;
      fields.append(dt, dd);
    }
    pre.textContent = JSON.stringify(ans.record, null, 2);
    json.hidden = false;
  } catch (e) {
    result.className = "card verdict-stop";
    result.dataset.outcome = "refused";
    title.textContent = "Access refused";
    detail.textContent = (e.problem.refusal || e.problem.code || e.message) + (e.problem.access ? ` — recorded on the ledger as access entry ${e.problem.access}` : "") + (e.problem.detail ? ` (${e.problem.detail})` : "");
    result.dataset.refusal = e.problem.refusal || e.problem.code || "";
  }
  result.scrollIntoView({ block: "nearest" });
}
// me is who signed in; shown, the patient's records and the consents that
// name me or my organisation, as last read.
let me = null;
const shown = { records: [], consents: [] };

// covering is the consent that lets me read rec for purpose (the ledger's
// rule, consent.Accept: mine or, for a practitioner, my organisation's; in
// force; for that purpose; its scope covering the record), or null.
function covering(rec, purpose) {
  const mine = [me.id].concat(me.kind === "practitioner" && me.org_id ? [me.org_id] : []);
  return shown.consents.find(c => mine.includes(c.grantee) && c.purpose === purpose && c.status === "active" &&
    new Date(c.expires) > new Date() && (c.scope.all || (c.scope.categories || []).includes(rec.category) || (c.scope.records || []).includes(rec.id))) || null;
}

// render says, before anything is asked, whether each record may be read
// for the purpose chosen: a request not covered is refused, and the
// patient sees the refusal in their trail.
async function render() {
  const who = await names();
  const purpose = document.getElementById("purpose").value, reason = document.getElementById("reason").value;
  fill("#records", shown.records.map(r => {
    const c = r.status === "stored" && covering(r, purpose);
    const access = r.status !== "stored" ? { text: r.status, cls: "" }
      : c ? { text: `covered for ${purpose} by the patient's consent until ${when(c.expires)}`, cls: "status-active" }
      : purpose === "emergency" && reason ? { text: "break-glass: granted, and the patient and the regulator are told", cls: "status-open" }
      : purpose === "emergency" ? { text: "choose an emergency reason to break the glass (no consent covers it)", cls: "status-open" }
      : { text: `not covered for ${purpose}: asking is refused, and the patient sees it`, cls: "status-revoked" };
    return [kindOf(r.category), when(r.registered), who[r.custodian] || r.custodian, access, { text: r.id, cls: "mono small" },
      r.status === "stored" ? button(c || (purpose === "emergency" && reason) ? "Read" : "Ask anyway", () => read(r.id), "read") : ""];
  }));
}

async function lookup(ev) {
  if (ev) ev.preventDefault();
  const patient = document.getElementById("patient").value.trim();
  const out = document.getElementById("lookup-error");
  try {
    shown.records = await getAll(`/api/v1/patients/${encodeURIComponent(patient)}/records`);
    out.textContent = "";
  } catch (e) {
    // The index shows only what a consent, your organisation's custody or
    // an emergency access lets you see.
    shown.records = [];
    out.textContent = e.message === "no_standing"
      ? "You have no standing with this patient: no consent names you, your organisation holds none of their records, and you have made no emergency access. To read in an emergency, enter the record's id below with the purpose emergency and a reason."
      : "Cannot list the records: " + e.message;
  }
  // The consents that name me or my organisation (all of them, to the
  // patient's circle): what the table says each record allows.
  shown.consents = await getAll(`/api/v1/patients/${encodeURIComponent(patient)}/consents`).catch(() => []);
  await render();
}
signIn(async who => {
  me = who;
  document.getElementById("lookup").addEventListener("submit", lookup);
  for (const id of ["purpose", "reason"]) document.getElementById(id).addEventListener("change", render);
  // With the purpose and reason chosen above (an emergency: break-glass).
  document.getElementById("by-id").addEventListener("submit", ev => {
    ev.preventDefault();
    const id = document.getElementById("record-id").value.trim();
    if (id) read(id);
  });
  // A practitioner's sharing code: the patient portal with them chosen.
  if (me.kind === "practitioner") {
    showCode(document.getElementById("share-qr"), document.getElementById("share-link"), location.origin + "/patient.html#share-with=" + me.id);
    document.getElementById("share-card").hidden = false;
  }
  const p = new URLSearchParams(location.search).get("patient");
  if (p) { document.getElementById("patient").value = p; await lookup(); }
});
