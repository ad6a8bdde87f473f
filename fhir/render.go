package fhir

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/records"
)

// Object is a FHIR JSON object.
type Object = map[string]any

// Systems Primum defines.
const (
	CategorySystem   = "https://primum.dev/fhir/CodeSystem/record-category"
	RefusalSystem    = "https://primum.dev/fhir/CodeSystem/access-refusal"
	CommitmentExt    = "https://primum.dev/fhir/StructureDefinition/record-commitment"
	EmergencyExt     = "https://primum.dev/fhir/StructureDefinition/emergency-reason"
	actReason        = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	pseudonymousTag  = "https://primum.dev/fhir/CodeSystem/tags"
	participationSys = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
)

// purposeCodes map Primum purposes to HL7 v3 ActReason codes.
var purposeCodes = map[string][2]string{
	"treatment":      {"TREAT", "treatment"},
	"payment":        {"HPAYMT", "healthcare payment"},
	"research":       {"HRESCH", "healthcare research"},
	"emergency":      {"ETREAT", "emergency treatment"},
	"second_opinion": {"TREAT", "treatment"},
	"patient":        {"PATRQT", "patient requested"},
}

func purpose(p string) Object {
	c := purposeCodes[p]
	return Object{"system": actReason, "code": c[0], "display": c[1]}
}

// Ref is a FHIR reference to a ledger identity.
func Ref(kind, id string) Object {
	switch kind {
	case "practitioner":
		return Object{"reference": "Practitioner/" + id}
	case "organisation":
		return Object{"reference": "Organization/" + id}
	case "patient":
		return Object{"reference": "Patient/" + id}
	}
	return Object{"reference": "Device/" + id}
}

// Consent renders a consent. An expired or revoked consent is inactive.
func Consent(c *consent.Consent, now time.Time) Object {
	status := "inactive"
	if c.Active(now) {
		status = "active"
	}
	provision := Object{
		"type":    "permit",
		"period":  Object{"start": c.Granted, "end": c.Expires},
		"actor":   []any{Object{"role": Object{"coding": []any{Object{"system": participationSys, "code": "IRCP", "display": "information recipient"}}}, "reference": Ref(c.GranteeKind, c.Grantee)}},
		"purpose": []any{purpose(c.Purpose)},
	}
	if len(c.Scope.Categories) > 0 {
		var codes []any
		for _, cat := range c.Scope.Categories {
			codes = append(codes, Object{"system": CategorySystem, "code": cat})
		}
		provision["securityLabel"] = codes
	}
	if len(c.Scope.Records) > 0 {
		var data []any
		for _, id := range c.Scope.Records {
			data = append(data, Object{"meaning": "instance", "reference": Object{"reference": "DocumentReference/" + id}})
		}
		provision["data"] = data
	}
	out := Object{
		"resourceType": "Consent",
		"id":           c.ID,
		"status":       status,
		"scope":        Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}}},
		"category":     []any{Object{"coding": []any{Object{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}}}},
		"patient":      Ref("patient", c.Patient),
		"dateTime":     c.Granted,
		"performer":    []any{Ref("patient", c.Patient)},
		"policyRule":   Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}}},
		"provision":    provision,
	}
	if c.Revoked != "" {
		out["meta"] = Object{"lastUpdated": c.Revoked}
	}
	return out
}

// AuditEvent renders an access entry: outcome 0 (success) when granted, 4
// (minor failure: refused) otherwise; break-glass access carries the BTG
// purpose beside the stated one.
func AuditEvent(a *records.Access) Object {
	outcome, desc := "0", "access granted"
	if a.Outcome != records.Granted {
		outcome, desc = "4", "access refused: "+a.Refusal
	}
	purposes := []any{Object{"coding": []any{purpose(a.Purpose)}}}
	if a.Emergency {
		purposes = append(purposes, Object{"coding": []any{Object{"system": actReason, "code": "BTG", "display": "break the glass"}}})
		desc += " (emergency: " + a.EmergencyReason + ")"
	}
	out := Object{
		"resourceType":   "AuditEvent",
		"id":             a.ID,
		"type":           Object{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
		"subtype":        []any{Object{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}},
		"action":         "R",
		"recorded":       a.Time,
		"outcome":        outcome,
		"outcomeDesc":    desc,
		"purposeOfEvent": purposes,
		"agent": []any{
			Object{"who": Ref(a.RequesterKind, a.Requester), "requestor": true},
			Object{"who": Ref("organisation", a.Custodian), "requestor": false},
		},
		"source": Object{"site": "primum", "observer": Ref("organisation", a.Custodian)},
		"entity": []any{
			Object{"what": Object{"reference": "DocumentReference/" + a.Record},
				"type": Object{"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"}},
			Object{"what": Ref("patient", a.Patient),
				"type": Object{"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"}},
		},
	}
	if a.Emergency {
		out["extension"] = []any{Object{"url": EmergencyExt, "valueCode": a.EmergencyReason}}
	}
	return out
}

// DocumentReference renders a record's index entry: where it is held, its
// category and its commitment; never its content. endpoint is the
// custodian's node, if known.
func DocumentReference(r *records.Record, endpoint string) Object {
	status, desc := "current", "held encrypted by its custodian"
	switch r.Status {
	case records.StatusErased:
		status, desc = "superseded", "erased at the patient's request"
	case records.StatusRetained:
		desc = "erasure requested; kept by its custodian under a retention duty (GDPR Art. 17(3), " + r.RetentionBasis + ") until " + r.RetainedUntil
	}
	attachment := Object{"contentType": "application/fhir+json", "title": "record " + r.ID}
	if endpoint != "" {
		attachment["url"] = endpoint + "/api/v1/records/" + r.ID + "/fetch"
	}
	category := Object{"coding": []any{Object{"system": CategorySystem, "code": r.Category}}}
	return Object{
		"resourceType": "DocumentReference",
		"id":           r.ID,
		"extension":    []any{Object{"url": CommitmentExt, "valueString": "hmac-sha256:" + r.Commitment}},
		"status":       status,
		"description":  desc,
		"type":         category,
		"category":     []any{category},
		"subject":      Ref("patient", r.Patient),
		"date":         r.Registered,
		"custodian":    Ref("organisation", r.Custodian),
		"content":      []any{Object{"attachment": attachment}},
	}
}

// Patient renders a pseudonymous patient: an id and nothing that
// identifies a person.
func Patient(id string) Object {
	return Object{
		"resourceType": "Patient",
		"id":           id,
		"meta":         Object{"tag": []any{Object{"system": pseudonymousTag, "code": "pseudonymous", "display": "pseudonymous: the ledger holds no identifying data"}}},
		"active":       true,
	}
}

// OperationOutcome is a FHIR error. code is an R4 issue-type code.
func OperationOutcome(severity, code, diagnostics string) Object {
	return Object{"resourceType": "OperationOutcome", "issue": []any{Object{"severity": severity, "code": code, "diagnostics": diagnostics}}}
}

// SearchSet wraps one page of matches in a searchset Bundle: total is the
// number of all matches (negative: not counted, and Bundle.total, which
// FHIR makes optional, is left out), next the URL of the following page
// ("" if none).
func SearchSet(self, next, base string, page []Object, total int) Object {
	entries := make([]any, 0, len(page))
	for _, r := range page {
		entries = append(entries, Object{"fullUrl": base + "/" + r["resourceType"].(string) + "/" + r["id"].(string),
			"resource": r, "search": Object{"mode": "match"}})
	}
	links := []any{Object{"relation": "self", "url": self}}
	if next != "" {
		links = append(links, Object{"relation": "next", "url": next})
	}
	b := Object{"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}
	if total < 0 {
		delete(b, "total")
	}
	return b
}

// Collection wraps resources in a collection Bundle (a patient's export).
func Collection(id, timestamp string, resources []Object) Object {
	entries := make([]any, 0, len(resources))
	for _, r := range resources {
		e := Object{"resource": r}
		if rid, ok := r["id"].(string); ok {
			e["fullUrl"] = "urn:primum:" + r["resourceType"].(string) + ":" + rid
		}
		entries = append(entries, e)
	}
	return Object{"resourceType": "Bundle", "id": id, "type": "collection", "timestamp": timestamp, "entry": entries}
}

// Searchable is what the facade serves.
var Searchable = []string{"Consent", "AuditEvent", "DocumentReference", "Patient"}

// CapabilityStatement says what the facade does, and only that.
func CapabilityStatement(base, software, date string, creatable []string) Object {
	search := func(typ string, params ...[2]string) Object {
		var sp []any
		for _, p := range params {
			sp = append(sp, Object{"name": p[0], "type": p[1]})
		}
		return Object{"type": typ, "interaction": []any{Object{"code": "read"}, Object{"code": "search-type"}}, "searchParam": sp}
	}
	resources := []any{
		search("Consent", [2]string{"patient", "reference"}, [2]string{"date", "date"}, [2]string{"_count", "number"}, [2]string{"_after", "string"}),
		search("AuditEvent", [2]string{"patient", "reference"}, [2]string{"date", "date"}, [2]string{"outcome", "token"}, [2]string{"_count", "number"}, [2]string{"_after", "string"}),
		search("DocumentReference", [2]string{"patient", "reference"}, [2]string{"date", "date"}, [2]string{"_count", "number"}, [2]string{"_after", "string"}),
		search("Patient", [2]string{"_id", "token"}),
		Object{"type": "Observation", "interaction": []any{Object{"code": "search-type"}},
			"searchParam":   []any{Object{"name": "device", "type": "reference"}, Object{"name": "_count", "type": "number"}, Object{"name": "_after", "type": "string"}},
			"documentation": "A wearable's readings as its keeper keeps them (device=<id>, a member bearer token): read for the token's holder from the keeper, under the patient's consent (the patient reads their own), each page an access entry on the patient's trail; oldest first."},
		search("ResearchStudy", [2]string{"_count", "number"}, [2]string{"_after", "string"}),
		Object{"type": "Claim", "interaction": []any{Object{"code": "read"}, Object{"code": "create"}},
			"documentation": "Create submits the claim for adjudication by the ledger (signed with the bearer token's key: a provider or its practitioner); the answer is its ClaimResponse. Read: to the claim's provider, insurer, patient and the regulator."},
		Object{"type": "ClaimResponse", "interaction": []any{Object{"code": "read"}}, "documentation": "The ledger's adjudication, with the rule set's and the evaluation trace's hashes."},
		Object{"type": "ExplanationOfBenefit", "interaction": []any{Object{"code": "read"}, Object{"code": "search-type"}},
			"searchParam":   []any{Object{"name": "patient", "type": "reference"}, Object{"name": "_count", "type": "number"}, Object{"name": "_after", "type": "string"}},
			"documentation": "The claim as its patient reads it: billed, allowed, paid, owed. Search: the patient's own (patient=<their pseudonym>), and the regulator's."},
		Object{"type": "Coverage", "interaction": []any{Object{"code": "read"}}, "documentation": "To the insurer, the member and the regulator."},
		Object{"type": "Location", "interaction": []any{Object{"code": "read"}}, "documentation": "A facility's site (its id), with its position and region; to any registered identity."},
		Object{"type": "HealthcareService", "interaction": []any{Object{"code": "read"}}, "documentation": "What a site offers (the site's id)."},
		Object{"type": "Device", "interaction": []any{Object{"code": "read"}}, "documentation": "A unit of equipment registered at a site."},
		Object{"type": "MeasureReport", "interaction": []any{Object{"code": "read"}},
			"documentation": "SANER-style capacity: a site's last report (the site's id; status error when stale), or a region's picture now (region-<code>): a group per unit type."},
	}
	for _, t := range creatable {
		resources = append(resources, Object{"type": t, "interaction": []any{Object{"code": "create"}},
			"documentation": "Stored encrypted by this node as the custodian; the ledger gets a DocumentReference. Needs ?patient=<pseudonym> and a member bearer token."})
	}
	return Object{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         date,
		"publisher":    "Primum",
		"kind":         "instance",
		"software":     Object{"name": "Primum", "version": software},
		"implementation": Object{"description": "Primum node FHIR R4 facade over the consortium ledger and this node's encrypted record store",
			"url": base},
		"fhirVersion": "4.0.1",
		"format":      []any{"json", "application/fhir+json"},
		"rest": []any{Object{
			"mode":          "server",
			"documentation": "Consents, access audit and the record index are read from the ledger. A Bundle POSTed to the base is imported entry by entry, each entry becoming one record (batch semantics).",
			"security":      Object{"description": "Writes need 'Authorization: Bearer <member token>' naming a key this node holds."},
			"resource":      resources,
			"interaction":   []any{Object{"code": "batch"}},
		}},
	}
}

// exportReaders bounds the concurrent reads of one export.
const exportReaders = 8

// ExportSource is what a patient's export is assembled from: all of it,
// or one page of it (a later page leaves the Patient out: Continued).
type ExportSource struct {
	Patient   string
	Continued bool
	Records   []*records.Record
	Endpoint  func(org string) string // called from one goroutine
	// Read fetches a record's content through its custodian (each read is
	// an access entry on the ledger). It is called concurrently.
	Read     func(*records.Record) ([]byte, error)
	Consents []*consent.Consent
	// Trail is read last, so that it includes the export's own reads.
	Trail func() ([]*records.Access, error)
	Now   time.Time
}

// Export assembles a patient's GDPR export (Art. 15 and 20), or a page of
// it, as one collection Bundle: the pseudonymous Patient, each record's
// DocumentReference and the record itself where it can still be read (an
// OperationOutcome says which could not), the consents and the access trail.
func Export(src ExportSource) (Object, error) {
	// Reads go to the custodians concurrently (a few at a time), so that
	// their access entries share blocks; the Bundle keeps the index order.
	contents := make([][]byte, len(src.Records))
	errs := make([]error, len(src.Records))
	var wg sync.WaitGroup
	slots := make(chan struct{}, exportReaders)
	for i, rec := range src.Records {
		if rec.Status == records.StatusErased {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			contents[i], errs[i] = src.Read(rec)
		}()
	}
	wg.Wait()
	var resources []Object
	if !src.Continued {
		resources = append(resources, Patient(src.Patient))
	}
	for i, rec := range src.Records {
		resources = append(resources, DocumentReference(rec, src.Endpoint(rec.Custodian)))
		if rec.Status == records.StatusErased {
			continue
		}
		var res Object
		err := errs[i]
		if err == nil {
			err = json.Unmarshal(contents[i], &res)
		}
		if err != nil {
			resources = append(resources, OperationOutcome("warning", "incomplete", "record "+rec.ID+" could not be read from its custodian: "+err.Error()))
			continue
		}
		resources = append(resources, res)
	}
	for _, c := range src.Consents {
		resources = append(resources, Consent(c, src.Now))
	}
	trail, err := src.Trail()
	if err != nil {
		return nil, err
	}
	for _, a := range trail {
		resources = append(resources, AuditEvent(a))
	}
	id := src.Patient
	if len(id) > 12 {
		id = id[:12]
	}
	return Collection("export-"+id, src.Now.UTC().Format(time.RFC3339), resources), nil
}
