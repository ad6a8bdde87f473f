package records

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/release/sealed"
)

// Register is the body of records.register.
type Register struct {
	// Endpoint is where the custodian's node answers record requests; it
	// is kept per organisation (the latest one wins).
	Endpoint string      `json:"endpoint,omitempty"`
	Records  []NewRecord `json:"records"`
}

// NewRecord indexes one stored record.
type NewRecord struct {
	ID         string `json:"id"`
	Patient    string `json:"patient"`
	Category   string `json:"category"`
	Commitment string `json:"commitment"`
}

// MaxPerRegister bounds one registration, so that it fits in a transaction
// (64 KiB) even with the longest ids; larger imports take several.
const MaxPerRegister = 250

// AccessRequest is what a requester signs to ask a custodian for a record
// (package sealed: its signed byte format must never change).
type AccessRequest = sealed.AccessRequest

// RequestDomain separates access-request signatures from every other
// signature a key makes.
const RequestDomain = sealed.RequestDomain

// MaxRequestLife bounds how long a signed request stays usable.
const MaxRequestLife = 10 * time.Minute

// AccessLog is the body of records.access.
type AccessLog struct {
	Request   AccessRequest `json:"request"`
	Signature string        `json:"signature"`
}

// Erase is the body of records.erase (empty: a patient erases their own;
// see erasure.go).
type Erase struct{}

// ShareCase is the body of records.share_case.
type ShareCase struct {
	Specialist string   `json:"specialist" doc:"the specialist's practitioner id"`
	Patient    string   `json:"patient" doc:"the patient's pseudonym"`
	Records    []string `json:"records"`
}

// Opinion is the body of records.case_opinion.
type Opinion struct {
	Case   string `json:"case"`
	Record string `json:"record"`
}

func register(ctx *ledger.Context, m *Register) error {
	if len(m.Records) == 0 || len(m.Records) > MaxPerRegister {
		return ErrTooMany.Wrapf("1 to %d records per registration", MaxPerRegister)
	}
	if m.Endpoint != "" {
		if err := CheckEndpoint(m.Endpoint); err != nil {
			return err
		}
		ctx.State.Set(ledger.Key(prefixEndpoint, ctx.Signer.ID), []byte(m.Endpoint))
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	for _, n := range m.Records {
		if !recordID.MatchString(n.ID) {
			return ErrBadRecordID.Wrapf("%q", n.ID)
		}
		if c, err := hex.DecodeString(n.Commitment); err != nil || len(c) != 32 {
			return ErrBadCommitment.Wrapf("record %s", n.ID)
		}
		if !slices.Contains(categories, n.Category) {
			return ErrBadCategory.Wrapf("%q", n.Category)
		}
		if p, err := identity.Get(ctx.State, n.Patient); err != nil || p.Kind != ledger.KindPatient {
			return ErrUnknownPatient.Wrapf("%q", n.Patient)
		}
		if b, err := ctx.State.Get(ledger.Key(prefixRecord, n.ID)); err != nil {
			return err
		} else if b != nil {
			return ErrRecordExists.Wrapf("%q", n.ID)
		}
		ledger.SetJSON(ctx.State, ledger.Key(prefixRecord, n.ID), Record{ID: n.ID, Patient: n.Patient, Custodian: ctx.Signer.ID,
			Category: n.Category, Commitment: n.Commitment, Registered: now, Height: ctx.Height, Status: StatusStored})
		ledger.SetPresent(ctx.State, ledger.Key(prefixByPatient, n.Patient, n.ID))
	}
	ctx.Emit("records.registered", [2]string{"custodian", ctx.Signer.ID}, [2]string{"count", strconv.Itoa(len(m.Records))})
	return nil
}

// CheckAsk validates what a requester asks for: a record id, a purpose and,
// for break-glass access, a reason code.
func CheckAsk(record, purpose, emergencyReason string) error {
	switch {
	case !slices.Contains(purposes, purpose):
		return ErrBadPurpose.Wrapf("%q", purpose)
	case emergencyReason != "" && (purpose != "emergency" || !slices.Contains(EmergencyReasons, emergencyReason)):
		return ErrBadEmergency
	case !recordID.MatchString(record):
		return ErrBadRecordID.Wrapf("%q", record)
	}
	return nil
}

// CheckRequest validates a request's form (no state needed).
func CheckRequest(r AccessRequest) error {
	if err := CheckAsk(r.Record, r.Purpose, r.EmergencyReason); err != nil {
		return err
	}
	if d, err := hex.DecodeString(r.KeyDigest); err != nil || len(d) != 32 {
		return ledger.ErrInvalidBody.Wrapf("key_digest must be 64 hex characters")
	}
	if n, err := hex.DecodeString(r.Nonce); err != nil || len(n) != 16 {
		return ledger.ErrInvalidBody.Wrapf("nonce must be 32 hex characters")
	}
	if _, err := time.Parse(time.RFC3339, r.NotAfter); err != nil {
		return ErrRequestExpired.Wrapf("not_after %q is not an RFC 3339 time", r.NotAfter)
	}
	return nil
}

// Authenticate checks a request's signature against the requester's
// current key and its freshness at time now; it returns the requester.
func Authenticate(r ledger.Reader, chainID string, req AccessRequest, sig string, now time.Time) (*identity.Identity, error) {
	if err := CheckRequest(req); err != nil {
		return nil, err
	}
	if req.ChainID != chainID {
		return nil, ledger.ErrWrongChain.Wrapf("request is for %q", req.ChainID)
	}
	requester, err := identity.Get(r, req.Requester)
	if err != nil {
		return nil, ErrUnknownReq.Wrapf("%q", req.Requester)
	}
	pub, err := identity.ParseKey(requester.Key)
	if err != nil {
		return nil, err
	}
	s, err := hex.DecodeString(sig)
	if err != nil || !ledger.VerifySignature(pub, req.SignBytes(), s) {
		return nil, ErrBadRequestSig
	}
	notAfter, _ := time.Parse(time.RFC3339, req.NotAfter)
	if !notAfter.After(now) || notAfter.Sub(now) > MaxRequestLife {
		return nil, ErrRequestExpired.Wrapf("not_after %s, now %s", req.NotAfter, now.UTC().Format(time.RFC3339))
	}
	if b, err := r.Get(ledger.Key(prefixNonce, requester.ID, req.Nonce)); err != nil {
		return nil, err
	} else if b != nil {
		return nil, ErrReplayed
	}
	return requester, nil
}

func access(ctx *ledger.Context, m *AccessLog) error {
	requester, err := Authenticate(ctx.State, ctx.ChainID, m.Request, m.Signature, ctx.Time)
	if err != nil {
		return err
	}
	rec, err := Get(ctx.State, m.Request.Record)
	if err != nil {
		return ErrUnknownRecord.Wrapf("%q", m.Request.Record)
	}
	if rec.Custodian != ctx.Signer.ID {
		return ErrNotCustodian
	}
	ledger.SetPresent(ctx.State, ledger.Key(prefixNonce, requester.ID, m.Request.Nonce))
	a := Access{ID: txID(ctx), Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339), Requester: requester.ID,
		RequesterKind: string(requester.Kind), RequesterOrg: requester.OrgID, Patient: rec.Patient, Record: rec.ID,
		Custodian: rec.Custodian, Category: rec.Category, Purpose: m.Request.Purpose, KeyDigest: m.Request.KeyDigest,
		EmergencyReason: m.Request.EmergencyReason, Emergency: m.Request.EmergencyReason != ""}
	// A requester with no standing with the patient writes nothing to
	// their trail: otherwise anyone could fill a stranger's trail with
	// refusals (a fresh patient key asking for another patient's record).
	if !standing(ctx.State, requester, rec) {
		return ErrNoStandingReq.Wrapf("%s has no standing with the patient of record %s", requester.ID, rec.ID)
	}
	a.Outcome, a.Refusal, a.Consent = decide(ctx, requester, rec, m.Request)
	putAccess(ctx.State, a)
	attrs := [][2]string{{"id", a.ID}, {"patient", a.Patient}, {"requester", a.Requester}, {"outcome", a.Outcome}}
	if a.Emergency {
		// Flagged to the patient and the regulator: both subscribe to this.
		attrs = append(attrs, [2]string{"emergency", "true"})
	}
	ctx.Emit("records.access", attrs...)
	return nil
}

// admitAccess refuses in CheckTx a request from someone with no standing
// with the record's patient, so that it never reaches a block (where it
// would fail, at a cost to the custodian and the chain). What else the
// block decides it leaves to the block.
func admitAccess(r ledger.Reader, _ ledger.Signer, body any) (err error) {
	defer func() {
		if p := recover(); p != nil { // standing panics on a read failure, for blocks; here it is a refusal
			// A coded error (a state value that does not decode) is the
			// same on every node: it stays coded, so that ProcessProposal
			// refuses the transaction rather than stopping as on a disk
			// fault.
			if e, ok := p.(error); ok && errors.As(e, new(*ledger.Error)) {
				err = e
				return
			}
			err = fmt.Errorf("reading the state: %v", p)
		}
	}()
	m := body.(*AccessLog)
	requester, gerr := identity.Get(r, m.Request.Requester)
	if gerr != nil {
		return nil // the block's own answer (unknown_requester)
	}
	rec, gerr := Get(r, m.Request.Record)
	if gerr != nil {
		return nil
	}
	if !standing(r, requester, rec) {
		return ErrNoStandingReq.Wrapf("%s has no standing with the patient of record %s", requester.ID, rec.ID)
	}
	return nil
}

// ErrNoStandingReq: a request for a record by someone with no standing
// with its patient. Refused without a trail entry.
var ErrNoStandingReq = ledger.NewError("records", 27, "requester_no_standing", 403,
	"the requester has no standing with this record's patient (not the patient, not at the custodian, named by none of their consents, not a practitioner who may break the glass): the request is refused and not written to the patient's trail")

// standing reports whether a request for rec by requester is one the
// patient's trail should show, granted or refused: the patient's own, one
// from the custodian or its practitioners, from an identity (or the
// organisation of a practitioner) that one of the patient's consents
// names, or from a practitioner of a care provider (who may break the
// glass). Bounded: at most two single-key reads and one identity.
func standing(r ledger.Reader, requester *identity.Identity, rec *Record) bool {
	if requester.ID == rec.Patient {
		return true
	}
	if requester.Kind != ledger.KindPractitioner && requester.Kind != ledger.KindOrganisation {
		return false
	}
	org := requester.ID
	if requester.Kind == ledger.KindPractitioner {
		org = requester.OrgID
	}
	if org == rec.Custodian {
		return true
	}
	for _, grantee := range []string{requester.ID, org} {
		named, err := consent.Names(r, rec.Patient, grantee)
		if err != nil {
			panic(err) // a storage failure: continuing would fork the node
		}
		if named {
			return true
		}
	}
	if requester.Kind == ledger.KindPractitioner {
		o, err := identity.Get(r, org)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			panic(err)
		}
		return err == nil && slices.Contains(EmergencyOrgTypes, o.OrgType)
	}
	return false
}

// EmergencyOrgTypes are the organisations whose practitioners may break the
// glass: those that treat patients.
var EmergencyOrgTypes = []string{"hospital", "clinic"}

// decide is the access rule: who may read which record for what.
func decide(ctx *ledger.Context, requester *identity.Identity, rec *Record, req AccessRequest) (outcome, refusal, consentID string) {
	switch rec.StatusAt(ctx.Time) {
	case StatusErased:
		return Refused, ErrRecordErased.Name, ""
	case StatusRetained:
		// Kept only for the custodian's legal duty: the patient may still
		// read their own record (Art. 15); nobody else may.
		if requester.ID != rec.Patient {
			return Refused, ErrRecordRetained.Name, ""
		}
	}
	if _, err := identity.InGoodStanding(ctx.State, requester.ID, ctx.Time); err != nil {
		return Refused, ledger.AsError(err).Name, ""
	}
	switch requester.Kind {
	case ledger.KindPatient:
		switch {
		case requester.ID != rec.Patient:
			return Refused, "not_own_record", ""
		case req.Purpose != "patient":
			return Refused, ErrBadPurpose.Name, "" // a patient reads their own records with purpose "patient"
		}
		return Granted, "", ""
	case ledger.KindPractitioner, ledger.KindOrganisation:
	default:
		return Refused, ledger.ErrUnauthorized.Name, ""
	}
	if req.Purpose == "patient" {
		return Refused, ErrBadPurpose.Name, ""
	}
	signer := ledger.Signer{ID: requester.ID, Kind: requester.Kind, OrgID: requester.OrgID}
	c, err := consent.Accept(ctx.State, signer, consent.RecordRef{ID: rec.ID, Patient: rec.Patient, Category: rec.Category}, req.Purpose, ctx.Time)
	if err != nil {
		panic(err) // a storage failure: continuing would fork the node
	}
	if c != nil {
		return Granted, "", c.ID
	}
	if req.EmergencyReason != "" {
		if requester.Kind != ledger.KindPractitioner {
			return Refused, "emergency_needs_practitioner", ""
		}
		// Break-glass is for those who treat patients: a practitioner of a
		// research institute, an insurer or a lab has no emergency to meet.
		if org, err := identity.Get(ctx.State, requester.OrgID); err != nil || !slices.Contains(EmergencyOrgTypes, org.OrgType) {
			return Refused, "emergency_needs_care_provider", ""
		}
		return Granted, "", ""
	}
	return Refused, "no_consent", ""
}

func shareCase(ctx *ledger.Context, m *ShareCase) error {
	if len(m.Records) == 0 || len(m.Records) > 100 {
		return ErrTooMany.Wrapf("1 to 100 records per case")
	}
	spec, err := identity.InGoodStanding(ctx.State, m.Specialist, ctx.Time)
	if err != nil || spec.Kind != ledger.KindPractitioner {
		return ErrBadSpecialist.Wrapf("%q", m.Specialist)
	}
	c := Case{ID: txID(ctx), Patient: m.Patient, Requester: ctx.Signer.ID, Specialist: spec.ID, Records: m.Records,
		Shared: ctx.Time.UTC().Format(time.RFC3339), Height: ctx.Height}
	signer := ledger.Signer{ID: spec.ID, Kind: spec.Kind, OrgID: spec.OrgID}
	for _, id := range m.Records {
		rec, err := Get(ctx.State, id)
		if err != nil || rec.Patient != m.Patient {
			return ErrUnknownRecord.Wrapf("%q is not a record of this patient", id)
		}
		switch rec.StatusAt(ctx.Time) {
		case StatusErased:
			return ErrRecordErased.Wrapf("%q", id)
		case StatusRetained:
			return ErrRecordRetained.Wrapf("%q", id)
		}
		con, err := consent.Accept(ctx.State, signer, consent.RecordRef{ID: rec.ID, Patient: rec.Patient, Category: rec.Category}, "second_opinion", ctx.Time)
		if err != nil {
			return err
		}
		if con == nil {
			return ErrNotShareable.Wrapf("record %s", id)
		}
		if !slices.Contains(c.Consents, con.ID) {
			c.Consents = append(c.Consents, con.ID)
		}
	}
	ledger.SetJSON(ctx.State, ledger.Key(prefixCase, c.ID), c)
	ctx.Emit("records.case_shared", [2]string{"id", c.ID}, [2]string{"specialist", c.Specialist})
	return nil
}

func caseOpinion(ctx *ledger.Context, m *Opinion) error {
	c, err := GetCase(ctx.State, m.Case)
	if err != nil {
		return ErrUnknownCase.Wrapf("%q", m.Case)
	}
	if c.Specialist != ctx.Signer.ID {
		return ErrNotSpecialist
	}
	if c.Opinion != "" {
		return ErrOpinionExists
	}
	rec, err := Get(ctx.State, m.Record)
	if err != nil || rec.Patient != c.Patient || rec.Custodian != ctx.Signer.OrgID || rec.Status != StatusStored {
		return ErrBadOpinion.Wrapf("%q", m.Record)
	}
	c.Opinion, c.OpinionCommit, c.OpinionHeight = rec.ID, rec.Commitment, ctx.Height
	ledger.SetJSON(ctx.State, ledger.Key(prefixCase, c.ID), c)
	ctx.Emit("records.case_opinion", [2]string{"id", c.ID})
	return nil
}
