package prove

import (
	"errors"
	"strings"
	"testing"

	"github.com/primum-health/primum/supply"
)

// The node's verdict is compared with the proven ones: equal to the one at
// this clock, fine; equal only to one a few minutes away (the two clocks
// either side of the pack's expiry), a note; otherwise the node lied.
func TestCompareVerdicts(t *testing.T) {
	at := func(verdicts ...string) []*supply.Verdict {
		var out []*supply.Verdict
		for _, v := range verdicts {
			out = append(out, &supply.Verdict{Verdict: v, Expiry: "2026-11-30"})
		}
		return out
	}
	ok, expired := supply.VerdictDispensable, supply.VerdictExpired
	for _, tc := range []struct {
		name, node string
		at         []*supply.Verdict
		note, lied bool
	}{
		{"the same", ok, at(ok, ok, ok), false, false},
		{"the node's clock is past the expiry", expired, at(ok, ok, expired), true, false},
		{"the node's clock is short of the expiry", ok, at(expired, ok, expired), true, false},
		{"a verdict no clock near this one gives", supply.VerdictRecalled, at(ok, ok, expired), false, true},
		{"expired where the state says dispensable all around", expired, at(ok, ok, ok), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			note, err := compareVerdicts(tc.node, tc.at)
			if (note != "") != tc.note || errors.Is(err, ErrNotProven) != tc.lied || (err != nil) != tc.lied {
				t.Fatalf("note %q, err %v", note, err)
			}
			if tc.note && !strings.Contains(note, "2026-11-30") {
				t.Fatalf("the note does not name the expiry: %q", note)
			}
		})
	}
}
