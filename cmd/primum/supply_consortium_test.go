package main

import (
	"context"
	"crypto/ed25519"
	"net/url"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// TestPackLifeAcrossNodes: a pack's whole life across the manufacturer's,
// the distributor's and the pharmacy's own nodes, each organisation signing
// through its own node, verified from a fourth (the regulator's).
func TestPackLifeAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (-short)")
	}
	procs, _ := startConsortium(t, 4, "manufacturer", "distributor", "pharmacy", "regulator")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maker, dist, pharm := operatorKey(t, procs[0]), operatorKey(t, procs[1]), operatorKey(t, procs[2])
	addr := func(k ed25519.PrivateKey) string { return ledger.Address(k.Public().(ed25519.PublicKey)) }
	distID, pharmID := addr(dist), addr(pharm)
	steps := []struct {
		node int
		key  ed25519.PrivateKey
		typ  string
		body any
	}{
		{0, maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: "09506000134352", Name: "Insulin glargine", Form: "pen", Strength: "100 U/ml"}},
		{0, maker, supply.TypeCommission, supply.Commission{GTIN: "09506000134352", Lot: "INS1", Expiry: "2029-03-31", Serials: []string{"A1", "A2"}}},
		{0, maker, supply.TypePack, supply.Pack{Parent: "(00)106141412345678908", Children: []string{"(01)09506000134352(21)A1", "(01)09506000134352(21)A2"}}},
		{0, maker, supply.TypeShip, supply.Ship{Codes: []string{"(00)106141412345678908"}, To: distID}},
		{1, dist, supply.TypeReceive, supply.Receive{Codes: []string{"urn:epc:id:sscc:0614141.1234567890"}}},
		{1, dist, supply.TypeShip, supply.Ship{Codes: []string{"(00)106141412345678908"}, To: pharmID}},
		{2, pharm, supply.TypeReceive, supply.Receive{Codes: []string{"(00)106141412345678908"}}},
		{2, pharm, supply.TypeUnpack, supply.Pack{Parent: "(00)106141412345678908"}},
		{2, pharm, supply.TypeDispense, supply.Dispense{Code: "https://id.gs1.org/01/09506000134352/21/A1"}},
	}
	for i, s := range steps {
		if _, err := client.New(procs[s.node].API).Send(ctx, s.key, s.typ, s.body, true); err != nil {
			t.Fatalf("step %d (%s via node%d): %v", i, s.typ, s.node, err)
		}
	}
	regulator := client.New(procs[3].API)
	// The regulator's node may be a block behind the pharmacy's: wait for
	// the verdict the last step should give.
	verdict := func(code, as, want string) supply.Verdict {
		var v supply.Verdict
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if err := regulator.Get(ctx, "/api/v1/verify?"+url.Values{"code": {code}, "as": {as}}.Encode(), &v); err != nil {
				t.Fatal(err)
			}
			if v.Verdict == want {
				break
			}
		}
		return v
	}
	if v := verdict("(01)09506000134352(21)A1", pharmID, supply.VerdictDispensed); v.Verdict != supply.VerdictDispensed || v.DispensedBy != pharmID || len(v.Trail) != 8 {
		t.Fatalf("A1 from the regulator's node: %s (%s), %d steps", v.Verdict, v.Message, len(v.Trail))
	}
	if v := verdict("(01)09506000134352(17)290331(10)INS1(21)A2", pharmID, supply.VerdictDispensable); v.Verdict != supply.VerdictDispensable || v.Custodian != pharmID {
		t.Fatalf("A2 from the regulator's node: %s (%s)", v.Verdict, v.Message)
	}
}
