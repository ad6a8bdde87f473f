package flrun

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
)

// Records is a custodian's record store as a study reads it (a
// *docstore.Store): its patients, their records, each decrypted here.
type Records interface {
	Patients() ([]string, error)
	Records(patient string) ([]docstore.Meta, error)
	Get(id string) (*docstore.Record, error)
}

// Feature is how a consented task's feature is read from the records: the
// latest Observation value of one of its codes (LOINC), or the age at the
// latest measurement, standardised as (value - Centre) / Scale.
type Feature struct {
	Codes         []fhir.Code
	Centre, Scale float64
}

// Features are the features a consented task may name
// (federated.RecordFeatures), with their codes and standardisation (the
// synthetic example's: federated.Synth).
var Features = map[string]Feature{
	"age":   {Centre: 55, Scale: 15},
	"bmi":   {Codes: []fhir.Code{{System: fhir.LOINC, Code: "39156-5"}}, Centre: 27, Scale: 5},
	"sbp":   {Codes: []fhir.Code{{System: fhir.LOINC, Code: "8480-6"}}, Centre: 130, Scale: 18},
	"dbp":   {Codes: []fhir.Code{{System: fhir.LOINC, Code: "8462-4"}}, Centre: 80, Scale: 10},
	"hba1c": {Codes: []fhir.Code{{System: fhir.LOINC, Code: "4548-4"}, {System: fhir.LOINC, Code: "17856-6"}}, Centre: 5.8, Scale: 0.9},
	"fpg":   {Codes: []fhir.Code{{System: fhir.LOINC, Code: "1558-6"}}, Centre: 100, Scale: 25},
}

// Conditions are the conditions a consented task's label or a consented
// dataset's categories name (records.StudyConditions): a patient has one
// when a Condition of theirs carries one of its SNOMED CT or ICD-10 codes.
var Conditions = map[string][]fhir.Code{
	"diabetes": {{System: fhir.SNOMED, Code: "44054006"}, {System: fhir.ICD10, Code: "E11"}, {System: fhir.ICD10, Code: "E11.9"}},
	"t1d":      {{System: fhir.SNOMED, Code: "46635009"}, {System: fhir.ICD10, Code: "E10"}, {System: fhir.ICD10, Code: "E10.9"}},
	"htn":      {{System: fhir.SNOMED, Code: "38341003"}, {System: fhir.SNOMED, Code: "59621000"}, {System: fhir.ICD10, Code: "I10"}},
}

// Subject is one consenting patient's facts, under their pseudonym here.
type Subject struct {
	Patient string
	Facts   *fhir.Facts
}

// Cohort reads, from the records this custodian (key) holds, the patients
// holding a research consent in force that names the custodian and study
// ("fl:<task>", "research:<project>") by its id, and sums up each one's
// records. Their consents and their records' ledger entries are read as
// the custodian (two requests per patient): a record an erasure reached
// (erased, or kept under a retention duty, which is for that duty alone)
// is not used, nor is any record of a patient who asked for an erasure.
// Their records are decrypted here and never leave.
func Cohort(ctx context.Context, c *client.Client, key ed25519.PrivateKey, store Records, study string, now time.Time) ([]Subject, error) {
	me := ledger.Address(key.Public().(ed25519.PublicKey))
	patients, err := store.Patients()
	if err != nil {
		return nil, err
	}
	c = c.WithKey(key)
	var out []Subject
	for _, p := range patients {
		metas, err := store.Records(p)
		if err != nil {
			return nil, err
		}
		metas = slices.DeleteFunc(metas, func(m docstore.Meta) bool { return m.Custodian != me })
		if len(metas) == 0 {
			continue
		}
		cs, err := c.Consents(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("the consents of a patient: %w", err)
		}
		if !slices.ContainsFunc(cs, func(k *consent.Consent) bool {
			return k.Grantee == me && k.Purpose == "research" && k.Active(now) && slices.Contains(k.Scope.Studies, study)
		}) {
			continue
		}
		index, err := c.Records(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("the ledger's index of a patient's records: %w", err)
		}
		if slices.ContainsFunc(index, func(r *records.Record) bool { return r.Status != records.StatusStored }) {
			continue // an erasure reached their records: none is used
		}
		var docs [][]byte
		for _, m := range metas {
			if !slices.ContainsFunc(index, func(r *records.Record) bool { return r.ID == m.ID }) {
				continue // not (or no longer) on the ledger as stored
			}
			r, err := store.Get(m.ID)
			if err != nil {
				continue // erased, or not readable: not used
			}
			docs = append(docs, r.Content)
		}
		out = append(out, Subject{Patient: p, Facts: fhir.FactsOf(docs)})
	}
	return out, nil
}

// Examples are a consented task's examples from a cohort: one per patient
// whose records give every feature (the latest value of each) and a birth
// date where age is asked, labelled 1 when a Condition of theirs is the
// label's. used are their pseudonyms, in the examples' order: the patients
// whose records contribute.
func Examples(cohort []Subject, features []string, label string) (examples []federated.Example, used []string, err error) {
	codes, ok := Conditions[label]
	if !ok {
		return nil, nil, fmt.Errorf("the label %q is not one the records give (%v)", label, records.StudyConditions)
	}
	for _, f := range features {
		if _, ok := Features[f]; !ok {
			return nil, nil, fmt.Errorf("the feature %q is not one the records give (%v)", f, federated.RecordFeatures)
		}
	}
next:
	for _, s := range cohort {
		x := make([]float64, len(features))
		for i, name := range features {
			f := Features[name]
			var v float64
			if name == "age" {
				age := s.Facts.AgeAt(s.Facts.LastSeen())
				if age < 0 {
					continue next
				}
				v = float64(age)
			} else {
				got, ok := s.Facts.Latest(f.Codes...)
				if !ok {
					continue next
				}
				v = got.Number
			}
			x[i] = (v - f.Centre) / f.Scale
		}
		y := 0.0
		if _, ok := s.Facts.Onset(codes...); ok {
			y = 1
		}
		examples = append(examples, federated.Example{X: x, Y: y})
		used = append(used, s.Patient)
	}
	return examples, used, nil
}

// Rows are a consented dataset's rows from a cohort: one per patient with
// a condition among the dataset's categories (the earliest by onset, so
// that each patient counts once: a count's sensitivity stays 1), in the
// region of their address, the age band of their age at onset and the
// quarter of the onset. A patient with no such condition, or whose age,
// region or quarter is outside the dataset's values, makes no row. used
// are the pseudonyms of those who make one.
func Rows(cohort []Subject, v *research.Values) (rows []research.Row, used []string) {
	for _, s := range cohort {
		var category string
		var onset time.Time
		for _, c := range v.Category {
			at, ok := s.Facts.Onset(Conditions[c]...)
			if ok && !at.IsZero() && (category == "" || at.Before(onset)) {
				category, onset = c, at
			}
		}
		if category == "" || !slices.Contains(v.Region, s.Facts.Region) {
			continue
		}
		age := s.Facts.AgeAt(onset)
		band := ""
		for _, b := range v.AgeBand {
			if lo, hi, ok := research.AgeBand(b); ok && age >= lo && age <= hi {
				band = b
				break
			}
		}
		period := fmt.Sprintf("%d-Q%d", onset.Year(), (int(onset.Month())-1)/3+1)
		if band == "" || !slices.Contains(v.Period, period) {
			continue
		}
		rows = append(rows, research.Row{Category: category, Region: s.Facts.Region, AgeBand: band, Period: period})
		used = append(used, s.Patient)
	}
	return rows, used
}

// Declare posts records.use for study over patients, in transactions of
// records.MaxUsePatients, each waiting for its block: every patient's
// trail then shows that their records contributed.
func Declare(ctx context.Context, c *client.Client, key ed25519.PrivateKey, study string, patients []string) error {
	for start := 0; start < len(patients); start += records.MaxUsePatients {
		chunk := patients[start:min(start+records.MaxUsePatients, len(patients))]
		if _, err := c.Send(ctx, key, records.TypeUse, records.Use{Study: study, Patients: chunk}, true); err != nil {
			return err
		}
	}
	return nil
}

// SynthBundle is a synthetic patient of the example (federated.Synth) as a
// FHIR R4 collection Bundle, for a custodian to import as records: a
// Patient born to be e's age at at, living in region; body mass index,
// systolic pressure and HbA1c Observations at at; and, when e's label is
// 1, a type 2 diabetes Condition with its onset a month before. Reading it
// back (FactsOf, Examples) gives e again, to rounding.
func SynthBundle(e federated.Example, at time.Time, region string) []byte {
	value := func(i int) float64 {
		f := Features[federated.SynthFeatures[i]]
		return e.X[i]*f.Scale + f.Centre
	}
	age := int(value(0) + 0.5)
	birth := at.AddDate(-age, 0, -1)
	obs := func(code, display, unit string, v float64) map[string]any {
		return map[string]any{"resource": map[string]any{"resourceType": "Observation", "status": "final",
			"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}}},
			"code":              map[string]any{"coding": []any{map[string]any{"system": fhir.LOINC, "code": code, "display": display}}},
			"effectiveDateTime": at.UTC().Format(time.RFC3339),
			"valueQuantity":     map[string]any{"value": float64(int(v*10+0.5)) / 10, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}}
	}
	entries := []any{
		map[string]any{"resource": map[string]any{"resourceType": "Patient", "birthDate": birth.Format("2006-01-02"),
			"address": []any{map[string]any{"state": region}}}},
		obs("39156-5", "Body mass index", "kg/m2", value(1)),
		obs("8480-6", "Systolic blood pressure", "mm[Hg]", value(2)),
		obs("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", value(3)),
	}
	if e.Y == 1 {
		entries = append(entries, map[string]any{"resource": map[string]any{"resourceType": "Condition",
			"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
			"code":           map[string]any{"coding": []any{map[string]any{"system": fhir.SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}}},
			"onsetDateTime":  at.AddDate(0, -1, 0).UTC().Format(time.RFC3339)}})
	}
	b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
	return b
}
