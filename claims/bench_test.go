package claims_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/primum-health/primum/claims"
)

// BenchmarkAdjudicate: one claim of four lines under the sample policy
// (five rules, the fee schedule, the NCCI edits recorded), compiled rules
// from the cache, as a block adjudicates it. Reports the time per line
// (the target: under 50 µs per claim line).
func BenchmarkAdjudicate(b *testing.B) {
	rs := claims.SampleRuleSet()
	mk := func() *claims.Claim {
		return &claims.Claim{ID: "B-1", ServiceDate: "2026-11-20", Diagnoses: []string{"E11.9", "I10"},
			Inputs: claims.Inputs{Member: claims.MemberInput{Plan: rs.Plan.Name, Deductible: rs.Plan.Deductible, DeductibleMet: 20000, OOPMax: rs.Plan.OOPMax, OOPMet: 20000},
				Provider: claims.ProviderInput{OrgType: "hospital", Profession: "physician"},
				Edits:    []claims.Edit{{Line: 1, Kind: "mue", Cap: 1}, {Line: 2, Kind: "mue", Cap: 2}, {Line: 3, Kind: "mue", Cap: 2}, {Line: 4, Kind: "mue", Cap: 3}}},
			Lines: []claims.Line{
				{N: 1, Code: "99214", Units: 1, Charge: 25000, Dx: []string{"E11.9", "I10"}},
				{N: 2, Code: "83036", Units: 1, Charge: 4500, Dx: []string{"E11.9"}},
				{N: 3, Code: "36415", Units: 1, Charge: 1500, Dx: []string{"E11.9"}},
				{N: 4, Code: "93000", Units: 1, Charge: 9000, Dx: []string{"I10"}},
			}}
	}
	if _, _, err := claims.Adjudicate(mk(), &rs); err != nil { // compiles, once
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := claims.Adjudicate(mk(), &rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/4/1000, "µs/line")
}

// BenchmarkSubmit: one three-line claim submitted and adjudicated in a
// block over real Pebble state (the moduletest harness), as the node runs
// it: every lookup, the adjudication and the writes.
func BenchmarkSubmit(b *testing.B) {
	w := setup(b)
	w.Now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		s := claim(w, fmt.Sprintf("B-%d", i), "careshield-alice", "alice", line("99214", 1, 25000), line("83036", 1, 4500), line("36415", 1, 1500))
		s.ServiceDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%300).Format(time.DateOnly)
		if err := w.Do("hosp", claims.TypeSubmit, s); err != nil {
			b.Fatal(err)
		}
		if i%100 == 0 {
			w.Commit()
		}
	}
}
