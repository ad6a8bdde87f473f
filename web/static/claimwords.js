"use strict";
// Words for claims, shared by the insurer's page and the patient portal:
// X12 claim adjustment reason codes (the ones the ledger and the demo's
// policies use), outcomes and statuses, and amounts in cents.
const reasonWords = {
  "CO-18": "exact duplicate of a claim already billed",
  "CO-45": "charge above the fee schedule (the provider writes off the difference)",
  "CO-50": "not deemed medically necessary by the payer",
  "CO-96": "not covered by the plan",
  "CO-97": "included in another service paid the same day (bundled)",
  "CO-133": "pending further review",
  "CO-150": "the information submitted does not support this level of service",
  "CO-151": "more units than are medically likely for one day",
  "CO-B7": "the provider was not eligible to be paid for this service on this date",
  "PR-1": "deductible",
  "PR-2": "coinsurance",
};
const reasonText = codes => (codes || []).map(c => c + (reasonWords[c] ? " (" + reasonWords[c] + ")" : "")).join("; ");
const statusWords = {
  adjudicated: "decided", pended: "waiting for review", appealed: "appealed: waiting for review",
  readjudicated: "decided again after appeal", paid: "paid",
};
const statusCls = s => s === "paid" ? "status-active" : s === "pended" || s === "appealed" ? "status-open" : "";
// money shows cents as units with two decimals.
const money = c => (c < 0 ? "-" : "") + Math.floor(Math.abs(c) / 100) + "." + String(Math.abs(c) % 100).padStart(2, "0");
// toCents reads an amount typed in units ("12", "12.5", "12.50") as whole
// cents, from its text (no floating point on the way to the ledger).
function toCents(s) {
  const m = /^\s*(\d{1,12})(?:[.,](\d{1,2}))?\s*$/.exec(s);
  if (!m) throw new Error(`"${s}" is not an amount (e.g. 120.50)`);
  return Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
}
// For the patient: what a reason code means for them, in plain words.
const patientWords = {
  "CO-18": "billed twice: the copy is not paid, and not yours to pay",
  "CO-45": "the provider charged more than your plan's price: they write off the difference, you don't pay it",
  "CO-50": "your insurer found it not medically necessary: you can appeal",
  "CO-96": "not covered by your plan",
  "CO-97": "part of another service the same day, paid with it",
  "CO-133": "your insurer is still reviewing it",
  "CO-150": "your insurer found the level of service not supported",
  "CO-151": "more than is usual in one day",
  "CO-B7": "the practitioner could not practise on that date: not paid, and not yours to pay",
  "PR-1": "towards your deductible",
  "PR-2": "your coinsurance share",
};
const patientReasons = codes => (codes || []).map(c => patientWords[c] || c).join("; ");
// codeNames reads what each procedure code means (public), once each.
const codeCache = {};
async function codeName(code) {
  if (!(code in codeCache)) {
    codeCache[code] = code;
    for (const system of ["cpt", "hcpcs"]) {
      try { codeCache[code] = (await get(`/api/v1/claim-codes/${system}/${encodeURIComponent(code)}`)).display; break; } catch (e) { /* not in this system */ }
    }
  }
  return codeCache[code];
}
