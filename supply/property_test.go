package supply_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// model is the simplest statement of custody: who holds each pack, whether
// it is on its way to someone, in a case, or gone.
type model struct {
	holder map[string]string // pack -> organisation
	shipTo map[string]string // pack -> receiver while in transit
	inCase map[string]bool
	gone   map[string]bool // dispensed or decommissioned
}

// TestCustodyProperty drives random sequences of valid and invalid steps
// against the ledger and the model: the ledger accepts exactly what the
// model allows, and afterwards agrees with the model on every pack.
func TestCustodyProperty(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			w := newWorld(t)
			must(t, w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "p"}))
			orgs := []string{"maker", "dist", "pharmacy", "pharmacy2"}
			m := &model{holder: map[string]string{}, shipTo: map[string]string{}, gone: map[string]bool{}}
			var packs []string
			for i := 0; i < 12; i++ {
				packs = append(packs, fmt.Sprintf("(01)%s(21)P%d", gtin, i))
				m.holder[packs[i]] = "maker"
			}
			must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L", Expiry: "2030-01-01", Serials: []string{"P0", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11"}}))
			accepted, refused := 0, 0
			for step := 0; step < 150; step++ {
				p := packs[rng.IntN(len(packs))]
				// Weighted so packs are not all gone early: ship 45%, receive
				// 40%, dispense 10%, decommission 5%.
				action := 0
				switch r := rng.IntN(100); {
				case r >= 95:
					action = 3
				case r >= 85:
					action = 2
				case r >= 45:
					action = 1
				}
				// Mostly the organisation the rule expects, sometimes anyone.
				org := orgs[rng.IntN(len(orgs))]
				if rng.IntN(10) < 7 {
					org = m.holder[p]
					if action == 1 && m.shipTo[p] != "" {
						org = m.shipTo[p]
					}
				}
				var typ string
				var body any
				var allowed bool
				free := !m.gone[p] && m.shipTo[p] == ""
				switch action {
				case 0:
					to := orgs[rng.IntN(len(orgs))]
					typ, body = supply.TypeShip, supply.Ship{Codes: []string{p}, To: w.ID(to)}
					allowed = free && m.holder[p] == org && to != org
					if allowed {
						m.shipTo[p] = to
					}
				case 1:
					typ, body = supply.TypeReceive, supply.Receive{Codes: []string{p}}
					allowed = !m.gone[p] && m.shipTo[p] == org
					if allowed {
						m.holder[p], m.shipTo[p] = org, ""
					}
				case 2:
					typ, body = supply.TypeDispense, supply.Dispense{Code: p}
					allowed = free && m.holder[p] == org && (org == "pharmacy" || org == "pharmacy2")
					if allowed {
						m.gone[p] = true
					}
				case 3:
					typ, body = supply.TypeDecommission, supply.Decommission{Codes: []string{p}, Reason: "destroyed"}
					allowed = !m.gone[p] && m.shipTo[p] == "" && m.holder[p] == org
					if allowed {
						m.gone[p] = true
					}
				}
				err := w.Do(org, typ, body)
				if allowed != (err == nil) {
					t.Fatalf("step %d: %s %s of %s: ledger said %v, model says allowed=%v", step, org, typ, p, err, allowed)
				}
				if err != nil {
					refused++
					var coded *ledger.Error
					if !errors.As(err, &coded) || coded == ledger.ErrInternal {
						t.Fatalf("refusal without a stable code: %v", err)
					}
				} else {
					accepted++
				}
			}
			for _, p := range packs {
				key, _, _ := supply.KeyOf(p)
				o, err := supply.GetObject(w.St.Committed(), key)
				if err != nil {
					t.Fatal(err)
				}
				if o.Custodian != w.ID(m.holder[p]) || (o.ShipTo != "") != (m.shipTo[p] != "") || (o.Status == supply.StatusActive || o.Status == supply.StatusInTransit) == m.gone[p] {
					t.Fatalf("%s: ledger %+v disagrees with the model", p, o)
				}
			}
			if accepted < 10 || refused < 10 {
				t.Fatalf("sequence too one-sided to prove anything: %d accepted, %d refused", accepted, refused)
			}
		})
	}
}
