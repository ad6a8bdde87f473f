"use strict";
async function read(id) {
  const result = document.getElementById("result");
  const title = document.getElementById("result-title"), detail = document.getElementById("result-detail"), pre = document.getElementById("record");
  result.hidden = false;
  result.scrollIntoView({ block: "nearest" });
  title.textContent = "Reading " + id + "…";
  detail.textContent = ""; pre.textContent = ""; pre.hidden = true;
  const body = { purpose: document.getElementById("purpose").value };
  const reason = document.getElementById("reason").value;
  if (reason) body.emergency_reason = reason;
  try {
    const ans = await post(`/api/v1/records/${encodeURIComponent(id)}/read`, body);
    result.className = "card verdict-ok";
    result.dataset.outcome = "granted";
    title.textContent = "Record " + id;
    detail.textContent = `Verified against its commitment on the ledger. Access entry ${ans.access.id}` + (ans.access.emergency ? " (EMERGENCY access: the patient and the regulator are notified)" : "") + ".";
    pre.textContent = JSON.stringify(ans.record, null, 2);
    pre.hidden = false;
  } catch (e) {
    result.className = "card verdict-stop";
    result.dataset.outcome = "refused";
    title.textContent = "Access refused";
    detail.textContent = (e.problem.refusal || e.problem.code || e.message) + (e.problem.access ? ` — recorded on the ledger as access entry ${e.problem.access}` : "") + (e.problem.detail ? ` (${e.problem.detail})` : "");
    result.dataset.refusal = e.problem.refusal || e.problem.code || "";
  }
  result.scrollIntoView({ block: "nearest" });
}
async function lookup(ev) {
  if (ev) ev.preventDefault();
  const who = await names();
  const patient = document.getElementById("patient").value.trim();
  const out = document.getElementById("lookup-error");
  let records;
  try {
    records = await getAll(`/api/v1/patients/${encodeURIComponent(patient)}/records`);
    out.textContent = "";
  } catch (e) {
    // The index shows only what a consent, your organisation's custody or
    // an emergency access lets you see.
    records = [];
    out.textContent = e.message === "no_standing"
      ? "You have no standing with this patient: no consent names you, your organisation holds none of their records, and you have made no emergency access. To read in an emergency, enter the record's id below with the purpose emergency and a reason."
      : "Cannot list the records: " + e.message;
  }
  fill("#records", records.map(r => [{ text: r.id, cls: "mono" }, r.category, who[r.custodian] || r.custodian, r.status,
    r.status === "stored" ? button("Read", () => read(r.id), "read") : ""]));
}
signIn(async () => {
  document.getElementById("lookup").addEventListener("submit", lookup);
  // With the purpose and reason chosen above (an emergency: break-glass).
  document.getElementById("by-id").addEventListener("submit", ev => {
    ev.preventDefault();
    const id = document.getElementById("record-id").value.trim();
    if (id) read(id);
  });
  const p = new URLSearchParams(location.search).get("patient");
  if (p) { document.getElementById("patient").value = p; await lookup(); }
});
