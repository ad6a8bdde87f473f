"use strict";
// Reading a health record, and saying what it holds in words.
//
// readRecord asks the record's custodian for it. Signed in with a key held
// in this page, the request is signed here and the record comes sealed to
// a one-time key made here (HPKE, ML-KEM-768 + X25519) by the record
// opener, Go's own release code compiled to WebAssembly
// (vendor/go/release.wasm, loaded on the first read); it is opened and
// checked against the record's commitment on the ledger here: the node
// serving the page sees neither. Signed in with a token, the node reads
// for the token's holder (POST /records/{id}/read), as it holds that key.

let openerReady = null;
// opener loads the record opener once.
function opener() {
  if (!openerReady) {
    openerReady = (async () => {
      const go = new Go();
      const res = await fetch("vendor/go/release.wasm");
      if (!res.ok) throw new Error("cannot load the record opener (HTTP " + res.status + ")");
      const { instance } = await WebAssembly.instantiateStreaming(res, go.importObject);
      const started = new Promise(resolve => addEventListener("primum-release-ready", resolve, { once: true }));
      go.run(instance);
      await started;
      return globalThis.primumRelease;
    })();
    openerReady.catch(() => { openerReady = null; });
  }
  return openerReady;
}
// unwrap turns the opener's {value} or {error} into a value or an Error.
function unwrap(r) {
  if (r.error !== undefined) throw new Error(r.error);
  return r.value;
}

// readRecord returns a record's FHIR resource (rec: its index entry; k: the
// pseudonym key to ask as, if not the signed-in key's own).
async function readRecord(rec, purpose, k, emergencyReason) {
  if (!withKey()) {
    const body = { purpose };
    if (emergencyReason) body.emergency_reason = emergencyReason;
    const ans = await post(`/api/v1/records/${encodeURIComponent(rec.id)}/read`, body);
    return ans.record;
  }
  const rel = await opener();
  const info = await keyInfo(k);
  if (!info.identity) throw new Error("this key is not registered on the ledger");
  const sealKey = unwrap(rel.newKey());
  try {
    const req = { chain_id: info.chain_id, requester: info.identity.id, record: rec.id, purpose,
      key_digest: sealKey.digest, nonce: hex(crypto.getRandomValues(new Uint8Array(16))),
      not_after: new Date(Date.now() + 5 * 60000).toISOString().replace(/\.\d+Z$/, "Z") };
    if (emergencyReason) req.emergency_reason = emergencyReason;
    // hex and myKey: keys.js, on the pages that sign with a key.
    const signature = hex(await myKey.sign(unwrap(rel.signBytes(JSON.stringify(req))), k));
    // The node serving this page answers for the custodians whose keys it
    // holds; a record held at another member's node is not reachable from
    // here (the page may talk to its own node only).
    const r = await fetch(`/api/v1/records/${encodeURIComponent(rec.id)}/fetch`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ request: req, signature, public_key: sealKey.public }) });
    const ans = await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((ans && (ans.refusal || ans.code)) || r.statusText);
      err.problem = ans || {};
      throw err;
    }
    return JSON.parse(unwrap(rel.open(sealKey.id, rec.id, ans.access.id, ans.sealed, rec.commitment)));
  } finally {
    rel.forget(sealKey.id);
  }
}

// The record categories (records.Categories), in words.
const kinds = { demographics: "About you", observation: "Measurements and results", condition: "Conditions", procedure: "Procedures",
  medication: "Medicines", allergy: "Allergies", immunization: "Vaccinations", diagnostic_report: "Test reports", imaging: "Imaging",
  encounter: "Visits", care_plan: "Care plans", financial: "Billing and cover", document: "Documents", administrative: "Administrative",
  opinion: "Opinions", other: "Other" };
const kindOf = c => kinds[c] || c.replaceAll("_", " ");

// Words for a FHIR resource: what it is (title), its value, its date, and
// the fields worth showing in a detail view. Codes are shown by their
// display text; a resource this does not know is named by its type.
const units = { "mm[Hg]": "mmHg", "/min": "/min", "{beats}/min": "beats/min", "Cel": "°C", "[degF]": "°F", "kg/m2": "kg/m²", "%": "%" };
const codeText = cc => cc ? cc.text || ((cc.coding || []).find(c => c.display) || {}).display || ((cc.coding || [])[0] || {}).code || "" : "";
const rounded = v => typeof v === "number" ? Number(v.toFixed(2)) : v;
const quantity = q => q && q.value !== undefined ? rounded(q.value) + (q.unit || q.code ? (q.unit === "%" ? "" : " ") + (units[q.unit || q.code] || q.unit || q.code) : "") : "";
const statusOf = cc => cc && codeText(cc);
function dateOnly(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return t;
  return /^\d{4}-\d{2}-\d{2}$/.test(t)
    ? new Date(t + "T12:00:00Z").toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    : d.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}
function fhirText(r) {
  if (!r || typeof r !== "object") return { title: "Record", value: "", date: "", rows: [] };
  const rows = [];
  const row = (k, v) => { if (v) rows.push([k, String(v)]); };
  let title = codeText(r.code), value = "", date = "";
  switch (r.resourceType) {
    case "Observation": {
      title = title.replace(/ panel$/i, "");
      if (r.component && r.component.length) {
        const qs = r.component.map(c => c.valueQuantity).filter(Boolean);
        const unit = qs.length && qs.every(q => q.unit === qs[0].unit) ? qs[0].unit : null;
        value = unit ? qs.map(q => q.value).join("/") + " " + (units[unit] || unit) : r.component.map(c => codeText(c.code) + " " + quantity(c.valueQuantity)).join(", ");
      } else {
        value = quantity(r.valueQuantity) || codeText(r.valueCodeableConcept) || r.valueString || "";
      }
      date = r.effectiveDateTime || (r.effectivePeriod || {}).start || r.issued;
      row("Category", (r.category || []).map(codeText).join(", "));
      row("Status", r.status);
      break;
    }
    case "Bundle": {
      // A wearable's batch, as its keeper keeps it: its readings, each
      // kind's range.
      const obs = (r.entry || []).map(e => e.resource).filter(o => o && o.resourceType === "Observation");
      if (!obs.length) break;
      const kinds = [...new Set(obs.map(o => codeText(o.code)))];
      title = kinds.join(" and ") + " from a wearable";
      value = kinds.map(k => {
        const qs = obs.filter(o => codeText(o.code) === k).map(o => o.valueQuantity).filter(q => q && typeof q.value === "number");
        if (!qs.length) return "";
        const lo = Math.min(...qs.map(q => q.value)), hi = Math.max(...qs.map(q => q.value));
        const range = lo === hi ? quantity(qs[0]) : quantity({ ...qs[0], value: lo }).replace(/ .*$|%$/, "") + "–" + quantity({ ...qs[0], value: hi });
        return range + (kinds.length > 1 ? " " + k.toLowerCase() : "");
      }).filter(Boolean).join(", ") + ` (${obs.length} reading${obs.length === 1 ? "" : "s"})`;
      date = obs[0].effectiveDateTime;
      row("Readings", String(obs.length));
      row("From", when(obs[0].effectiveDateTime));
      row("To", when(obs[obs.length - 1].effectiveDateTime));
      row("Device", ((obs[0].device || {}).reference || "").replace(/^Device\//, "") + " (its batches: devices page)");
      break;
    }
    case "Condition":
      value = statusOf(r.clinicalStatus);
      date = r.onsetDateTime || r.recordedDate;
      row("Since", dateOnly(r.onsetDateTime));
      row("Verification", statusOf(r.verificationStatus));
      break;
    case "MedicationRequest":
    case "MedicationStatement":
      title = codeText(r.medicationCodeableConcept) || title;
      value = ((r.dosageInstruction || r.dosage || [])[0] || {}).text || r.status || "";
      date = r.authoredOn || r.effectiveDateTime || r.dateAsserted;
      row("Status", r.status);
      row("Intent", r.intent);
      break;
    case "AllergyIntolerance":
      value = [statusOf(r.clinicalStatus), r.criticality && r.criticality + " criticality"].filter(Boolean).join(", ");
      date = r.onsetDateTime || r.recordedDate;
      row("Reaction", (r.reaction || []).flatMap(x => (x.manifestation || []).map(codeText)).join(", "));
      break;
    case "Immunization":
      title = codeText(r.vaccineCode) || title;
      value = r.status || "";
      date = r.occurrenceDateTime;
      break;
    case "Procedure":
      value = r.status || "";
      date = r.performedDateTime || (r.performedPeriod || {}).start;
      break;
    case "DiagnosticReport":
      value = r.conclusion || r.status || "";
      date = r.effectiveDateTime || r.issued;
      break;
    default:
      value = r.status || "";
      date = r.date || r.effectiveDateTime || r.authoredOn || r.recordedDate || "";
  }
  const typeName = (r.resourceType || "Record").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  title = title || typeName[0].toUpperCase() + typeName.slice(1);
  row("Type", typeName);
  for (const c of (r.code && r.code.coding) || []) row(c.system ? c.system.replace(/^https?:\/\/(www\.)?/, "") : "code", c.code + (c.display ? " — " + c.display : ""));
  return { title, value, date: dateOnly(date), rows };
}
