package supply_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// TestHostileAggregation drives random sequences of supply steps, hostile
// ones among them (cycles, self-packing, deep nesting, packing into a case
// in transit, moving a child out of a shipped container, open shipments
// received by anyone, decommissioning inside a container, dispensing), on
// two stores. Every step returns with a stable code
// or succeeds, the two states agree after each, and the containment kept
// in state stays a forest whose counts are true: no walk can loop, and
// each container's Contents is what it holds.
func TestHostileAggregation(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			a, b := setup(t), setup(t)
			var serials []string
			for i := range 20 {
				serials = append(serials, fmt.Sprintf("H%d", i))
			}
			for _, w := range []*world{a, b} {
				must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L2", Expiry: "2030-01-01", Serials: serials}))
			}
			var codes, cases []string
			for _, s := range serials {
				codes = append(codes, "(01)"+gtin+"(21)"+s)
			}
			for i := range 10 {
				cases = append(cases, sscc(100+i))
			}
			codes = append(codes, cases...)
			orgs := []string{"maker", "dist", "pharmacy", "insurer"}
			pick := func(list []string) string { return list[rng.IntN(len(list))] }
			outcomes := map[string]int{}
			for step := range 400 {
				org := pick(orgs)
				if rng.IntN(3) > 0 {
					org = holder(a, pick(codes), org)
				}
				var typ string
				var body any
				// Mostly moves; a decommissioning or dispensing now and then,
				// so that objects are not all gone early.
				kind := rng.IntN(7)
				if rng.IntN(40) == 0 {
					kind = 7 + rng.IntN(2)
				}
				switch kind {
				case 0, 1, 2:
					children := []string{pick(codes)}
					if rng.IntN(2) == 0 {
						children = append(children, pick(codes))
					}
					typ, body = supply.TypePack, supply.Pack{Parent: pick(cases), Children: children}
				case 3:
					p := supply.Pack{Parent: pick(cases)}
					if rng.IntN(2) == 0 {
						p.Children = []string{pick(codes)}
					}
					typ, body = supply.TypeUnpack, p
				case 4:
					to := ""
					if rng.IntN(3) > 0 {
						to = a.ID(pick(orgs))
					}
					typ, body = supply.TypeShip, supply.Ship{Codes: []string{pick(codes)}, To: to}
				case 5:
					code := pick(codes)
					if rng.IntN(3) > 0 {
						org = receiver(a, code, org)
					}
					typ, body = supply.TypeReceive, supply.Receive{Codes: []string{code}}
				case 7:
					typ, body = supply.TypeDecommission, supply.Decommission{Codes: []string{pick(codes)}, Reason: pick([]string{"stolen", "destroyed", "damaged"})}
				case 8:
					typ, body = supply.TypeDispense, supply.Dispense{Code: pick(codes)}
				case 6:
					typ, body = supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{
						{Step: "pack", Parent: pick(cases), Codes: []string{pick(cases)}},
						{Step: "pack", Parent: pick(cases), Codes: []string{pick(cases)}}}}
				}
				ea, eb := a.Do(org, typ, body), b.Do(org, typ, body)
				if !errors.Is(ea, eb) && fmt.Sprint(ea) != fmt.Sprint(eb) {
					t.Fatalf("step %d: the two stores answered %v and %v", step, ea, eb)
				}
				if !bytes.Equal(a.St.Hash(), b.St.Hash()) {
					t.Fatalf("step %d: app hashes differ", step)
				}
				name := "ok"
				if ea != nil {
					var coded *ledger.Error
					if !errors.As(ea, &coded) || coded == ledger.ErrInternal {
						t.Fatalf("step %d: a refusal without a stable code: %v", step, ea)
					}
					name = coded.Name
				}
				outcomes[name]++
				checkForest(t, a, codes)
			}
			if outcomes["ok"] < 25 || outcomes["aggregation_cycle"] == 0 {
				t.Fatalf("sequence too one-sided to prove anything: %v", outcomes)
			}
		})
	}
}

// holder is who holds code (or fallback if it does not exist yet).
func holder(w *world, code, fallback string) string {
	key, _, _ := supply.KeyOf(code)
	o, err := supply.GetObject(w.St.Committed(), key)
	if err != nil {
		return fallback
	}
	if name := w.Name(o.Custodian); name != "" {
		return name
	}
	return fallback
}

// receiver is who code is shipped to (or fallback).
func receiver(w *world, code, fallback string) string {
	key, _, _ := supply.KeyOf(code)
	o, err := supply.GetObject(w.St.Committed(), key)
	if err != nil || o.ShipTo == "" {
		return fallback
	}
	if name := w.Name(o.ShipTo); name != "" {
		return name
	}
	return fallback
}

// checkForest walks containment in state from every object: parents never
// loop, nesting stays within MaxDepth, and every container's Contents and
// Levels match (Levels may only overstate) what its children hold.
func checkForest(t *testing.T, w *world, codes []string) {
	t.Helper()
	r := w.St.Committed()
	var count func(key string, depth int) (n, levels int64)
	count = func(key string, depth int) (int64, int64) {
		if depth > supply.MaxDepth {
			t.Fatalf("%s: nested deeper than %d", key, supply.MaxDepth)
		}
		children, err := supply.Children(r, key)
		if err != nil {
			t.Fatal(err)
		}
		var n, levels int64
		for _, c := range children {
			o, err := supply.GetObject(r, c)
			if err != nil {
				t.Fatal(err)
			}
			if o.Parent != key {
				t.Fatalf("%s is listed in %s but says it is in %q", c, key, o.Parent)
			}
			cn, cl := count(c, depth+1)
			n += 1 + cn
			levels = max(levels, cl+1)
		}
		return n, levels
	}
	for _, code := range codes {
		key, _, _ := supply.KeyOf(code)
		o, err := supply.GetObject(r, key)
		if err != nil {
			continue // a case not created yet
		}
		seen := map[string]bool{key: true}
		depth := 1
		for at := o; at.Parent != ""; depth++ {
			if seen[at.Parent] {
				t.Fatalf("%s: containment loops at %s", key, at.Parent)
			}
			seen[at.Parent] = true
			if at, err = supply.GetObject(r, at.Parent); err != nil {
				t.Fatal(err)
			}
		}
		n, levels := count(key, depth)
		if o.Contents != n || o.Levels < levels {
			t.Fatalf("%s: says %d objects over %d levels, holds %d over %d", key, o.Contents, o.Levels, n, levels)
		}
	}
}
