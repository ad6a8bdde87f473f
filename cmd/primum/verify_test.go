package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/supply"
)

// A verdict prints only what is known: an unknown serial has no lot or
// expiry to show.
func TestPrintVerdict(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    supply.Verdict
		want []string
		not  []string
	}{
		{"unknown serial", supply.Verdict{Verdict: supply.VerdictUnknown, Message: "never commissioned", Serial: "NOSUCH"},
			[]string{"✗ unknown_serial — never commissioned\n", "  serial   NOSUCH\n"}, []string{"lot", "expiry", "held by"}},
		{"dispensable", supply.Verdict{Verdict: supply.VerdictDispensable, Dispensable: true, Message: "genuine and dispensable",
			Serial: "S1", Lot: "L1", Expiry: "2028-06-30", Custodian: "abc", Status: "active"},
			[]string{"✓ genuine_dispensable", "  serial   S1  lot L1  expiry 2028-06-30\n", "  held by  Central Pharmacy (active)\n"}, nil},
		{"the end of a long trail", supply.Verdict{Verdict: supply.VerdictDispensable, Key: "sgtin:09506000134352.S1", TrailSteps: 301,
			Trail: []*supply.Step{{Seq: 299, Action: "pack", By: "abc"}, {Seq: 300, Action: "unpack", By: "abc"}}},
			[]string{"  trail    the latest 2 of 301 steps (all of them: primum supply object sgtin:09506000134352.S1 --after N)\n", "unpack"}, nil},
		{"a whole trail", supply.Verdict{Verdict: supply.VerdictDispensable, TrailSteps: 1, Trail: []*supply.Step{{Action: "commission", By: "abc"}}},
			[]string{"commission"}, []string{"the latest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printVerdict(&b, &tc.v, map[string]string{"abc": "Central Pharmacy"})
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("has %q:\n%s", n, b.String())
				}
			}
		})
	}
}

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
			if (note != "") != tc.note || errors.Is(err, prove.ErrNotProven) != tc.lied || (err != nil) != tc.lied {
				t.Fatalf("note %q, err %v", note, err)
			}
			if tc.note && !strings.Contains(note, "2026-11-30") {
				t.Fatalf("the note does not name the expiry: %q", note)
			}
		})
	}
}
