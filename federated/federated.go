// Package federated is federated learning on the ledger (SPEC F10): a
// research organisation or hospital defines a model task (logistic
// regression over named features, its hyperparameters, its participating
// custodians); each round, every participant trains on its own data at
// its own site and posts its model as fixed-point integers with its sample
// count; the ledger averages the contributions weighted by samples in
// exact integer arithmetic (FedAvg, McMahan et al. 2017), so that every
// validator holds the same global model bytes and anyone can recompute
// them from the contributions. No dataset leaves its site: the ledger
// sees models and counts, never records.
//
// Integers only on the consensus path: weights are int64 at scale 2^16
// (ScaleBits), the learning rate is in millionths, metrics in parts per
// million. Training and evaluation (train.go) are off-chain, in floats.
//
// Updates are posted in the clear: validators (and the task's readers)
// see each site's model. Secure aggregation (pairwise masks, Bonawitz et
// al. 2017) is not built yet.
package federated

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// Transaction types.
const (
	TypeTask       = "fl.task"
	TypeContribute = "fl.contribute"
	TypeClose      = "fl.close"
)

// ScaleBits is the fixed point of weights: w = W / 2^16.
const ScaleBits = 16

// Limits: every transaction's work is bounded by the transaction.
const (
	MaxFeatures     = 32
	MaxParticipants = 20
	MaxRounds       = 200
	MaxRoundBlocks  = 100_000
	MaxEpochs       = 100
	MaxLearningRate = 10_000_000 // 10.0 in millionths
	MaxClip         = 1<<31 - 1  // |w| < 32768 at scale 2^16
	MaxSamples      = 1_000_000_000
	MaxPPM          = 1_000_000
	MaxTitle        = 200
)

// Task statuses.
const (
	StatusTraining = "training"
	StatusDone     = "done"
)

// Errors of codespace "fl". Codes are stable.
var (
	ErrBadTask         = ledger.NewError("fl", 1, "bad_task", 400, "a task needs an id (3-40 of a-z, 0-9, '-'), a title, 1-32 feature names and a label (a-z, 0-9, '_'), a learning rate (1 to 10,000,000 millionths), local epochs (1-100), a clipping bound (1 to 2^31-1 at scale 2^16), rounds (1-200), a round's length in blocks (1-100,000) and 2-20 participants")
	ErrTaskExists      = ledger.NewError("fl", 2, "task_exists", 409, "a task with this id exists")
	ErrUnknownTask     = ledger.NewError("fl", 3, "unknown_task", 404, "no task with this id")
	ErrBadParticipant  = ledger.NewError("fl", 4, "bad_participant", 400, "a participant must be an active member organisation, named once")
	ErrNotParticipant  = ledger.NewError("fl", 5, "not_participant", 403, "only the task's participants contribute to it")
	ErrWrongRound      = ledger.NewError("fl", 6, "wrong_round", 409, "the contribution is not for the task's open round (the round closed, or the task is done)")
	ErrRoundClosed     = ledger.NewError("fl", 7, "round_closed", 409, "the round's deadline has passed: it takes no more contributions ('fl.close' closes it with whoever contributed)")
	ErrContributed     = ledger.NewError("fl", 8, "already_contributed", 409, "this participant has contributed to this round already")
	ErrWrongDimension  = ledger.NewError("fl", 9, "wrong_dimension", 400, "the update has the wrong number of weights: one per feature and the bias, last")
	ErrOutsideClip     = ledger.NewError("fl", 10, "outside_clip", 400, "a weight is outside the task's clipping bound: clip the update before posting it")
	ErrBadSamples      = ledger.NewError("fl", 11, "bad_samples", 400, "a contribution's sample count is 1 to 1,000,000,000")
	ErrBadEval         = ledger.NewError("fl", 12, "bad_evaluation", 400, "an evaluation needs the holdout's commitment (64 lower-case hex), its size (1 or more) and accuracy and AUC in parts per million (0-1,000,000)")
	ErrRoundOpen       = ledger.NewError("fl", 13, "round_open", 409, "the round is still open: it closes when every participant has contributed, or after its deadline")
	ErrNotOwnerOrParty = ledger.NewError("fl", 14, "not_task_party", 403, "only the task's owner and participants close its rounds")
	ErrUnknownRound    = ledger.NewError("fl", 15, "unknown_round", 404, "no global model for this round (yet)")
	ErrBeyondCohort    = ledger.NewError("fl", 25, "beyond_cohort", 403, "this task trains on consented records: a contribution's samples and holdout together are at most the patients its site declared with records.use (each holding a research consent for the task that names the site)")
	ErrNoTaskStanding  = ledger.NewError("fl", 16, "no_task_standing", 403, "a round's contributions are read by the task's owner, its participants and a regulator")
)

// Task is what the owner defines.
type Task struct {
	ID       string   `json:"id" doc:"3-40 of a-z, 0-9, '-'"`
	Title    string   `json:"title"`
	Features []string `json:"features" doc:"the model's inputs, in order (e.g. age, bmi, sbp, hba1c), standardised at each site"`
	Label    string   `json:"label" doc:"what the model predicts (e.g. diabetes)"`
	// LearningRate is in millionths (100000 = 0.1).
	LearningRate int64 `json:"learning_rate_micro" doc:"the sites' learning rate, in millionths (500000 = 0.5)"`
	LocalEpochs  int64 `json:"local_epochs" doc:"passes over its data each site makes each round (1-100)"`
	// Clip bounds each weight: |W| <= Clip at scale 2^16.
	Clip         int64    `json:"clip" doc:"the bound on each weight at scale 2^16 (327680 = 5.0)"`
	Rounds       int64    `json:"rounds" doc:"how many rounds (1-200)"`
	RoundBlocks  int64    `json:"round_blocks" doc:"a round's deadline, in blocks after it opens"`
	Participants []string `json:"participants" doc:"the member organisations that train (ids, or names on the command line)"`
	// Secure: updates are masked (secure aggregation, secure.go): no one
	// sees a single site's model.
	Secure bool `json:"secure,omitempty" doc:"masked updates: no one, validators included, sees a single site's model"`
	// Consented: the sites train on their own records store, on the
	// records of patients holding a research consent for this task that
	// names the site, declared first with records.use (each patient on
	// their trail); a contribution's samples and holdout together are at
	// most the patients its site declared. The features and the label are
	// then names of RecordFeatures and RecordLabels.
	Consented bool `json:"consented,omitempty" doc:"train on the sites' records of patients with a research consent for this task (declared with records.use, each on their trail); features from: age, bmi, sbp, dbp, hba1c, fpg; label from: diabetes, t1d, htn"`
}

// StudyPrefix marks a learning task's id as a study (records.use,
// research consents): "fl:<task>".
const StudyPrefix = "fl"

// Study says why custodian may not compute on records for task id now
// ("": it may): a consented task, training, that lists it as a
// participant (records' StudyKind).
func Study(r ledger.Reader, id, custodian string, _ time.Time) (string, error) {
	var s State
	if found, err := ledger.GetJSON(r, taskKey(id), &s); err != nil || !found {
		return "no learning task " + id, err
	}
	switch {
	case !s.Consented:
		return "the task does not train on consented records (it was not defined with consented)", nil
	case s.Status != StatusTraining:
		return "the task is " + s.Status, nil
	case !slices.Contains(s.Participants, custodian):
		return "this custodian is not one of the task's participants", nil
	}
	return "", nil
}

// The names a consented task's features and label take: the sites read
// them from their records (internal/flrun knows the FHIR codes and the
// standardisation of each).
var (
	RecordFeatures = []string{"age", "bmi", "sbp", "dbp", "hba1c", "fpg"}
	RecordLabels   = records.StudyConditions
)

// Dim is the model's size: a weight per feature and the bias, last.
func (t *Task) Dim() int { return len(t.Features) + 1 }

// Eval is a participant's evaluation of the previous round's global model
// on its committed holdout.
type Eval struct {
	HoldoutCommitment string `json:"holdout_commitment" doc:"SHA-256 (hex) of the site's holdout set, the same every round"`
	HoldoutSize       int64  `json:"holdout_size"`
	AccuracyPPM       int64  `json:"accuracy_ppm"`
	AUCPPM            int64  `json:"auc_ppm"`
}

// Contribute is a participant's model after its local training.
type Contribute struct {
	Task    string  `json:"task"`
	Round   int64   `json:"round"`
	Samples int64   `json:"samples" doc:"how many training examples the site used"`
	Weights []int64 `json:"weights,omitempty" doc:"the locally trained model at scale 2^16, one per feature, then the bias (plain tasks)"`
	Eval    *Eval   `json:"eval,omitempty" doc:"the site's evaluation of the round's starting global model on its holdout"`
	// Masked and Commitments are a secure task's update (secure.go).
	Masked      []uint64 `json:"masked,omitempty" doc:"secure tasks: samples·weights plus the pair masks, mod 2^64"`
	Commitments []string `json:"commitments,omitempty" doc:"secure tasks: a commitment to the round seed with each peer of the key set, in its order"`
}

// Close closes a round whose deadline has passed.
type Close struct {
	Task  string `json:"task"`
	Round int64  `json:"round"`
}

// State is a task as it stands.
type State struct {
	Task
	Owner  string `json:"owner"`
	Status string `json:"status"`
	// Round is the open round (1-based); Rounds+1 once done.
	Round       int64    `json:"round"`
	Opened      int64    `json:"round_opened_height"`
	Deadline    int64    `json:"round_deadline_height"`
	Contributed []string `json:"contributed" doc:"who has contributed to the open round, sorted"`
	ModelHash   string   `json:"model_hash" doc:"the latest global model's hash"`
	Created     string   `json:"created"`
	Height      int64    `json:"height"`
	// Secure tasks: the posted mask keys, the key set frozen at the first
	// contribution, and a round past its deadline waiting for the
	// survivors' seeds with the sites that dropped out.
	MaskKeys       []SiteKey `json:"mask_keys,omitempty"`
	KeySet         []string  `json:"key_set,omitempty"`
	Dropped        []string  `json:"dropped,omitempty"`
	UnmaskDeadline int64     `json:"unmask_deadline_height,omitempty"`
	Unmasked       int64     `json:"unmasked,omitempty"`
}

// Model is a round's global model: the sample-weighted average of the
// round's contributions (round 0: zeros).
type Model struct {
	Task         string   `json:"task"`
	Round        int64    `json:"round"`
	Weights      []int64  `json:"weights"`
	Hash         string   `json:"hash"`
	Contributors []string `json:"contributors"`
	Samples      int64    `json:"samples"`
	Time         string   `json:"time"`
	Height       int64    `json:"height"`
	// CarriedOver says why a secure round kept the previous model.
	CarriedOver string `json:"carried_over,omitempty"`
}

// Contribution is a participant's posted model, as kept.
type Contribution struct {
	Task        string   `json:"task"`
	Round       int64    `json:"round"`
	Site        string   `json:"site"`
	Samples     int64    `json:"samples"`
	Weights     []int64  `json:"weights,omitempty"`
	Eval        *Eval    `json:"eval,omitempty"`
	Height      int64    `json:"height"`
	Masked      []uint64 `json:"masked,omitempty"`
	Commitments []string `json:"commitments,omitempty"`
	Seeds       []string `json:"seeds,omitempty"`
}

// Account is a participant's contribution record in a task.
type Account struct {
	Task    string `json:"task"`
	Site    string `json:"site"`
	Rounds  int64  `json:"rounds"`
	Samples int64  `json:"samples"`
	// LastEval is its latest evaluation.
	LastEval *Eval `json:"last_eval,omitempty"`
}

var (
	taskID   = regexp.MustCompile(`^[a-z0-9-]{3,40}$`)
	nameRule = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	hex64    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// State keys.
var (
	prefixTask    = []byte("fl/t/") // fl/t/<task> -> State
	prefixModel   = []byte("fl/m/") // fl/m/<task>/<round, 8 bytes BE> -> Model
	prefixContrib = []byte("fl/c/") // fl/c/<task>/<round, 8 bytes BE>/<site> -> Contribution
	prefixAccount = []byte("fl/a/") // fl/a/<task>/<site> -> Account
)

func taskKey(id string) []byte { return append(append([]byte{}, prefixTask...), id...) }
func modelKey(id string, round int64) []byte {
	return binary.BigEndian.AppendUint64(append(append(append([]byte{}, prefixModel...), id...), '/'), uint64(round))
}
func contribPrefix(id string, round int64) []byte {
	return append(binary.BigEndian.AppendUint64(append(append(append([]byte{}, prefixContrib...), id...), '/'), uint64(round)), '/')
}
func contribKey(id string, round int64, site string) []byte {
	return append(contribPrefix(id, round), site...)
}
func accountKey(id, site string) []byte {
	return append(append(append(append([]byte{}, prefixAccount...), id...), '/'), site...)
}

// Get reads a task.
func Get(r ledger.Reader, id string) (*State, error) {
	var s State
	found, err := ledger.GetJSON(r, taskKey(id), &s)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownTask.Wrapf("%q", ledger.Echo(id))
	}
	return &s, nil
}

// GetModel reads a round's global model.
func GetModel(r ledger.Reader, id string, round int64) (*Model, error) {
	var m Model
	found, err := ledger.GetJSON(r, modelKey(id, round), &m)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownRound.Wrapf("%s round %d", ledger.Echo(id), round)
	}
	return &m, nil
}

// Check checks a task's items (validate also checks the participants
// against the state).
func (t *Task) Check() error {
	switch {
	case !taskID.MatchString(t.ID):
		return ErrBadTask.Wrapf("id")
	case t.Title == "" || len(t.Title) > MaxTitle:
		return ErrBadTask.Wrapf("title: 1-%d bytes", MaxTitle)
	case len(t.Features) == 0 || len(t.Features) > MaxFeatures:
		return ErrBadTask.Wrapf("features: 1-%d", MaxFeatures)
	case !nameRule.MatchString(t.Label):
		return ErrBadTask.Wrapf("label")
	case t.LearningRate < 1 || t.LearningRate > MaxLearningRate:
		return ErrBadTask.Wrapf("learning_rate_micro")
	case t.LocalEpochs < 1 || t.LocalEpochs > MaxEpochs:
		return ErrBadTask.Wrapf("local_epochs")
	case t.Clip < 1 || t.Clip > MaxClip:
		return ErrBadTask.Wrapf("clip")
	case t.Rounds < 1 || t.Rounds > MaxRounds:
		return ErrBadTask.Wrapf("rounds")
	case t.RoundBlocks < 1 || t.RoundBlocks > MaxRoundBlocks:
		return ErrBadTask.Wrapf("round_blocks")
	case len(t.Participants) < 2 || len(t.Participants) > MaxParticipants:
		return ErrBadTask.Wrapf("participants: 2-%d", MaxParticipants)
	case t.Secure && len(t.Participants) < MinSecureSites:
		return ErrBadTask.Wrapf("participants: a secure task needs at least %d (with two, each would learn the other's model from the average)", MinSecureSites)
	}
	for i, f := range t.Features {
		if !nameRule.MatchString(f) || slices.Contains(t.Features[:i], f) || f == t.Label {
			return ErrBadTask.Wrapf("features[%d]: a-z, 0-9, '_', each once, not the label", i)
		}
	}
	if t.Consented {
		for i, f := range t.Features {
			if !slices.Contains(RecordFeatures, f) {
				return ErrBadTask.Wrapf("features[%d]: a consented task's features are read from the records: one of %s", i, strings.Join(RecordFeatures, ", "))
			}
		}
		if !slices.Contains(RecordLabels, t.Label) {
			return ErrBadTask.Wrapf("label: a consented task's label is read from the records: one of %s", strings.Join(RecordLabels, ", "))
		}
	}
	for i, p := range t.Participants {
		if slices.Contains(t.Participants[:i], p) {
			return ErrBadParticipant.Wrapf("participants[%d] is named twice", i)
		}
	}
	return nil
}

func (e *Eval) check() error {
	if e == nil {
		return nil
	}
	if !hex64.MatchString(e.HoldoutCommitment) || e.HoldoutSize < 1 || e.HoldoutSize > MaxSamples ||
		e.AccuracyPPM < 0 || e.AccuracyPPM > MaxPPM || e.AUCPPM < 0 || e.AUCPPM > MaxPPM {
		return ErrBadEval
	}
	return nil
}

func create(ctx *ledger.Context, m *Task) error {
	if err := m.Check(); err != nil {
		return err
	}
	for i, p := range m.Participants {
		id, err := identity.Get(ctx.State, p)
		if err != nil {
			if errors.Is(err, ledger.ErrNotFound) {
				return ErrBadParticipant.Wrapf("participants[%d]", i)
			}
			return err
		}
		if id.Kind != ledger.KindOrganisation || id.Status != identity.StatusActive {
			return ErrBadParticipant.Wrapf("participants[%d]", i)
		}
	}
	if b, err := ctx.State.Get(taskKey(m.ID)); err != nil {
		return err
	} else if b != nil {
		return ErrTaskExists.Wrapf("%s", m.ID)
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	zero := &Model{Task: m.ID, Round: 0, Weights: make([]int64, m.Dim()), Contributors: []string{}, Time: now, Height: ctx.Height}
	zero.Hash = ModelHash(m.ID, 0, zero.Weights)
	ledger.SetJSON(ctx.State, modelKey(m.ID, 0), zero)
	s := &State{Task: *m, Owner: ctx.Signer.ID, Status: StatusTraining, Round: 1, Opened: ctx.Height, Deadline: ctx.Height + m.RoundBlocks,
		Contributed: []string{}, ModelHash: zero.Hash, Created: now, Height: ctx.Height}
	ledger.SetJSON(ctx.State, taskKey(m.ID), s)
	ctx.Emit("fl.task", [2]string{"task", m.ID})
	return nil
}

func contribute(ctx *ledger.Context, m *Contribute) error {
	s, err := Get(ctx.State, m.Task)
	if err != nil {
		return err
	}
	site := ctx.Signer.ActsFor()
	if ctx.Signer.Kind != ledger.KindOrganisation || !slices.Contains(s.Participants, site) {
		return ErrNotParticipant.Wrapf("%s", s.ID)
	}
	if s.Status != StatusTraining || m.Round != s.Round {
		return ErrWrongRound.Wrapf("%s is at round %d (%s)", s.ID, s.Round, s.Status)
	}
	if ctx.Height > s.Deadline {
		return ErrRoundClosed.Wrapf("round %d of %s closed at height %d", s.Round, s.ID, s.Deadline)
	}
	if slices.Contains(s.Contributed, site) {
		return ErrContributed.Wrapf("round %d of %s", s.Round, s.ID)
	}
	if m.Samples < 1 || m.Samples > MaxSamples {
		return ErrBadSamples
	}
	if s.Secure {
		if err := checkSecure(s, site, m, ctx.Height); err != nil {
			return err
		}
	} else {
		if len(m.Masked)+len(m.Commitments) > 0 {
			return ErrNotSecure.Wrapf("%s", s.ID)
		}
		if len(m.Weights) != s.Dim() {
			return ErrWrongDimension.Wrapf("%d weights, the task's model has %d", len(m.Weights), s.Dim())
		}
		for i, w := range m.Weights {
			if w > s.Clip || w < -s.Clip {
				return ErrOutsideClip.Wrapf("weights[%d]: |%d| > %d", i, w, s.Clip)
			}
		}
	}
	if err := m.Eval.check(); err != nil {
		return err
	}
	if s.Consented {
		used := m.Samples
		if m.Eval != nil {
			used += m.Eval.HoldoutSize
		}
		declared, err := records.UseCount(ctx.State, StudyPrefix+":"+s.ID, site)
		if err != nil {
			panic(err)
		}
		if used > declared {
			return ErrBeyondCohort.Wrapf("%d samples and holdout, %d patients declared", used, declared)
		}
	}
	ledger.SetJSON(ctx.State, contribKey(s.ID, s.Round, site), Contribution{Task: s.ID, Round: s.Round, Site: site, Samples: m.Samples,
		Weights: m.Weights, Eval: m.Eval, Height: ctx.Height, Masked: m.Masked, Commitments: m.Commitments})
	var a Account
	if _, err := ledger.GetJSON(ctx.State, accountKey(s.ID, site), &a); err != nil {
		return err
	}
	a.Task, a.Site = s.ID, site
	a.Rounds++
	a.Samples += m.Samples
	if m.Eval != nil {
		a.LastEval = m.Eval
	}
	ledger.SetJSON(ctx.State, accountKey(s.ID, site), a)
	i, _ := slices.BinarySearch(s.Contributed, site)
	s.Contributed = slices.Insert(s.Contributed, i, site)
	ctx.Emit("fl.contributed", [2]string{"task", s.ID}, [2]string{"round", fmt.Sprint(s.Round)})
	if !s.Secure && len(s.Contributed) == len(s.Participants) || s.Secure && len(s.Contributed) == len(s.KeySet) {
		return closeRound(ctx, s)
	}
	ledger.SetJSON(ctx.State, taskKey(s.ID), s)
	return nil
}

func closeAfterDeadline(ctx *ledger.Context, m *Close) error {
	s, err := Get(ctx.State, m.Task)
	if err != nil {
		return err
	}
	if ctx.Signer.ActsFor() != s.Owner && ctx.Signer.ID != s.Owner && !slices.Contains(s.Participants, ctx.Signer.ActsFor()) {
		return ErrNotOwnerOrParty.Wrapf("%s", s.ID)
	}
	if s.Status != StatusTraining || m.Round != s.Round {
		return ErrWrongRound.Wrapf("%s is at round %d (%s)", s.ID, s.Round, s.Status)
	}
	if ctx.Height <= s.Deadline {
		return ErrRoundOpen.Wrapf("round %d of %s is open until height %d", s.Round, s.ID, s.Deadline)
	}
	if s.Secure && len(s.Contributed) >= MinSecureSites {
		switch {
		case s.Dropped == nil && len(s.Contributed) < len(s.KeySet):
			// Sites dropped out: the survivors reveal their seeds
			// with them, for another RoundBlocks.
			for _, k := range s.KeySet {
				if !slices.Contains(s.Contributed, k) {
					s.Dropped = append(s.Dropped, k)
				}
			}
			s.UnmaskDeadline = ctx.Height + s.RoundBlocks
			ledger.SetJSON(ctx.State, taskKey(s.ID), s)
			ctx.Emit("fl.unmasking", [2]string{"task", s.ID}, [2]string{"round", fmt.Sprint(s.Round)})
			return nil
		case s.Dropped != nil && ctx.Height <= s.UnmaskDeadline:
			return ErrRoundOpen.Wrapf("round %d of %s waits for the survivors' seeds until height %d", s.Round, s.ID, s.UnmaskDeadline)
		}
	}
	return closeRound(ctx, s)
}

// closeRound averages the open round's contributions into its global
// model (fewer than two: the previous model carries over, so that no
// site's own model is published) and opens the next round,
// or ends the task. It reads the contributions it names: at most
// MaxParticipants.
func closeRound(ctx *ledger.Context, s *State) error {
	cs := make([]Contribution, 0, len(s.Contributed))
	for _, site := range s.Contributed {
		var c Contribution
		found, err := ledger.GetJSON(ctx.State, contribKey(s.ID, s.Round, site), &c)
		if err != nil {
			return err
		}
		if !found {
			panic(fmt.Sprintf("fl: %s round %d names %s's contribution, which is missing", s.ID, s.Round, site))
		}
		cs = append(cs, c)
	}
	var weights []int64
	var samples int64
	carried := ""
	switch {
	case len(cs) == 0:
	case len(cs) == 1:
		// One site's average is its own model: not published.
		carried = "one contribution: a lone site's model is not published"
	case s.Secure && len(cs) < MinSecureSites:
		// Two sites' average tells each the other's model: a secure
		// round needs three, and with fewer no seed is ever asked for
		// (a survivor's reveal would unmask its own update).
		carried = "fewer than three contributions: in a secure task, each of two would learn the other's model"
	case !s.Secure:
		weights, samples = Average(cs, s.Dim())
	case s.Dropped != nil && s.Unmasked < int64(len(cs)):
		carried = "a survivor did not reveal its seeds with the sites that dropped out"
	default:
		sums := secureSum(s, cs)
		for _, c := range cs {
			samples += c.Samples
		}
		for _, v := range sums {
			if v > samples*s.Clip || v < -samples*s.Clip {
				carried, samples = "the unmasked sum is outside the clipping bound", 0
				break
			}
		}
		if carried == "" {
			weights = averageSums(sums, samples)
		}
	}
	if weights == nil {
		prev, err := GetModel(ctx.State, s.ID, s.Round-1)
		if err != nil {
			return err
		}
		weights, samples = prev.Weights, 0
	}
	now := ctx.Time.UTC().Format(time.RFC3339)
	model := &Model{Task: s.ID, Round: s.Round, Weights: weights, Hash: ModelHash(s.ID, s.Round, weights),
		Contributors: slices.Clone(s.Contributed), Samples: samples, Time: now, Height: ctx.Height, CarriedOver: carried}
	ledger.SetJSON(ctx.State, modelKey(s.ID, s.Round), model)
	s.ModelHash = model.Hash
	ctx.Emit("fl.round", [2]string{"task", s.ID}, [2]string{"round", fmt.Sprint(s.Round)})
	s.Round++
	s.Contributed = []string{}
	s.Dropped, s.UnmaskDeadline, s.Unmasked = nil, 0, 0
	s.Opened, s.Deadline = ctx.Height, ctx.Height+s.RoundBlocks
	if s.Round > s.Rounds {
		s.Status = StatusDone
	}
	ledger.SetJSON(ctx.State, taskKey(s.ID), s)
	return nil
}

// Average is the sample-weighted mean of the contributions' weights, in
// exact integer arithmetic: for each weight, S = Σ samples·W and N = Σ
// samples, and the mean is floor((2S + N) / 2N) — the nearest integer,
// halves rounded up. Every node, and anyone with the contributions,
// computes the same integers.
func Average(cs []Contribution, dim int) (weights []int64, samples int64) {
	n := new(big.Int)
	for _, c := range cs {
		n.Add(n, big.NewInt(c.Samples))
	}
	weights = make([]int64, dim)
	s, t := new(big.Int), new(big.Int)
	for j := range weights {
		s.SetInt64(0)
		for _, c := range cs {
			s.Add(s, t.Mul(big.NewInt(c.Samples), big.NewInt(c.Weights[j])))
		}
		weights[j] = nearest(s, n)
	}
	return weights, n.Int64()
}

// nearest is the rounding rule of every average: floor((2S + N) / 2N),
// the nearest integer to S/N with halves rounded up (N > 0; Div is
// Euclidean, the floor for a positive divisor).
func nearest(s, n *big.Int) int64 {
	num := new(big.Int).Lsh(s, 1)
	num.Add(num, n)
	return num.Div(num, new(big.Int).Lsh(n, 1)).Int64()
}

// ModelHash is the hash of a round's global model: SHA-256 over
// "primum/fl/model/v1", the task id, the round and each weight, as 8-byte
// big-endian integers (two's complement), in order.
func ModelHash(task string, round int64, weights []int64) string {
	h := sha256.New()
	h.Write([]byte("primum/fl/model/v1\x00"))
	h.Write([]byte(task))
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(round))
	h.Write(b[:])
	for _, w := range weights {
		binary.BigEndian.PutUint64(b[:], uint64(w))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
