package supply_test

import (
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// countingState counts the state reads a transaction makes (each Get, and
// each key a listing returns).
type countingState struct {
	ledger.Writer
	reads int
}

func (c *countingState) Get(key []byte) ([]byte, error) { c.reads++; return c.Writer.Get(key) }
func (c *countingState) Iterate(prefix []byte, fn func(key, value []byte) bool) error {
	return c.Writer.Iterate(prefix, func(k, v []byte) bool { c.reads++; return fn(k, v) })
}

// TestTakingOutOfABigContainerIsCheap: taking cases out of a pallet that
// holds many costs reads in proportion to what is taken out, not to what
// the pallet holds. (Recomputing the pallet's nesting levels on each
// removal listed and read every case in it, once per case removed: a
// decommission of 1,000 cases out of 4,000 took 12-20 s in a block.)
func TestTakingOutOfABigContainerIsCheap(t *testing.T) {
	w := setup(t)
	const cases, removed = 600, 50
	var events []supply.CaptureEvent
	flush := func() {
		if len(events) > 0 {
			must(t, w.Do("maker", supply.TypeCapture, supply.Capture{Events: events}))
			events = nil
		}
	}
	var kids []string
	for i := 0; i < cases; i++ { // empty cases: pack a pack in, take it out
		s := sscc(1000 + i)
		kids = append(kids, s)
		events = append(events, supply.CaptureEvent{Step: "pack", Parent: s, Codes: []string{pack1}},
			supply.CaptureEvent{Step: "unpack", Parent: s})
		if len(events) == supply.MaxCaptureEvents {
			flush()
		}
	}
	flush()
	pallet := sscc(999)
	for i := 0; i < cases; i += supply.MaxCodes {
		must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: pallet, Children: kids[i:min(cases, i+supply.MaxCodes)]}))
	}
	w.Begin()
	st := &countingState{Writer: w.St.Staged()}
	must(t, w.RunOn(st, "maker", supply.TypeDecommission, supply.Decommission{Codes: kids[:removed], Reason: "destroyed"}))
	w.Commit()
	if per := st.reads / removed; per > 40 {
		t.Fatalf("%d reads to take %d cases out of a pallet of %d: %d a case (the pallet's size leaks into the cost)", st.reads, removed, cases, per)
	}
}
