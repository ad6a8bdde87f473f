package supply_test

import (
	"encoding/json"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// reads records the keys read through it.
type reads struct {
	ledger.Writer
	got map[string]bool
}

func (r *reads) Get(key []byte) ([]byte, error) {
	r.got[string(key)] = true
	return r.Writer.Get(key)
}

// TestReadsNameWhatHandlersRead holds each route's read-ahead hint
// (Route.Reads) to what its handler reads: a hinted key the handler does
// not read is fetched for nothing, and a hint that names none (a changed
// body or key scheme) silently stops reading ahead.
func TestReadsNameWhatHandlersRead(t *testing.T) {
	w := setup(t)
	steps := []struct {
		name  string
		org   string
		typ   string
		body  any
		hints int
	}{
		{"ship", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack1, pack2, pack3}, To: w.ID("pharmacy")}, 3},
		{"receive", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1, pack2, pack3}}, 3},
		{"dispense", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, 1},
		{"decommission", "pharmacy", supply.TypeDecommission, supply.Decommission{Codes: []string{pack2}, Reason: "damaged"}, 1},
		{"capture", "pharmacy", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "dispense", Codes: []string{pack3}}}}, 1},
		{"unparsable codes are not hinted", "pharmacy", supply.TypeDispense, supply.Dispense{Code: "not a code"}, 0},
	}
	for _, s := range steps {
		b, err := json.Marshal(s.body)
		if err != nil {
			t.Fatal(err)
		}
		route := w.Route(s.typ)
		if route.Reads == nil {
			t.Fatalf("%s: %s has no read-ahead hint", s.name, s.typ)
		}
		body, err := route.Handle.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		hinted := route.Reads(body)
		if len(hinted) != s.hints {
			t.Fatalf("%s: %d keys hinted, want %d", s.name, len(hinted), s.hints)
		}
		r := &reads{Writer: w.St.Staged(), got: map[string]bool{}}
		w.Begin()
		if err := w.RunOn(r, s.org, s.typ, s.body); err != nil && s.hints > 0 {
			t.Fatalf("%s: %v", s.name, err)
		}
		w.Commit()
		for _, k := range hinted {
			if !r.got[string(k)] {
				t.Errorf("%s: hinted %q, which the handler did not read", s.name, k)
			}
		}
	}
}
