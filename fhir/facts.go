package fhir

import (
	"encoding/json"
	"strings"
	"time"
)

// Facts summarise one patient's resources for a study computed at their
// custodian (federated learning, research counts): their birth date and
// region from Patient, the latest value of each coded Observation (and of
// each coded component, as a blood-pressure panel's systolic and
// diastolic), and their coded Conditions with onset. They are health data:
// they stay at the custodian's node.
type Facts struct {
	Birth  time.Time // zero when no Patient gives one
	Region string    // the first address's state, or ""
	// Values are the latest Observation value per code (system|code, and
	// bare code), with its date.
	Values map[string]Value
	// Conditions are the Conditions' codes (system|code and bare code),
	// each with its earliest onset (or recorded date; zero if neither).
	Conditions map[string]time.Time
}

// Value is an Observation's quantity at a time.
type Value struct {
	Number float64
	At     time.Time
}

type quantity struct {
	Value *float64 `json:"value"`
}

type observation struct {
	Status            string          `json:"status"`
	Code              codeableConcept `json:"code"`
	EffectiveDateTime string          `json:"effectiveDateTime"`
	Issued            string          `json:"issued"`
	ValueQuantity     *quantity       `json:"valueQuantity"`
	Component         []struct {      //
		Code          codeableConcept `json:"code"`
		ValueQuantity *quantity       `json:"valueQuantity"`
	} `json:"component"`
}

type condition struct {
	Code               codeableConcept `json:"code"`
	OnsetDateTime      string          `json:"onsetDateTime"`
	RecordedDate       string          `json:"recordedDate"`
	VerificationStatus codeableConcept `json:"verificationStatus"`
}

type patient struct {
	BirthDate string `json:"birthDate"`
	Address   []struct {
		State string `json:"state"`
	} `json:"address"`
}

// factDate reads a FHIR date or dateTime (a year, a month, a day, or an
// instant), or gives the zero time.
func factDate(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// FactsOf reads one patient's resources (FHIR R4 JSON, one per element;
// any type, those it does not use ignored; a resource that does not parse
// is skipped, as a custodian's store may hold other documents).
func FactsOf(resources [][]byte) *Facts {
	f := &Facts{Values: map[string]Value{}, Conditions: map[string]time.Time{}}
	for _, raw := range resources {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(raw, &head) != nil {
			continue
		}
		switch head.ResourceType {
		case "Patient":
			var p patient
			if json.Unmarshal(raw, &p) != nil {
				continue
			}
			if b := factDate(p.BirthDate); !b.IsZero() {
				f.Birth = b
			}
			if len(p.Address) > 0 && p.Address[0].State != "" {
				f.Region = p.Address[0].State
			}
		case "Observation":
			var o observation
			if json.Unmarshal(raw, &o) != nil || o.Status == "entered-in-error" || o.Status == "cancelled" {
				continue
			}
			at := factDate(o.EffectiveDateTime)
			if at.IsZero() {
				at = factDate(o.Issued)
			}
			if o.ValueQuantity != nil && o.ValueQuantity.Value != nil {
				f.observe(o.Code, *o.ValueQuantity.Value, at)
			}
			for _, c := range o.Component {
				if c.ValueQuantity != nil && c.ValueQuantity.Value != nil {
					f.observe(c.Code, *c.ValueQuantity.Value, at)
				}
			}
		case "Condition":
			var c condition
			if json.Unmarshal(raw, &c) != nil {
				continue
			}
			if v := c.VerificationStatus.Coding; len(v) > 0 && (v[0].Code == "refuted" || v[0].Code == "entered-in-error") {
				continue
			}
			at := factDate(c.OnsetDateTime)
			if at.IsZero() {
				at = factDate(c.RecordedDate)
			}
			for _, k := range keys(c.Code) {
				if old, ok := f.Conditions[k]; !ok || (!at.IsZero() && (old.IsZero() || at.Before(old))) {
					f.Conditions[k] = at
				}
			}
		}
	}
	return f
}

func (f *Facts) observe(c codeableConcept, v float64, at time.Time) {
	for _, k := range keys(c) {
		if old, ok := f.Values[k]; !ok || !at.Before(old.At) {
			f.Values[k] = Value{Number: v, At: at}
		}
	}
}

// keys are a concept's codings as system|code and as the bare code.
func keys(c codeableConcept) []string {
	var out []string
	for _, cd := range c.Coding {
		if cd.Code == "" {
			continue
		}
		out = append(out, cd.Code)
		if cd.System != "" {
			out = append(out, strings.TrimSpace(cd.System)+"|"+cd.Code)
		}
	}
	return out
}

// Code names a coded concept: a system and a code.
type Code struct{ System, Code string }

// Key is how Facts index it.
func (c Code) Key() string { return c.System + "|" + c.Code }

// Systems of the codes studies name.
const (
	LOINC  = "http://loinc.org"
	SNOMED = "http://snomed.info/sct"
	ICD10  = "http://hl7.org/fhir/sid/icd-10"
)

// Latest is the latest value of any of codes, if any.
func (f *Facts) Latest(codes ...Code) (Value, bool) {
	var best Value
	found := false
	for _, c := range codes {
		if v, ok := f.Values[c.Key()]; ok && (!found || v.At.After(best.At)) {
			best, found = v, true
		}
	}
	return best, found
}

// Onset is the earliest onset of a Condition coded as any of codes.
func (f *Facts) Onset(codes ...Code) (time.Time, bool) {
	var first time.Time
	found := false
	for _, c := range codes {
		if at, ok := f.Conditions[c.Key()]; ok {
			if !found || (!at.IsZero() && (first.IsZero() || at.Before(first))) {
				first = at
			}
			found = true
		}
	}
	return first, found
}

// LastSeen is the latest date of any Observation value: when the patient
// was last measured.
func (f *Facts) LastSeen() time.Time {
	var last time.Time
	for _, v := range f.Values {
		if v.At.After(last) {
			last = v.At
		}
	}
	return last
}

// AgeAt is the patient's age in whole years at t (-1 without a birth date).
func (f *Facts) AgeAt(t time.Time) int {
	if f.Birth.IsZero() || t.IsZero() {
		return -1
	}
	age := t.Year() - f.Birth.Year()
	if t.Month() < f.Birth.Month() || (t.Month() == f.Birth.Month() && t.Day() < f.Birth.Day()) {
		age-- // the birthday of year t is still to come
	}
	return age
}
