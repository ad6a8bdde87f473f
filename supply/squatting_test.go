package supply_test

import (
	"testing"

	"github.com/primum-health/primum/supply"
)

// TestASquatterBindsOnlyWhatComesAfter: a member that claims the prefix of
// a competitor that has not claimed it yet (a claim needs no proof) binds
// only identifiers made after its claim: the competitor goes on
// commissioning its registered product, and its declared GLN keeps routing
// to it and cannot be taken.
func TestASquatterBindsOnlyWhatComesAfter(t *testing.T) {
	w := setup(t) // maker registered gtin (under 9506000) and commissioned S1-S3
	must(t, w.Do("maker", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: withCheck("950600000001")}))
	// The squatter (another manufacturer) claims maker's prefix first.
	must(t, w.Do("maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}))
	// maker can no longer commission its own product.
	if err := w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L2", Expiry: "2027-12-31", Serials: []string{"S9"}}); err == nil {
		t.Log("maker still commissions")
	} else {
		t.Errorf("incumbent's commissioning blocked by a squatter's claim: %v", err)
	}
	// maker's GLN routes nowhere ...
	if org, err := supply.OrgOfLocation(w.St.Committed(), withCheck("950600000001")); err == nil {
		t.Logf("GLN still routes to %s", org)
	} else {
		t.Errorf("incumbent's GLN routes to no one after a squatter's claim: %v", err)
	}
	// ... and the squatter takes it.
	if err := w.Do("maker2", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: withCheck("950600000001")}); err == nil {
		org, _ := supply.OrgOfLocation(w.St.Committed(), withCheck("950600000001"))
		t.Errorf("squatter took the incumbent's declared GLN: it now routes to %s (maker2=%s)", org, w.ID("maker2"))
	}
	// maker cannot claim back; only the regulator can settle.
	if err := w.Do("maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}); err != nil {
		t.Logf("incumbent cannot claim back: %v", err)
	}
}

// TestTheRegulatorsHolderTakesBackAGTIN: a GTIN another member registered
// under an unclaimed prefix is not taken back by the owner's own claim
// (a claim needs no proof), but is once the regulator assigns the prefix
// to the owner; the squatter then commissions nothing more under it.
func TestTheRegulatorsHolderTakesBackAGTIN(t *testing.T) {
	w := newWorld(t)
	must(t, w.Do("maker2", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Fake"}))
	must(t, w.Do("maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}))
	w.Try(t, "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin"}, supply.ErrProductExists)
	must(t, w.Do("regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker"), Reason: "GS1 allocation confirmed"}))
	w.Try(t, "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin"}, nil)
	if p, err := supply.GetProduct(w.St.Committed(), gtin); err != nil || p.Manufacturer != w.ID("maker") || p.Name != "Amoxicillin" {
		t.Fatalf("product after the take-back: %+v %v", p, err)
	}
	w.Try(t, "maker2", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "F1", Expiry: "2030-01-01", Serials: []string{"F1"}}, supply.ErrNotManufacturer)
}

// TestGLNWithAnotherKeyAppended: register_location parsed "(414)"+gln, so
// a gln of "<GLN>(01)<GTIN>" carried a GTIN too, and the prefix check read
// the GTIN's prefix, not the GLN's: a member holding any prefix took a GLN
// another had declared, or declared one under another's prefix. A GLN is
// 13 digits and nothing else, and a code with two keys creates nothing.
func TestGLNWithAnotherKeyAppended(t *testing.T) {
	w := newWorld(t)
	victimGLN := withCheck("401234500001") // under no held prefix
	must(t, w.Do("pharmacy", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: victimGLN}))
	// maker2 holds its own prefix, and names a GTIN under it after the GLN.
	must(t, w.Do("maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "7000000"}))
	w.Try(t, "maker2", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: victimGLN}, supply.ErrBadField) // refused plainly
	err := w.Do("maker2", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: victimGLN + "(01)" + withCheck("0700000000001")})
	org, oerr := supply.OrgOfLocation(w.St.Committed(), victimGLN)
	if err == nil && org == w.ID("maker2") {
		t.Errorf("maker2 took pharmacy's GLN %s: EPCIS shipments to it now go to maker2 (%v)", victimGLN, oerr)
	}
	// Under dist's held prefix, another member declares dist's GLN.
	must(t, w.Do("dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}))
	must(t, w.Do("dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}))
	if err := w.Do("maker2", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist + "(01)" + withCheck("0700000000001")}); err == nil {
		_, oerr := supply.OrgOfLocation(w.St.Committed(), glnDist)
		t.Errorf("maker2 declared dist's GLN under dist's held prefix; shipments to dist now: %v", oerr)
	}
}
