package supply_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// withCheck appends the GS1 check digit to body.
func withCheck(body string) string { return body + string(gs1.CheckDigit(body)) }

// Identifiers under the prefixes the tests claim: 9506000 (the test
// product's, maker's), 0614141 (dist's) and 4012345 (no one's).
var (
	gtinMaker2 = withCheck("0950600000001") // under 9506000, another item
	gtinOwn    = withCheck("0950600000002")
	gtinFree   = withCheck("0401234500001") // under no held prefix
	ssccDist   = "(00)" + withCheck("10614141000000001")
	ssccFree   = "(00)" + withCheck("14012345000000001")
	graiDist   = "(8003)" + withCheck("0061414100001") + "CYL1"
	glnDist    = withCheck("061414100001")
)

// TestCompanyPrefixes walks the rules of held prefixes: a claim overlaps
// no other; under a held prefix only its holder creates GTINs, SSCCs,
// GRAIs and GLNs; the regulator reassigns and releases; under no held
// prefix anyone creates, as before. Each step succeeds or gets its code,
// and a refused step changes nothing (moduletest.Try).
func TestCompanyPrefixes(t *testing.T) {
	w := setup(t) // maker registered gtin (under 9506000) and commissioned S1-S3 before any claim
	product := func(g string) supply.RegisterProduct { return supply.RegisterProduct{GTIN: g, Name: "Paracetamol"} }
	for _, s := range []struct {
		name, org, typ string
		body           any
		want           error
	}{
		{"maker claims its prefix", "maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}, nil},
		{"the same prefix is held", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}, supply.ErrPrefixOverlap},
		{"a shorter one overlaps it", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "950600"}, supply.ErrPrefixOverlap},
		{"a longer one overlaps it", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "950600012"}, supply.ErrPrefixOverlap},
		{"its holder claims it twice", "maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}, supply.ErrPrefixOverlap},
		{"three digits", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "950"}, supply.ErrBadPrefix},
		{"thirteen digits", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "4012345000001"}, supply.ErrBadPrefix},
		{"not digits", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "40123X5"}, supply.ErrBadPrefix},
		{"a restricted circulation range", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "2001234"}, supply.ErrBadPrefix},
		{"where GTIN-8s lie", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0000"}, supply.ErrBadPrefix},

		{"another registers no GTIN under it", "maker2", supply.TypeRegisterProduct, product(gtinMaker2), supply.ErrPrefixNotYours},
		{"its holder does", "maker", supply.TypeRegisterProduct, product(gtinOwn), nil},
		{"its holder commissions", "maker", supply.TypeCommission, supply.Commission{GTIN: gtinOwn, Lot: "P1", Expiry: "2027-12-31", Serials: []string{"P1"}}, nil},
		{"a GTIN under no held prefix is anyone's", "maker2", supply.TypeRegisterProduct, product(gtinFree), nil},

		{"dist claims its prefix", "dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}, nil},
		{"another creates no SSCC under it", "maker", supply.TypePack, supply.Pack{Parent: ssccDist, Children: []string{pack1}}, supply.ErrPrefixNotYours},
		{"nor through EPCIS", "maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "pack", Parent: ssccDist, Codes: []string{pack1}}}}, supply.ErrPrefixNotYours},
		{"an SSCC under no held prefix is anyone's", "maker", supply.TypePack, supply.Pack{Parent: ssccFree, Children: []string{pack1}}, nil},
		{"ship S2 to dist", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack2}, To: w.ID("dist")}, nil},
		{"dist receives S2", "dist", supply.TypeReceive, supply.Receive{Codes: []string{pack2}}, nil},
		{"the holder creates an SSCC under its prefix", "dist", supply.TypePack, supply.Pack{Parent: ssccDist, Children: []string{pack2}}, nil},
		{"another registers no GRAI under it", "pharmacy", supply.TypeRegisterAsset, supply.RegisterAsset{Code: graiDist, AssetType: "oxygen"}, supply.ErrPrefixNotYours},
		{"the holder does", "dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: graiDist, AssetType: "oxygen"}, nil},
		{"another declares no GLN under it", "pharmacy", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, supply.ErrPrefixNotYours},
		{"the holder does", "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, nil},

		{"no one else releases it", "maker2", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "9506000"}, supply.ErrPrefixNotYours},
		{"a prefix no one holds", "maker2", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "4012345"}, supply.ErrUnknownPrefix},
		{"only the regulator assigns", "maker2", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker2"), Reason: "mine"}, ledger.ErrUnauthorized},
		{"the regulator says why", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker2")}, supply.ErrBadField},
		{"to a member", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: "nobody", Reason: "GS1 certificate"}, supply.ErrUnknownOrg},
		{"not over an overlapping prefix", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "95060001", Org: w.ID("maker2"), Reason: "GS1 certificate"}, supply.ErrPrefixOverlap},
		{"it confirms its holder's own claim", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker"), Reason: "GS1 certificate"}, nil},
		{"but not twice", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker"), Reason: "GS1 certificate"}, supply.ErrPrefixOverlap},
		{"the regulator reassigns it", "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "9506000", Org: w.ID("maker2"), Reason: "GS1 certificate 2026-114"}, nil},
		{"its former holder commissions no more", "maker", supply.TypeCommission, supply.Commission{GTIN: gtinOwn, Lot: "P2", Expiry: "2027-12-31", Serials: []string{"P2"}}, supply.ErrPrefixNotYours},
		{"nor registers under it", "maker", supply.TypeRegisterProduct, product(withCheck("0950600000003")), supply.ErrPrefixNotYours},
		{"its new holder registers", "maker2", supply.TypeRegisterProduct, product(gtinMaker2), nil},
		{"packs made before move on", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.ID("pharmacy")}, nil},
		{"the regulator releases with a reason", "regulator", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "9506000"}, supply.ErrBadField},
		{"the regulator releases it", "regulator", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "9506000", Reason: "allocation withdrawn by GS1"}, nil},
		{"no one's again: anyone's", "maker", supply.TypeCommission, supply.Commission{GTIN: gtinOwn, Lot: "P2", Expiry: "2027-12-31", Serials: []string{"P2"}}, nil},
		{"a holder releases its own", "dist", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "0614141"}, nil},
		{"and another may claim it", "pharmacy", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "061414"}, nil},
	} {
		t.Run(s.name, func(t *testing.T) { w.Try(t, s.org, s.typ, s.body, s.want) })
	}
	if p, err := supply.GetCompanyPrefix(w.St.Committed(), "061414"); err != nil || p.Owner != w.ID("pharmacy") || p.By != w.ID("pharmacy") {
		t.Fatalf("061414: %+v %v", p, err)
	}
	if _, err := supply.GetCompanyPrefix(w.St.Committed(), "9506000"); !errors.Is(err, supply.ErrUnknownPrefix) {
		t.Fatalf("9506000 after its release: %v", err)
	}
	if list, err := supply.Prefixes(w.St.Committed(), w.ID("maker2")); err != nil || len(list) != 0 {
		t.Fatalf("maker2's prefixes after the release: %v %v", list, err)
	}
}

// TestPrefixRefusalNamesTheHolder: a refusal says which prefix and whose,
// so that a person can act on it.
func TestPrefixRefusalNamesTheHolder(t *testing.T) {
	w := newWorld(t)
	must(t, w.Do("maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}))
	err := w.Do("maker2", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "x"})
	if !errors.Is(err, supply.ErrPrefixNotYours) || !strings.Contains(err.Error(), "9506000") ||
		!strings.Contains(err.Error(), "maker") || !strings.Contains(err.Error(), w.ID("maker")) {
		t.Fatalf("refusal: %v", err)
	}
	var claimed bool
	must(t, w.Do("dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}))
	for _, e := range w.Events {
		claimed = claimed || e.Type == "supply.prefix_claimed" && fmt.Sprint(e.Attrs) == fmt.Sprint([][2]string{{"prefix", "0614141"}, {"owner", w.ID("dist")}})
	}
	if !claimed {
		t.Fatalf("no claim event: %+v", w.Events)
	}
}

// TestPrefixesPerMember: a member holds at most MaxPrefixes, whether it
// claims them or the regulator assigns them.
func TestPrefixesPerMember(t *testing.T) {
	w := newWorld(t)
	for i := range supply.MaxPrefixes {
		must(t, w.Do("pharmacy", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: fmt.Sprint(1000 + i)}))
	}
	w.Try(t, "pharmacy", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "1999"}, supply.ErrTooManyPrefixes)
	w.Try(t, "regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "1999", Org: w.ID("pharmacy"), Reason: "GS1"}, supply.ErrTooManyPrefixes)
	list, err := supply.Prefixes(w.St.Committed(), w.ID("pharmacy"))
	if err != nil || len(list) != supply.MaxPrefixes {
		t.Fatalf("%d prefixes, %v", len(list), err)
	}
	must(t, w.Do("pharmacy", supply.TypeReleasePrefix, supply.ReleasePrefix{Prefix: "1000"}))
	w.Try(t, "pharmacy", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "1999"}, nil)
}

// TestGLNClaimedFirst: a GLN another member declared first stays theirs
// when the prefix's holder claims the prefix itself (a claim needs no
// proof: it binds what comes after it); once the regulator assigns the
// prefix, the GLN routes EPCIS shipments to no one (OrgOfLocation, which
// the EPCIS capture asks) until the holder declares it, which takes it
// back.
func TestGLNClaimedFirst(t *testing.T) {
	w := newWorld(t)
	must(t, w.Do("pharmacy", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}))
	org := func() (string, error) { return supply.OrgOfLocation(w.St.Committed(), glnDist) }
	if got, err := org(); err != nil || got != w.ID("pharmacy") {
		t.Fatalf("before the claim: %q %v", got, err)
	}
	w.Try(t, "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, supply.ErrBadField) // first come, while no one holds the prefix
	must(t, w.Do("dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}))
	if got, err := org(); err != nil || got != w.ID("pharmacy") {
		t.Fatalf("after dist's own claim: %q %v, want it still the pharmacy's", got, err)
	}
	w.Try(t, "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, supply.ErrBadField)
	must(t, w.Do("regulator", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "0614141", Org: w.ID("dist"), Reason: "GS1 allocation confirmed"}))
	if got, err := org(); !errors.Is(err, supply.ErrUnknownOrg) {
		t.Fatalf("after the regulator's assignment, the GLN still routes to %q (%v)", got, err)
	}
	w.Try(t, "pharmacy", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, supply.ErrPrefixNotYours)
	w.Try(t, "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, nil)
	if got, err := org(); err != nil || got != w.ID("dist") {
		t.Fatalf("after the holder declared it: %q %v", got, err)
	}
}

// counted counts the reads through it of keys under a prefix.
type counted struct {
	ledger.Writer
	prefix        []byte
	gets, listing int // Gets, and entries listed
}

func (c *counted) Get(key []byte) ([]byte, error) {
	if bytes.HasPrefix(key, c.prefix) {
		c.gets++
	}
	return c.Writer.Get(key)
}

func (c *counted) Iterate(prefix []byte, fn func(key, value []byte) bool) error {
	return c.Writer.Iterate(prefix, func(k, v []byte) bool {
		if bytes.HasPrefix(k, c.prefix) {
			c.listing++
		}
		return fn(k, v)
	})
}

// TestPrefixReadsAreBounded: who holds a key's prefix is found by at most
// one read per prefix length (9), never by listing the prefixes held; a
// claim lists at most one held prefix and a member's own; however many
// prefixes are held.
func TestPrefixReadsAreBounded(t *testing.T) {
	w := setup(t)
	// Many held prefixes, around and under the ones the steps touch.
	w.Begin()
	for i := range 300 {
		org := []string{"maker2", "dist", "pharmacy", "pharmacy2", "insurer"}[i%5]
		p := fmt.Sprintf("%d%06d", 3+i%6, i) // 7 digits, 3… to 8…
		if err := w.Run(org, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: p}); err != nil && !errors.Is(err, supply.ErrTooManyPrefixes) {
			t.Fatal(err)
		}
	}
	w.Commit()
	must(t, w.Do("maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}))
	for _, s := range []struct {
		name, org, typ string
		body           any
		gets, listing  int
	}{
		{"a GTIN under a held prefix: found at its length", "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtinOwn, Name: "x"}, 4, 0},
		{"a GTIN under none: every length", "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtinFree, Name: "x"}, 9, 0},
		{"a commission reads once for all its packs", "maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L2", Expiry: "2027-12-31", Serials: []string{"B1", "B2", "B3"}}, 4, 0},
		{"a new SSCC", "maker", supply.TypePack, supply.Pack{Parent: ssccFree, Children: []string{pack1}}, 9, 0},
		{"an SSCC that exists reads none", "maker", supply.TypeUnpack, supply.Pack{Parent: ssccFree}, 0, 0},
		{"a GRAI", "dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: graiDist, AssetType: "oxygen"}, 9, 0},
		{"a GLN", "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: glnDist}, 9, 0},
		{"a claim: shorter lengths, then one listing", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "401234512345"}, 8, 0},
		{"a claim under a held one stops there", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "95060001"}, 4, 0},
		{"a claim over held ones lists one", "maker2", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "3000"}, 0, 1},
	} {
		c := &counted{Writer: w.St.Staged(), prefix: []byte("sup/gcp/")}
		w.Begin()
		w.RunOn(c, s.org, s.typ, s.body) // refused or not: the reads are what is counted
		w.Commit()
		if c.gets != s.gets || c.listing > s.listing {
			t.Errorf("%s: %d reads and %d listed of held prefixes, want %d and at most %d", s.name, c.gets, c.listing, s.gets, s.listing)
		}
	}
	// The held prefixes of one member are its index, at most MaxPrefixes.
	c := &counted{Writer: w.St.Staged(), prefix: []byte("sup/gcpof/")}
	w.Begin()
	w.RunOn(c, "dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "4099"})
	w.Commit()
	if c.listing > supply.MaxPrefixes {
		t.Errorf("a claim listed %d of the member's prefixes", c.listing)
	}
}
