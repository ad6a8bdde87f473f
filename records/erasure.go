package records

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
)

// Erasure (GDPR Art. 17) and the custodians' retention duties (Art. 17(3)).
//
// A patient's records.erase reaches at most MaxErasePerTx of their records
// not yet reached, in id order: each moves from the patient's live index
// (recp/) to the reached index (recx/) and becomes erased, or retained when
// its custodian's retention policy holds its category. The Erasure entry
// counts what was done and says whether records remain; the patient sends
// records.erase again until it is complete. A retained record counts as
// erased from the end of its hold (Record.StatusAt): no transaction is
// needed for that, and every node decides it from the block time.

// MaxErasePerTx bounds the records one records.erase reaches, so that its
// work follows the transaction, not how many records the patient has.
const MaxErasePerTx = 500

// RetentionBases are the grounds on which GDPR Art. 17(3) lets a custodian
// keep a record its patient asked to erase: (b) a legal obligation or a
// task in the public interest, (c) public health, (d) archiving in the
// public interest, scientific or historical research or statistics, (e) the
// establishment, exercise or defence of legal claims.
var RetentionBases = []string{"legal_obligation", "public_health", "archiving_research", "legal_claims"}

// MaxRetentionYears bounds a hold.
const MaxRetentionYears = 100

// SetRetention is the body of records.set_retention: the custodian's whole
// policy, replacing the one before (no holds: none).
type SetRetention struct {
	Holds []Hold `json:"holds"`
}

// ParseHold reads a hold as people write it, CATEGORY:BASIS:YEARS
// (medication:legal_obligation:10); CheckHolds judges what it says.
func ParseHold(s string) (Hold, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Hold{}, fmt.Errorf("%q: want CATEGORY:BASIS:YEARS", s)
	}
	years, err := strconv.Atoi(parts[2])
	if err != nil {
		return Hold{}, fmt.Errorf("%q: years must be a whole number", s)
	}
	return Hold{Category: parts[0], Basis: parts[1], Years: years}, nil
}

// CheckHolds validates a retention policy and returns it sorted by
// category: each hold names a category once, a basis and 1 to
// MaxRetentionYears years.
func CheckHolds(holds []Hold) ([]Hold, error) {
	if len(holds) > len(categories) {
		return nil, ErrBadRetention.Wrapf("at most one hold per category (%d)", len(categories))
	}
	out := slices.Clone(holds)
	slices.SortFunc(out, func(a, b Hold) int { return strings.Compare(a.Category, b.Category) })
	for i, h := range out {
		switch {
		case !slices.Contains(categories, h.Category):
			return nil, ErrBadCategory.Wrapf("%q", h.Category)
		case i > 0 && out[i-1].Category == h.Category:
			return nil, ErrBadRetention.Wrapf("category %q has two holds", h.Category)
		case !slices.Contains(RetentionBases, h.Basis):
			return nil, ErrBadRetention.Wrapf("basis %q", h.Basis)
		case h.Years < 1 || h.Years > MaxRetentionYears:
			return nil, ErrBadRetention.Wrapf("%d years for %q", h.Years, h.Category)
		}
	}
	return out, nil
}

func setRetention(ctx *ledger.Context, m *SetRetention) error {
	holds, err := CheckHolds(m.Holds)
	if err != nil {
		return err
	}
	if len(holds) == 0 {
		ctx.State.Delete(ledger.Key(prefixRetention, ctx.Signer.ID))
	} else {
		ledger.SetJSON(ctx.State, ledger.Key(prefixRetention, ctx.Signer.ID), Retention{Custodian: ctx.Signer.ID, Holds: holds,
			Height: ctx.Height, Time: stamp(ctx.Time)})
	}
	ctx.Emit("records.retention_set", [2]string{"custodian", ctx.Signer.ID}, [2]string{"holds", strconv.Itoa(len(holds))})
	return nil
}

// holdOf is the hold p puts on rec at block time now: its end (RFC 3339)
// and basis, or "" when p does not hold the record's category or the hold
// has already ended.
func (p *Retention) holdOf(rec *Record, now time.Time) (until, basis string, err error) {
	if p == nil {
		return "", "", nil
	}
	i := slices.IndexFunc(p.Holds, func(h Hold) bool { return h.Category == rec.Category })
	if i < 0 {
		return "", "", nil
	}
	registered, err := time.Parse(time.RFC3339, rec.Registered)
	if err != nil {
		return "", "", ledger.ErrInternal.Wrapf("record %s: registration time %q", rec.ID, rec.Registered)
	}
	// Calendar years from the registration block's time: integer date
	// arithmetic, the same on every node.
	until = stamp(registered.AddDate(p.Holds[i].Years, 0, 0))
	if stamp(now) >= until {
		return "", "", nil
	}
	return until, p.Holds[i].Basis, nil
}

// firstLive lists up to n ids of the patient's records no erasure has
// reached, and whether there are more.
func firstLive(r ledger.Reader, patient string, n int) (ids []string, more bool, err error) {
	prefix := ledger.Key(prefixByPatient, patient, "")
	err = r.Iterate(prefix, func(key, _ []byte) bool {
		if len(ids) == n {
			more = true
			return false
		}
		ids = append(ids, string(key[len(prefix):]))
		return true
	})
	return ids, more, err
}

func erase(ctx *ledger.Context, m *Erase) error {
	patient := ctx.Signer.ID
	ids, more, err := firstLive(ctx.State, patient, MaxErasePerTx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return ErrNothingToErase
	}
	e, err := GetErasure(ctx.State, patient)
	if err != nil {
		return err
	}
	if e == nil {
		e = &Erasure{Patient: patient, Custodians: []string{}}
	}
	if e.Height == 0 || e.Complete {
		// A new request: the first, or one for records registered since
		// the last was complete. The counts go on from the last.
		e.Height, e.Time, e.Complete, e.CompleteHeight = ctx.Height, stamp(ctx.Time), false, 0
	}
	policies := map[string]*Retention{} // looked up, never iterated
	erased, retained := 0, 0
	for _, id := range ids {
		rec, err := Get(ctx.State, id)
		if err != nil {
			return err
		}
		ctx.State.Delete(ledger.Key(prefixByPatient, patient, id))
		ledger.SetPresent(ctx.State, ledger.Key(prefixErasedBy, patient, id))
		if rec.Status != StatusStored {
			continue // erased before erasures were bounded: only its index moves
		}
		p, seen := policies[rec.Custodian]
		if !seen {
			if p, err = GetRetention(ctx.State, rec.Custodian); err != nil {
				return err
			}
			policies[rec.Custodian] = p
		}
		until, basis, err := p.holdOf(rec, ctx.Time)
		if err != nil {
			return err
		}
		if until != "" {
			rec.Status, rec.RetainedUntil, rec.RetentionBasis = StatusRetained, until, basis
			ledger.SetPresent(ctx.State, ledger.Key(prefixHoldEnd, until, id))
			retained++
		} else {
			rec.Status, rec.ErasedAt = StatusErased, ctx.Height
			erased++
		}
		ledger.SetJSON(ctx.State, ledger.Key(prefixRecord, id), rec)
		if i, found := slices.BinarySearch(e.Custodians, rec.Custodian); !found {
			e.Custodians = slices.Insert(e.Custodians, i, rec.Custodian)
		}
	}
	e.Records += erased
	e.Retained += retained
	if !more {
		e.Complete, e.CompleteHeight = true, ctx.Height
	}
	ledger.SetJSON(ctx.State, ledger.Key(prefixErasure, patient), e)
	ctx.Emit("records.erased", [2]string{"patient", patient}, [2]string{"records", strconv.Itoa(erased)},
		[2]string{"retained", strconv.Itoa(retained)}, [2]string{"complete", strconv.FormatBool(e.Complete)})
	return nil
}

// Erasure states (ErasureStatus.State).
const (
	ErasureNone       = "none"
	ErasureInProgress = "in_progress"
	ErasureComplete   = "complete"
)

// ErasureStatus is what a patient is shown of their erasure request.
type ErasureStatus struct {
	Patient string   `json:"patient"`
	State   string   `json:"state"` // ErasureNone, ErasureInProgress or ErasureComplete
	Request *Erasure `json:"request,omitempty"`
	// Erased counts the patient's records erased now, those whose hold has
	// ended included.
	Erased int `json:"erased"`
	// Retained are the records kept under a retention duty, with when the
	// hold ends and its basis.
	Retained []*Record `json:"retained"`
	// Remaining counts the records no erasure has reached: not yet, or
	// registered since the last one was complete.
	Remaining int `json:"remaining"`
}

// StatusOf is a patient's erasure status at block time now. It lists the
// patient's records: a query, never a transaction handler.
func StatusOf(r ledger.Reader, patient string, now time.Time) (*ErasureStatus, error) {
	e, err := GetErasure(r, patient)
	if err != nil {
		return nil, err
	}
	recs, err := OfPatient(r, patient)
	if err != nil {
		return nil, err
	}
	s := &ErasureStatus{Patient: patient, State: ErasureNone, Request: e, Retained: []*Record{}}
	switch {
	case e == nil:
	case e.Complete:
		s.State = ErasureComplete
	default:
		s.State = ErasureInProgress
	}
	for _, rec := range recs {
		switch rec.StatusAt(now) {
		case StatusErased:
			s.Erased++
		case StatusRetained:
			s.Retained = append(s.Retained, rec)
		default:
			s.Remaining++
		}
	}
	return s, nil
}

// IsErased reports whether the ledger says a record is erased at block time
// t (a retained record whose hold has ended is); a record the ledger does
// not know is not.
func IsErased(r ledger.Reader, id string, t time.Time) (bool, error) {
	rec, err := Get(r, id)
	if err != nil {
		if ledger.AsError(err) == ledger.ErrNotFound {
			return false, nil
		}
		return false, err
	}
	return rec.StatusAt(t) == StatusErased, nil
}

// EndedHolds lists the records whose retention hold ended after block time
// after (zero: from the first) and by upTo, in the order the holds ended:
// what a custodian's node erases as blocks pass. It reads what it returns.
func EndedHolds(r ledger.Reader, after, upTo time.Time) ([]string, error) {
	var start []byte
	from, to := "", stamp(upTo)
	if !after.IsZero() {
		from = stamp(after)
		start = ledger.Key(prefixHoldEnd, from, "")
	}
	var ids []string
	err := ledger.Scan(r, prefixHoldEnd, start, false, func(key, _ []byte) bool {
		until, id, _ := strings.Cut(string(key[len(prefixHoldEnd):]), "/")
		if until > to {
			return false
		}
		if until > from {
			ids = append(ids, id)
		}
		return true
	})
	return ids, err
}
