package records

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/ledger"
)

// Use is the body of records.use: a custodian declares the patients whose
// records it uses in a study — "fl:<task>" (a federated learning task) or
// "research:<project>" (a research project) — before its own node
// computes on them. The study must exist, be on consented records and
// name the custodian (a StudyKind says so); each patient must hold a
// research consent in force naming the custodian and that study by its
// id (a consent to all research does not do: a patient agrees to studies
// they know); each gets one entry on their trail ("St Luke's used your
// records in the study fl:t2d-records"), never saying what the study took
// from them. Declaring a patient again changes nothing.
type Use struct {
	Study    string   `json:"study" doc:"fl:<task id> or research:<project id>"`
	Patients []string `json:"patients" doc:"the patients' pseudonyms at this custodian (at most 200)"`
}

// MaxUsePatients bounds one declaration: each patient costs a bounded
// consent look-up (consent.AcceptStudy); a larger cohort takes several.
const MaxUsePatients = 200

// StudyConditions are the conditions a study computed on records names
// (a consented learning task's label, a consented dataset's categories):
// the custodians' nodes find them in the records by their SNOMED CT and
// ICD-10 codes (internal/flrun).
var StudyConditions = []string{"diabetes", "t1d", "htn"}

// OutcomeUsed is the outcome of a trail entry that records a study's use.
const OutcomeUsed = "used"

var (
	ErrUseStudy    = ledger.NewError("records", 28, "bad_study", 400, "a study is fl:<task id> (a federated learning task) or research:<project id> (a research project), ids of 3-40 of a-z, 0-9, '-'")
	ErrUsePatients = ledger.NewError("records", 29, "bad_cohort", 400, "give 1 to 200 distinct patient pseudonyms (ledger ids, 40 hex)")
	ErrNoResearch  = ledger.NewError("records", 30, "no_research_consent", 403,
		"a patient of the list holds no research consent in force naming this custodian and this study by its id: leave them out (their records may not be used)")
	ErrStudyClosed = ledger.NewError("records", 31, "study_not_open", 403,
		"the study is not open to this custodian on consented records")
)

var (
	useStudy  = regexp.MustCompile(`^([a-z]+):([a-z0-9-]{3,40})$`)
	pseudonym = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// A StudyKind is a kind of study records may be used in: the prefix of
// its ids ("fl"), and why custodian may not compute on records for the
// study id (without its prefix) at block time now ("": it may). The
// modules that own studies give theirs (modules.All wires them).
type StudyKind struct {
	Prefix  string
	Refuses func(r ledger.Reader, id, custodian string, now time.Time) (reason string, err error)
}

// State keys of the uses.
var (
	prefixUse      = []byte("recu/")  // recu/<study>/<custodian>/<patient> -> ""
	prefixUseCount = []byte("recuc/") // recuc/<study>/<custodian> -> decimal count
)

func (mod *Module) use(ctx *ledger.Context, m *Use) error {
	parts := useStudy.FindStringSubmatch(m.Study)
	if parts == nil {
		return ErrUseStudy.Wrapf("%s", ledger.Echo(m.Study))
	}
	var kind *StudyKind
	for i := range mod.studies {
		if mod.studies[i].Prefix == parts[1] {
			kind = &mod.studies[i]
		}
	}
	if kind == nil {
		return ErrUseStudy.Wrapf("%s: no such kind of study", ledger.Echo(m.Study))
	}
	if len(m.Patients) == 0 || len(m.Patients) > MaxUsePatients {
		return ErrUsePatients.Wrapf("%d given", len(m.Patients))
	}
	seen := make(map[string]bool, len(m.Patients))
	for i, p := range m.Patients {
		if seen[p] {
			return ErrUsePatients.Wrapf("patients[%d] is named twice", i)
		}
		if !pseudonym.MatchString(p) {
			return ErrUsePatients.Wrapf("patients[%d] is not a pseudonym (a patient's ledger id: 40 lower-case hex)", i)
		}
		seen[p] = true
	}
	custodian := ctx.Signer.ID
	if why, err := kind.Refuses(ctx.State, parts[2], custodian, ctx.Time); err != nil {
		panic(err)
	} else if why != "" {
		return ErrStudyClosed.Wrapf("%s: %s", m.Study, why)
	}
	added := int64(0)
	var missing []string // "patients[i] <pseudonym>", every one without a consent
	for i, p := range m.Patients {
		k := ledger.Key(prefixUse, m.Study, custodian, p)
		if b, err := ctx.State.Get(k); err != nil {
			panic(err)
		} else if b != nil {
			continue
		}
		c, err := consent.NamesStudy(ctx.State, ctx.Signer, p, m.Study, ctx.Time)
		if err != nil {
			panic(err)
		}
		if c == nil {
			missing = append(missing, fmt.Sprintf("patients[%d] %s", i, p))
			continue
		}
		if len(missing) > 0 {
			continue // refused below: write nothing more
		}
		ledger.SetPresent(ctx.State, k)
		sum := sha256.Sum256(slices.Concat(ctx.TxHash[:], []byte(p)))
		a := Access{ID: hex.EncodeToString(sum[:16]), Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339),
			Requester: custodian, RequesterKind: string(ctx.Signer.Kind), Patient: p, Custodian: custodian,
			Purpose: "research", Outcome: OutcomeUsed, Consent: c.ID, Study: m.Study}
		putAccess(ctx.State, a)
		added++
	}
	if len(missing) > 0 {
		shown := missing[:min(len(missing), 5)]
		more := ""
		if len(missing) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(missing)-len(shown))
		}
		return ErrNoResearch.Wrapf("%s%s", strings.Join(shown, ", "), more)
	}
	if added > 0 {
		n, err := UseCount(ctx.State, m.Study, custodian)
		if err != nil {
			panic(err)
		}
		ctx.State.Set(ledger.Key(prefixUseCount, m.Study, custodian), []byte(strconv.FormatInt(n+added, 10)))
	}
	ctx.Emit("records.use", [2]string{"study", m.Study}, [2]string{"custodian", custodian}, [2]string{"added", strconv.FormatInt(added, 10)})
	return nil
}

// UseCount is how many patients custodian has declared for study
// (records.use): the cohort its contributions may draw on. One read.
func UseCount(r ledger.Reader, study, custodian string) (int64, error) {
	b, err := r.Get(ledger.Key(prefixUseCount, study, custodian))
	if err != nil || b == nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, ledger.ErrInternal.Wrapf("use count: %v", err)
	}
	return n, nil
}

// Declared says whether custodian has declared patient for study.
func Declared(r ledger.Reader, study, custodian, patient string) (bool, error) {
	b, err := r.Get(ledger.Key(prefixUse, study, custodian, patient))
	return b != nil, err
}
