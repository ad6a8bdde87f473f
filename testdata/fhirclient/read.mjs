// Reads a Primum node's FHIR facade with fhir-kit-client, as any FHIR
// application would, and prints what it found as JSON.
// Usage: node read.mjs BASE_URL PATIENT_ID RECORD_ID TOKEN
// (TOKEN: an API token of someone who may read about the patient, sent as
// a bearer token as SMART-on-FHIR applications do.)
import { Client } from "fhir-kit-client";

const [base, patient, record, token] = process.argv.slice(2);
const client = new Client({ baseUrl: base, customHeaders: { Authorization: `Bearer ${token}` } });
const out = {};
const meta = await client.capabilityStatement();
out.fhirVersion = meta.fhirVersion;
out.resources = meta.rest[0].resource.map(r => r.type);
const consents = await client.search({ resourceType: "Consent", searchParams: { patient } });
out.consents = consents.total;
out.consentStatus = consents.entry.map(e => e.resource.status);
const audits = await client.search({ resourceType: "AuditEvent", searchParams: { patient, date: "ge2020-01-01" } });
out.audits = audits.entry.map(e => e.resource.outcome);
const doc = await client.read({ resourceType: "DocumentReference", id: record });
out.documentStatus = doc.status;
out.custodian = doc.custodian.reference;
const p = await client.read({ resourceType: "Patient", id: patient });
out.patient = p.id;
try {
  await client.read({ resourceType: "Consent", id: "no-such-consent" });
  out.notFound = "found?";
} catch (e) {
  out.notFound = `${e.response.status} ${e.response.data.resourceType}`;
}
console.log(JSON.stringify(out));
