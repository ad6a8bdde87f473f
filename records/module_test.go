package records_test

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

// setup is a world of a hospital, a clinic, a research institute and a
// manufacturer; practitioners drA (hospital), drB (clinic), drR
// (research) and drS (hospital, suspended); a device of the hospital;
// patients alice, bob and carol; and alice's observation and condition
// and bob's observation at the hospital.
func setup(t *testing.T) *moduletest.World { return setupWith(t) }

// setupWith is setup with kinds of study records may be used in.
func setupWith(t *testing.T, studies ...records.StudyKind) *moduletest.World {
	recs := records.New(studies...)
	w := moduletest.New(t, recs.Declare(), consent.New(recs).Declare(), identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.AddOrg("clinic", "clinic")
	w.AddOrg("research", "research")
	w.AddOrg("maker", "manufacturer")
	w.Commit()
	w.AddPractitioner("drA", "hosp")
	w.AddPractitioner("drB", "clinic")
	w.AddPractitioner("drR", "research")
	w.AddPractitioner("drS", "hosp")
	w.AddDevice("pump", "hosp", "infusion_pump")
	w.AddPatient("alice")
	w.AddPatient("bob")
	w.AddPatient("carol")
	must(t, w.Do("hosp", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("drS"), Status: identity.StatusSuspended}))
	must(t, w.Do("hosp", records.TypeRegister, register(w, "",
		newRecord(w, "obs-1", "alice", "observation"), newRecord(w, "cond-1", "alice", "condition"), newRecord(w, "obs-2", "bob", "observation"))))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func hash(s string) string {
	c := sha256.Sum256([]byte(s))
	return hex.EncodeToString(c[:])
}

func newRecord(w *moduletest.World, id, patient, category string) records.NewRecord {
	return records.NewRecord{ID: id, Patient: w.ID(patient), Category: category, Commitment: hash(id)}
}

func register(w *moduletest.World, endpoint string, recs ...records.NewRecord) records.Register {
	return records.Register{Endpoint: endpoint, Records: recs}
}

// event is attribute attr of the last successful transaction's event typ.
func event(t *testing.T, w *moduletest.World, typ, attr string) string {
	t.Helper()
	for _, e := range w.Events {
		if e.Type == typ {
			for _, a := range e.Attrs {
				if a[0] == attr {
					return a[1]
				}
			}
		}
	}
	t.Fatalf("no %s with %s in %v", typ, attr, w.Events)
	return ""
}

func record(t *testing.T, w *moduletest.World, id string) *records.Record {
	t.Helper()
	rec, err := records.Get(w.St.Committed(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRegister: a custodian indexes records, atomically: one bad record
// refuses the whole registration.
func TestRegister(t *testing.T) {
	w := setup(t)
	rec := func(id, patient, category string, edit func(*records.NewRecord)) records.NewRecord {
		r := newRecord(w, id, patient, category)
		if edit != nil {
			edit(&r)
		}
		return r
	}
	typ := records.TypeRegister
	var tooMany []records.NewRecord
	for i := range records.MaxPerRegister + 1 {
		tooMany = append(tooMany, rec(fmt.Sprint("r-", i), "alice", "observation", nil))
	}
	run(t, w, []step{
		{"a custodian registers records and its endpoint", "clinic", typ, register(w, "https://records.clinic.example/api",
			rec("img-1", "alice", "imaging", nil), rec("med-1", "bob", "medication", nil)), nil, func(t *testing.T) {
			if r := record(t, w, "img-1"); r.Patient != w.ID("alice") || r.Custodian != w.ID("clinic") || r.Category != "imaging" ||
				r.Commitment != hash("img-1") || r.Status != records.StatusStored || r.Height != w.Height {
				t.Fatalf("img-1: %+v", r)
			}
			if ep, err := records.Endpoint(w.St.Committed(), w.ID("clinic")); err != nil || ep != "https://records.clinic.example/api" {
				t.Fatalf("endpoint %q, %v", ep, err)
			}
		}},
		{"plain http only on a loopback host", "clinic", typ, register(w, "http://records.clinic.example", rec("img-2", "alice", "imaging", nil)), records.ErrBadEndpoint, nil},
		{"no credentials in an endpoint", "clinic", typ, register(w, "https://user:secret@records.clinic.example", rec("img-2", "alice", "imaging", nil)), records.ErrBadEndpoint, nil},
		{"no query in an endpoint", "clinic", typ, register(w, "https://records.clinic.example/?x=1", rec("img-2", "alice", "imaging", nil)), records.ErrBadEndpoint, nil},
		{"an endpoint is a URL", "clinic", typ, register(w, "records.clinic.example", rec("img-2", "alice", "imaging", nil)), records.ErrBadEndpoint, nil},
		{"http on a loopback host", "clinic", typ, register(w, "http://127.0.0.1:8080", rec("img-2", "alice", "imaging", nil)), nil, func(t *testing.T) {
			if ep, _ := records.Endpoint(w.St.Committed(), w.ID("clinic")); ep != "http://127.0.0.1:8080" {
				t.Fatalf("endpoint %q: the latest should win", ep)
			}
		}},
		{"no records", "clinic", typ, register(w, ""), records.ErrTooMany, nil},
		{"too many records", "clinic", typ, register(w, "", tooMany...), records.ErrTooMany, nil},
		{"a bad record id", "clinic", typ, register(w, "", rec("img 3", "alice", "imaging", nil)), records.ErrBadRecordID, nil},
		{"a bad commitment", "clinic", typ, register(w, "", rec("img-3", "alice", "imaging", func(r *records.NewRecord) { r.Commitment = "abcd" })), records.ErrBadCommitment, nil},
		{"an unknown category", "clinic", typ, register(w, "", rec("img-3", "alice", "gossip", nil)), records.ErrBadCategory, nil},
		{"an unknown patient", "clinic", typ, register(w, "", rec("img-3", "nobody", "imaging", nil)), records.ErrUnknownPatient, nil},
		{"a practitioner is no patient", "clinic", typ, register(w, "", rec("img-3", "drA", "imaging", nil)), records.ErrUnknownPatient, nil},
		{"a record id is registered once", "clinic", typ, register(w, "", rec("obs-1", "alice", "observation", nil)), records.ErrRecordExists, nil},
		{"twice in one registration", "clinic", typ, register(w, "", rec("img-3", "alice", "imaging", nil), rec("img-3", "alice", "imaging", nil)), records.ErrRecordExists, nil},
		{"one bad record refuses them all, endpoint included", "clinic", typ, register(w, "https://new.clinic.example",
			rec("img-3", "alice", "imaging", nil), rec("img-4", "alice", "gossip", nil)), records.ErrBadCategory, nil},
		{"a manufacturer holds no records", "maker", typ, register(w, "", rec("img-3", "alice", "imaging", nil)), ledger.ErrUnauthorized, nil},
		{"a practitioner registers no records", "drA", typ, register(w, "", rec("img-3", "alice", "imaging", nil)), ledger.ErrUnauthorized, nil},
	})
	if _, err := records.Get(w.St.Committed(), "img-3"); ledger.AsError(err) != ledger.ErrNotFound {
		t.Fatalf("img-3 of a refused registration: %v", err)
	}
}

// requests makes signed access requests, each with a fresh nonce.
type requests struct {
	w *moduletest.World
	n int
}

func (r *requests) make(name, record, purpose string, edit func(*records.AccessRequest)) records.AccessLog {
	r.n++
	req := records.AccessRequest{ChainID: moduletest.ChainID, Requester: r.w.ID(name), Record: record, Purpose: purpose,
		KeyDigest: hash(fmt.Sprint("hpke ", r.n)), Nonce: fmt.Sprintf("%032x", r.n), NotAfter: r.w.Now.Add(5 * time.Minute).Format(time.RFC3339)}
	if edit != nil {
		edit(&req)
	}
	return records.AccessLog{Request: req, Signature: req.Sign(r.w.KeyOf(name))}
}

// outcome checks the access entry the last transaction logged.
func outcome(w *moduletest.World, want, refusal string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		a, err := records.GetAccess(w.St.Committed(), event(t, w, "records.access", "id"))
		if err != nil || a.Outcome != want || a.Refusal != refusal {
			t.Fatalf("access %+v, %v; want %s %s", a, err, want, refusal)
		}
	}
}

// TestAccessDecisions: the custodian logs each signed request, and the
// ledger decides it; a request that is not genuine, fresh and well formed
// is refused as a transaction and logs nothing.
func TestAccessDecisions(t *testing.T) {
	w := setup(t)
	r := &requests{w: w}
	access := records.TypeAccess
	year := w.Now.AddDate(1, 0, 0).Format(time.RFC3339)
	grant := func(grantee, purpose string, scope consent.Scope) consent.Grant {
		return consent.Grant{Grantee: w.ID(grantee), Scope: scope, Purpose: purpose, Expires: year}
	}
	replayed := r.make("drA", "obs-1", "treatment", nil)
	var given string // the consent alice gives drA
	run(t, w, []step{
		{"no consent: refused, and logged", "hosp", access, replayed, nil, outcome(w, records.Refused, "no_consent")},
		{"a request is used once", "hosp", access, replayed, records.ErrReplayed, nil},
		{"alice consents to drA's treatment with her observations", "alice", consent.TypeGrant, grant("drA", "treatment", consent.Scope{Categories: []string{"observation"}}), nil,
			func(t *testing.T) { given = event(t, w, "consent.granted", "id") }},
		{"a consent grants", "hosp", access, r.make("drA", "obs-1", "treatment", nil), nil, func(t *testing.T) {
			outcome(w, records.Granted, "")(t)
			if a, _ := records.GetAccess(w.St.Committed(), event(t, w, "records.access", "id")); a.Consent != given || a.Patient != w.ID("alice") {
				t.Fatalf("access %+v: want consent %s", a, given)
			}
		}},
		{"for its purpose only", "hosp", access, r.make("drA", "obs-1", "payment", nil), nil, outcome(w, records.Refused, "no_consent")},
		{"for its scope only", "hosp", access, r.make("drA", "cond-1", "treatment", nil), nil, outcome(w, records.Refused, "no_consent")},
		{"for its patient only", "hosp", access, r.make("drA", "obs-2", "treatment", nil), nil, outcome(w, records.Refused, "no_consent")},
		{"alice consents to the clinic's second opinions", "alice", consent.TypeGrant, grant("clinic", "second_opinion", consent.Scope{All: true}), nil, nil},
		{"a consent to an organisation covers its practitioners", "hosp", access, r.make("drB", "cond-1", "second_opinion", nil), nil, outcome(w, records.Granted, "")},
		{"and the organisation itself", "hosp", access, r.make("clinic", "cond-1", "second_opinion", nil), nil, outcome(w, records.Granted, "")},
		{"a patient reads their own record", "hosp", access, r.make("alice", "cond-1", "patient", nil), nil, outcome(w, records.Granted, "")},
		// Those with no standing with the record's patient are refused as a
		// transaction: nothing in that patient's trail.
		{"not another's", "hosp", access, r.make("alice", "obs-2", "patient", nil), records.ErrNoStandingReq, nil},
		{"a patient reads with purpose patient", "hosp", access, r.make("alice", "cond-1", "treatment", nil), nil, outcome(w, records.Refused, records.ErrBadPurpose.Name)},
		{"purpose patient is a patient's", "hosp", access, r.make("drA", "obs-1", "patient", nil), nil, outcome(w, records.Refused, records.ErrBadPurpose.Name)},
		{"break-glass by a hospital's practitioner", "hosp", access, r.make("drA", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "patient_unconscious" }), nil,
			func(t *testing.T) {
				outcome(w, records.Granted, "")(t)
				if event(t, w, "records.access", "emergency") != "true" {
					t.Fatal("an emergency access is not flagged")
				}
			}},
		{"not by a research institute's", "hosp", access, r.make("drR", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "life_threatening" }),
			records.ErrNoStandingReq, nil},
		{"not by an organisation", "hosp", access, r.make("research", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "life_threatening" }),
			records.ErrNoStandingReq, nil},
		{"a device reads nothing", "hosp", access, r.make("pump", "obs-1", "treatment", nil), records.ErrNoStandingReq, nil},
		{"alice consents to the research institute's research", "alice", consent.TypeGrant, grant("research", "research", consent.Scope{Categories: []string{"observation"}}), nil, nil},
		{"named by a consent, an organisation's refusal is logged", "hosp", access, r.make("research", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "life_threatening" }), nil,
			outcome(w, records.Refused, "emergency_needs_practitioner")},
		{"and its practitioners'", "hosp", access, r.make("drR", "cond-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "life_threatening" }), nil,
			outcome(w, records.Refused, "emergency_needs_care_provider")},
		{"a suspended practitioner reads nothing", "hosp", access, r.make("drS", "obs-1", "treatment", nil), nil, outcome(w, records.Refused, ledger.ErrSuspended.Name)},
	})
	// given is known now.
	run(t, w, []step{
		{"alice revokes", "alice", consent.TypeRevoke, consent.Revoke{ID: given}, nil, nil},
		{"a revoked consent grants nothing", "hosp", access, r.make("drA", "obs-1", "treatment", nil), nil, outcome(w, records.Refused, "no_consent")},

		{"a signature by another key", "hosp", access, func() records.AccessLog {
			l := r.make("drA", "obs-1", "treatment", nil)
			l.Signature = l.Request.Sign(moduletest.Key("drB"))
			return l
		}(), records.ErrBadRequestSig, nil},
		{"a signature that is not hex", "hosp", access, func() records.AccessLog {
			l := r.make("drA", "obs-1", "treatment", nil)
			l.Signature = "zz"
			return l
		}(), records.ErrBadRequestSig, nil},
		{"an expired request", "hosp", access, r.make("drA", "obs-1", "treatment", func(q *records.AccessRequest) { q.NotAfter = w.Now.Add(-time.Second).Format(time.RFC3339) }), records.ErrRequestExpired, nil},
		{"a request valid too long", "hosp", access, r.make("drA", "obs-1", "treatment", func(q *records.AccessRequest) { q.NotAfter = w.Now.Add(11 * time.Minute).Format(time.RFC3339) }), records.ErrRequestExpired, nil},
		{"a request for another chain", "hosp", access, r.make("drA", "obs-1", "treatment", func(q *records.AccessRequest) { q.ChainID = "another" }), ledger.ErrWrongChain, nil},
		{"an unknown purpose", "hosp", access, r.make("drA", "obs-1", "curiosity", nil), records.ErrBadPurpose, nil},
		{"an emergency reason without emergency", "hosp", access, r.make("drA", "obs-1", "treatment", func(q *records.AccessRequest) { q.EmergencyReason = "life_threatening" }), records.ErrBadEmergency, nil},
		{"an emergency reason not from the list", "hosp", access, r.make("drA", "obs-1", "emergency", func(q *records.AccessRequest) { q.EmergencyReason = "felt like it" }), records.ErrBadEmergency, nil},
		{"a bad nonce", "hosp", access, r.make("drA", "obs-1", "treatment", func(q *records.AccessRequest) { q.Nonce = "1234" }), ledger.ErrInvalidBody, nil},
		{"an unknown requester", "hosp", access, r.make("mallory", "obs-1", "treatment", nil), records.ErrUnknownReq, nil},
		{"an unknown record", "hosp", access, r.make("drA", "obs-9", "treatment", nil), records.ErrUnknownRecord, nil},
		{"only the custodian logs access", "clinic", access, r.make("drA", "obs-1", "treatment", nil), records.ErrNotCustodian, nil},
		{"a manufacturer logs nothing", "maker", access, r.make("drA", "obs-1", "treatment", nil), ledger.ErrUnauthorized, nil},
	})
	// Every decision is in the trail of the record's patient; the refused
	// transactions left nothing.
	for patient, want := range map[string]int{"alice": 14, "bob": 1} {
		trail, err := records.TrailOf(w.St.Committed(), w.ID(patient))
		if err != nil || len(trail) != want {
			t.Fatalf("%s's trail has %d entries (%v), want %d", patient, len(trail), err, want)
		}
	}
}

// TestErasureAndRetention: a patient's erasure erases their records,
// except those a custodian's retention policy holds, which only the
// patient may read until the hold ends.
func TestErasureAndRetention(t *testing.T) {
	w := setup(t)
	r := &requests{w: w}
	retention := func(holds ...records.Hold) records.SetRetention { return records.SetRetention{Holds: holds} }
	hold := func(category, basis string, years int) records.Hold {
		return records.Hold{Category: category, Basis: basis, Years: years}
	}
	must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drA"), Scope: consent.Scope{All: true}, Purpose: "treatment",
		Expires: w.Now.AddDate(20, 0, 0).Format(time.RFC3339)}))
	registered := w.Now
	run(t, w, []step{
		{"a basis from the list", "hosp", records.TypeSetRetention, retention(hold("condition", "convenience", 10)), records.ErrBadRetention, nil},
		{"a known category", "hosp", records.TypeSetRetention, retention(hold("gossip", "legal_obligation", 10)), records.ErrBadCategory, nil},
		{"at least a year", "hosp", records.TypeSetRetention, retention(hold("condition", "legal_obligation", 0)), records.ErrBadRetention, nil},
		{"at most 100 years", "hosp", records.TypeSetRetention, retention(hold("condition", "legal_obligation", 101)), records.ErrBadRetention, nil},
		{"a category once", "hosp", records.TypeSetRetention, retention(hold("condition", "legal_obligation", 10), hold("condition", "legal_claims", 5)), records.ErrBadRetention, nil},
		{"a manufacturer keeps no records", "maker", records.TypeSetRetention, retention(hold("condition", "legal_obligation", 10)), ledger.ErrUnauthorized, nil},
		{"the hospital must keep conditions for 10 years", "hosp", records.TypeSetRetention, retention(hold("condition", "legal_obligation", 10)), nil, func(t *testing.T) {
			p, err := records.GetRetention(w.St.Committed(), w.ID("hosp"))
			if err != nil || p == nil || len(p.Holds) != 1 || p.Holds[0].Years != 10 {
				t.Fatalf("policy %+v, %v", p, err)
			}
		}},
		{"an organisation erases nothing", "hosp", records.TypeErase, records.Erase{}, ledger.ErrUnauthorized, nil},
		{"a patient without records has nothing to erase", "carol", records.TypeErase, records.Erase{}, records.ErrNothingToErase, nil},
		{"alice erases", "alice", records.TypeErase, records.Erase{}, nil, func(t *testing.T) {
			if rec := record(t, w, "obs-1"); rec.Status != records.StatusErased || rec.ErasedAt != w.Height {
				t.Fatalf("obs-1: %+v", rec)
			}
			until := registered.AddDate(10, 0, 0).Format(time.RFC3339)
			if rec := record(t, w, "cond-1"); rec.Status != records.StatusRetained || rec.RetainedUntil != until || rec.RetentionBasis != "legal_obligation" {
				t.Fatalf("cond-1: %+v", rec)
			}
			if rec := record(t, w, "obs-2"); rec.Status != records.StatusStored {
				t.Fatalf("bob's obs-2: %+v", rec)
			}
			e, err := records.GetErasure(w.St.Committed(), w.ID("alice"))
			if err != nil || e == nil || !e.Complete || e.Records != 1 || e.Retained != 1 || len(e.Custodians) != 1 {
				t.Fatalf("erasure %+v, %v", e, err)
			}
		}},
		{"an erasure is done once", "alice", records.TypeErase, records.Erase{}, records.ErrNothingToErase, nil},
		{"an erased record is released to nobody", "hosp", records.TypeAccess, r.make("drA", "obs-1", "treatment", nil), nil, outcome(w, records.Refused, records.ErrRecordErased.Name)},
		{"nor is a patient's own", "hosp", records.TypeAccess, r.make("alice", "obs-1", "patient", nil), nil, outcome(w, records.Refused, records.ErrRecordErased.Name)},
		{"a retained record is not released to a consented practitioner", "hosp", records.TypeAccess, r.make("drA", "cond-1", "treatment", nil), nil,
			outcome(w, records.Refused, records.ErrRecordRetained.Name)},
		{"only to its patient", "hosp", records.TypeAccess, r.make("alice", "cond-1", "patient", nil), nil, outcome(w, records.Granted, "")},
		{"a record registered after the erasure", "hosp", records.TypeRegister, register(w, "", newRecord(w, "enc-1", "alice", "encounter")), nil, nil},
		{"is erased by a new request", "alice", records.TypeErase, records.Erase{}, nil, func(t *testing.T) {
			if rec := record(t, w, "enc-1"); rec.Status != records.StatusErased {
				t.Fatalf("enc-1: %+v", rec)
			}
			if e, _ := records.GetErasure(w.St.Committed(), w.ID("alice")); e == nil || !e.Complete || e.Records != 2 || e.Height != w.Height {
				t.Fatalf("erasure %+v", e)
			}
		}},
	})
	// Once the hold ends the retained record counts as erased, for its
	// patient too, without a transaction.
	w.Advance(registered.AddDate(10, 0, 0).Sub(w.Now))
	w.Try(t, "hosp", records.TypeAccess, r.make("alice", "cond-1", "patient", nil), nil)
	outcome(w, records.Refused, records.ErrRecordErased.Name)(t)
	if ended, err := records.EndedHolds(w.St.Committed(), time.Time{}, w.Now); err != nil || len(ended) != 1 || ended[0] != "cond-1" {
		t.Fatalf("ended holds %v, %v", ended, err)
	}
}

// TestSecondOpinion: a practitioner shares a patient's records with a
// specialist the patient consented to for second opinions, and the
// specialist anchors one opinion held by their organisation.
func TestSecondOpinion(t *testing.T) {
	w := setup(t)
	must(t, w.Do("clinic", records.TypeRegister, register(w, "",
		newRecord(w, "op-1", "alice", "opinion"), newRecord(w, "op-bob", "bob", "opinion"))))
	must(t, w.Do("hosp", records.TypeRegister, register(w, "", newRecord(w, "op-hosp", "alice", "opinion"))))
	share := func(specialist, patient string, recs ...string) records.ShareCase {
		return records.ShareCase{Specialist: w.ID(specialist), Patient: w.ID(patient), Records: recs}
	}
	var caseID string
	opinion := func(record string) records.Opinion { return records.Opinion{Case: caseID, Record: record} }
	run(t, w, []step{
		{"no consent to share", "drA", records.TypeShareCase, share("drB", "alice", "obs-1"), records.ErrNotShareable, nil},
		{"alice consents to drB's second opinion on her conditions", "alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drB"),
			Scope: consent.Scope{Categories: []string{"condition"}}, Purpose: "second_opinion", Expires: w.Now.AddDate(1, 0, 0).Format(time.RFC3339)}, nil, nil},
		{"only what the consent covers", "drA", records.TypeShareCase, share("drB", "alice", "cond-1", "obs-1"), records.ErrNotShareable, nil},
		{"only the patient's records", "drA", records.TypeShareCase, share("drB", "alice", "cond-1", "obs-2"), records.ErrUnknownRecord, nil},
		{"only known records", "drA", records.TypeShareCase, share("drB", "alice", "cond-9"), records.ErrUnknownRecord, nil},
		{"some records", "drA", records.TypeShareCase, share("drB", "alice"), records.ErrTooMany, nil},
		{"a specialist is a practitioner", "drA", records.TypeShareCase, share("clinic", "alice", "cond-1"), records.ErrBadSpecialist, nil},
		{"in good standing", "drA", records.TypeShareCase, share("drS", "alice", "cond-1"), records.ErrBadSpecialist, nil},
		{"an organisation shares no case", "hosp", records.TypeShareCase, share("drB", "alice", "cond-1"), ledger.ErrUnauthorized, nil},
		{"drA shares alice's condition with drB", "drA", records.TypeShareCase, share("drB", "alice", "cond-1"), nil, func(t *testing.T) {
			caseID = event(t, w, "records.case_shared", "id")
			c, err := records.GetCase(w.St.Committed(), caseID)
			if err != nil || c.Requester != w.ID("drA") || c.Specialist != w.ID("drB") || len(c.Consents) != 1 {
				t.Fatalf("case %+v, %v", c, err)
			}
		}},
	})
	// caseID is known now.
	run(t, w, []step{
		{"only the specialist anchors the opinion", "drA", records.TypeOpinion, opinion("op-1"), records.ErrNotSpecialist, nil},
		{"an unknown case", "drB", records.TypeOpinion, records.Opinion{Case: "nope", Record: "op-1"}, records.ErrUnknownCase, nil},
		{"an opinion about another patient", "drB", records.TypeOpinion, opinion("op-bob"), records.ErrBadOpinion, nil},
		{"an opinion held by another organisation", "drB", records.TypeOpinion, opinion("op-hosp"), records.ErrBadOpinion, nil},
		{"an unknown opinion record", "drB", records.TypeOpinion, opinion("op-9"), records.ErrBadOpinion, nil},
		{"the specialist anchors the opinion", "drB", records.TypeOpinion, opinion("op-1"), nil, func(t *testing.T) {
			if c, _ := records.GetCase(w.St.Committed(), caseID); c.Opinion != "op-1" || c.OpinionCommit != hash("op-1") {
				t.Fatalf("case %+v", c)
			}
		}},
		{"a case has one opinion", "drB", records.TypeOpinion, opinion("op-1"), records.ErrOpinionExists, nil},
	})
}
