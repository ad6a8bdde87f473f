package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// recordsWorld is a chain with a patient, two practitioners (one at each
// hospital) and records held by St Luke's.
type recordsWorld struct {
	*harness
	patient, other, doctor, remote ed25519.PrivateKey
	pharmacist                     ed25519.PrivateKey
	nonce                          int
}

func newRecordsWorld(t testing.TB) *recordsWorld {
	h := newHarness(t)
	w := &recordsWorld{harness: h, patient: testKey("patient-a"), other: testKey("patient-b"),
		doctor: testKey("dr-stlukes"), remote: testKey("dr-riverside"), pharmacist: testKey("ph-central")}
	h.mustOK(h.tx(w.patient, identity.TypeRegisterPatient, struct{}{}), h.tx(w.other, identity.TypeRegisterPatient, struct{}{}),
		h.registerPractitioner(hospitalKey, w.doctor), h.registerPractitioner(hospital2Key, w.remote),
		h.registerPractitioner(pharmacyKey, w.pharmacist))
	h.mustOK(h.tx(hospitalKey, records.TypeRegister, records.Register{Endpoint: "http://127.0.0.1:8080", Records: []records.NewRecord{
		{ID: "obs-1", Patient: id(w.patient), Category: "observation", Commitment: commitment("obs-1")},
		{ID: "cond-1", Patient: id(w.patient), Category: "condition", Commitment: commitment("cond-1")},
		{ID: "obs-9", Patient: id(w.other), Category: "observation", Commitment: commitment("obs-9")},
	}}))
	return w
}

func commitment(s string) string {
	c := sha256.Sum256([]byte(s))
	return hex.EncodeToString(c[:])
}

// request is a signed access request of key for record.
func (w *recordsWorld) request(key ed25519.PrivateKey, record, purpose, emergency string) records.AccessLog {
	w.nonce++
	req := records.AccessRequest{ChainID: testChain, Requester: id(key), Record: record, Purpose: purpose, EmergencyReason: emergency,
		KeyDigest: commitment("hpke-key"), Nonce: fmt.Sprintf("%032x", w.nonce), NotAfter: w.now.Add(5 * time.Minute).Format(time.RFC3339)}
	return records.AccessLog{Request: req, Signature: req.Sign(key)}
}

// access logs a request at the custodian and returns the entry.
func (w *recordsWorld) access(custodian ed25519.PrivateKey, l records.AccessLog) (*records.Access, error) {
	res := w.block(w.tx(custodian, records.TypeAccess, l))
	if r := res.TxResults[0]; r.Code != 0 {
		e, _ := ledger.Lookup(r.Codespace, r.Code)
		return nil, e
	}
	trail, err := records.Trail(w.store.Committed())
	if err != nil {
		return nil, err
	}
	return trail[len(trail)-1], nil
}

func (w *recordsWorld) grant(g consent.Grant) string {
	w.mustOK(w.tx(w.patient, consent.TypeGrant, g))
	cs, _ := consent.OfPatient(w.store.Committed(), id(w.patient))
	for _, c := range cs {
		if c.Height == w.height {
			return c.ID
		}
	}
	w.t.Fatal("consent not found")
	return ""
}

func TestAccessDecisions(t *testing.T) {
	w := newRecordsWorld(t)
	expires := w.now.AddDate(0, 1, 0).Format(time.RFC3339)
	treatment := w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment", Expires: expires})
	orgWide := w.grant(consent.Grant{Grantee: id(hospital2Key), Scope: consent.Scope{Records: []string{"cond-1"}}, Purpose: "payment", Expires: expires})

	tests := []struct {
		name      string
		requester ed25519.PrivateKey
		record    string
		purpose   string
		emergency string
		outcome   string
		refusal   string
		consent   string
	}{
		{"consented category", w.remote, "obs-1", "treatment", "", records.Granted, "", treatment},
		{"category outside the scope", w.remote, "cond-1", "treatment", "", records.Refused, "no_consent", ""},
		{"other purpose", w.remote, "obs-1", "research", "", records.Refused, "no_consent", ""},
		{"consent to the practitioner's organisation", w.remote, "cond-1", "payment", "", records.Granted, "", orgWide},
		{"another patient's record", w.remote, "obs-9", "treatment", "", records.Refused, "no_consent", ""},
		{"no consent at all", w.doctor, "obs-1", "treatment", "", records.Refused, "no_consent", ""},
		{"emergency by a practitioner", w.doctor, "cond-1", "emergency", "patient_unconscious", records.Granted, "", ""},
		{"emergency by an organisation", hospital2Key, "cond-1", "emergency", "life_threatening", records.Refused, "emergency_needs_practitioner", ""},
		// No standing with the patient: refused as a transaction, not logged.
		{"emergency by a practitioner of an organisation that does not treat", w.pharmacist, "cond-1", "emergency", "life_threatening", "", records.ErrNoStandingReq.Name, ""},
		{"the patient's own record", w.patient, "obs-1", "patient", "", records.Granted, "", ""},
		{"a patient reading another's", w.other, "obs-1", "patient", "", "", records.ErrNoStandingReq.Name, ""},
		{"a patient's own record for another purpose", w.patient, "obs-1", "treatment", "", records.Refused, "bad_purpose", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := w.access(hospitalKey, w.request(tt.requester, tt.record, tt.purpose, tt.emergency))
			if tt.outcome == "" {
				if !errors.Is(err, records.ErrNoStandingReq) {
					t.Fatalf("got %+v, %v; want %s", a, err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Outcome != tt.outcome || a.Refusal != tt.refusal || a.Consent != tt.consent || a.Emergency != (tt.emergency != "") {
				t.Fatalf("got %+v", a)
			}
		})
	}

	// Revocation: refused from the next block on.
	w.mustOK(w.tx(w.patient, consent.TypeRevoke, consent.Revoke{ID: treatment}))
	if a, _ := w.access(hospitalKey, w.request(w.remote, "obs-1", "treatment", "")); a.Outcome != records.Refused {
		t.Fatalf("after revocation: %+v", a)
	}
	// Suspension: the entry records the refusal with the credential's state.
	w.mustOK(w.tx(hospital2Key, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(w.remote), Status: "suspended"}))
	if a, _ := w.access(hospitalKey, w.request(w.remote, "cond-1", "payment", "")); a.Outcome != records.Refused || a.Refusal != "signer_suspended" {
		t.Fatalf("suspended practitioner: %+v", a)
	}
	// Every decision is in the patient's trail, emergency flagged.
	trail, _ := records.TrailOf(w.store.Committed(), id(w.patient))
	emergencies := 0
	for _, a := range trail {
		if a.Emergency {
			emergencies++
		}
	}
	if len(trail) != 11 || emergencies != 2 {
		t.Fatalf("trail has %d entries, %d emergencies", len(trail), emergencies)
	}
}

// moduleState is everything the consent and records modules hold.
func (w *recordsWorld) moduleState() string {
	var b strings.Builder
	for _, p := range []string{"con", "rec", "acc", "case/", "era/", "ep/", "ret"} {
		_ = w.store.Committed().Iterate([]byte(p), func(k, v []byte) bool {
			b.Write(k)
			b.Write(v)
			return true
		})
	}
	return b.String()
}

func TestConsentExpires(t *testing.T) {
	w := newRecordsWorld(t)
	w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: w.now.Add(3 * time.Second).Format(time.RFC3339)})
	if a, _ := w.access(hospitalKey, w.request(w.remote, "obs-1", "treatment", "")); a.Outcome != records.Granted {
		t.Fatalf("before expiry: %+v", a)
	}
	w.block()
	w.block()
	if a, _ := w.access(hospitalKey, w.request(w.remote, "obs-1", "treatment", "")); a.Outcome != records.Refused {
		t.Fatalf("after expiry: %+v", a)
	}
}

func TestRecordsBadInputChangesNothing(t *testing.T) {
	w := newRecordsWorld(t)
	good := w.request(w.remote, "obs-1", "treatment", "")
	if _, err := w.access(hospitalKey, good); err != nil {
		t.Fatal(err)
	}
	tampered := w.request(w.remote, "obs-1", "treatment", "")
	tampered.Request.Record = "cond-1"
	expired := w.request(w.remote, "obs-1", "treatment", "")
	expired.Request.NotAfter = w.now.Add(-time.Second).Format(time.RFC3339)
	expired.Signature = expired.Request.Sign(w.remote)
	tooLong := w.request(w.remote, "obs-1", "treatment", "")
	tooLong.Request.NotAfter = w.now.Add(time.Hour).Format(time.RFC3339)
	tooLong.Signature = tooLong.Request.Sign(w.remote)
	stranger := w.request(testKey("stranger"), "obs-1", "treatment", "")
	badReason := w.request(w.doctor, "obs-1", "emergency", "he said so")
	unknownRec := w.request(w.remote, "nope", "treatment", "")
	rec := func(id, patient, cat, c string) records.Register {
		return records.Register{Records: []records.NewRecord{{ID: id, Patient: patient, Category: cat, Commitment: c}}}
	}
	tests := []struct {
		name string
		key  ed25519.PrivateKey
		typ  string
		body any
		want *ledger.Error
	}{
		{"replayed access request", hospitalKey, records.TypeAccess, good, records.ErrReplayed},
		{"tampered request", hospitalKey, records.TypeAccess, tampered, records.ErrBadRequestSig},
		{"expired request", hospitalKey, records.TypeAccess, expired, records.ErrRequestExpired},
		{"request valid for too long", hospitalKey, records.TypeAccess, tooLong, records.ErrRequestExpired},
		{"unknown requester", hospitalKey, records.TypeAccess, stranger, records.ErrUnknownReq},
		{"free-text emergency reason", hospitalKey, records.TypeAccess, badReason, records.ErrBadEmergency},
		{"unknown record", hospitalKey, records.TypeAccess, unknownRec, records.ErrUnknownRecord},
		{"not the custodian", hospital2Key, records.TypeAccess, w.request(w.remote, "obs-1", "treatment", ""), records.ErrNotCustodian},
		{"unknown patient", hospitalKey, records.TypeRegister, rec("x-1", id(testKey("nobody")), "observation", commitment("x")), records.ErrUnknownPatient},
		{"record id taken", hospitalKey, records.TypeRegister, rec("obs-1", id(w.patient), "observation", commitment("x")), records.ErrRecordExists},
		{"bad commitment", hospitalKey, records.TypeRegister, rec("x-2", id(w.patient), "observation", "abc"), records.ErrBadCommitment},
		{"bad category", hospitalKey, records.TypeRegister, rec("x-3", id(w.patient), "gossip", commitment("x")), records.ErrBadCategory},
		{"bad record id", hospitalKey, records.TypeRegister, rec("../etc", id(w.patient), "observation", commitment("x")), records.ErrBadRecordID},
		{"consent for an unknown grantee", w.patient, consent.TypeGrant, consent.Grant{Grantee: "feed", Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: "2030-01-01T00:00:00Z"}, consent.ErrBadGrantee},
		{"consent in the past", w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: "2020-01-01T00:00:00Z"}, consent.ErrBadExpiry},
		{"consent with two scopes", w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true, Categories: []string{"condition"}}, Purpose: "treatment", Expires: "2030-01-01T00:00:00Z"}, consent.ErrBadScope},
		{"consent naming another's record", w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{Records: []string{"obs-9"}}, Purpose: "treatment", Expires: "2030-01-01T00:00:00Z"}, consent.ErrUnknownRecord},
		{"consent with a bad purpose", w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "marketing", Expires: "2030-01-01T00:00:00Z"}, consent.ErrBadPurpose},
		{"share without consent", w.doctor, records.TypeShareCase, records.ShareCase{Specialist: id(w.remote), Patient: id(w.patient), Records: []string{"obs-1"}}, records.ErrNotShareable},
		{"hold of an unknown category", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "gossip", Basis: "legal_obligation", Years: 10}), records.ErrBadCategory},
		{"hold without a basis", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "medication", Years: 10}), records.ErrBadRetention},
		{"hold on an unknown basis", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "medication", Basis: "we_like_data", Years: 10}), records.ErrBadRetention},
		{"hold of no years", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "medication", Basis: "legal_obligation"}), records.ErrBadRetention},
		{"hold for too long", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "medication", Basis: "legal_obligation", Years: 101}), records.ErrBadRetention},
		{"two holds of one category", hospitalKey, records.TypeSetRetention, hold(records.Hold{Category: "medication", Basis: "legal_obligation", Years: 10},
			records.Hold{Category: "medication", Basis: "legal_claims", Years: 3}), records.ErrBadRetention},
		{"more holds than categories", hospitalKey, records.TypeSetRetention, hold(slices.Repeat([]records.Hold{{Category: "medication", Basis: "legal_obligation", Years: 10}}, 17)...), records.ErrBadRetention},
		{"fractional years", hospitalKey, records.TypeSetRetention, json.RawMessage(`{"holds":[{"category":"medication","basis":"legal_obligation","years":1.5}]}`), ledger.ErrInvalidBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.moduleState()
			res := w.block(w.tx(tt.key, tt.typ, tt.body))
			r := res.TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, tt.want)
			// A rejected transaction uses its nonce and nothing else.
			if after := w.moduleState(); before != after {
				t.Fatal("a rejected transaction changed the state")
			}
		})
	}
}

func hold(holds ...records.Hold) records.SetRetention { return records.SetRetention{Holds: holds} }

func TestSecondOpinionAndErasure(t *testing.T) {
	w := newRecordsWorld(t)
	w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "second_opinion", Expires: w.now.AddDate(0, 1, 0).Format(time.RFC3339)})
	w.mustOK(w.tx(w.doctor, records.TypeShareCase, records.ShareCase{Specialist: id(w.remote), Patient: id(w.patient), Records: []string{"obs-1", "cond-1"}}))
	cases, _, _ := records.CasesPage(w.store.Committed(), "", 10, nil)
	if len(cases) != 1 {
		t.Fatalf("%d cases", len(cases))
	}
	c := cases[0]
	// The opinion is a record held by the specialist's organisation.
	w.mustOK(w.tx(hospital2Key, records.TypeRegister, records.Register{Records: []records.NewRecord{
		{ID: "opinion-1", Patient: id(w.patient), Category: "opinion", Commitment: commitment("opinion")}}}))
	res := w.block(w.tx(w.doctor, records.TypeOpinion, records.Opinion{Case: c.ID, Record: "opinion-1"}))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, records.ErrNotSpecialist)
	w.mustOK(w.tx(w.remote, records.TypeOpinion, records.Opinion{Case: c.ID, Record: "opinion-1"}))
	if c, _ = records.GetCase(w.store.Committed(), c.ID); c.Opinion != "opinion-1" || c.OpinionCommit != commitment("opinion") {
		t.Fatalf("opinion not anchored: %+v", c)
	}

	w.mustOK(w.tx(w.patient, records.TypeErase, records.Erase{}))
	e, _ := records.GetErasure(w.store.Committed(), id(w.patient))
	if e == nil || e.Records != 3 || len(e.Custodians) != 2 {
		t.Fatalf("erasure: %+v", e)
	}
	if a, _ := w.access(hospitalKey, w.request(w.patient, "obs-1", "patient", "")); a.Outcome != records.Refused || a.Refusal != "record_erased" {
		t.Fatalf("after erasure: %+v", a)
	}
	res = w.block(w.tx(w.patient, records.TypeErase, records.Erase{}))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, records.ErrNothingToErase)
}

func TestAccessRequestGolden(t *testing.T) {
	req := records.AccessRequest{ChainID: "c", Requester: "r", Record: "obs-1", Purpose: "treatment", KeyDigest: "kd", Nonce: "n", NotAfter: "2026-01-01T00:00:00Z"}
	// This byte format is what requesters sign: it must never change.
	const want = "primum/access-request/v1\x00" + `{"chain_id":"c","requester":"r","record":"obs-1","purpose":"treatment","key_digest":"kd","nonce":"n","not_after":"2026-01-01T00:00:00Z"}`
	if got := string(req.SignBytes()); got != want {
		t.Fatalf("sign bytes changed:\n%q", got)
	}
}

// TestTrailPages: the global trail pages newest first from a token, each
// page reading what it returns; walked to the end the pages are the whole
// trail, and a filter keeps only what it accepts.
func TestTrailPages(t *testing.T) {
	w := newRecordsWorld(t)
	for i := range 7 {
		emergency := ""
		if i%3 == 0 {
			emergency = "patient_unconscious"
		}
		purpose := "treatment"
		if emergency != "" {
			purpose = "emergency"
		}
		if _, err := w.access(hospitalKey, w.request(w.doctor, "obs-1", purpose, emergency)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := records.Trail(w.store.Committed())
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	for before, pages := "", 0; ; pages++ {
		page, next, err := records.AccessPage(w.store.Committed(), "", before, true, 3, func(*records.Access) bool { return true })
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, a := range page {
			walked = append(walked, a.ID)
		}
		if next == "" {
			break
		}
		before = next
	}
	var want []string
	for i := len(all) - 1; i >= 0; i-- {
		want = append(want, all[i].ID)
	}
	if fmt.Sprint(walked) != fmt.Sprint(want) {
		t.Fatalf("pages walked %v, want the trail newest first %v", walked, want)
	}
	emergencies, _, _ := records.AccessPage(w.store.Committed(), "", "", true, 10, func(a *records.Access) bool { return a.Emergency })
	if len(emergencies) != 3 {
		t.Fatalf("%d emergencies", len(emergencies))
	}
}

// TestConsentsPerGranteeBounded: a patient holds at most
// consent.MaxLivePerGrantee consents in force for one grantee, so deciding
// an access reads a bounded number; a revoked or expired consent frees its
// place, and access still follows the consents in force.
func TestConsentsPerGranteeBounded(t *testing.T) {
	w := newRecordsWorld(t)
	soon := w.now.Add(3 * time.Second).Format(time.RFC3339)
	later := w.now.AddDate(0, 1, 0).Format(time.RFC3339)
	grant := func(expires string) []byte {
		return w.tx(w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{Categories: []string{"condition"}},
			Purpose: "research", Expires: expires})
	}
	// Two that expire in a few blocks, the rest for a month.
	txs := [][]byte{grant(soon), grant(soon)}
	for range consent.MaxLivePerGrantee - 2 {
		txs = append(txs, grant(later))
	}
	w.mustOK(txs...)
	res := w.block(grant(later))
	if e, _ := ledger.Lookup(res.TxResults[0].Codespace, res.TxResults[0].Code); e != consent.ErrTooMany {
		t.Fatalf("consent %d: %v", consent.MaxLivePerGrantee+1, res.TxResults[0].Log)
	}
	// The organisation is another grantee.
	w.mustOK(w.tx(w.patient, consent.TypeGrant, consent.Grant{Grantee: id(hospital2Key), Scope: consent.Scope{All: true}, Purpose: "payment", Expires: later}))
	for range 3 {
		w.block() // the two short ones expire
	}
	w.mustOK(grant(later), grant(later))
	if a, err := w.access(hospitalKey, w.request(w.remote, "cond-1", "research", "")); err != nil || a.Outcome != records.Granted {
		t.Fatalf("research access: %+v %v", a, err)
	}
	if a, err := w.access(hospitalKey, w.request(w.remote, "obs-1", "payment", "")); err != nil || a.Outcome != records.Granted {
		t.Fatalf("access through the organisation's consent: %+v %v", a, err)
	}
}

// TestConsentSignedAsAnotherNeverReachesABlock: a revocation of another
// identity's consent, or a consent over another's record, is refused in
// CheckTx (and a proposal carrying one is refused), so it never lands in a
// block where members would read one patient's pseudonyms signing for each
// other's consents and records.
func TestConsentSignedAsAnotherNeverReachesABlock(t *testing.T) {
	w := newRecordsWorld(t)
	until := w.now.AddDate(0, 1, 0).Format(time.RFC3339)
	c := w.grant(consent.Grant{Grantee: id(w.doctor), Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: until})
	for _, tc := range []struct {
		name string
		raw  []byte
		want *ledger.Error
	}{
		{"a revoke of another's consent", w.tx(w.other, consent.TypeRevoke, consent.Revoke{ID: c}), consent.ErrNotYours},
		{"a consent over another's record", w.tx(w.other, consent.TypeGrant, consent.Grant{Grantee: id(w.doctor),
			Scope: consent.Scope{Records: []string{"obs-1"}}, Purpose: "treatment", Expires: until}), consent.ErrUnknownRecord},
	} {
		res := w.check(tc.raw)
		wantCode(t, res.Code, res.Codespace, res.Log, tc.want)
		pr, err := w.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: w.height + 1, Txs: [][]byte{tc.raw}})
		if err != nil || pr.Status == abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
			t.Fatalf("%s: a proposal carrying it was accepted (%v)", tc.name, err)
		}
	}
	// The patient's own still pass.
	if res := w.check(w.tx(w.patient, consent.TypeRevoke, consent.Revoke{ID: c})); res.Code != 0 {
		t.Fatalf("the patient's own revoke refused: %s", res.Log)
	}
}
