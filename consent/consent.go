// Package consent owns patients' consents on the ledger (SPEC F3): a patient
// grants an organisation or a practitioner access to a scope of their
// records for a purpose until an expiry, and revokes it. Accept answers the
// one question other modules ask: does an active consent cover this access?
//
// A consent names pseudonyms, categories and record ids only: it never holds
// personal health data.
package consent

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers consent.go

import (
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeGrant  = "consent.grant"
	TypeRevoke = "consent.revoke"
)

// Purposes a consent (and an access request) may name.
var Purposes = []string{"treatment", "payment", "research", "emergency", "second_opinion"}

// Statuses.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
)

// Errors of codespace "consent". Codes are stable.
var (
	ErrBadPurpose    = ledger.NewError("consent", 1, "bad_purpose", 400, "purpose must be one of treatment, payment, research, emergency, second_opinion")
	ErrBadGrantee    = ledger.NewError("consent", 2, "bad_grantee", 400, "grantee must be a registered organisation or practitioner in good standing")
	ErrBadExpiry     = ledger.NewError("consent", 3, "bad_expiry", 400, "expires must be an RFC 3339 time after the block time")
	ErrBadScope      = ledger.NewError("consent", 4, "bad_scope", 400, "scope must be all records, a list of known categories, or a list of this patient's records")
	ErrNotYours      = ledger.NewError("consent", 5, "not_your_consent", 403, "only the patient who granted a consent may revoke it")
	ErrAlreadyEnded  = ledger.NewError("consent", 6, "consent_not_active", 409, "this consent is already revoked")
	ErrUnknownRecord = ledger.NewError("consent", 7, "unknown_record", 404, "no record with this id belongs to this patient")
	ErrTooMany       = ledger.NewError("consent", 8, "too_many_consents", 409, "a patient may hold at most 32 consents in force for one grantee: revoke one first")
)

// MaxStudies bounds the studies one research consent names.
const MaxStudies = 8

// studyID: a trial's registry id, or a study of another kind with its
// prefix (fl:<task>, research:<project>).
var studyID = regexp.MustCompile(`^([a-z]{2,10}:[a-z0-9-]{3,40}|[A-Za-z0-9-]{3,40})$`)

// MaxLivePerGrantee bounds the consents a patient holds in force for one
// grantee, so that deciding an access reads a bounded number of them.
const MaxLivePerGrantee = 32

// Scope is what a consent covers: all records, or the records of some
// categories, or some records by id.
type Scope struct {
	All        bool     `json:"all,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Records    []string `json:"records,omitempty"`
	// Studies are clinical trials (their registry ids), federated
	// learning tasks or research projects (their ids): a research consent
	// for them lets their sites enrol the patient (trials), or lets the
	// custodian it names compute on the patient's records at its own node
	// for that study (records.use); it lets no one read a record.
	Studies []string `json:"studies,omitempty"`
}

// Consent is one grant.
//
//easyjson:json
type Consent struct {
	ID          string `json:"id"`
	Patient     string `json:"patient"`
	Grantee     string `json:"grantee"`
	GranteeKind string `json:"grantee_kind"`
	Scope       Scope  `json:"scope"`
	Purpose     string `json:"purpose"`
	Expires     string `json:"expires"` // RFC 3339, UTC
	Status      string `json:"status"`
	Granted     string `json:"granted"` // block time, RFC 3339
	Height      int64  `json:"height"`
	Revoked     string `json:"revoked,omitempty"`
	RevokedAt   int64  `json:"revoked_height,omitempty"`
}

// Grant is the body of consent.grant.
type Grant struct {
	Grantee string `json:"grantee"`
	Scope   Scope  `json:"scope"`
	Purpose string `json:"purpose"`
	Expires string `json:"expires"`
}

// Revoke is the body of consent.revoke.
type Revoke struct {
	ID string `json:"id"`
}

// RecordRef is what Accept needs to know about a record.
type RecordRef struct {
	ID       string
	Patient  string
	Category string
}

// Records is the narrow view of the records module this package needs: the
// categories a scope may name, and whether a record belongs to a patient.
type Records interface {
	Categories() []string
	Belongs(r ledger.Reader, recordID, patient string) (bool, error)
}

// Module is the consent module, wired to the records it may name.
type Module struct{ records Records }

// New returns the module.
func New(records Records) *Module { return &Module{records: records} }

var (
	prefixConsent = []byte("con/")  // con/<id> -> Consent
	prefixPatient = []byte("conp/") // conp/<patient>/<id> -> ""
	// prefixPair indexes the consents not yet known to have ended by patient
	// and grantee: an access is decided from the requester's and its
	// organisation's entries alone (at most MaxLivePerGrantee each).
	prefixPair = []byte("cong/") // cong/<patient>/<grantee>/<id> -> ""
)

func pairPrefix(patient, grantee string) []byte {
	return []byte(string(prefixPair) + patient + "/" + grantee + "/")
}

func consentKey(id string) []byte { return append(append([]byte{}, prefixConsent...), id...) }
func patientKey(patient, id string) []byte {
	return append(append(append(append([]byte{}, prefixPatient...), patient...), '/'), id...)
}
func patientPrefix(patient string) []byte {
	return append(append(append([]byte{}, prefixPatient...), patient...), '/')
}

// Declare declares the consent module (see ledger.Module).
func (m *Module) Declare() ledger.Module {
	return ledger.Module{Name: "consent", Doc: "Patients' consents: who may read which of their records, for what purpose, until when.",
		Txs: m.Routes(), Queries: queries(), Keys: keySpaces()}
}

// Routes are the transactions of this module.
func (m *Module) Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeGrant, Allow: []string{"patient"}, Handle: ledger.Handle(m.grant), Admit: m.admitGrant,
			Doc:     "A patient grants an organisation or practitioner access to some of their records for a purpose, until an expiry.",
			Example: `{"grantee":"<practitioner or organisation id>","scope":{"categories":["observation","condition"]},"purpose":"treatment","expires":"2027-06-30T00:00:00Z"}`},
		{Type: TypeRevoke, Args: []string{"id"}, Allow: []string{"patient"}, Handle: ledger.Handle(revoke), Admit: admitRevoke,
			Doc: "A patient revokes one of their consents; it stops covering any access from the next block.", Example: `{"id":"<consent id>"}`},
	}
}

func (m *Module) grant(ctx *ledger.Context, g *Grant) error {
	if !slices.Contains(Purposes, g.Purpose) {
		return ErrBadPurpose.Wrapf("%q", g.Purpose)
	}
	grantee, err := identity.InGoodStanding(ctx.State, g.Grantee, ctx.Time)
	if err != nil || (grantee.Kind != ledger.KindOrganisation && grantee.Kind != ledger.KindPractitioner) {
		return ErrBadGrantee.Wrapf("%q", g.Grantee)
	}
	expires, err := time.Parse(time.RFC3339, g.Expires)
	if err != nil || !expires.After(ctx.Time) {
		return ErrBadExpiry.Wrapf("%q", g.Expires)
	}
	if err := m.checkScope(ctx, g.Scope, g.Purpose); err != nil {
		return err
	}
	c := Consent{ID: hex.EncodeToString(ctx.TxHash[:16]), Patient: ctx.Signer.ID, Grantee: grantee.ID, GranteeKind: string(grantee.Kind),
		Scope: g.Scope, Purpose: g.Purpose, Expires: expires.UTC().Format(time.RFC3339), Status: StatusActive,
		Granted: ctx.Time.UTC().Format(time.RFC3339), Height: ctx.Height}
	if err := prunePair(ctx, c.Patient, c.Grantee); err != nil {
		return err
	}
	ledger.SetJSON(ctx.State, consentKey(c.ID), c)
	ledger.SetPresent(ctx.State, patientKey(c.Patient, c.ID))
	ledger.SetPresent(ctx.State, append(pairPrefix(c.Patient, c.Grantee), c.ID...))
	ctx.Emit("consent.granted", [2]string{"id", c.ID}, [2]string{"patient", c.Patient}, [2]string{"grantee", c.Grantee}, [2]string{"purpose", c.Purpose})
	return nil
}

// prunePair drops the ended consents from a patient's index for a grantee
// and refuses a new one when MaxLivePerGrantee are in force. The index
// never holds more than MaxLivePerGrantee entries: only a grant adds one,
// after this.
func prunePair(ctx *ledger.Context, patient, grantee string) error {
	consents, err := ledger.Indexed(ctx.State, pairPrefix(patient, grantee), Get)
	if err != nil {
		return err
	}
	live := 0
	for _, c := range consents {
		if c.Active(ctx.Time) {
			live++
		} else {
			ctx.State.Delete(append(pairPrefix(patient, grantee), c.ID...))
		}
	}
	if live >= MaxLivePerGrantee {
		return ErrTooMany.Wrapf("%d in force for this grantee", live)
	}
	return nil
}

func (m *Module) checkScope(ctx *ledger.Context, s Scope, purpose string) error {
	n := 0
	if s.All {
		n++
	}
	if len(s.Categories) > 0 {
		n++
	}
	if len(s.Records) > 0 {
		n++
	}
	if len(s.Studies) > 0 {
		n++
	}
	if n != 1 {
		return ErrBadScope.Wrapf("give exactly one of all, categories, records or studies")
	}
	if len(s.Studies) > 0 {
		if purpose != "research" {
			return ErrBadScope.Wrapf("studies are a research consent's scope (purpose research)")
		}
		if len(s.Studies) > MaxStudies {
			return ErrBadScope.Wrapf("at most %d studies", MaxStudies)
		}
		for _, id := range s.Studies {
			if !studyID.MatchString(id) {
				return ErrBadScope.Wrapf("a study is a trial's registry id (3-40 of A-Z, a-z, 0-9, '-'), fl:<learning task id> or research:<project id> (3-40 of a-z, 0-9, '-')")
			}
		}
		return nil
	}
	if len(s.Categories) > 20 || len(s.Records) > MaxScopeRecords {
		return ErrBadScope.Wrapf("at most 20 categories or %d records", MaxScopeRecords)
	}
	for _, c := range s.Categories {
		if !slices.Contains(m.records.Categories(), c) {
			return ErrBadScope.Wrapf("unknown category %q", c)
		}
	}
	for _, id := range s.Records {
		ok, err := m.records.Belongs(ctx.State, id, ctx.Signer.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownRecord.Wrapf("%q", id)
		}
	}
	return nil
}

// MaxScopeRecords is how many records one consent's scope may name.
const MaxScopeRecords = 100

// admitGrant refuses before the mempool a consent over records that are
// not the signer's, and admitRevoke the revocation of another's consent
// (at most MaxScopeRecords reads: the scope's records). Either would otherwise be
// refused in a block, which every member reads: a patient signing as the
// wrong one of their pseudonyms would show members that both are theirs.
func (m *Module) admitGrant(r ledger.Reader, signer ledger.Signer, body any) error {
	s := body.(*Grant).Scope
	if len(s.Records) > MaxScopeRecords {
		return nil // the block's own answer (bad_scope)
	}
	for _, id := range s.Records {
		ok, err := m.records.Belongs(r, id, signer.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownRecord.Wrapf("%q is not a record of the identity that signs (a patient holding several pseudonyms signs as the one it is held under)", id)
		}
	}
	return nil
}

func admitRevoke(r ledger.Reader, signer ledger.Signer, body any) error {
	c, err := Get(r, body.(*Revoke).ID)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil // the block's own answer
	}
	if err != nil {
		return err
	}
	if c.Patient != signer.ID {
		return ErrNotYours.Wrapf("it was granted by another identity (a patient holding several pseudonyms signs as the one that granted it)")
	}
	return nil
}

func revoke(ctx *ledger.Context, r *Revoke) error {
	c, err := Get(ctx.State, r.ID)
	if err != nil {
		return err
	}
	if c.Patient != ctx.Signer.ID {
		return ErrNotYours
	}
	if c.Status != StatusActive {
		return ErrAlreadyEnded
	}
	c.Status, c.Revoked, c.RevokedAt = StatusRevoked, ctx.Time.UTC().Format(time.RFC3339), ctx.Height
	ledger.SetJSON(ctx.State, consentKey(c.ID), c)
	ctx.State.Delete(append(pairPrefix(c.Patient, c.Grantee), c.ID...))
	ctx.Emit("consent.revoked", [2]string{"id", c.ID}, [2]string{"patient", c.Patient})
	return nil
}

// Get reads a consent.
func Get(r ledger.Reader, id string) (*Consent, error) {
	var c Consent
	found, err := ledger.GetJSON(r, consentKey(id), &c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ledger.ErrNotFound.Wrapf("no consent %q", id)
	}
	return &c, nil
}

// OfPatient lists a patient's consents, oldest id first, all of them (for
// tests and tools: queries page, OfPatientPage).
func OfPatient(r ledger.Reader, patient string) ([]*Consent, error) {
	return ledger.Indexed(r, patientPrefix(patient), Get)
}

// OfPatientPage lists a patient's consents by id from the page token
// after (a consent id; "": from the first), keeping those keep accepts
// (nil: all), up to limit (ledger.IndexedPage): a page costs what it
// examines, however many consents the patient has granted.
func OfPatientPage(r ledger.Reader, patient, after string, limit int, keep func(*Consent) bool) ([]*Consent, string, error) {
	return ledger.IndexedPage(r, patientPrefix(patient), after, false, limit, Get, keep)
}

// Page lists every patient's consents by id from the page token after,
// keeping those keep accepts (ledger.ScanPage): the regulator's search.
func Page(r ledger.Reader, after string, limit int, keep func(*Consent) bool) ([]*Consent, string, error) {
	return ledger.ScanPage(r, prefixConsent, after, limit, keep)
}

// List lists every consent (for the regulator and FHIR search), up to limit.
func List(r ledger.Reader, limit int) ([]*Consent, error) {
	return ledger.ScanJSON[Consent](r, prefixConsent, limit)
}

// Active reports whether a consent is in force at time now.
func (c *Consent) Active(now time.Time) bool {
	if c.Status != StatusActive {
		return false
	}
	exp, err := time.Parse(time.RFC3339, c.Expires)
	return err == nil && now.Before(exp)
}

// Covers reports whether the consent's scope includes a record.
func (s Scope) Covers(rec RecordRef) bool {
	return s.All || slices.Contains(s.Categories, rec.Category) || slices.Contains(s.Records, rec.ID)
}

// Naming lists the patient's consents that name grantee and are not yet
// pruned (at most MaxLivePerGrantee in force, and the lapsed ones the pair
// index still keeps): a bounded read, whatever the patient holds.
func Naming(r ledger.Reader, patient, grantee string) ([]*Consent, error) {
	return ledger.Indexed(r, pairPrefix(patient, grantee), Get)
}

// Names reports whether the patient has a consent naming grantee that is
// not yet pruned (in force, or recently lapsed: the pair index keeps at
// most MaxLivePerGrantee). It reads one key at most.
func Names(r ledger.Reader, patient, grantee string) (bool, error) {
	found := false
	err := r.Iterate(pairPrefix(patient, grantee), func(_, _ []byte) bool {
		found = true
		return false
	})
	return found, err
}

// AcceptStudy finds a research consent in force of patient that lets the
// requester (directly, or through the organisation that credentials them)
// enrol them in study: its scope all records or that study. It reads the
// same bounded pairs as Accept.
func AcceptStudy(r ledger.Reader, requester ledger.Signer, patient, study string, now time.Time) (*Consent, error) {
	return find(r, requester, patient, func(c *Consent) bool {
		return c.Purpose == "research" && c.Active(now) && (c.Scope.All || slices.Contains(c.Scope.Studies, study))
	})
}

// NamesStudy finds a research consent in force of patient that names the
// requester (or the organisation that credentials them) and study by its
// id: computing on a patient's records for a study (records.use) needs
// the patient to have agreed to that study, not to research at large. It
// reads the same bounded pairs as Accept.
func NamesStudy(r ledger.Reader, requester ledger.Signer, patient, study string, now time.Time) (*Consent, error) {
	return find(r, requester, patient, func(c *Consent) bool {
		return c.Purpose == "research" && c.Active(now) && slices.Contains(c.Scope.Studies, study)
	})
}

// AcceptPurpose finds a consent in force of patient naming the requester
// (or the organisation that credentials them) for purpose, whatever
// records it covers: a payment consent lets an insurer decide the
// patient's claims. It reads the same bounded pairs as Accept.
func AcceptPurpose(r ledger.Reader, requester ledger.Signer, patient, purpose string, now time.Time) (*Consent, error) {
	return find(r, requester, patient, func(c *Consent) bool { return c.Purpose == purpose && c.Active(now) })
}

// Accept finds an active consent of the record's patient that lets the
// requester (directly, or through the organisation that credentials them)
// access the record for the purpose at time now. It reads the patient's
// consents for those two grantees only: at most 2 × MaxLivePerGrantee,
// however many consents the patient holds.
func Accept(r ledger.Reader, requester ledger.Signer, rec RecordRef, purpose string, now time.Time) (*Consent, error) {
	return find(r, requester, rec.Patient, func(c *Consent) bool {
		return c.Purpose == purpose && c.Active(now) && c.Scope.Covers(rec)
	})
}

// find is the first of patient's consents naming the requester or the
// organisation that credentials them that keep accepts.
func find(r ledger.Reader, requester ledger.Signer, patient string, keep func(*Consent) bool) (*Consent, error) {
	grantees := []string{requester.ID}
	if requester.OrgID != "" && requester.Kind == ledger.KindPractitioner {
		grantees = append(grantees, requester.OrgID)
	}
	for _, grantee := range grantees {
		consents, err := ledger.Indexed(r, pairPrefix(patient, grantee), Get)
		if err != nil {
			return nil, err
		}
		for _, c := range consents {
			if keep(c) {
				return c, nil
			}
		}
	}
	return nil, nil
}
