package records

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers state.go

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
)

// State keys owned by this module. Their layout is part of the app hash.
var (
	prefixRecord    = []byte("rec/")  // rec/<id> -> Record
	prefixByPatient = []byte("recp/") // recp/<patient>/<id> -> "" (records not yet reached by an erasure)
	prefixErasedBy  = []byte("recx/") // recx/<patient>/<id> -> "" (records an erasure reached: erased or retained)
	prefixHoldEnd   = []byte("reth/") // reth/<retained until, RFC 3339>/<id> -> "" (retained records, by the end of their hold)
	prefixRetention = []byte("ret/")  // ret/<custodian> -> Retention
	prefixEndpoint  = []byte("ep/")   // ep/<org> -> endpoint URL
	prefixAccess    = []byte("acc/")  // acc/<id> -> Access
	prefixAccByPat  = []byte("accp/") // accp/<patient>/<height:020>/<id> -> ""
	prefixAccAll    = []byte("acct/") // acct/<height:020>/<id> -> ""
	prefixNonce     = []byte("accn/") // accn/<requester>/<nonce> -> "" (replay guard)
	prefixCase      = []byte("case/") // case/<id> -> Case
	prefixErasure   = []byte("era/")  // era/<patient> -> Erasure
)

func heightPart(h int64) string { return fmt.Sprintf("%020d", h) }

// Record statuses.
const (
	StatusStored = "stored"
	StatusErased = "erased"
	// StatusRetained is a record the patient asked to erase that its
	// custodian keeps under a retention duty (GDPR Art. 17(3)) until
	// RetainedUntil; from then on it counts as erased (Record.StatusAt).
	StatusRetained = "retained"
)

// Record is a record's entry in the index.
//
//easyjson:json
type Record struct {
	ID         string `json:"id"`
	Patient    string `json:"patient"`
	Custodian  string `json:"custodian"`
	Category   string `json:"category"`
	Commitment string `json:"commitment"`
	Registered string `json:"registered"` // block time, RFC 3339
	Height     int64  `json:"height"`
	Status     string `json:"status"`
	ErasedAt   int64  `json:"erased_height,omitempty"`
	// A retained record: the end of the hold (block time, RFC 3339) and
	// its basis (a RetentionBases code).
	RetainedUntil  string `json:"retained_until,omitempty"`
	RetentionBasis string `json:"retention_basis,omitempty"`
}

// StatusAt is the record's status at block time t: a retained record whose
// hold has ended counts as erased. It reads nothing but the record, so every
// node decides it alike from the block time.
func (r *Record) StatusAt(t time.Time) string {
	if r.Status == StatusRetained && stamp(t) >= r.RetainedUntil {
		return StatusErased
	}
	return r.Status
}

// AsOf is the record as it stands at block time t (see StatusAt), for
// answers; the state keeps it as it was written.
func (r *Record) AsOf(t time.Time) *Record {
	if s := r.StatusAt(t); s != r.Status {
		c := *r
		c.Status = s
		return &c
	}
	return r
}

// stamp is a block time as the state writes it: RFC 3339 in UTC, whole
// seconds, so that two stamps compare as strings in time order.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Outcomes of an access.
const (
	Granted = "granted"
	Refused = "refused"
)

// Access is one entry of the access log.
//
//easyjson:json
type Access struct {
	ID              string `json:"id"`
	Height          int64  `json:"height"`
	Time            string `json:"time"`
	Requester       string `json:"requester"`
	RequesterKind   string `json:"requester_kind"`
	RequesterOrg    string `json:"requester_org,omitempty"`
	Patient         string `json:"patient"`
	Record          string `json:"record"`
	Custodian       string `json:"custodian"`
	Category        string `json:"category"`
	Purpose         string `json:"purpose"`
	Outcome         string `json:"outcome"`
	Refusal         string `json:"refusal,omitempty"` // stable code of the reason
	Consent         string `json:"consent,omitempty"`
	Emergency       bool   `json:"emergency,omitempty"`
	EmergencyReason string `json:"emergency_reason,omitempty"`
	// Study is the study a records.use entry names (Outcome "used",
	// Purpose "research", no Record): the patient's records at Custodian
	// contributed to it.
	Study string `json:"study,omitempty"`
	// KeyDigest binds a grant to the requester's one-time encryption key:
	// the custodian releases the record only to that key.
	KeyDigest string `json:"key_digest"`
}

// Case is a second-opinion case.
//
//easyjson:json
type Case struct {
	ID            string   `json:"id"`
	Patient       string   `json:"patient"`
	Requester     string   `json:"requester"`
	Specialist    string   `json:"specialist"`
	Records       []string `json:"records"`
	Consents      []string `json:"consents"`
	Shared        string   `json:"shared"`
	Height        int64    `json:"height"`
	Opinion       string   `json:"opinion,omitempty"` // record id
	OpinionCommit string   `json:"opinion_commitment,omitempty"`
	OpinionHeight int64    `json:"opinion_height,omitempty"`
}

// Erasure records a patient's erasure request and how far it has come:
// each records.erase reaches at most MaxErasePerTx records.
//
//easyjson:json
type Erasure struct {
	Patient string `json:"patient"`
	// Height and Time are the request: the transaction that started it.
	Height int64  `json:"height"`
	Time   string `json:"time"`
	// Records is how many records it erased at once; Retained how many it
	// left to their custodians' retention holds.
	Records    int      `json:"records"`
	Retained   int      `json:"retained,omitempty"`
	Custodians []string `json:"custodians"` // of the records it reached, sorted
	// Complete says every record of the patient has been reached; until
	// then the patient (or their portal) sends records.erase again.
	Complete       bool  `json:"complete"`
	CompleteHeight int64 `json:"complete_height,omitempty"`
}

// Retention is a custodian's retention policy: for some categories, how
// long after registration it must keep a record although its patient asked
// for erasure, and on which basis.
//
//easyjson:json
type Retention struct {
	Custodian string `json:"custodian"`
	Holds     []Hold `json:"holds"` // one per category, sorted by category
	Height    int64  `json:"height"`
	Time      string `json:"time"`
}

// Hold is one category's retention duty.
type Hold struct {
	Category string `json:"category"`
	Basis    string `json:"basis"` // a RetentionBases code
	Years    int    `json:"years"` // after the record's registration
}

func getJSON[T any](r ledger.Reader, key []byte, what, id string) (*T, error) {
	var v T
	found, err := ledger.GetJSON(r, key, &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ledger.ErrNotFound.Wrapf("no %s %q", what, id)
	}
	return &v, nil
}

// Get reads a record's index entry.
func Get(r ledger.Reader, id string) (*Record, error) {
	return getJSON[Record](r, ledger.Key(prefixRecord, id), "record", id)
}

// GetAccess reads an access entry.
func GetAccess(r ledger.Reader, id string) (*Access, error) {
	return getJSON[Access](r, ledger.Key(prefixAccess, id), "access entry", id)
}

// GetCase reads a case.
func GetCase(r ledger.Reader, id string) (*Case, error) {
	return getJSON[Case](r, ledger.Key(prefixCase, id), "case", id)
}

// GetErasure reads a patient's erasure, if any (nil when none).
func GetErasure(r ledger.Reader, patient string) (*Erasure, error) {
	e, err := getJSON[Erasure](r, ledger.Key(prefixErasure, patient), "erasure", patient)
	if err != nil && ledger.AsError(err) == ledger.ErrNotFound {
		return nil, nil
	}
	return e, err
}

// Erasures lists every erasure request on the ledger.
func Erasures(r ledger.Reader) ([]*Erasure, error) {
	return ledger.Indexed(r, prefixErasure, func(r ledger.Reader, patient string) (*Erasure, error) {
		return getJSON[Erasure](r, ledger.Key(prefixErasure, patient), "erasure", patient)
	})
}

// Endpoint is where an organisation's record service answers ("" if it
// never said).
func Endpoint(r ledger.Reader, org string) (string, error) {
	b, err := r.Get(ledger.Key(prefixEndpoint, org))
	return string(b), err
}

// OfPatient lists a patient's records at every custodian, those an erasure
// has reached included, by id.
func OfPatient(r ledger.Reader, patient string) ([]*Record, error) {
	live, err := ledger.Indexed(r, ledger.Key(prefixByPatient, patient, ""), Get)
	if err != nil {
		return nil, err
	}
	reached, err := ledger.Indexed(r, ledger.Key(prefixErasedBy, patient, ""), Get)
	if err != nil {
		return nil, err
	}
	out := append(live, reached...)
	slices.SortFunc(out, func(a, b *Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// OfPatientPage lists a patient's records at every custodian, those an
// erasure has reached included, by id from the page token after (a record
// id; "": from the first), keeping those keep accepts (nil: all), up to
// limit, examining at most ledger.MaxPageScan. next is the token of the
// following page ("": none). It walks the patient's two indexes (records
// not yet reached by an erasure, and reached) side by side from after:
// a page costs what it examines, however many records the patient has.
func OfPatientPage(r ledger.Reader, patient, after string, limit int, keep func(*Record) bool) (page []*Record, next string, err error) {
	var errs [2]error
	ids := func(i int, prefix []byte) iter.Seq[string] {
		var start []byte
		if after != "" {
			start = append(append([]byte{}, prefix...), after...)
		}
		return func(yield func(string) bool) {
			errs[i] = ledger.Scan(r, prefix, start, false, func(k, _ []byte) bool { return yield(string(k[len(prefix):])) })
		}
	}
	live, stopLive := iter.Pull(ids(0, ledger.Key(prefixByPatient, patient, "")))
	reached, stopReached := iter.Pull(ids(1, ledger.Key(prefixErasedBy, patient, "")))
	a, okA := live()
	b, okB := reached()
	for scanned := 0; okA || okB; scanned++ {
		var id string
		if okB && (!okA || b < a) {
			id = b
			b, okB = reached()
		} else {
			id = a
			a, okA = live()
		}
		if scanned == ledger.MaxPageScan || len(page) == limit {
			next = id
			break
		}
		var rec *Record
		if rec, err = Get(r, id); err != nil {
			break
		}
		if keep == nil || keep(rec) {
			page = append(page, rec)
		}
	}
	stopLive()
	stopReached()
	if err = errors.Join(err, errs[0], errs[1]); err != nil {
		return nil, "", err
	}
	return page, next, nil
}

// GetRetention reads a custodian's retention policy (nil when it has none).
func GetRetention(r ledger.Reader, custodian string) (*Retention, error) {
	p, err := getJSON[Retention](r, ledger.Key(prefixRetention, custodian), "retention policy", custodian)
	if err != nil && ledger.AsError(err) == ledger.ErrNotFound {
		return nil, nil
	}
	return p, err
}

// putAccess writes a trail entry and its two indexes: by patient and
// height (the patient's trail), and by height (the regulator's audit).
func putAccess(w ledger.Writer, a Access) {
	ledger.SetJSON(w, ledger.Key(prefixAccess, a.ID), a)
	ledger.SetPresent(w, ledger.Key(prefixAccByPat, a.Patient, heightPart(a.Height), a.ID))
	ledger.SetPresent(w, ledger.Key(prefixAccAll, heightPart(a.Height), a.ID))
}

// TrailOf lists the access entries about a patient's records, oldest
// first, all of them (for tests and tools: queries page, AccessPage).
func TrailOf(r ledger.Reader, patient string) ([]*Access, error) {
	return ledger.Indexed(r, ledger.Key(prefixAccByPat, patient, ""), lastPart(GetAccess))
}

// Trail lists every access entry, oldest first.
func Trail(r ledger.Reader) ([]*Access, error) {
	return ledger.Indexed(r, prefixAccAll, lastPart(GetAccess))
}

// AccessPage lists access entries from the page token after ("": from
// the oldest, or with newestFirst the newest), keeping those keep accepts
// (nil: all), up to limit, examining at most ledger.MaxPageScan entries:
// those about one patient's records, or with patient "" every patient's.
// next is the token of the following page ("": none). A page costs what it
// examines, wherever it starts (ledger.IndexedPage).
func AccessPage(r ledger.Reader, patient, after string, newestFirst bool, limit int, keep func(*Access) bool) (page []*Access, next string, err error) {
	prefix := prefixAccAll
	if patient != "" {
		prefix = ledger.Key(prefixAccByPat, patient, "")
	}
	return ledger.IndexedPage(r, prefix, after, newestFirst, limit, lastPart(GetAccess), keep)
}

// lastPart adapts a getter to index keys ending in "/<id>".
func lastPart[T any](get func(ledger.Reader, string) (*T, error)) func(ledger.Reader, string) (*T, error) {
	return func(r ledger.Reader, rest string) (*T, error) {
		for i := len(rest) - 1; i >= 0; i-- {
			if rest[i] == '/' {
				return get(r, rest[i+1:])
			}
		}
		return get(r, rest)
	}
}

// CasesPage lists cases in id order from the page token after, keeping
// those keep accepts (ledger.ScanPage).
func CasesPage(r ledger.Reader, after string, limit int, keep func(*Case) bool) ([]*Case, string, error) {
	return ledger.ScanPage(r, prefixCase, after, limit, keep)
}
