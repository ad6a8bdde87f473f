// Package claims is insurance claims on the ledger (SPEC F8): an insurer
// publishes a policy whose coverage rules are CEL expressions (rules.go),
// the regulator registers the reference tables (diagnosis and procedure
// codes, NCCI-style procedure-pair and unit edits), a provider submits a
// claim, and every node adjudicates it in the block, the same way: the
// credential, the patient's payment consent, the codes on the date of
// service, the edits, the policy's rules, the member's deductible and
// out-of-pocket so far. The decision carries the rule set's hash and a
// hash of its evaluation trace, and the inputs it was made from, so any
// member can replay it (Replay). Duplicates, also across payers,
// unbundling over separate claims and units over a cap are signalled to
// the insurer concerned and the regulator.
//
// A claim names the patient by the pseudonym they hold at the provider and
// its supporting records by id (their contents stay with the custodian);
// its codes are on the ledger because every node must evaluate the rules
// over them, and the API serves a claim only to its parties and the
// regulator (see docs/claims.md).
package claims

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypePublish = "claims.publish"
	TypeRetire  = "claims.retire"
	TypeTable   = "claims.table"
	TypeCover   = "claims.cover"
	TypeSubmit  = "claims.submit"
	TypeReview  = "claims.review"
	TypeAppeal  = "claims.appeal"
	TypePay     = "claims.pay"
)

// Limits: every transaction's work is bounded by the transaction.
const (
	MaxRules        = 50
	MaxExpr         = 1000 // bytes of one expression
	MaxFees         = 500
	MaxLists        = 20
	MaxListCodes    = 200
	MaxVersions     = 100
	MaxTableEntries = 1000
	MaxLines        = 20
	MaxDiagnoses    = 12
	MaxModifiers    = 4
	MaxUnits        = 9999
	MaxRecords      = 10
	MaxAmount       = 100_000_000_00 // cents: $100 million, far from int64's end
	MaxDayCodes     = 60             // codes one provider bills one patient one day, for the unbundling check
	MaxDupEntries   = 8
	MaxPTPPartners  = 200
	// MaxFilingDays is how long after the date of service a claim may be
	// submitted (timely filing).
	MaxFilingDays = 365
)

// Outcomes of a line.
const (
	Covered = "covered"
	Denied  = "denied"
	Pended  = "pended"
)

// Claim statuses.
const (
	StatusAdjudicated   = "adjudicated"
	StatusPended        = "pended"
	StatusAppealed      = "appealed"
	StatusReadjudicated = "readjudicated"
	StatusPaid          = "paid"
)

// Signal kinds.
const (
	SignalDuplicate  = "duplicate"              // the same service billed twice to one payer
	SignalCrossPayer = "cross_payer_duplicate"  // the same service billed to another payer too
	SignalUnbundling = "unbundling"             // an NCCI pair billed on separate claims
	SignalUnitsOver  = "units_over_cap"         // units over the medically unlikely edit
	SignalSuspended  = "suspended_practitioner" // a service dated inside the practitioner's suspension
)

// Table kinds.
const (
	TableCodes = "codes"
	TablePTP   = "ptp"
	TableMUE   = "mue"
)

// Code systems.
var Systems = []string{"icd10cm", "cpt", "hcpcs"}

// Errors of codespace "claims". Codes are stable.
var (
	ErrBadPolicy        = ledger.NewError("claims", 1, "bad_policy", 400, "a policy needs an id (3-40 of A-Z, a-z, 0-9, '-'), an effective date (YYYY-MM-DD), a plan with integer cents, and at most 50 rules")
	ErrBadRule          = ledger.NewError("claims", 2, "bad_rule", 400, "a rule does not type-check, or is not deterministic (doubles, comprehensions over maps)")
	ErrTooCostly        = ledger.NewError("claims", 3, "rule_too_costly", 400, "a rule's estimated cost is over the limit (10,000 CEL cost units)")
	ErrUnknownPolicy    = ledger.NewError("claims", 4, "unknown_policy", 404, "no policy with this id")
	ErrNotInsurer       = ledger.NewError("claims", 5, "not_the_insurer", 403, "only the insurer that published the policy (or holds the claim) may do this")
	ErrPolicyRetired    = ledger.NewError("claims", 6, "policy_retired", 409, "the policy is retired for this date of service")
	ErrBadTable         = ledger.NewError("claims", 7, "bad_table", 400, "a table is a kind (codes, ptp, mue), a version, an effective date and 1-1000 well-formed entries of that kind")
	ErrTableExists      = ledger.NewError("claims", 8, "table_exists", 409, "a table of this kind with this version is already registered")
	ErrBadCoverage      = ledger.NewError("claims", 9, "bad_coverage", 400, "a coverage needs an id, a registered patient, one of your policies and a period (start ≤ end, YYYY-MM-DD)")
	ErrCoverageExists   = ledger.NewError("claims", 10, "coverage_exists", 409, "a coverage with this id exists")
	ErrUnknownCoverage  = ledger.NewError("claims", 11, "unknown_coverage", 404, "no coverage with this id for this patient")
	ErrNotCovered       = ledger.NewError("claims", 12, "not_covered_on_date", 409, "the coverage is not in force on the date of service")
	ErrBadClaim         = ledger.NewError("claims", 13, "bad_claim", 400, "a claim needs an id, a date of service (not in the future, at most 365 days ago), 1-12 diagnoses and 1-20 lines with a code, 1-9999 units, a charge in cents and diagnosis pointers")
	ErrClaimExists      = ledger.NewError("claims", 14, "claim_exists", 409, "a claim with this id exists")
	ErrUnknownCode      = ledger.NewError("claims", 15, "unknown_code", 400, "a code is not in the registered code set")
	ErrCodeNotValid     = ledger.NewError("claims", 16, "code_not_valid_on_date", 400, "a code is not valid on the date of service (retired, or not yet in force)")
	ErrNoPaymentConsent = ledger.NewError("claims", 17, "no_payment_consent", 403, "the patient has no consent in force for the payment purpose naming the insurer: the patient grants it first")
	ErrPractitioner     = ledger.NewError("claims", 18, "practitioner_not_credentialed", 403, "the rendering practitioner is not an active practitioner of the billing provider, or their credential had lapsed on the date of service")
	ErrUnknownClaim     = ledger.NewError("claims", 19, "unknown_claim", 404, "no claim with this id")
	ErrWrongStatus      = ledger.NewError("claims", 20, "wrong_claim_status", 409, "the claim is not in a status that allows this")
	ErrBadReview        = ledger.NewError("claims", 21, "bad_review", 400, "a review names pended (or, on appeal, any) lines by number, each with an outcome, an allowed amount in cents (≤ the charge) and a reason code")
	ErrUnknownRecord    = ledger.NewError("claims", 23, "unknown_supporting_record", 400, "a supporting record is not registered for this patient")
	ErrBadPayment       = ledger.NewError("claims", 24, "bad_payment", 400, "a payment needs a remittance reference (1-40 of A-Z, a-z, 0-9, '-')")
	ErrNoPolicyInForce  = ledger.NewError("claims", 25, "no_policy_in_force", 409, "no version of the coverage's policy is in force on the date of service")
	ErrBadAppeal        = ledger.NewError("claims", 27, "bad_appeal", 400, "an appeal says why, in at most 300 characters (no patient data)")
	ErrNoChange         = ledger.NewError("claims", 28, "no_change", 409, "the new version is the latest one again (the same rule set, the same effective date)")
	ErrNotProvider      = ledger.NewError("claims", 29, "not_a_care_provider", 403, "claims are billed by care providers (hospitals, clinics, labs, pharmacies) and their practitioners")
	ErrNoRelation       = ledger.NewError("claims", 30, "no_treatment_relation", 403, "the provider holds no record of the patient among the supporting records and no treatment consent from them: list a supporting record it holds, or the patient grants it a treatment consent")
)

// Rule is one coverage rule: when its condition holds for a line, the
// line has its outcome. The first rule that holds decides; a line no rule
// decides is covered at the policy's allowed amount.
type Rule struct {
	ID      string `json:"id"`
	Doc     string `json:"doc,omitempty"`
	When    string `json:"when" doc:"CEL, a bool over line, claim, member, provider, fees, lists"`
	Outcome string `json:"outcome" doc:"covered, denied or pended"`
	Reason  string `json:"reason,omitempty" doc:"X12 group and reason code, e.g. CO-50 (denied and pended lines: required)"`
	Allowed string `json:"allowed,omitempty" doc:"covered: CEL, an int of cents (default: the policy's allowed)"`
	// Waive: a covered line costs the member nothing (no deductible, no
	// coinsurance): preventive care.
	Waive bool `json:"waive_cost_share,omitempty"`
}

// Fee is one code's fee in the policy's schedule, per unit.
type Fee struct {
	Code  string `json:"code"`
	Cents int64  `json:"cents"`
}

// CodeList is a named list of codes a rule may read (lists["name"]).
type CodeList struct {
	Name  string   `json:"name"`
	Codes []string `json:"codes"`
}

// Plan is the member's cost share: a deductible, then coinsurance, up to
// the out-of-pocket maximum, per calendar year, in cents and whole percent.
type Plan struct {
	Name               string `json:"name"`
	Deductible         int64  `json:"deductible"`
	CoinsurancePercent int64  `json:"coinsurance_percent"`
	OOPMax             int64  `json:"oop_max"`
}

// RuleSet is what a policy version decides with: hash-addressed.
type RuleSet struct {
	Plan    Plan       `json:"plan"`
	Fees    []Fee      `json:"fees"`
	Lists   []CodeList `json:"lists,omitempty"`
	Allowed string     `json:"allowed,omitempty" doc:"CEL, the allowed amount of a covered line in cents (default: the fee schedule's fee × units, at most the charge; the charge when the code has no fee)"`
	Rules   []Rule     `json:"rules"`
}

// DefaultAllowedExpr is the allowed amount when a policy names none.
const DefaultAllowedExpr = `line.code in fees ? (fees[line.code] * line.units < line.charge ? fees[line.code] * line.units : line.charge) : line.charge`

// DefaultAllowed is the rule set's allowed expression.
func (p *RuleSet) DefaultAllowed() string {
	if p.Allowed == "" {
		return DefaultAllowedExpr
	}
	return p.Allowed
}

// Hash is the rule set's address: SHA-256 of its JSON (struct fields in
// order, lists as given: the same rule set, the same hash).
func (p *RuleSet) Hash() string {
	b, _ := json.Marshal(p)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Policy is one published version of an insurer's policy.
type Policy struct {
	ID        string  `json:"id"`
	Insurer   string  `json:"insurer"`
	Version   int64   `json:"version"`
	Effective string  `json:"effective"`
	Reason    string  `json:"reason,omitempty"`
	Hash      string  `json:"hash"`
	RuleSet   RuleSet `json:"rule_set"`
	Time      string  `json:"time"`
	Height    int64   `json:"height"`
}

// PolicyHead is a policy as the list shows it: its latest version, and
// the date from which it is retired.
type PolicyHead struct {
	ID        string `json:"id"`
	Insurer   string `json:"insurer"`
	Name      string `json:"name"`
	Version   int64  `json:"version"`
	Effective string `json:"effective"`
	Hash      string `json:"hash"`
	Retired   string `json:"retired,omitempty"`
}

// CodeEntry is one code of the code set, from a table's effective date.
type CodeEntry struct {
	System  string `json:"system" doc:"icd10cm, cpt or hcpcs"`
	Code    string `json:"code"`
	Display string `json:"display"`
	Retired bool   `json:"retired,omitempty" doc:"true: not valid from this table's date"`
}

// PTPEntry is a procedure-to-procedure edit: column 2 is not paid with
// column 1 on the same day for the same patient by the same provider,
// unless the indicator is 1 and the line carries a modifier that allows it
// (59, XE, XP, XS, XU); indicator 9: the edit is deleted.
type PTPEntry struct {
	Column1   string `json:"column1"`
	Column2   string `json:"column2"`
	Indicator int64  `json:"indicator" doc:"0: never together; 1: with a modifier; 9: deleted"`
}

// MUEEntry is a medically unlikely edit: at most Units of the code on one
// line (one day).
type MUEEntry struct {
	Code  string `json:"code"`
	Units int64  `json:"units"`
}

// TableVersion is a registered reference table version.
type TableVersion struct {
	Kind      string `json:"kind"`
	Version   string `json:"version"`
	Effective string `json:"effective"`
	Entries   int64  `json:"entries"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	Height    int64  `json:"height"`
}

// Coverage is a member's coverage under one of the insurer's policies.
type Coverage struct {
	ID      string `json:"id"`
	Insurer string `json:"insurer"`
	Member  string `json:"member" doc:"the patient's pseudonym"`
	Policy  string `json:"policy"`
	Start   string `json:"start"`
	End     string `json:"end"`
	Height  int64  `json:"height"`
}

// Accumulator is what a member has paid in a calendar year.
type Accumulator struct {
	DeductibleMet int64 `json:"deductible_met"`
	OOPMet        int64 `json:"oop_met"`
}

// Edit is what the ledger found for a line before the rules ran: an NCCI
// edit, a duplicate. Recorded in the claim so the decision replays.
type Edit struct {
	Line      int64  `json:"line"`
	Kind      string `json:"kind" doc:"mue, ptp, duplicate, cross_payer_duplicate, suspended_practitioner, limit"`
	With      string `json:"with,omitempty"`      // ptp: the column-1 code
	Indicator int64  `json:"indicator,omitempty"` // ptp
	Cap       int64  `json:"cap,omitempty"`       // mue
	Prior     bool   `json:"prior,omitempty"`     // ptp: the column-1 code is on an earlier claim
}

// Inputs are what the ledger read for a claim: with the claim and the
// policy version, all a replay needs.
type Inputs struct {
	Member   MemberInput   `json:"member"`
	Provider ProviderInput `json:"provider"`
	Edits    []Edit        `json:"edits"`
}

// Line is a claim line and its decision.
type Line struct {
	N            int64    `json:"n"`
	Code         string   `json:"code"`
	Modifiers    []string `json:"modifiers,omitempty"`
	Units        int64    `json:"units"`
	Charge       int64    `json:"charge"`
	Dx           []string `json:"dx"`
	Outcome      string   `json:"outcome"`
	Reasons      []string `json:"reasons"`
	Rule         string   `json:"rule,omitempty"` // the rule or edit that decided
	Allowed      int64    `json:"allowed"`
	Deductible   int64    `json:"deductible"`
	Coinsurance  int64    `json:"coinsurance"`
	PatientShare int64    `json:"patient_share"`
	Payer        int64    `json:"payer"`
	Cost         uint64   `json:"cost"` // CEL cost units spent on the line
	Reviewed     bool     `json:"reviewed,omitempty"`
}

// Step is a claim's status change.
type Step struct {
	Status string `json:"status"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
	By     string `json:"by"`
	Note   string `json:"note,omitempty"`
}

// Claim is a submitted claim and its adjudication.
type Claim struct {
	ID            string   `json:"id"`
	Provider      string   `json:"provider"`
	Practitioner  string   `json:"practitioner,omitempty"`
	Patient       string   `json:"patient"`
	Insurer       string   `json:"insurer"`
	Coverage      string   `json:"coverage"`
	Policy        string   `json:"policy"`
	PolicyVersion int64    `json:"policy_version"`
	RuleSet       string   `json:"rule_set"` // the rule set's hash
	ServiceDate   string   `json:"service_date"`
	Diagnoses     []string `json:"diagnoses"`
	Records       []string `json:"records,omitempty"`
	Lines         []Line   `json:"lines"`
	Status        string   `json:"status"`
	Charge        int64    `json:"charge"`
	Allowed       int64    `json:"allowed"`
	PatientShare  int64    `json:"patient_share"`
	Payer         int64    `json:"payer"`
	Trace         string   `json:"trace"` // SHA-256 of the evaluation trace
	Inputs        Inputs   `json:"inputs"`
	Signals       []string `json:"signals,omitempty"`
	Remittance    string   `json:"remittance,omitempty"`
	Paid          int64    `json:"paid,omitempty"`
	Steps         []Step   `json:"steps"`
	Height        int64    `json:"height"`
}

// Signal is a fraud or error signal, shown to the insurer it concerns and
// the regulator. A cross-payer duplicate names neither the other payer nor
// its claim to the insurer.
type Signal struct {
	Kind     string `json:"kind"`
	Claim    string `json:"claim"`
	Line     int64  `json:"line"`
	Insurer  string `json:"insurer"`
	Provider string `json:"provider"`
	Code     string `json:"code"`
	Detail   string `json:"detail"`
	Time     string `json:"time"`
	Height   int64  `json:"height"`
}

// Bodies.
type (
	Publish struct {
		ID        string  `json:"id" doc:"the policy's id, e.g. careshield-gold"`
		Effective string  `json:"effective" doc:"YYYY-MM-DD: the first date of service it decides"`
		Reason    string  `json:"reason,omitempty" doc:"an amendment's reason"`
		RuleSet   RuleSet `json:"rule_set"`
	}
	Retire struct {
		ID   string `json:"id"`
		From string `json:"from" doc:"YYYY-MM-DD: no claim with a date of service from this day is decided under it"`
	}
	Table struct {
		Kind      string      `json:"kind" doc:"codes, ptp or mue"`
		Version   string      `json:"version" doc:"e.g. 2026Q4"`
		Effective string      `json:"effective" doc:"YYYY-MM-DD"`
		Codes     []CodeEntry `json:"codes,omitempty"`
		PTP       []PTPEntry  `json:"ptp,omitempty"`
		MUE       []MUEEntry  `json:"mue,omitempty"`
	}
	Cover struct {
		ID     string `json:"id" doc:"the coverage (member) id"`
		Member string `json:"member" doc:"the patient's pseudonym at the provider that bills"`
		Policy string `json:"policy"`
		Start  string `json:"start" doc:"YYYY-MM-DD"`
		End    string `json:"end" doc:"YYYY-MM-DD"`
	}
	SubmitLine struct {
		Code      string   `json:"code"`
		Modifiers []string `json:"modifiers,omitempty"`
		Units     int64    `json:"units"`
		Charge    int64    `json:"charge" doc:"cents"`
		Dx        []int64  `json:"dx" doc:"1-based pointers into diagnoses"`
	}
	Submit struct {
		ID           string       `json:"id" doc:"the claim's id, unique on the ledger (prefix it with yours)"`
		Coverage     string       `json:"coverage"`
		Patient      string       `json:"patient" doc:"the patient's pseudonym"`
		Practitioner string       `json:"practitioner,omitempty" doc:"the rendering practitioner (default: the signer, when a practitioner)"`
		ServiceDate  string       `json:"service_date" doc:"YYYY-MM-DD"`
		Diagnoses    []string     `json:"diagnoses" doc:"ICD-10-CM codes"`
		Lines        []SubmitLine `json:"lines"`
		Records      []string     `json:"records,omitempty" doc:"ids of the patient's records that support the claim"`
	}
	ReviewLine struct {
		N       int64  `json:"n"`
		Outcome string `json:"outcome" doc:"covered or denied"`
		Allowed int64  `json:"allowed" doc:"cents (covered)"`
		Reason  string `json:"reason,omitempty" doc:"e.g. CO-50 (denied: required)"`
	}
	Review struct {
		Claim string       `json:"claim"`
		Lines []ReviewLine `json:"lines"`
		Note  string       `json:"note,omitempty"`
	}
	Appeal struct {
		Claim  string `json:"claim"`
		Reason string `json:"reason"`
	}
	Pay struct {
		Claim      string `json:"claim"`
		Remittance string `json:"remittance" doc:"the payment's reference (an EFT trace number)"`
	}
)

var (
	anID      = regexp.MustCompile(`^[A-Za-z0-9-]{3,40}$`)
	aRuleID   = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	aCode     = regexp.MustCompile(`^[A-Z0-9][A-Z0-9.]{1,7}$`)
	aModifier = regexp.MustCompile(`^[A-Z0-9]{2}$`)
	aReason   = regexp.MustCompile(`^(CO|PR|OA|PI)-[A-Z0-9]{1,4}$`)
	aListName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	hex64     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// date parses YYYY-MM-DD.
func date(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && t.Format(time.DateOnly) == s
}

// State keys.
var (
	prefixPolicy     = []byte("clm/p/")   // clm/p/<id> -> PolicyHead
	prefixVersion    = []byte("clm/pv/")  // clm/pv/<id>/<version BE> -> Policy
	prefixTable      = []byte("clm/tv/")  // clm/tv/<kind>/<effective>/<version> -> TableVersion
	prefixCode       = []byte("clm/tc/")  // clm/tc/<system>/<code>/<effective> -> CodeEntry
	prefixPTP        = []byte("clm/tp/")  // clm/tp/<column2>/<effective> -> []PTPEntry (its column-1 partners)
	prefixPTP1       = []byte("clm/tq/")  // clm/tq/<column1>/<effective> -> []PTPEntry (its column-2 partners)
	prefixMUE        = []byte("clm/tm/")  // clm/tm/<code>/<effective> -> MUEEntry
	prefixCoverage   = []byte("clm/cov/") // clm/cov/<id> -> Coverage
	prefixAcc        = []byte("clm/acc/") // clm/acc/<coverage>/<year> -> Accumulator
	prefixClaim      = []byte("clm/c/")   // clm/c/<id> -> Claim
	prefixByInsurer  = []byte("clm/bi/")  // clm/bi/<insurer>/<height BE>/<claim> -> present
	prefixByProvider = []byte("clm/bp/")  // clm/bp/<provider>/<height BE>/<claim>
	prefixByPatient  = []byte("clm/bm/")  // clm/bm/<patient>/<height BE>/<claim>
	prefixQueue      = []byte("clm/q/")   // clm/q/<insurer>/<claim>: pended or appealed
	prefixDup        = []byte("clm/d/")   // clm/d/<hash> -> []dupEntry
	prefixDay        = []byte("clm/day/") // clm/day/<provider>/<patient>/<date> -> []dayEntry
	prefixSignal     = []byte("clm/s/")   // clm/s/<height BE>/<claim>/<n> -> Signal
	prefixSignalIns  = []byte("clm/si/")  // clm/si/<insurer>/<height BE>/<claim>/<n> -> Signal
	prefixEM         = []byte("clm/em/")  // clm/em/<YYYY-MM>/<provider> -> EMCounts
)

func heightKey(prefix []byte, owner string, height int64, rest ...string) []byte {
	k := binary.BigEndian.AppendUint64(append(ledger.Key(prefix, owner), '/'), uint64(height))
	for _, r := range rest {
		k = append(append(k, '/'), r...)
	}
	return k
}

func versionKey(id string, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(ledger.Key(prefixVersion, id), '/'), uint64(v))
}

// dupEntry is one billing of a service the duplicate index holds.
type dupEntry struct {
	Insurer string `json:"insurer"`
	Claim   string `json:"claim"`
	Line    int64  `json:"line"`
}

// dayEntry is one code a provider billed a patient on a day.
type dayEntry struct {
	Code    string `json:"code"`
	Claim   string `json:"claim"`
	Insurer string `json:"insurer"`
}

// dupKey is the duplicate index's key for one service: a hash of the
// patient, provider, date, code and modifiers, so the index names no
// service in clear.
func dupKey(patient, provider, day, code string, modifiers []string) []byte {
	m := slices.Clone(modifiers)
	slices.Sort(m)
	h := sha256.New()
	for _, s := range append([]string{"primum-claims-dup-v1", patient, provider, day, code}, m...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return ledger.Key(prefixDup, hex.EncodeToString(h.Sum(nil)))
}

// get reads a JSON state value, or notFound's error when the key is
// absent (made only then).
func get[T any](r ledger.Reader, k []byte, notFound func() error) (*T, error) {
	var v T
	found, err := ledger.GetJSON(r, k, &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound()
	}
	return &v, nil
}

// GetClaim reads a claim.
func GetClaim(r ledger.Reader, id string) (*Claim, error) {
	return get[Claim](r, ledger.Key(prefixClaim, id), func() error { return ErrUnknownClaim.Wrapf("%q", id) })
}

// GetPolicy reads a policy's head.
func GetPolicy(r ledger.Reader, id string) (*PolicyHead, error) {
	return get[PolicyHead](r, ledger.Key(prefixPolicy, id), func() error { return ErrUnknownPolicy.Wrapf("%q", id) })
}

// GetVersion reads one version of a policy.
func GetVersion(r ledger.Reader, id string, v int64) (*Policy, error) {
	return get[Policy](r, versionKey(id, v), func() error { return ErrUnknownPolicy.Wrapf("%q version %d", id, v) })
}

// GetCoverage reads a coverage.
func GetCoverage(r ledger.Reader, id string) (*Coverage, error) {
	return get[Coverage](r, ledger.Key(prefixCoverage, id), func() error { return ErrUnknownCoverage.Wrapf("%q", id) })
}

// inForce reads the entry under prefix in force on day: the one with the
// latest effective date on or before it (nil when none).
func inForce[T any](r ledger.Reader, prefix []byte, day string) (*T, error) {
	var out *T
	var err error
	scanErr := ledger.Scan(r, prefix, append(slices.Clone(prefix), day...), true, func(_, v []byte) bool {
		var t T
		if err = ledger.DecodeState(v, &t); err == nil {
			out = &t
		}
		return false
	})
	if scanErr != nil {
		return nil, scanErr
	}
	return out, err
}

// LookupCode is a code's entry in force on day (nil: unknown then).
func LookupCode(r ledger.Reader, system, code, day string) (*CodeEntry, error) {
	return inForce[CodeEntry](r, append(ledger.Key(prefixCode, system, code), '/'), day)
}
