package consent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// step is one transaction of a table: who sends what, and the error it
// must get (nil: success). then, if set, checks what a success did.
type step struct {
	name string
	as   string
	typ  string
	body any
	want error
	then func(t *testing.T)
}

func run(t *testing.T, w *moduletest.World, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
}

// setup is a world of a hospital with a practitioner and a device, a lab,
// two patients with a record each at the hospital, and a practitioner
// the hospital suspended.
func setup(t *testing.T) *moduletest.World {
	recs := records.New()
	w := moduletest.New(t, consent.New(recs).Declare(), recs.Declare(), identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.AddOrg("lab", "lab")
	w.Commit()
	w.AddPractitioner("drA", "hosp")
	w.AddPractitioner("drS", "hosp")
	w.AddDevice("pump", "hosp", "infusion_pump")
	w.AddPatient("alice")
	w.AddPatient("bob")
	must(t, w.Do("hosp", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("drS"), Status: identity.StatusSuspended}))
	must(t, w.Do("hosp", records.TypeRegister, records.Register{Records: []records.NewRecord{
		{ID: "obs-1", Patient: w.ID("alice"), Category: "observation", Commitment: commitment("obs-1")},
		{ID: "obs-2", Patient: w.ID("bob"), Category: "observation", Commitment: commitment("obs-2")},
	}}))
	return w
}

func commitment(id string) string {
	c := sha256.Sum256([]byte(id))
	return hex.EncodeToString(c[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// granted is the id of the consent the last successful transaction
// granted (its consent.granted event).
func granted(t *testing.T, w *moduletest.World) string {
	t.Helper()
	for _, e := range w.Events {
		if e.Type == "consent.granted" {
			for _, a := range e.Attrs {
				if a[0] == "id" {
					return a[1]
				}
			}
		}
	}
	t.Fatalf("no consent.granted event in %v", w.Events)
	return ""
}

// TestConsentTransactions walks grants and revocations: each step succeeds
// or gets its exact error, and a refused one changes nothing.
func TestConsentTransactions(t *testing.T) {
	w := setup(t)
	year := w.Now.AddDate(1, 0, 0).Format(time.RFC3339)
	grant := func(grantee string, scope consent.Scope, edit func(*consent.Grant)) consent.Grant {
		g := consent.Grant{Grantee: w.ID(grantee), Scope: scope, Purpose: "treatment", Expires: year}
		if edit != nil {
			edit(&g)
		}
		return g
	}
	obs := consent.Scope{Categories: []string{"observation"}}
	all := consent.Scope{All: true}
	var first string // the consent alice grants drA first
	accepts := func(name, record, purpose string, want bool) func(t *testing.T) {
		return func(t *testing.T) {
			signer, err := w.Signer(name)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := records.Get(w.St.Committed(), record)
			if err != nil {
				t.Fatal(err)
			}
			c, err := consent.Accept(w.St.Committed(), signer, consent.RecordRef{ID: rec.ID, Patient: rec.Patient, Category: rec.Category}, purpose, w.Now)
			if err != nil || (c != nil) != want {
				t.Fatalf("%s reading %s for %s: consent %+v, %v; want one: %v", name, record, purpose, c, err, want)
			}
		}
	}
	const (
		typGrant  = consent.TypeGrant
		typRevoke = consent.TypeRevoke
	)
	run(t, w, []step{
		{"a patient grants a practitioner", "alice", typGrant, grant("drA", obs, nil), nil, func(t *testing.T) {
			first = granted(t, w)
			c, err := consent.Get(w.St.Committed(), first)
			if err != nil || c.Patient != w.ID("alice") || c.Grantee != w.ID("drA") || c.GranteeKind != string(ledger.KindPractitioner) ||
				c.Status != consent.StatusActive || c.Purpose != "treatment" || c.Expires != year {
				t.Fatalf("consent %+v, %v", c, err)
			}
			accepts("drA", "obs-1", "treatment", true)(t)
			accepts("drA", "obs-1", "research", false)(t)
			accepts("drA", "obs-2", "treatment", false)(t)
		}},
		{"a patient grants an organisation", "alice", typGrant, grant("lab", all, func(g *consent.Grant) { g.Purpose = "research" }), nil,
			accepts("lab", "obs-1", "research", true)},
		{"a scope of the patient's own records", "bob", typGrant, grant("drA", consent.Scope{Records: []string{"obs-2"}}, nil), nil,
			accepts("drA", "obs-2", "treatment", true)},
		{"a grantee nobody knows", "alice", typGrant, consent.Grant{Grantee: "nobody", Scope: all, Purpose: "treatment", Expires: year}, consent.ErrBadGrantee, nil},
		{"a patient is no grantee", "alice", typGrant, grant("bob", all, nil), consent.ErrBadGrantee, nil},
		{"a device is no grantee", "alice", typGrant, grant("pump", all, nil), consent.ErrBadGrantee, nil},
		{"a suspended practitioner is no grantee", "alice", typGrant, grant("drS", all, nil), consent.ErrBadGrantee, nil},
		{"a purpose from the list", "alice", typGrant, grant("drA", all, func(g *consent.Grant) { g.Purpose = "marketing" }), consent.ErrBadPurpose, nil},
		{"an expiry in the past", "alice", typGrant, grant("drA", all, func(g *consent.Grant) { g.Expires = "2020-01-01T00:00:00Z" }), consent.ErrBadExpiry, nil},
		{"an expiry at the block time", "alice", typGrant, grant("drA", all, func(g *consent.Grant) { g.Expires = w.Now.Format(time.RFC3339) }), consent.ErrBadExpiry, nil},
		{"an expiry in RFC 3339", "alice", typGrant, grant("drA", all, func(g *consent.Grant) { g.Expires = "next year" }), consent.ErrBadExpiry, nil},
		{"a scope names something", "alice", typGrant, grant("drA", consent.Scope{}, nil), consent.ErrBadScope, nil},
		{"a scope names one kind of thing", "alice", typGrant, grant("drA", consent.Scope{All: true, Categories: []string{"observation"}}, nil), consent.ErrBadScope, nil},
		{"a scope's categories are known", "alice", typGrant, grant("drA", consent.Scope{Categories: []string{"gossip"}}, nil), consent.ErrBadScope, nil},
		{"a scope of at most 20 categories", "alice", typGrant, grant("drA", consent.Scope{Categories: manyCategories(21)}, nil), consent.ErrBadScope, nil},
		{"a scope of another patient's record", "alice", typGrant, grant("drA", consent.Scope{Records: []string{"obs-2"}}, nil), consent.ErrUnknownRecord, nil},
		{"a scope of an unknown record", "alice", typGrant, grant("drA", consent.Scope{Records: []string{"obs-9"}}, nil), consent.ErrUnknownRecord, nil},
		{"studies are a research scope", "alice", typGrant, grant("drA", consent.Scope{Studies: []string{"PRM-2026-0001"}}, nil), consent.ErrBadScope, nil},
		{"a study is a registry id", "alice", typGrant, grant("drA", consent.Scope{Studies: []string{"a/b"}}, func(g *consent.Grant) { g.Purpose = "research" }), consent.ErrBadScope, nil},
		{"studies alone", "alice", typGrant, grant("drA", consent.Scope{All: true, Studies: []string{"PRM-2026-0001"}}, func(g *consent.Grant) { g.Purpose = "research" }), consent.ErrBadScope, nil},
		{"at most 8 studies", "alice", typGrant, grant("drA", consent.Scope{Studies: []string{"S-1", "S-2", "S-3", "S-4", "S-5", "S-6", "S-7", "S-8", "S-9"}}, func(g *consent.Grant) { g.Purpose = "research" }), consent.ErrBadScope, nil},
		{"an organisation grants nothing", "hosp", typGrant, grant("drA", all, nil), ledger.ErrUnauthorized, nil},
		{"a practitioner grants nothing", "drA", typGrant, grant("lab", all, nil), ledger.ErrUnauthorized, nil},
	})
	run(t, w, []step{
		{"another patient revokes nothing", "bob", typRevoke, consent.Revoke{ID: first}, consent.ErrNotYours, nil},
		{"an organisation revokes nothing", "hosp", typRevoke, consent.Revoke{ID: first}, ledger.ErrUnauthorized, nil},
		{"an unknown consent", "alice", typRevoke, consent.Revoke{ID: "00112233445566778899aabbccddeeff"}, ledger.ErrNotFound, nil},
		{"the patient revokes", "alice", typRevoke, consent.Revoke{ID: first}, nil, func(t *testing.T) {
			c, err := consent.Get(w.St.Committed(), first)
			if err != nil || c.Status != consent.StatusRevoked || c.RevokedAt != w.Height {
				t.Fatalf("consent %+v, %v", c, err)
			}
			accepts("drA", "obs-1", "treatment", false)(t)
		}},
		{"a consent is revoked once", "alice", typRevoke, consent.Revoke{ID: first}, consent.ErrAlreadyEnded, nil},
	})
}

func manyCategories(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "observation"
	}
	return out
}

// TestConsentsPerGrantee: a patient holds at most MaxLivePerGrantee
// consents in force for one grantee; a revoked or expired one frees its
// place, for that grantee only.
func TestConsentsPerGrantee(t *testing.T) {
	w := setup(t)
	grant := func(grantee string, expires time.Time) consent.Grant {
		return consent.Grant{Grantee: w.ID(grantee), Scope: consent.Scope{All: true}, Purpose: "research", Expires: expires.Format(time.RFC3339)}
	}
	year, hour := w.Now.AddDate(1, 0, 0), w.Now.Add(time.Hour)
	var ids []string
	for i := range consent.MaxLivePerGrantee {
		until := year
		if i < 2 {
			until = hour
		}
		w.Try(t, "alice", consent.TypeGrant, grant("lab", until), nil)
		ids = append(ids, granted(t, w))
	}
	w.Try(t, "alice", consent.TypeGrant, grant("lab", year), consent.ErrTooMany)
	w.Try(t, "alice", consent.TypeGrant, grant("drA", year), nil) // another grantee
	w.Try(t, "bob", consent.TypeGrant, grant("lab", year), nil)   // another patient
	w.Try(t, "alice", consent.TypeRevoke, consent.Revoke{ID: ids[5]}, nil)
	w.Try(t, "alice", consent.TypeGrant, grant("lab", year), nil)
	w.Try(t, "alice", consent.TypeGrant, grant("lab", year), consent.ErrTooMany)
	w.Advance(2 * time.Hour) // the first two expire
	for i := range 2 {
		t.Run(fmt.Sprint("after expiry ", i), func(t *testing.T) { w.Try(t, "alice", consent.TypeGrant, grant("lab", year), nil) })
	}
	w.Try(t, "alice", consent.TypeGrant, grant("lab", year), consent.ErrTooMany)
}
