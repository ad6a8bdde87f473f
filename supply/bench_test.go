package supply_test

import (
	"fmt"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// BenchmarkSupplyTx executes the supply module's most common transactions
// on a real store, a block at a time as the app would, over a state that
// grows with each round: a manufacturer commissioning lots of 100 packs (10
// to a block), shipping packs in tens (10 shipments to a block), and a
// pharmacy dispensing packs it received one by one (100 to a block).
func BenchmarkSupplyTx(b *testing.B) {
	const size = 100
	serials := func(round int) []string {
		out := make([]string, size)
		for i := range out {
			out[i] = fmt.Sprintf("R%dS%d", round, i)
		}
		return out
	}
	cases := []struct {
		name    string
		txs     int                       // per block
		prepare func(w *world, round int) // untimed
		block   func(w *world, round int) error
	}{
		{"commission/serials=100", 10, nil, func(w *world, round int) error {
			for i := 0; i < 10; i++ {
				lot := fmt.Sprintf("L%d-%d", round, i)
				if err := w.Run("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: lot, Expiry: "2030-12-31",
					Serials: serials(round*size + i)}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"ship/codes=10", 10, func(w *world, round int) {
			if err := w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: fmt.Sprintf("S%d", round),
				Expiry: "2030-12-31", Serials: serials(round)}); err != nil {
				w.TB.Fatal(err)
			}
		}, func(w *world, round int) error {
			all := serials(round)
			for i := 0; i < size; i += 10 {
				codes := make([]string, 10)
				for j, s := range all[i : i+10] {
					codes[j] = fmt.Sprintf("(01)%s(21)%s", gtin, s)
				}
				if err := w.Run("maker", supply.TypeShip, supply.Ship{Codes: codes, To: w.ID("pharmacy")}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"dispense", size, func(w *world, round int) {
			lot := fmt.Sprintf("D%d", round)
			codes := make([]string, size)
			for i, s := range serials(round) {
				codes[i] = fmt.Sprintf("(01)%s(21)%s", gtin, s)
			}
			for _, step := range []struct {
				org, typ string
				body     any
			}{
				{"maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: lot, Expiry: "2030-12-31", Serials: serials(round)}},
				{"maker", supply.TypeShip, supply.Ship{Codes: codes, To: w.ID("pharmacy")}},
				{"pharmacy", supply.TypeReceive, supply.Receive{Codes: codes}},
			} {
				if err := w.Do(step.org, step.typ, step.body); err != nil {
					w.TB.Fatal(err)
				}
			}
		}, func(w *world, round int) error {
			for _, s := range serials(round) {
				if err := w.Run("pharmacy", supply.TypeDispense, supply.Dispense{Code: fmt.Sprintf("(01)%s(21)%s", gtin, s)}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := newWorld(b)
			if err := w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin"}); err != nil {
				b.Fatal(err)
			}
			round := 0
			b.ReportAllocs()
			for b.Loop() {
				if c.prepare != nil {
					b.StopTimer()
					c.prepare(w, round)
					b.StartTimer()
				}
				w.Begin()
				if err := c.block(w, round); err != nil {
					b.Fatal(err)
				}
				w.St.WorkingHash()
				w.Commit()
				round++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.txs)/1000, "µs/tx")
		})
	}
}

// BenchmarkMoveBigCase is the largest move a transaction may make: one
// capture that ships and receives a case of 2,000 packs four times (16,008
// custody steps, under supply.MaxMoved). Before a transaction's listing was
// proportional to what it returns, ten such pairs took 25 s in one block.
func BenchmarkMoveBigCase(b *testing.B) {
	w := newWorld(b)
	if err := w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "p"}); err != nil {
		b.Fatal(err)
	}
	var packs []string
	for from := 0; from < 2000; from += supply.MaxCodes {
		var serials []string
		for i := from; i < from+supply.MaxCodes; i++ {
			serials = append(serials, fmt.Sprint("B", i))
			packs = append(packs, fmt.Sprintf("(01)%s(21)B%d", gtin, i))
		}
		if err := w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L", Expiry: "2030-12-31", Serials: serials}); err != nil {
			b.Fatal(err)
		}
	}
	box := "(00)106141412345678908"
	for i := 0; i < len(packs); i += supply.MaxCodes {
		if err := w.Do("maker", supply.TypePack, supply.Pack{Parent: box, Children: packs[i : i+supply.MaxCodes]}); err != nil {
			b.Fatal(err)
		}
	}
	var events []supply.CaptureEvent
	for range 4 {
		events = append(events, supply.CaptureEvent{Step: "ship", Codes: []string{box}}, supply.CaptureEvent{Step: "receive", Codes: []string{box}})
	}
	b.ResetTimer()
	for b.Loop() {
		if err := w.Run("maker", supply.TypeCapture, supply.Capture{Events: events}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.St.Rollback()
		b.StartTimer()
	}
}

// BenchmarkVerifyLongTrail: a scan of a pack whose trail a member has grown
// costs what a short trail's does (the verdict reads the latest
// supply.VerifyTrailSteps steps); reading the whole trail, as a scan did
// before, grows with it.
func BenchmarkVerifyLongTrail(b *testing.B) {
	for _, pairs := range []int{0, 1_000, 10_000} {
		w := newWorld(b)
		if err := w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "p"}); err != nil {
			b.Fatal(err)
		}
		if err := w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2030-12-31", Serials: []string{"S1"}}); err != nil {
			b.Fatal(err)
		}
		growTrail(b, w, pack1, pairs)
		steps := 1 + 2*pairs
		b.Run(fmt.Sprintf("steps=%d/verify", steps), func(b *testing.B) {
			for b.Loop() {
				if v, err := supply.Verify(w.St.Committed(), pack1, "", w.Now); err != nil || v.TrailSteps != uint64(steps) {
					b.Fatal(v, err)
				}
			}
		})
		b.Run(fmt.Sprintf("steps=%d/whole-trail", steps), func(b *testing.B) {
			for b.Loop() {
				if trail, err := ledger.ScanJSON[supply.Step](w.St.Committed(), []byte("sup/trail/sgtin:"+gtin+".S1/"), 0); err != nil || len(trail) != steps {
					b.Fatal(len(trail), err)
				}
			}
		})
	}
}
