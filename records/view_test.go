package records_test

import (
	"errors"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestViewOf: who sees what about alice, as the ledger stands. The patient
// everything; another patient nothing; the custodian hospital and its
// practitioners the records it holds; a practitioner her consent names the
// records it covers and the consent, not the rest; a practitioner granted
// an emergency access the whole index, for a day; a research institute
// with no consent nothing; the regulator the trail and consents, not the
// index.
func TestViewOf(t *testing.T) {
	w := setup(t)
	w.AddOrg("reg", "regulator")
	w.Commit()
	w.AddPractitioner("drE", "clinic")
	year := w.Now.AddDate(1, 0, 0).Format(time.RFC3339)
	must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drB"), Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment", Expires: year}))
	r := &requests{w: w}
	must(t, w.Do("hosp", records.TypeAccess, r.make("drE", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "patient_unconscious" })))

	st := w.St.Committed()
	obs, _ := records.Get(st, "obs-1")
	cond, _ := records.Get(st, "cond-1")
	cons, _ := consent.OfPatient(st, w.ID("alice"))
	trail, _ := records.TrailOf(st, w.ID("alice"))
	cases := []struct {
		who                   string
		index, audit          bool // standing for the index; for the trail, consents, cases
		obs, cond, con, entry bool // what it sees
	}{
		{"alice", true, true, true, true, true, true},
		{"bob", false, false, false, false, false, false},
		{"hosp", true, true, true, true, false, true},
		{"drA", true, true, true, true, false, true},
		{"drB", true, true, true, false, true, true}, // drE, a colleague at the clinic, asked
		{"drE", true, true, true, true, false, true},
		{"research", false, false, false, false, false, false},
		{"reg", false, true, false, false, true, true},
	}
	check := func(t *testing.T, now time.Time, who string, index, audit, seesObs, seesCond, seesCon, seesEntry bool) {
		t.Helper()
		caller, err := w.Signer(who)
		if err != nil {
			t.Fatal(err)
		}
		v, err := records.ViewOf(st, caller, w.ID("alice"), now)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Standing(true) == nil; got != index {
			t.Errorf("%s: standing for the index %v, want %v", who, got, index)
		}
		if err := v.Standing(false); (err == nil) != audit || err != nil && !errors.Is(err, ledger.ErrNoStanding) {
			t.Errorf("%s: standing for the audit: %v, want %v", who, err, audit)
		}
		for _, c := range []struct {
			what string
			item any
			want bool
		}{{"obs-1", obs, seesObs}, {"cond-1", cond, seesCond}, {"the consent", cons[0], seesCon}, {"the emergency entry", trail[0], seesEntry}} {
			if v.Sees(c.item) != c.want {
				t.Errorf("%s sees %s: %v, want %v", who, c.what, !c.want, c.want)
			}
		}
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) { check(t, w.Now, c.who, c.index, c.audit, c.obs, c.cond, c.con, c.entry) })
	}
	// A day later the emergency no longer opens the index to drE.
	t.Run("drE a day later", func(t *testing.T) { check(t, w.Now.Add(25*time.Hour), "drE", false, false, false, false, false, true) })
}
