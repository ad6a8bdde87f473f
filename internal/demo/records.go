package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/records"
)

// recordDocs are synthetic, invented for the demo. Patient 1 has
// records at both hospitals and has consented to Dr Lena Fischer
// (Riverside) reading their observations and conditions for treatment. St
// Luke's keeps medication records ten years after an erasure request.
var recordDocs = []struct{ org, doc string }{
	{"St Luke's Hospital", `{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes mellitus type 2"}]},"onsetDateTime":"2019-04-02"}`},
	{"St Luke's Hospital", `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},"effectiveDateTime":"2026-10-14T09:30:00Z","valueQuantity":{"value":7.4,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`},
	{"St Luke's Hospital", `{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975","display":"metformin 500 MG Extended Release Oral Tablet"}]},"authoredOn":"2026-10-14"}`},
	{"Riverside General Hospital", `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},"effectiveDateTime":"2026-11-02T15:10:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":142,"unit":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":91,"unit":"mm[Hg]"}}]}`},
}

// retention is St Luke's retention policy in the demo.
var retention = []records.Hold{{Category: "medication", Basis: "legal_obligation", Years: 10}}

// healthRecords stores the demo records at their hospitals (through this
// node, which holds both hospitals' keys) and the demo consent. A record
// already on the ledger (same hospital and category) or a consent already
// given to the doctor, in force or not, is not made again, so an
// interrupted demo resumes where it stopped and a consent revoked during
// the tour stays revoked.
func healthRecords(ctx context.Context, env *Env) error {
	member := env.File.Member
	patient := env.ID("Patient 1")
	// What is on the ledger about the patient is the patient's to read: the
	// demo reads it as the patient, with their token.
	c := env.Client.WithToken(member("Patient 1").APIToken)
	existing, err := c.Records(ctx, patient)
	if err != nil {
		return err
	}
	// St Luke's must keep medication records ten years (a legal
	// obligation), so an erasure in the demo leaves one record retained
	// beside the erased ones. Set before the first record, and only then:
	// a policy changed during the tour stays as it was left.
	policy, err := c.Retention(ctx, env.ID("St Luke's Hospital"))
	if err != nil {
		return err
	}
	if len(policy.Holds) == 0 && len(existing) == 0 {
		key, err := env.Key("St Luke's Hospital")
		if err != nil {
			return err
		}
		if _, err := c.Send(ctx, key, records.TypeSetRetention, records.SetRetention{Holds: retention}, true); err != nil {
			return fmt.Errorf("St Luke's retention policy: %w", err)
		}
	}
	type place struct{ custodian, category string }
	have := map[place]int{}
	for _, r := range existing {
		have[place{r.Custodian, r.Category}]++
	}
	for _, r := range recordDocs {
		var doc struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal([]byte(r.doc), &doc); err != nil {
			return err
		}
		at := place{member(r.org).Address, records.CategoryOf(doc.ResourceType)}
		if have[at] > 0 {
			have[at]--
			continue
		}
		if _, err := c.ImportFHIR(ctx, member(r.org).APIToken, patient, []byte(r.doc)); err != nil {
			return fmt.Errorf("importing a record at %s: %w", r.org, err)
		}
	}
	doctor := env.ID("Dr Lena Fischer")
	consents, err := c.Consents(ctx, patient)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(consents, func(g *consent.Consent) bool { return g.Grantee == doctor }) {
		return nil
	}
	key, err := env.Key("Patient 1")
	if err != nil {
		return err
	}
	_, err = c.Send(ctx, key, consent.TypeGrant, consent.Grant{Grantee: doctor,
		Scope: consent.Scope{Categories: []string{"observation", "condition"}}, Purpose: "treatment",
		Expires: time.Now().AddDate(0, 3, 0).UTC().Format(time.RFC3339)}, true)
	return err
}
