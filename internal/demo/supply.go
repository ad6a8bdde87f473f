package demo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"slices"

	"github.com/primum-health/primum/supply"
)

// GTIN is the demo medicine's: Acme Pharma's Amoxicillin 500 mg capsules.
const GTIN = "09506000134352"

// Prefix is Acme Pharma's GS1 company prefix, which GTIN is under: held on
// the ledger, no other member may register a product under it.
const Prefix = "9506000"

// supplyChain: the manufacturer's GS1 company prefix, a product, a case of
// packs shipped to Central Pharmacy through the distributor, one pack
// dispensed, a recalled lot, and an oxygen cylinder. Each step says how to
// see on the ledger that it was committed, so a demo interrupted half-way
// resumes after its last committed step instead of leaving the chain half
// made.
func supplyChain(ctx context.Context, env *Env) error {
	keys := map[string]ed25519.PrivateKey{}
	for _, name := range []string{"Acme Pharma", "MedLogistics", "Central Pharmacy", "National Medicines Agency"} {
		k, err := env.Key(name)
		if err != nil {
			return err
		}
		keys[name] = k
	}
	maker, dist, pharm, reg := keys["Acme Pharma"], keys["MedLogistics"], keys["Central Pharmacy"], keys["National Medicines Agency"]
	c := env.Client
	pack := func(serial string) string { return "(01)" + GTIN + "(21)" + serial }
	const sscc, cylinder = "(00)106141412345678908", "(8003)00614141123452400"
	// did reports whether the object's trail holds action at least times times.
	did := func(code, action string, times int) func() (bool, error) {
		return func() (bool, error) {
			var o struct {
				Trail []supply.Step `json:"trail"`
			}
			if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(code), &o); err != nil {
				return false, absent(err)
			}
			n := 0
			for _, st := range o.Trail {
				if st.Action == action {
					n++
				}
			}
			return n >= times, nil
		}
	}
	// exists reports whether the node has something at path.
	exists := func(path string) func() (bool, error) {
		return func() (bool, error) {
			if err := c.Get(ctx, path, nil); err != nil {
				return false, absent(err)
			}
			return true, nil
		}
	}
	recalled := func() (bool, error) {
		var list []supply.Recall
		if err := c.Get(ctx, "/api/v1/supply/recalls", &list); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list, func(r supply.Recall) bool { return r.GTIN == GTIN && r.Lot == "AMX2026B" }), nil
	}
	steps := []struct {
		key  ed25519.PrivateKey
		typ  string
		body any
		done func() (bool, error)
	}{
		{maker, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: Prefix}, exists("/api/v1/supply/prefixes/" + Prefix)},
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: GTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}, exists("/api/v1/supply/products/" + GTIN)},
		{maker, supply.TypeCommission, supply.Commission{GTIN: GTIN, Lot: "AMX2026A", Expiry: "2028-06-30", Serials: []string{"DEMO001", "DEMO002", "DEMO003", "DEMO004"}}, did(pack("DEMO001"), "commission", 1)},
		{maker, supply.TypeCommission, supply.Commission{GTIN: GTIN, Lot: "AMX2026B", Expiry: "2028-09-30", Serials: []string{"DEMO101"}}, did(pack("DEMO101"), "commission", 1)},
		{maker, supply.TypePack, supply.Pack{Parent: sscc, Children: []string{pack("DEMO001"), pack("DEMO002"), pack("DEMO003"), pack("DEMO004")}}, did(pack("DEMO001"), "pack", 1)},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{sscc, pack("DEMO101")}, To: env.ID("MedLogistics")}, did(pack("DEMO101"), "ship", 1)},
		{dist, supply.TypeReceive, supply.Receive{Codes: []string{sscc, pack("DEMO101")}}, did(pack("DEMO101"), "receive", 1)},
		{dist, supply.TypeShip, supply.Ship{Codes: []string{sscc, pack("DEMO101")}, To: env.ID("Central Pharmacy")}, did(pack("DEMO101"), "ship", 2)},
		{pharm, supply.TypeReceive, supply.Receive{Codes: []string{sscc, pack("DEMO101")}}, did(pack("DEMO101"), "receive", 2)},
		{pharm, supply.TypeUnpack, supply.Pack{Parent: sscc}, did(pack("DEMO001"), "unpack", 1)},
		{pharm, supply.TypeDispense, supply.Dispense{Code: pack("DEMO001")}, did(pack("DEMO001"), "dispense", 1)},
		{reg, supply.TypeRecall, supply.RecallLot{GTIN: GTIN, Lot: "AMX2026B", Reason: "out-of-specification dissolution results"}, recalled},
		{dist, supply.TypeRegisterAsset, supply.RegisterAsset{Code: cylinder, AssetType: "oxygen-cylinder-10l", InspectionDue: "2027-03-01"}, did(cylinder, "register_asset", 1)},
		{dist, supply.TypeAssetEvent, supply.AssetEvent{Code: cylinder, Action: "fill"}, did(cylinder, "asset_fill", 1)},
	}
	// The steps were sent one at a time, each waiting for its commit: the
	// last one on the ledger marks where to go on.
	next := 0
	for i := len(steps) - 1; i >= 0; i-- {
		done, err := steps[i].done()
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i, steps[i].typ, err)
		}
		if done {
			next = i + 1
			break
		}
	}
	for i, st := range steps[next:] {
		if _, err := env.Client.Send(ctx, st.key, st.typ, st.body, true); err != nil {
			return fmt.Errorf("step %d (%s): %w", next+i, st.typ, err)
		}
	}
	return nil
}
