package flrun_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/research"
)

func resources(t *testing.T, bundle []byte) [][]byte {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range b.Entry {
		out = append(out, e.Resource)
	}
	return out
}

// TestRecordsRoundTrip: a synthetic patient written as FHIR and read back
// from the records gives the same example (to the records' rounding) and
// one research row; a patient missing a feature gives no example.
func TestRecordsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	examples := federated.Synth(federated.SynthSites[0], 7)[:40]
	var cohort []flrun.Subject
	for i, e := range examples {
		cohort = append(cohort, flrun.Subject{Patient: string(rune('a' + i%26)), Facts: fhir.FactsOf(resources(t, flrun.SynthBundle(e, at, "NORTH")))})
	}
	// One more, with no HbA1c: no example.
	partial := resources(t, flrun.SynthBundle(examples[0], at, "NORTH"))
	cohort = append(cohort, flrun.Subject{Patient: "partial", Facts: fhir.FactsOf(append(partial[:3:3], partial[4:]...))})
	got, used, err := flrun.Examples(cohort, federated.SynthFeatures, federated.SynthLabel)
	if err != nil || len(got) != len(examples) || len(used) != len(examples) {
		t.Fatalf("%d examples, %d used, %v", len(got), len(used), err)
	}
	diabetic := 0
	for i, e := range examples {
		if got[i].Y != e.Y {
			t.Fatalf("example %d: label %v, want %v", i, got[i].Y, e.Y)
		}
		for j := range e.X {
			// Age is whole years (1/15 standardised), values one decimal.
			if math.Abs(got[i].X[j]-e.X[j]) > 0.07 {
				t.Fatalf("example %d feature %s: %v, want %v", i, federated.SynthFeatures[j], got[i].X[j], e.X[j])
			}
		}
		if e.Y == 1 {
			diabetic++
		}
	}
	if _, _, err := flrun.Examples(cohort, []string{"shoe_size"}, "diabetes"); err == nil {
		t.Fatal("a feature no record gives was taken")
	}
	values := research.Values{Category: []string{"diabetes", "htn"}, Region: []string{"NORTH"}, AgeBand: []string{"0-39", "40-64", "65+"}, Period: []string{"2026-Q4"}}
	rows, counted := flrun.Rows(cohort, &values)
	// Each diabetic patient once, in the quarter of the onset (October:
	// Q4), the partial patient too (a condition, no HbA1c needed).
	if len(rows) != diabetic+int(examples[0].Y) || len(counted) != len(rows) {
		t.Fatalf("%d rows of %d diabetic patients", len(rows), diabetic)
	}
	for _, r := range rows {
		if r.Category != "diabetes" || r.Region != "NORTH" || r.Period != "2026-Q4" || r.AgeBand == "" {
			t.Fatalf("row %+v", r)
		}
	}
	values.Region = []string{"SOUTH"}
	if rows, _ := flrun.Rows(cohort, &values); len(rows) != 0 {
		t.Fatalf("%d rows outside the dataset's regions", len(rows))
	}
}
