package records_test

import (
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestUse: a custodian declares the patients whose records it uses in a
// study; only those with a research consent in force for that study
// naming it, each once, each on their trail.
func TestUse(t *testing.T) {
	// The studies: fl:t2d-demo is open to the hospital and the clinic,
	// fl:closed to no one.
	w := setupWith(t, records.StudyKind{Prefix: "fl", Refuses: func(_ ledger.Reader, id, custodian string, _ time.Time) (string, error) {
		if id != "t2d-demo" {
			return "closed", nil
		}
		return "", nil
	}})
	year := w.Now.AddDate(1, 0, 0).Format(time.RFC3339)
	research := func(grantee string, scope consent.Scope) consent.Grant {
		return consent.Grant{Grantee: w.ID(grantee), Scope: scope, Purpose: "research", Expires: year}
	}
	use := func(study string, patients ...string) records.Use {
		u := records.Use{Study: study}
		for _, p := range patients {
			u.Patients = append(u.Patients, w.ID(p))
		}
		return u
	}
	count := func(study string, want int64) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if n, err := records.UseCount(w.St.Committed(), study, w.ID("hosp")); err != nil || n != want {
				t.Fatalf("use count of %s: %d, %v; want %d", study, n, err, want)
			}
		}
	}
	trail := func(patient string, want int) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			all, err := records.TrailOf(w.St.Committed(), w.ID(patient))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, a := range all {
				if a.Outcome == records.OutcomeUsed {
					n++
					if a.Study != "fl:t2d-demo" || a.Custodian != w.ID("hosp") || a.Purpose != "research" || a.Record != "" || a.Consent == "" {
						t.Fatalf("trail entry of a use: %+v", a)
					}
				}
			}
			if n != want {
				t.Fatalf("%s's trail shows %d uses; want %d", patient, n, want)
			}
		}
	}
	tooMany := records.Use{Study: "fl:t2d-demo"}
	for range records.MaxUsePatients + 1 {
		tooMany.Patients = append(tooMany.Patients, w.ID("alice"))
	}
	run(t, w, []step{
		{"without a consent: refused", "hosp", records.TypeUse, use("fl:t2d-demo", "alice"), records.ErrNoResearch, count("fl:t2d-demo", 0)},
		{"alice consents to the hospital's research in t2d-demo", "alice", consent.TypeGrant, research("hosp", consent.Scope{Studies: []string{"fl:t2d-demo"}}), nil,
			nil},
		{"bob consents to the clinic's, not the hospital's", "bob", consent.TypeGrant, research("clinic", consent.Scope{Studies: []string{"fl:t2d-demo"}}), nil, nil},
		{"carol consents to another study", "carol", consent.TypeGrant, research("hosp", consent.Scope{Studies: []string{"fl:htn-2027"}}), nil, nil},
		{"a patient without a consent naming the custodian spoils the list", "hosp", records.TypeUse, use("fl:t2d-demo", "alice", "bob"), records.ErrNoResearch, count("fl:t2d-demo", 0)},
		{"nor one for another study", "hosp", records.TypeUse, use("fl:t2d-demo", "carol"), records.ErrNoResearch, trail("carol", 0)},
		{"alice's records are used", "hosp", records.TypeUse, use("fl:t2d-demo", "alice"), nil, func(t *testing.T) { count("fl:t2d-demo", 1)(t); trail("alice", 1)(t) }},
		{"declaring her again changes nothing", "hosp", records.TypeUse, use("fl:t2d-demo", "alice"), nil, func(t *testing.T) { count("fl:t2d-demo", 1)(t); trail("alice", 1)(t) }},
		{"the clinic uses bob's", "clinic", records.TypeUse, use("fl:t2d-demo", "bob"), nil, count("fl:t2d-demo", 1)},
		{"a repeated patient", "hosp", records.TypeUse, use("fl:t2d-demo", "alice", "alice"), records.ErrUsePatients, nil},
		{"an empty list", "hosp", records.TypeUse, records.Use{Study: "fl:t2d-demo"}, records.ErrUsePatients, nil},
		{"too long a list", "hosp", records.TypeUse, tooMany, records.ErrUsePatients, nil},
		{"a bad study id", "hosp", records.TypeUse, use("T2D demo", "alice"), records.ErrUseStudy, nil},
		{"a patient may not declare", "alice", records.TypeUse, use("fl:t2d-demo", "alice"), ledger.ErrUnauthorized, nil},
		{"carol consents to all research by the hospital", "carol", consent.TypeGrant, research("hosp", consent.Scope{All: true}), nil, nil},
		{"which names no study: not enough", "hosp", records.TypeUse, use("fl:t2d-demo", "carol"), records.ErrNoResearch, trail("carol", 0)},
		{"a study that is not open to the custodian", "hosp", records.TypeUse, use("fl:closed", "alice"), records.ErrStudyClosed, nil},
		{"a kind of study no module declares", "hosp", records.TypeUse, use("trial:t2d-demo", "alice"), records.ErrUseStudy, nil},
		{"a study without its kind", "hosp", records.TypeUse, use("t2d-demo", "alice"), records.ErrUseStudy, nil},
		{"not a pseudonym", "hosp", records.TypeUse, records.Use{Study: "fl:t2d-demo", Patients: []string{"../x"}}, records.ErrUsePatients, nil},
	})
}
