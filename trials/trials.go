// Package trials is the clinical-trial registry on the ledger (SPEC F9): a
// sponsor pre-registers a protocol (the WHO Trial Registration Data Set's
// core items, with a salted commitment to the full document it keeps), every
// amendment is a new version with its reason and block time, and a change
// to the primary outcomes after the first participant was enrolled is
// flagged by the ledger itself (outcome switching, as COMPare measured it).
// Sites enrol pseudonymous participants who hold a research consent for
// them; participants withdraw; the sponsor registers results against the
// registered outcomes, and the ledger scores the reporting.
//
// The ledger holds no health data: conditions and outcomes are the
// protocol's public text, participants are pseudonyms, results are
// summaries with a commitment to the analysis kept off-chain.
package trials

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeRegister = "trials.register"
	TypeAmend    = "trials.amend"
	TypeEnrol    = "trials.enrol"
	TypeWithdraw = "trials.withdraw"
	TypeResults  = "trials.results"
	TypeAnchor   = "trials.anchor"
)

// Limits: every transaction's work is bounded by the transaction.
const (
	MaxVersions        = 100 // amendments of one trial
	MaxPrimary         = 10
	MaxSecondary       = 30
	MaxSites           = 50
	MaxListItems       = 20 // conditions, interventions
	MaxText            = 300
	MaxCriteria        = 2000
	MaxSummary         = 1000
	MaxSampleSize      = 10_000_000
	MaxNotReportedText = 300
	// MaxBatchParticipants bounds the participants one anchored batch
	// names; a batch holds at most anchor.MaxLeaves records.
	MaxBatchParticipants = 100
)

// Trial statuses.
const (
	StatusRecruiting = "recruiting"
	StatusReported   = "reported" // results registered: no more enrolment
)

// Participant statuses.
const (
	ParticipantEnrolled  = "enrolled"
	ParticipantWithdrawn = "withdrawn"
)

// FlagOutcomeSwitched is raised when the primary outcomes change after the
// first enrolment; FlagOutcomeAdded when results report an outcome never
// registered.
const (
	FlagOutcomeSwitched = "primary_outcome_switched"
	FlagOutcomeAdded    = "outcome_added_in_results"
)

// Errors of codespace "trials". Codes are stable.
var (
	ErrMissingItem     = ledger.NewError("trials", 1, "missing_trds_item", 400, "the protocol lacks a required WHO Trial Registration Data Set item")
	ErrBadItem         = ledger.NewError("trials", 2, "bad_trds_item", 400, "a protocol item is malformed or too long")
	ErrBadTrialID      = ledger.NewError("trials", 3, "bad_trial_id", 400, "a trial id is 3-40 characters of A-Z, a-z, 0-9 and '-'")
	ErrTrialExists     = ledger.NewError("trials", 4, "trial_exists", 409, "a trial with this id is already registered")
	ErrUnknownTrial    = ledger.NewError("trials", 5, "unknown_trial", 404, "no trial with this id")
	ErrNotSponsor      = ledger.NewError("trials", 6, "not_sponsor", 403, "only the trial's sponsor may amend it or register its results")
	ErrTrialClosed     = ledger.NewError("trials", 7, "trial_closed", 409, "the trial's results are registered: it takes no more amendments or enrolments")
	ErrTooManyVersions = ledger.NewError("trials", 8, "too_many_versions", 409, "a trial has at most 100 versions")
	ErrNotSite         = ledger.NewError("trials", 9, "not_a_site", 403, "only an organisation the protocol names as a site (or its practitioners) may enrol or withdraw participants")
	ErrNoConsent       = ledger.NewError("trials", 10, "no_research_consent", 403, "the participant holds no research consent for the enrolling site: they grant it first (purpose research, scope this study or all records)")
	ErrNotPatient      = ledger.NewError("trials", 11, "unknown_participant", 404, "the participant is not a registered patient")
	ErrEnrolled        = ledger.NewError("trials", 12, "already_enrolled", 409, "the participant is already enrolled in this trial")
	ErrNotEnrolled     = ledger.NewError("trials", 13, "not_enrolled", 409, "the participant is not enrolled in this trial (or has withdrawn)")
	ErrUnknownOutcome  = ledger.NewError("trials", 14, "unknown_outcome", 400, "results name an outcome id the protocol does not register: report it under added")
	ErrBadSite         = ledger.NewError("trials", 15, "bad_site", 400, "a site must be an active member organisation")
	ErrNotYourWithdraw = ledger.NewError("trials", 16, "not_your_participation", 403, "a participant withdraws only themselves; a site withdraws only those it enrolled")
	ErrNoChange        = ledger.NewError("trials", 17, "no_change", 400, "the amendment changes nothing in the protocol")
	ErrWithdrawnData   = ledger.NewError("trials", 18, "participant_withdrawn", 409, "a batch names a participant who has withdrawn (or was never enrolled here): their data is anchored no more")
	ErrBadBatch        = ledger.NewError("trials", 19, "bad_batch", 400, "a batch is a Merkle root (64 lower-case hex), its size (1 to 1,000,000 records) and the participants it holds (1 to 100, each once)")
	ErrUnknownBatch    = ledger.NewError("trials", 20, "unknown_batch", 404, "no batch with this number in this trial")
	ErrNoTrialStanding = ledger.NewError("trials", 21, "no_trial_standing", 403, "a trial's enrolments are read by its sponsor, a regulator, its sites (those they enrolled) and each participant (their own)")
	ErrNoEnrolment     = ledger.NewError("trials", 23, "no_enrolment", 404, "no enrolment with this id that you may read")
	ErrBadSubjectID    = ledger.NewError("trials", 22, "bad_subject_id", 400, "a research subject's id is the trial's id, '.', and the first 16 hex digits of the participant's id")
)

// Outcome is a registered outcome measure.
type Outcome struct {
	ID        string `json:"id" doc:"short id the results refer to: 1-32 of a-z, 0-9, '-'"`
	Measure   string `json:"measure"`
	TimeFrame string `json:"time_frame"`
}

// Protocol is what a sponsor registers: the WHO TRDS core items Primum
// keeps, and the commitment to the full protocol document.
type Protocol struct {
	Title              string    `json:"title"`
	Conditions         []string  `json:"conditions"`
	Interventions      []string  `json:"interventions"`
	Inclusion          string    `json:"inclusion"`
	Exclusion          string    `json:"exclusion"`
	SampleSize         int64     `json:"sample_size"`
	PrimaryOutcomes    []Outcome `json:"primary_outcomes"`
	SecondaryOutcomes  []Outcome `json:"secondary_outcomes,omitempty"`
	Sites              []string  `json:"sites" doc:"member organisation ids that enrol"`
	ProtocolCommitment string    `json:"protocol_commitment" doc:"HMAC-SHA256 (hex) of the full protocol document under a salt the sponsor keeps"`
}

// Flag is something the ledger noticed about a trial.
type Flag struct {
	Kind    string   `json:"kind"`
	Version int64    `json:"version"` // the version that made it (0: the results)
	Time    string   `json:"time"`
	Height  int64    `json:"height"`
	Added   []string `json:"added,omitempty"`
	Dropped []string `json:"dropped,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// Score is the COMPare-style reporting score of a trial's results: of its
// registered outcomes (primary and secondary, as the last version
// registered them), how many were reported, declared not reported with a
// reason, or are missing; how many reported outcomes were never registered.
type Score struct {
	Registered  int64 `json:"registered"`
	Reported    int64 `json:"reported"`
	NotReported int64 `json:"not_reported_with_reason"`
	Missing     int64 `json:"missing"`
	Added       int64 `json:"added"`
	// PrimarySwitched: the primary outcomes changed after enrolment began.
	PrimarySwitched bool `json:"primary_switched"`
}

// Trial is a registered trial as it stands.
type Trial struct {
	ID           string   `json:"id"`
	Sponsor      string   `json:"sponsor"`
	Status       string   `json:"status"`
	Version      int64    `json:"version"`
	Protocol     Protocol `json:"protocol"`
	Registered   string   `json:"registered"` // block time of version 1
	Updated      string   `json:"updated"`
	Height       int64    `json:"height"`
	Enrolled     int64    `json:"enrolled"`      // enrolled now
	EverEnrolled int64    `json:"ever_enrolled"` // enrolled at some time
	Withdrawn    int64    `json:"withdrawn"`
	FirstEnrol   string   `json:"first_enrolment,omitempty"`
	Batches      int64    `json:"batches,omitempty"` // data batches anchored
	Flags        []Flag   `json:"flags"`
	Results      *Results `json:"results,omitempty"`
	Score        *Score   `json:"score,omitempty"`
}

// Version is one version of a trial's protocol, as registered.
type Version struct {
	Trial    string   `json:"trial"`
	Version  int64    `json:"version"`
	Reason   string   `json:"reason,omitempty"`
	Time     string   `json:"time"`
	Height   int64    `json:"height"`
	Protocol Protocol `json:"protocol"`
}

// Participant is one enrolment: a pseudonym and the site.
type Participant struct {
	Trial       string `json:"trial"`
	Participant string `json:"participant"`
	Site        string `json:"site"`
	Status      string `json:"status"`
	Enrolled    string `json:"enrolled"`
	Withdrawn   string `json:"withdrawn,omitempty"`
}

// Reported is one registered outcome's result.
type Reported struct {
	ID                 string `json:"id"`
	Summary            string `json:"summary"`
	AnalysisCommitment string `json:"analysis_commitment" doc:"HMAC-SHA256 (hex) of the analysis under a salt the sponsor keeps"`
}

// NotReported is a registered outcome declared not reported, and why.
type NotReported struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// AddedOutcome is an outcome the results report that the protocol never
// registered.
type AddedOutcome struct {
	ID      string `json:"id"`
	Measure string `json:"measure"`
	Summary string `json:"summary"`
}

// Results are a trial's registered results.
type Results struct {
	Reported    []Reported     `json:"reported"`
	NotReported []NotReported  `json:"not_reported,omitempty"`
	Added       []AddedOutcome `json:"added,omitempty"`
	Time        string         `json:"time,omitempty"`
	Height      int64          `json:"height,omitempty"`
}

// Batch is an anchored batch of case-report records: its Merkle root and
// size (package anchor), the site that holds the records, and how many
// participants it covers (not who: the body named them, the ledger
// checked them, and keeps the count).
type Batch struct {
	Trial        string `json:"trial"`
	Seq          int64  `json:"seq"`
	Site         string `json:"site"`
	Root         string `json:"root"`
	Size         int64  `json:"size"`
	Participants int64  `json:"participants"`
	Time         string `json:"time"`
	Height       int64  `json:"height"`
}

// Bodies.
type (
	Register struct {
		ID       string   `json:"id" doc:"the trial's id, e.g. PRM-2026-0001"`
		Protocol Protocol `json:"protocol"`
	}
	Amend struct {
		ID       string   `json:"id"`
		Reason   string   `json:"reason"`
		Protocol Protocol `json:"protocol" doc:"the whole protocol as amended"`
	}
	Enrol struct {
		Trial       string `json:"trial"`
		Participant string `json:"participant" doc:"the participant's pseudonym (a patient id)"`
	}
	Withdraw struct {
		Trial       string `json:"trial"`
		Participant string `json:"participant"`
	}
	Anchor struct {
		Trial        string   `json:"trial"`
		Root         string   `json:"root" doc:"the batch's Merkle tree head (RFC 9162, SHA-256), hex"`
		Size         int64    `json:"size" doc:"how many records the batch holds"`
		Participants []string `json:"participants" doc:"the participants whose records the batch holds"`
	}
	RegisterResults struct {
		Trial   string `json:"trial"`
		Results `json:"results"`
	}
)

var (
	trialID   = regexp.MustCompile(`^[A-Za-z0-9-]{3,40}$`)
	outcomeID = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	hex64     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex16     = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// State keys.
var (
	prefixTrial       = []byte("tri/t/") // tri/t/<id> -> Trial
	prefixVersion     = []byte("tri/v/") // tri/v/<id>/<version, 8 bytes BE> -> Version
	prefixParticipant = []byte("tri/p/") // tri/p/<id>/<participant> -> Participant
	prefixBatch       = []byte("tri/b/") // tri/b/<id>/<seq, 8 bytes BE> -> Batch
)

func batchKey(id string, seq int64) []byte {
	return binary.BigEndian.AppendUint64(append(append(append([]byte{}, prefixBatch...), id...), '/'), uint64(seq))
}

// GetBatch reads an anchored batch.
func GetBatch(r ledger.Reader, id string, seq int64) (*Batch, error) {
	var b Batch
	found, err := ledger.GetJSON(r, batchKey(id, seq), &b)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownBatch.Wrapf("%s #%d", id, seq)
	}
	return &b, nil
}

func trialKey(id string) []byte { return append(append([]byte{}, prefixTrial...), id...) }
func versionKey(id string, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(append(append([]byte{}, prefixVersion...), id...), '/'), uint64(v))
}
func participantKey(id, p string) []byte {
	return append(append(append(append([]byte{}, prefixParticipant...), id...), '/'), p...)
}

// GetParticipant reads an enrolment (found false when there is none).
func GetParticipant(r ledger.Reader, trial, participant string) (*Participant, bool, error) {
	var p Participant
	found, err := ledger.GetJSON(r, participantKey(trial, participant), &p)
	return &p, found, err
}

// EnrolmentsFor says which of a trial's enrolments caller may read, as a
// filter: every one (the sponsor, acting for itself or through its
// practitioners, and a regulator), a site's own (the organisation the
// protocol names, or its practitioners), a patient's own — or none
// (ErrNoTrialStanding). Who is enrolled where is personal data, even
// under a pseudonym.
func (t *Trial) EnrolmentsFor(caller ledger.Signer) (keep func(*Participant) bool, err error) {
	switch {
	case caller.ID == "":
		return nil, ErrNoTrialStanding
	case caller.IsRegulator(), caller.Kind != ledger.KindPatient && caller.ActsFor() == t.Sponsor:
		return func(*Participant) bool { return true }, nil
	case caller.Kind == ledger.KindPatient:
		return func(p *Participant) bool { return p.Participant == caller.ID }, nil
	case (caller.Kind == ledger.KindOrganisation || caller.Kind == ledger.KindPractitioner) && slices.Contains(t.Protocol.Sites, caller.ActsFor()):
		site := caller.ActsFor()
		return func(p *Participant) bool { return p.Site == site }, nil
	}
	return nil, ErrNoTrialStanding
}

// Enrolments lists the trial's enrolments caller may read, by participant,
// a page at a time (ledger.ScanPage): a patient's is one read.
func Enrolments(r ledger.Reader, t *Trial, caller ledger.Signer, after string, limit int) ([]*Participant, string, error) {
	keep, err := t.EnrolmentsFor(caller)
	if err != nil {
		return nil, "", err
	}
	if caller.Kind == ledger.KindPatient {
		p, found, err := GetParticipant(r, t.ID, caller.ID)
		if err != nil || !found || after != "" {
			return []*Participant{}, "", err
		}
		return []*Participant{p}, "", nil
	}
	page, next, err := ledger.ScanPage(r, append(append(append([]byte{}, prefixParticipant...), t.ID...), '/'), after, limit, keep)
	if page == nil {
		page = []*Participant{}
	}
	return page, next, err
}

// Enrolment reads one enrolment as caller may: one it may not read
// answers as one that does not exist (ErrNoEnrolment, naming nothing), so
// that a site cannot learn who enrolled elsewhere.
func Enrolment(r ledger.Reader, t *Trial, caller ledger.Signer, participant string) (*Participant, error) {
	keep, err := t.EnrolmentsFor(caller)
	if err != nil {
		return nil, err
	}
	p, found, err := GetParticipant(r, t.ID, participant)
	if err != nil {
		return nil, err
	}
	if !found || !keep(p) {
		return nil, ErrNoEnrolment.Wrapf("in %s", t.ID)
	}
	return p, nil
}

// SubjectIDDigits is how many hex digits of the participant's id a
// research subject's id keeps: FHIR ids are at most 64 characters, a
// trial's id up to 40.
const SubjectIDDigits = 16

// SubjectID is an enrolment's id as a FHIR ResearchSubject:
// <trial>.<the participant id's first 16 hex digits>.
func SubjectID(p *Participant) string {
	return p.Trial + "." + p.Participant[:min(SubjectIDDigits, len(p.Participant))]
}

// ParseSubjectID splits a research subject's id into the trial's id and
// the participant id's prefix.
func ParseSubjectID(id string) (trial, prefix string, err error) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 || !trialID.MatchString(id[:i]) || !hex16.MatchString(id[i+1:]) {
		return "", "", ErrBadSubjectID
	}
	return id[:i], id[i+1:], nil
}

// Subject reads the enrolment a research subject's id names, as caller
// may (Enrolment): standing is checked before anything is looked up, at
// most two entries are read under the prefix, and two participants
// sharing it (1 in 2^64 a pair) are refused rather than guessed between —
// every miss with the same answer.
func Subject(r ledger.Reader, caller ledger.Signer, id string) (*Trial, *Participant, error) {
	trial, prefix, err := ParseSubjectID(id)
	if err != nil {
		return nil, nil, err
	}
	t, err := Get(r, trial)
	if err != nil {
		return nil, nil, err
	}
	if _, err := t.EnrolmentsFor(caller); err != nil {
		return nil, nil, err
	}
	var ids []string
	pk := participantKey(t.ID, prefix)
	err = ledger.Scan(r, pk, nil, false, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(pk)-len(prefix):]))
		return len(ids) < 2
	})
	if err != nil {
		return nil, nil, err
	}
	if len(ids) != 1 {
		return nil, nil, ErrNoEnrolment.Wrapf("in %s", t.ID)
	}
	p, err := Enrolment(r, t, caller, ids[0])
	return t, p, err
}

// Get reads a trial.
func Get(r ledger.Reader, id string) (*Trial, error) {
	var t Trial
	found, err := ledger.GetJSON(r, trialKey(id), &t)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownTrial.Wrapf("%q", id)
	}
	return &t, nil
}

// Page lists trials by id from the page token after, up to limit
// (ledger.ScanPage).
func Page(r ledger.Reader, after string, limit int) ([]*Trial, string, error) {
	return ledger.ScanPage[Trial](r, prefixTrial, after, limit, nil)
}

// checkText checks one text item: required or not, at most max bytes, no
// control characters.
func checkText(name, s string, max int, required bool) error {
	if s == "" {
		if required {
			return ErrMissingItem.Wrapf("%s", name)
		}
		return nil
	}
	if len(s) > max {
		return ErrBadItem.Wrapf("%s is longer than %d bytes", name, max)
	}
	if !utf8.ValidString(s) {
		return ErrBadItem.Wrapf("%s is not UTF-8", name)
	}
	for _, c := range s {
		if c < 0x20 && c != '\n' || c == 0x7f {
			return ErrBadItem.Wrapf("%s holds a control character", name)
		}
	}
	return nil
}

func checkOutcomes(name string, os []Outcome, min, max int, seen map[string]bool) error {
	if len(os) < min {
		return ErrMissingItem.Wrapf("%s", name)
	}
	if len(os) > max {
		return ErrBadItem.Wrapf("%s: at most %d", name, max)
	}
	for i, o := range os {
		if !outcomeID.MatchString(o.ID) {
			return ErrBadItem.Wrapf("%s[%d].id: 1-32 of a-z, 0-9, '-'", name, i)
		}
		if seen[o.ID] {
			return ErrBadItem.Wrapf("outcome id %q is used twice", o.ID)
		}
		seen[o.ID] = true
		if err := checkText(fmt.Sprintf("%s[%d].measure", name, i), o.Measure, MaxText, true); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("%s[%d].time_frame", name, i), o.TimeFrame, MaxText, true); err != nil {
			return err
		}
	}
	return nil
}

// Check checks a protocol's items (Validate also checks its sites against
// the state).
func (p *Protocol) Check() error {
	if err := checkText("title", p.Title, MaxText, true); err != nil {
		return err
	}
	for _, l := range []struct {
		name  string
		items []string
	}{{"conditions", p.Conditions}, {"interventions", p.Interventions}} {
		if len(l.items) == 0 {
			return ErrMissingItem.Wrapf("%s", l.name)
		}
		if len(l.items) > MaxListItems {
			return ErrBadItem.Wrapf("%s: at most %d", l.name, MaxListItems)
		}
		for i, s := range l.items {
			if err := checkText(fmt.Sprintf("%s[%d]", l.name, i), s, MaxText, true); err != nil {
				return err
			}
		}
	}
	if err := checkText("inclusion", p.Inclusion, MaxCriteria, true); err != nil {
		return err
	}
	if err := checkText("exclusion", p.Exclusion, MaxCriteria, true); err != nil {
		return err
	}
	if p.SampleSize < 1 || p.SampleSize > MaxSampleSize {
		return ErrMissingItem.Wrapf("sample_size (1 to %d)", MaxSampleSize)
	}
	seen := map[string]bool{}
	if err := checkOutcomes("primary_outcomes", p.PrimaryOutcomes, 1, MaxPrimary, seen); err != nil {
		return err
	}
	if err := checkOutcomes("secondary_outcomes", p.SecondaryOutcomes, 0, MaxSecondary, seen); err != nil {
		return err
	}
	if len(p.Sites) == 0 {
		return ErrMissingItem.Wrapf("sites")
	}
	if len(p.Sites) > MaxSites {
		return ErrBadItem.Wrapf("sites: at most %d", MaxSites)
	}
	if !hex64.MatchString(p.ProtocolCommitment) {
		return ErrMissingItem.Wrapf("protocol_commitment (64 lower-case hex)")
	}
	return nil
}

// validate checks a protocol, and that its sites are active member
// organisations (one read a site).
func validate(r ledger.Reader, p *Protocol) error {
	if err := p.Check(); err != nil {
		return err
	}
	for i, s := range p.Sites {
		if slices.Contains(p.Sites[:i], s) {
			return ErrBadItem.Wrapf("site %s is listed twice", s)
		}
		id, err := identity.Get(r, s)
		if err != nil {
			if errors.Is(err, ledger.ErrNotFound) {
				return ErrBadSite.Wrapf("%q", s)
			}
			return err
		}
		if id.Kind != ledger.KindOrganisation || id.Status != identity.StatusActive {
			return ErrBadSite.Wrapf("%s", s)
		}
	}
	return nil
}

// primaryChanges compares two versions' primary outcomes: ids added,
// dropped, and changed (same id, other measure or time frame), each sorted.
func primaryChanges(old, new []Outcome) (added, dropped, changed []string) {
	byID := map[string]Outcome{}
	for _, o := range old {
		byID[o.ID] = o
	}
	for _, o := range new {
		prev, ok := byID[o.ID]
		switch {
		case !ok:
			added = append(added, o.ID)
		case prev != o:
			changed = append(changed, o.ID)
		}
		delete(byID, o.ID)
	}
	for id := range byID {
		dropped = append(dropped, id)
	}
	slices.Sort(added)
	slices.Sort(dropped)
	slices.Sort(changed)
	return
}

func register(ctx *ledger.Context, m *Register) error {
	if !trialID.MatchString(m.ID) {
		return ErrBadTrialID.Wrapf("%q", ledger.Echo(m.ID))
	}
	if err := validate(ctx.State, &m.Protocol); err != nil {
		return err
	}
	if b, err := ctx.State.Get(trialKey(m.ID)); err != nil {
		return err
	} else if b != nil {
		return ErrTrialExists.Wrapf("%s", m.ID)
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	t := &Trial{ID: m.ID, Sponsor: ctx.Signer.ID, Status: StatusRecruiting, Version: 1, Protocol: m.Protocol,
		Registered: now, Updated: now, Height: ctx.Height, Flags: []Flag{}}
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ledger.SetJSON(ctx.State, versionKey(t.ID, 1), Version{Trial: t.ID, Version: 1, Time: now, Height: ctx.Height, Protocol: m.Protocol})
	ctx.Emit("trials.registered", [2]string{"trial", t.ID})
	return nil
}

func ownTrial(ctx *ledger.Context, id string) (*Trial, error) {
	t, err := Get(ctx.State, id)
	if err != nil {
		return nil, err
	}
	if t.Sponsor != ctx.Signer.ID {
		return nil, ErrNotSponsor.Wrapf("%s", id)
	}
	if t.Status != StatusRecruiting {
		return nil, ErrTrialClosed.Wrapf("%s", id)
	}
	return t, nil
}

func amend(ctx *ledger.Context, m *Amend) error {
	if err := checkText("reason", m.Reason, MaxText, true); err != nil {
		return err
	}
	t, err := ownTrial(ctx, m.ID)
	if err != nil {
		return err
	}
	if t.Version >= MaxVersions {
		return ErrTooManyVersions.Wrapf("%s", m.ID)
	}
	if err := validate(ctx.State, &m.Protocol); err != nil {
		return err
	}
	if protocolEqual(&t.Protocol, &m.Protocol) {
		return ErrNoChange
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	added, dropped, changed := primaryChanges(t.Protocol.PrimaryOutcomes, m.Protocol.PrimaryOutcomes)
	t.Version++
	if t.EverEnrolled > 0 && len(added)+len(dropped)+len(changed) > 0 {
		t.Flags = append(t.Flags, Flag{Kind: FlagOutcomeSwitched, Version: t.Version, Time: now, Height: ctx.Height,
			Added: added, Dropped: dropped, Changed: changed})
		ctx.Emit("trials.flagged", [2]string{"trial", t.ID}, [2]string{"kind", FlagOutcomeSwitched})
	}
	t.Protocol, t.Updated = m.Protocol, now
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ledger.SetJSON(ctx.State, versionKey(t.ID, t.Version), Version{Trial: t.ID, Version: t.Version, Reason: m.Reason, Time: now, Height: ctx.Height, Protocol: m.Protocol})
	ctx.Emit("trials.amended", [2]string{"trial", t.ID})
	return nil
}

func enrol(ctx *ledger.Context, m *Enrol) error {
	t, err := Get(ctx.State, m.Trial)
	if err != nil {
		return err
	}
	if t.Status != StatusRecruiting {
		return ErrTrialClosed.Wrapf("%s", t.ID)
	}
	site := ctx.Signer.ActsFor()
	if !slices.Contains(t.Protocol.Sites, site) {
		return ErrNotSite.Wrapf("%s", t.ID)
	}
	p, err := identity.Get(ctx.State, m.Participant)
	if err != nil {
		if errors.Is(err, ledger.ErrNotFound) {
			return ErrNotPatient
		}
		return err
	}
	if p.Kind != ledger.KindPatient || p.Status != identity.StatusActive {
		return ErrNotPatient
	}
	var prev Participant
	if found, err := ledger.GetJSON(ctx.State, participantKey(t.ID, m.Participant), &prev); err != nil {
		return err
	} else if found && prev.Status == ParticipantEnrolled {
		return ErrEnrolled
	}
	// A research consent in force for the enrolling practitioner or the
	// site, for this study or for all the participant's records.
	c, err := consent.AcceptStudy(ctx.State, ctx.Signer, m.Participant, t.ID, ctx.Time)
	if err != nil {
		return err
	}
	if c == nil {
		return ErrNoConsent
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	ledger.SetJSON(ctx.State, participantKey(t.ID, m.Participant), Participant{Trial: t.ID, Participant: m.Participant, Site: site, Status: ParticipantEnrolled, Enrolled: now})
	t.Enrolled++
	t.EverEnrolled++
	if t.FirstEnrol == "" {
		t.FirstEnrol = now
	}
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ctx.Emit("trials.enrolled", [2]string{"trial", t.ID})
	return nil
}

func withdraw(ctx *ledger.Context, m *Withdraw) error {
	t, err := Get(ctx.State, m.Trial)
	if err != nil {
		return err
	}
	var p Participant
	if found, err := ledger.GetJSON(ctx.State, participantKey(t.ID, m.Participant), &p); err != nil {
		return err
	} else if !found || p.Status != ParticipantEnrolled {
		return ErrNotEnrolled
	}
	self := ctx.Signer.Kind == ledger.KindPatient && ctx.Signer.ID == m.Participant
	if !self && (ctx.Signer.Kind == ledger.KindPatient || ctx.Signer.ActsFor() != p.Site) {
		return ErrNotYourWithdraw
	}
	p.Status, p.Withdrawn = ParticipantWithdrawn, ctx.Time.UTC().Format(time.RFC3339)
	ledger.SetJSON(ctx.State, participantKey(t.ID, m.Participant), p)
	t.Enrolled--
	t.Withdrawn++
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ctx.Emit("trials.withdrawn", [2]string{"trial", t.ID})
	return nil
}

// anchorBatch commits a site's batch of case-report records: only a site
// of the trial, only for participants enrolled there and not withdrawn.
func anchorBatch(ctx *ledger.Context, m *Anchor) error {
	if !hex64.MatchString(m.Root) || m.Size < 1 || m.Size > anchor.MaxLeaves || len(m.Participants) == 0 || len(m.Participants) > MaxBatchParticipants {
		return ErrBadBatch
	}
	t, err := Get(ctx.State, m.Trial)
	if err != nil {
		return err
	}
	site := ctx.Signer.ActsFor()
	if !slices.Contains(t.Protocol.Sites, site) {
		return ErrNotSite.Wrapf("%s", t.ID)
	}
	for i, p := range m.Participants {
		if slices.Contains(m.Participants[:i], p) {
			return ErrBadBatch.Wrapf("participant %d is named twice", i)
		}
		var e Participant
		if found, err := ledger.GetJSON(ctx.State, participantKey(t.ID, p), &e); err != nil {
			return err
		} else if !found || e.Status != ParticipantEnrolled || e.Site != site {
			return ErrWithdrawnData.Wrapf("participant %d", i)
		}
	}
	t.Batches++
	b := Batch{Trial: t.ID, Seq: t.Batches, Site: site, Root: m.Root, Size: m.Size, Participants: int64(len(m.Participants)),
		Time: ctx.Time.UTC().Format(time.RFC3339), Height: ctx.Height}
	ledger.SetJSON(ctx.State, batchKey(t.ID, b.Seq), b)
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ctx.Emit("trials.anchored", [2]string{"trial", t.ID}, [2]string{"seq", strconv.FormatInt(b.Seq, 10)})
	return nil
}

func results(ctx *ledger.Context, m *RegisterResults) error {
	t, err := ownTrial(ctx, m.Trial)
	if err != nil {
		return err
	}
	registered := map[string]bool{}
	for _, o := range append(slices.Clone(t.Protocol.PrimaryOutcomes), t.Protocol.SecondaryOutcomes...) {
		registered[o.ID] = true
	}
	if n := len(m.Reported) + len(m.NotReported) + len(m.Added); n == 0 {
		return ErrMissingItem.Wrapf("results: report, or declare not reported, the registered outcomes")
	} else if n > MaxPrimary+MaxSecondary+MaxListItems {
		return ErrBadItem.Wrapf("results: at most %d entries", MaxPrimary+MaxSecondary+MaxListItems)
	}
	seen := map[string]bool{}
	once := func(id string) error {
		if seen[id] {
			return ErrBadItem.Wrapf("outcome %q appears twice in the results", id)
		}
		seen[id] = true
		return nil
	}
	for i, r := range m.Reported {
		if !registered[r.ID] {
			return ErrUnknownOutcome.Wrapf("%q", ledger.Echo(r.ID))
		}
		if err := once(r.ID); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("reported[%d].summary", i), r.Summary, MaxSummary, true); err != nil {
			return err
		}
		if !hex64.MatchString(r.AnalysisCommitment) {
			return ErrMissingItem.Wrapf("reported[%d].analysis_commitment (64 lower-case hex)", i)
		}
	}
	for i, r := range m.NotReported {
		if !registered[r.ID] {
			return ErrUnknownOutcome.Wrapf("%q", ledger.Echo(r.ID))
		}
		if err := once(r.ID); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("not_reported[%d].reason", i), r.Reason, MaxNotReportedText, true); err != nil {
			return err
		}
	}
	var added []string
	for i, a := range m.Added {
		if !outcomeID.MatchString(a.ID) || registered[a.ID] {
			return ErrBadItem.Wrapf("added[%d].id: a new id of 1-32 of a-z, 0-9, '-' (a registered outcome goes under reported)", i)
		}
		if err := once(a.ID); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("added[%d].measure", i), a.Measure, MaxText, true); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("added[%d].summary", i), a.Summary, MaxSummary, true); err != nil {
			return err
		}
		added = append(added, a.ID)
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	res := m.Results
	res.Time, res.Height = now, ctx.Height
	t.Results = &res
	t.Score = &Score{Registered: int64(len(registered)), Reported: int64(len(m.Reported)), NotReported: int64(len(m.NotReported)),
		Missing: int64(len(registered) - len(m.Reported) - len(m.NotReported)), Added: int64(len(m.Added)),
		PrimarySwitched: slices.ContainsFunc(t.Flags, func(f Flag) bool { return f.Kind == FlagOutcomeSwitched })}
	if len(added) > 0 {
		t.Flags = append(t.Flags, Flag{Kind: FlagOutcomeAdded, Time: now, Height: ctx.Height, Added: added})
		ctx.Emit("trials.flagged", [2]string{"trial", t.ID}, [2]string{"kind", FlagOutcomeAdded})
	}
	t.Status, t.Updated = StatusReported, now
	ledger.SetJSON(ctx.State, trialKey(t.ID), t)
	ctx.Emit("trials.results", [2]string{"trial", t.ID})
	return nil
}

func protocolEqual(a, b *Protocol) bool {
	return a.Title == b.Title && slices.Equal(a.Conditions, b.Conditions) && slices.Equal(a.Interventions, b.Interventions) &&
		a.Inclusion == b.Inclusion && a.Exclusion == b.Exclusion && a.SampleSize == b.SampleSize &&
		slices.Equal(a.PrimaryOutcomes, b.PrimaryOutcomes) && slices.Equal(a.SecondaryOutcomes, b.SecondaryOutcomes) &&
		slices.Equal(a.Sites, b.Sites) && a.ProtocolCommitment == b.ProtocolCommitment
}
