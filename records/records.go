// Package records owns the ledger's side of off-chain health records (SPEC
// F4, F5, F12): the record index (a salted commitment, the custodian, the
// patient pseudonym, a category and the time — never the record), the access
// log of every granted and refused access, erasure requests and the
// custodians' retention duties, and second-opinion cases.
//
// The access decision is made here, on the ledger, from the requester's
// signed request, so every node can check it and the custodian cannot
// release a record without a committed entry saying it may.
package records

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strings"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeRegister  = "records.register"
	TypeAccess    = "records.access"
	TypeErase     = "records.erase"
	TypeShareCase = "records.share_case"
	TypeOpinion   = "records.case_opinion"
	// TypeSetRetention sets a custodian's retention policy (erasure.go).
	TypeSetRetention = "records.set_retention"
	TypeUse          = "records.use"
)

// Categories a record may have. A consent's scope names them.
var categories = []string{"demographics", "observation", "condition", "procedure", "medication", "allergy",
	"immunization", "diagnostic_report", "imaging", "encounter", "care_plan", "financial", "document",
	"administrative", "opinion", "other"}

// byResource maps FHIR R4 resource types to categories.
var byResource = map[string]string{
	"Patient": "demographics", "RelatedPerson": "demographics",
	"Observation": "observation", "Condition": "condition", "Procedure": "procedure",
	"MedicationRequest": "medication", "MedicationStatement": "medication", "MedicationAdministration": "medication",
	"MedicationDispense": "medication", "AllergyIntolerance": "allergy", "Immunization": "immunization",
	"DiagnosticReport": "diagnostic_report", "ImagingStudy": "imaging", "Media": "imaging",
	"Encounter": "encounter", "EpisodeOfCare": "encounter", "CarePlan": "care_plan", "Goal": "care_plan",
	"CareTeam": "care_plan", "ServiceRequest": "care_plan", "Claim": "financial", "ExplanationOfBenefit": "financial",
	"Coverage": "financial", "DocumentReference": "document", "Composition": "document", "Binary": "document",
	"Organization": "administrative", "Practitioner": "administrative", "Location": "administrative",
	"ClinicalImpression": "opinion",
}

// Categories lists the record categories.
func Categories() []string { return slices.Clone(categories) }

// CategoryOf is the category of a FHIR resource type.
func CategoryOf(resourceType string) string {
	if c, ok := byResource[resourceType]; ok {
		return c
	}
	return "other"
}

// Access purposes: the consent purposes, and "patient" for a patient
// reading their own records.
var purposes = append(slices.Clone(consent.Purposes), "patient")

// EmergencyReasons are the stated reasons for break-glass access. They are
// codes, not free text, so no health detail reaches the ledger.
var EmergencyReasons = []string{"patient_unconscious", "life_threatening", "patient_incapacitated", "urgent_other"}

// Errors of codespace "records". Codes are stable.
var (
	ErrBadRecordID     = ledger.NewError("records", 1, "bad_record_id", 400, "record ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '.'")
	ErrBadCommitment   = ledger.NewError("records", 2, "bad_commitment", 400, "commitment must be 64 hex characters (HMAC-SHA256)")
	ErrBadCategory     = ledger.NewError("records", 3, "bad_category", 400, "unknown record category")
	ErrUnknownPatient  = ledger.NewError("records", 4, "unknown_patient", 404, "no patient with this pseudonym")
	ErrRecordExists    = ledger.NewError("records", 5, "record_exists", 409, "a record with this id is already registered")
	ErrUnknownRecord   = ledger.NewError("records", 6, "unknown_record", 404, "no record with this id")
	ErrNotCustodian    = ledger.NewError("records", 7, "not_custodian", 403, "only the record's custodian may log access to it")
	ErrBadRequestSig   = ledger.NewError("records", 8, "bad_request_signature", 401, "the access request's signature does not verify with the requester's current key")
	ErrReplayed        = ledger.NewError("records", 9, "replayed_request", 409, "this access request was already used")
	ErrRequestExpired  = ledger.NewError("records", 10, "request_expired", 400, "the access request has expired or is valid for too long (at most 10 minutes)")
	ErrBadPurpose      = ledger.NewError("records", 11, "bad_purpose", 400, "purpose must be treatment, payment, research, emergency, second_opinion or patient")
	ErrBadEmergency    = ledger.NewError("records", 12, "bad_emergency_reason", 400, "emergency access needs purpose emergency and a reason code: patient_unconscious, life_threatening, patient_incapacitated or urgent_other")
	ErrUnknownReq      = ledger.NewError("records", 13, "unknown_requester", 401, "the requester is not registered")
	ErrTooMany         = ledger.NewError("records", 14, "too_many", 400, "too many items in one transaction")
	ErrBadEndpoint     = ledger.NewError("records", 15, "bad_endpoint", 400, "endpoint must be the https:// base URL of the custodian's node (http:// only on a loopback host), at most 200 characters, with no user name, password, query or fragment")
	ErrNotShareable    = ledger.NewError("records", 16, "no_consent_to_share", 403, "the patient has not consented to sharing these records with this specialist for a second opinion")
	ErrNotSpecialist   = ledger.NewError("records", 17, "not_the_specialist", 403, "only the case's specialist may anchor an opinion")
	ErrOpinionExists   = ledger.NewError("records", 18, "opinion_exists", 409, "this case already has an opinion")
	ErrBadOpinion      = ledger.NewError("records", 19, "bad_opinion_record", 400, "the opinion must be a record about the case's patient, held by the specialist's organisation")
	ErrRecordErased    = ledger.NewError("records", 20, "record_erased", 410, "the record was erased at the patient's request")
	ErrNothingToErase  = ledger.NewError("records", 21, "nothing_to_erase", 409, "no records of this patient remain to erase")
	ErrUnknownCase     = ledger.NewError("records", 22, "unknown_case", 404, "no case with this id")
	ErrBadSpecialist   = ledger.NewError("records", 23, "bad_specialist", 400, "specialist must be a practitioner in good standing")
	ErrCommitmentCheck = ledger.NewError("records", 24, "commitment_mismatch", 502, "the record returned does not match its commitment on the ledger: it was altered")
	ErrRecordRetained  = ledger.NewError("records", 25, "record_retained", 403, "the patient asked for erasure; the custodian keeps the record only under a retention duty (GDPR Art. 17(3)), and only the patient may read it")
	ErrBadRetention    = ledger.NewError("records", 26, "bad_retention", 400, "a retention hold names a record category once, a basis (legal_obligation, public_health, archiving_research or legal_claims: GDPR Art. 17(3)(b)-(e)) and 1 to 100 whole years")
)

var recordID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// Module is the records module.
type Module struct {
	studies []StudyKind
}

// New returns the module; studies are the kinds of study a custodian may
// use records in (records.use).
func New(studies ...StudyKind) *Module { return &Module{studies: studies} }

// Categories implements consent.Records.
func (*Module) Categories() []string { return categories }

// Belongs implements consent.Records.
func (*Module) Belongs(r ledger.Reader, id, patient string) (bool, error) {
	rec, err := Get(r, id)
	if err != nil {
		if ledger.AsError(err) == ledger.ErrNotFound {
			return false, nil
		}
		return false, err
	}
	return rec.Patient == patient, nil
}

// custodians are the organisations that hold records.
var custodians = []string{"organisation:hospital", "organisation:clinic", "organisation:lab", "organisation:pharmacy", "organisation:research", "organisation:insurer"}

// CustodianTypes are the organisation types that may hold records: where a
// patient holds a pseudonym (identity.PairwiseKey).
func CustodianTypes() []string {
	out := make([]string, len(custodians))
	for i, c := range custodians {
		out[i] = strings.TrimPrefix(c, "organisation:")
	}
	return out
}

// Declare declares the records module (see ledger.Module).
func (m *Module) Declare() ledger.Module {
	return ledger.Module{Name: "records", Doc: "The index of patients' records kept off-chain by their custodians, the access trail, erasure and second opinions.",
		Txs: m.Routes(), Queries: queries(), Keys: keySpaces()}
}

// Routes are the transactions of this module.
func (m *Module) Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegister, Allow: custodians, Handle: ledger.Handle(register),
			Doc:     "A custodian indexes records it stores off-chain: id, patient pseudonym, category and salted commitment (never the record).",
			Example: `{"endpoint":"https://records.stlukes.example","records":[{"id":"obs-1","patient":"<patient id>","category":"observation","commitment":"<64 hex>"}]}`},
		{Type: TypeAccess, Allow: custodians, Handle: ledger.Handle(access), Admit: admitAccess,
			Doc:     "A custodian logs a requester's signed access request; the ledger decides granted or refused (consent, credential, emergency) and keeps the entry.",
			Example: `{"request":{"chain_id":"primum-demo","requester":"<id>","record":"obs-1","purpose":"treatment","key_digest":"<64 hex>","nonce":"<32 hex>","not_after":"2026-11-23T10:05:00Z"},"signature":"<hex>"}`},
		{Type: TypeErase, Allow: []string{"patient"}, Handle: ledger.Handle(erase),
			Doc: "A patient requests erasure (GDPR Art. 17): up to 500 of their records per transaction become erased (every custodian destroys their keys) or, where the custodian's retention policy holds the category, retained until the hold ends; send it again until the erasure is complete.", Example: `{}`},
		{Type: TypeSetRetention, Allow: custodians, Handle: ledger.Handle(setRetention),
			Doc:     "A custodian sets its retention policy (GDPR Art. 17(3)): per record category, a basis and how many years after registration it must keep a record its patient asked to erase. It replaces the policy before; no holds removes it.",
			Example: `{"holds":[{"category":"medication","basis":"legal_obligation","years":10}]}`},
		{Type: TypeUse, Allow: custodians, Handle: ledger.Handle(m.use),
			Doc:     "A custodian declares the patients whose records its own node uses in a study (a federated learning task or a research project): each must hold a research consent in force naming the custodian for it, and each gets one entry on their trail. A learning task that takes consented records counts a site's samples against its declared patients.",
			Example: `{"study":"fl:t2d-records","patients":["<patient id>"]}`},
		{Type: TypeShareCase, Args: []string{"records..."}, Allow: []string{"practitioner"}, Handle: ledger.Handle(shareCase),
			Doc:     "A practitioner shares a case (records) with a specialist for a second opinion, as the patient's consent permits.",
			Example: `{"specialist":"<practitioner id>","patient":"<patient id>","records":["obs-1","cond-2"]}`},
		{Type: TypeOpinion, Args: []string{"case", "record"}, Allow: []string{"practitioner"}, Handle: ledger.Handle(caseOpinion),
			Doc: "The specialist anchors their signed opinion (a record held by their organisation) to the case.", Example: `{"case":"<case id>","record":"opinion-1"}`},
	}
}

func txID(ctx *ledger.Context) string { return hex.EncodeToString(ctx.TxHash[:16]) }
