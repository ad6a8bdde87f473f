package claims_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/claims"
)

// A rule is checked when it is published: its type, that it keeps to
// integers and lists (determinism), and its estimated cost; each refusal
// is coded and changes nothing.
func TestRulesAreCheckedAtPublication(t *testing.T) {
	w := setup(t)
	for _, tc := range []struct {
		name, when, allowed string
		want                error
		says                string
	}{
		{"a double", `line.charge > 100.0`, "", claims.ErrBadRule, "no matching overload"},
		{"a double made", `double(line.charge) > 1.5`, "", claims.ErrBadRule, "double"},
		{"a map comprehension", `fees.exists(k, k == line.code)`, "", claims.ErrBadRule, "iterates over a map"},
		{"not a bool", `line.charge`, "", claims.ErrBadRule, "want bool"},
		{"a syntax error", `line.code ==`, "", claims.ErrBadRule, "Syntax error"},
		{"an unknown field", `line.patient_name == "x"`, "", claims.ErrBadRule, "undefined field"},
		{"a dyn value", `dyn(line.units) == 1`, "", claims.ErrBadRule, "dyn"},
		{"too costly", `lists["cosmetic"].all(a, lists["preventive"].all(b, lists["diabetes_dx"].exists(c, a + b == c)))`, "", claims.ErrTooCostly, "over the limit"},
		{"allowed not an int", `true`, `"ten"`, claims.ErrBadRule, "want int"},
		{"a time zone", `timestamp(claim.service_date + "T00:00:00Z").getHours("Local") == 0`, "", claims.ErrBadRule, "time zones"},
		{"a named time zone", `timestamp(claim.service_date + "T00:00:00Z").getDayOfWeek("America/New_York") == 1`, "", claims.ErrBadRule, "time zones"},
		{"a regular expression", `line.code.matches("^99")`, "", claims.ErrBadRule, "matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := claims.SampleRuleSet()
			rs.Rules = append(rs.Rules, claims.Rule{ID: "new", When: tc.when, Outcome: claims.Covered, Allowed: tc.allowed})
			err := w.Do("careshield", claims.TypePublish, claims.Publish{ID: "careshield-silver", Effective: "2026-01-01", RuleSet: rs})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
	// Rules each under the limit, together over the line's budget.
	rs := claims.SampleRuleSet()
	for i := range 40 {
		rs.Rules = append(rs.Rules, claims.Rule{ID: fmt.Sprintf("r%d", i), When: `claim.codes.exists(a, claim.dx.exists(b, a == b))`, Outcome: claims.Denied, Reason: "CO-50"})
	}
	if err := w.Do("careshield", claims.TypePublish, claims.Publish{ID: "careshield-many", Effective: "2026-01-01", RuleSet: rs}); !errors.Is(err, claims.ErrTooCostly) || !strings.Contains(err.Error(), "together") {
		t.Fatalf("forty costly rules: %v", err)
	}
	// Another insurer's policy id is not yours to amend.
	w.Try(t, "northstar", claims.TypePublish, claims.Publish{ID: "careshield-gold", Effective: "2026-06-01", RuleSet: claims.SampleRuleSet()}, claims.ErrNotInsurer)
}

// A rule that fails when it runs (a fee the schedule lacks) pends the
// line for review: the same error on every node, a decision that
// replays. Versions: a claim keeps the version it was decided under.
func TestRuleErrorsPendAndVersionsStay(t *testing.T) {
	w := setup(t)
	w.Now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rs := claims.SampleRuleSet()
	rs.Rules = append([]claims.Rule{{ID: "fee-lookup", When: `fees[line.code] > 100000`, Outcome: claims.Denied, Reason: "CO-45"}}, rs.Rules...)
	w.Try(t, "careshield", claims.TypePublish, claims.Publish{ID: "careshield-gold", Effective: "2026-11-01", Reason: "fee cap", RuleSet: rs}, nil)
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "E-1", "careshield-alice", "alice", line("99213", 1, 15000), line("15780", 1, 90000)), nil)
	old := claim(w, "E-2", "careshield-alice", "alice", line("99213", 1, 15000))
	old.ServiceDate = "2026-10-15"
	w.Try(t, "hosp", claims.TypeSubmit, old, nil)
	w.Commit()
	c := get(t, w, "E-1")
	if c.PolicyVersion != 2 || c.Lines[0].Outcome != claims.Covered || c.Lines[1].Outcome != claims.Pended || c.Lines[1].Rule != "error:fee-lookup" {
		t.Fatalf("E-1: version %d, %+v", c.PolicyVersion, c.Lines)
	}
	if c := get(t, w, "E-2"); c.PolicyVersion != 1 {
		t.Fatalf("a service before version 2's date is decided under version %d", c.PolicyVersion)
	}
	p, _ := claims.GetVersion(w.St.Committed(), "careshield-gold", 2)
	if _, diffs, err := claims.Replay(c, p); err != nil || len(diffs) > 0 {
		t.Fatalf("replay: %v %v", err, diffs)
	}
	w.Try(t, "careshield", claims.TypeRetire, claims.Retire{ID: "careshield-gold", From: "2026-11-01"}, nil)
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "E-3", "careshield-alice", "alice", line("99212", 1, 15000)), claims.ErrPolicyRetired)
}
