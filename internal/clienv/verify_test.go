package clienv

import (
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/supply"
)

// A verdict prints only what is known: an unknown serial has no lot or
// expiry to show.
func TestWriteVerdict(t *testing.T) {
	const pharmacy = "c1d3f9fdf157ac1799a6a2a7f26a0a5846745d52"
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
		{"a recalled pack held", supply.Verdict{Verdict: supply.VerdictRecalled, Message: "lot recalled", Custodian: "abc", Status: "active",
			Recall: &supply.Recall{Reason: "sterility failure", By: "abc"}},
			[]string{"✗ recalled", "  held by  Central Pharmacy (lot recalled)\n", "  recall   sterility failure (Central Pharmacy)\n"}, []string{"(active)"}},
		{"a case is no alarm", supply.Verdict{Verdict: supply.VerdictLogisticUnit, Message: "a logistic unit"},
			[]string{"▣ logistic_unit"}, []string{"✗"}},
		{"a scan to repeat", supply.Verdict{Verdict: supply.VerdictMissingSeparator, Message: "separator missing"},
			[]string{"↻ missing_separator"}, []string{"✗"}},
		{"a whole trail", supply.Verdict{Verdict: supply.VerdictDispensable, TrailSteps: 1, Trail: []*supply.Step{{Action: "commission", By: "abc"}}},
			[]string{"commission"}, []string{"the latest"}},
		{"the node's message names the holder", supply.Verdict{Verdict: supply.VerdictWrongHands, Message: "held by " + pharmacy + ", not by you"},
			[]string{"held by Central Pharmacy (" + pharmacy + "), not by you\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			WriteVerdict(&b, &tc.v, autocli.Names{"abc": "Central Pharmacy", pharmacy: "Central Pharmacy"})
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
