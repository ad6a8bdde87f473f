package claims_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/ledger"
)

// FuzzClaim: the claim decoder (strict JSON, then the shape checks) never
// panics; a claim it accepts survives a round trip, and adjudicating it
// under the sample policy from any accumulators is deterministic (the same
// trace twice) and keeps its sums: no line allows more than its charge,
// the member and the payer share a covered line's allowed amount, and the
// member never pays past the out-of-pocket maximum.
func FuzzClaim(f *testing.F) {
	for _, r := range claims.Declare().Txs {
		f.Add([]byte(r.Example), int64(0), int64(0))
	}
	f.Add([]byte(`{"id":"C-1","coverage":"X","patient":"p","service_date":"2026-11-20","diagnoses":["E11.9","J06.9"],"lines":[{"code":"99215","units":1,"charge":30000,"dx":[2]},{"code":"83036","units":3,"charge":1,"dx":[1,2]},{"code":"G0439","units":1,"charge":99999999,"dx":[1]}]}`), int64(49000), int64(299000))
	f.Add([]byte(`{"id":"C-2","coverage":"X","patient":"p","service_date":"2026-11-20","diagnoses":["Z00.00"],"lines":[{"code":"15780","modifiers":["59","XS"],"units":9999,"charge":10000000000,"dx":[1]}]}`), int64(-5), int64(1<<62))
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	rs := claims.SampleRuleSet()
	f.Fuzz(func(t *testing.T, b []byte, dedMet, oopMet int64) {
		var s claims.Submit
		if ledger.DecodeBody(b, &s) != nil || s.Check(now) != nil {
			return
		}
		// The round trip keeps the claim: its encoding read back encodes
		// to the same bytes (an empty list and none are the same claim).
		again, _ := json.Marshal(s)
		var back claims.Submit
		if err := ledger.DecodeBody(again, &back); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if twice, _ := json.Marshal(back); !bytes.Equal(twice, again) {
			t.Fatalf("round trip:\n%s\n%s", again, twice)
		}
		dedMet, oopMet = min(max(dedMet, 0), claims.MaxAmount), min(max(oopMet, 0), claims.MaxAmount)
		mk := func() *claims.Claim {
			c := &claims.Claim{ID: s.ID, ServiceDate: s.ServiceDate, Diagnoses: s.Diagnoses, Inputs: claims.Inputs{
				Member: claims.MemberInput{Plan: rs.Plan.Name, Deductible: rs.Plan.Deductible, DeductibleMet: dedMet, OOPMax: rs.Plan.OOPMax, OOPMet: oopMet}}}
			for i, l := range s.Lines {
				line := claims.Line{N: int64(i + 1), Code: l.Code, Modifiers: l.Modifiers, Units: l.Units, Charge: l.Charge}
				for _, p := range l.Dx {
					line.Dx = append(line.Dx, s.Diagnoses[p-1])
				}
				c.Lines = append(c.Lines, line)
			}
			return c
		}
		a, b2 := mk(), mk()
		_, afterA, err := claims.Adjudicate(a, &rs)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := claims.Adjudicate(b2, &rs); err != nil || a.Trace != b2.Trace || !reflect.DeepEqual(a.Lines, b2.Lines) {
			t.Fatalf("not deterministic: %v", err)
		}
		for _, l := range a.Lines {
			if l.Allowed < 0 || l.Allowed > l.Charge || (l.Outcome == claims.Covered && l.PatientShare+l.Payer != l.Allowed) || (l.Outcome != claims.Covered && l.Allowed != 0) {
				t.Fatalf("line %+v", l)
			}
			if l.Cost > uint64(len(rs.Rules)+1)*claims.CostLimit {
				t.Fatalf("line cost %d", l.Cost)
			}
		}
		if afterA.OOPMet > max(oopMet, rs.Plan.OOPMax) {
			t.Fatalf("the member pays past the maximum: %d", afterA.OOPMet)
		}
	})
}

// FuzzRule: any expression, as a rule's condition or allowed amount,
// is accepted or refused with a code (never a panic); one accepted runs
// within the cost limit on the sample inputs.
func FuzzRule(f *testing.F) {
	for _, r := range claims.SampleRuleSet().Rules {
		f.Add(r.When, r.Allowed)
	}
	f.Add(`line.dx.exists(d, d.startsWith("E11"))`, `line.charge / 2`)
	f.Add(`claim.codes.filter(c, c == line.code).size() > 1`, `member.deductible - member.deductible_met`)
	f.Add(`fees.all(k, fees[k] > 0)`, ``)
	f.Add(`line.charge * 9223372036854775807 > 0`, `9223372036854775807 + line.units`)
	f.Add(`"a".matches("(a+)+$")`, `size(line.code)`)
	f.Fuzz(func(t *testing.T, when, allowed string) {
		rs := claims.SampleRuleSet()
		rs.Rules = []claims.Rule{{ID: "fuzz", When: when, Outcome: claims.Covered, Allowed: allowed}}
		err := rs.Check()
		if err != nil {
			if ledger.AsError(err) == ledger.ErrInternal {
				t.Fatalf("an uncoded refusal: %v", err)
			}
			return
		}
		c := &claims.Claim{ID: "F", ServiceDate: "2026-11-20", Diagnoses: []string{"E11.9"},
			Lines: []claims.Line{{N: 1, Code: "99213", Units: 1, Charge: 15000, Dx: []string{"E11.9"}}, {N: 2, Code: "15780", Units: 3, Charge: 1, Dx: []string{"E11.9"}}}}
		if _, _, err := claims.Adjudicate(c, &rs); err != nil {
			t.Fatal(err)
		}
		for _, l := range c.Lines {
			if l.Cost > 2*claims.CostLimit {
				t.Fatalf("cost %d over the limit", l.Cost)
			}
		}
	})
}
