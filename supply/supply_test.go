package supply_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// world runs supply transactions on a real store, the way the app does
// (moduletest), among seven organisations of the supply chain.
type world = moduletest.World

func newWorld(t testing.TB) *world {
	t.Helper()
	w := moduletest.New(t, supply.Declare())
	for _, o := range []struct{ name, typ string }{
		{"maker", "manufacturer"}, {"maker2", "manufacturer"}, {"dist", "distributor"},
		{"pharmacy", "pharmacy"}, {"pharmacy2", "pharmacy"}, {"regulator", "regulator"}, {"insurer", "insurer"},
	} {
		w.AddOrg(o.name, o.typ)
	}
	w.Commit()
	return w
}

func verify(w *world, code, scanner string) *supply.Verdict {
	w.TB.Helper()
	v, err := supply.Verify(w.St.Committed(), code, scanner, w.Now)
	if err != nil {
		w.TB.Fatal(err)
	}
	return v
}

const (
	gtin  = "09506000134352"
	pack1 = "(01)09506000134352(21)S1"
	pack2 = "(01)09506000134352(21)S2"
	pack3 = "(01)09506000134352(21)S3"
	case1 = "(00)106141412345678908"
)

func setup(t *testing.T) *world {
	w := newWorld(t)
	must(t, w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}))
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2027-12-31", Serials: []string{"S1", "S2", "S3"}}))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCustodyRules walks every rule: each step is allowed or gets its exact error.
func TestCustodyRules(t *testing.T) {
	w := setup(t)
	steps := []struct {
		name string
		org  string
		typ  string
		body any
		want error
	}{
		{"only the manufacturer registers its product once", "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "x"}, supply.ErrProductExists},
		{"bad GTIN check digit", "maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: "09506000134353", Name: "x"}, supply.ErrBadCode},
		{"another manufacturer may not commission", "maker2", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L9", Expiry: "2027-12-31", Serials: []string{"X"}}, supply.ErrNotManufacturer},
		{"a serial is commissioned once", "maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2027-12-31", Serials: []string{"S1"}}, supply.ErrCommissioned},
		{"bad expiry", "maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "31/12/2027", Serials: []string{"S9"}}, supply.ErrBadExpiry},
		{"unknown product", "maker", supply.TypeCommission, supply.Commission{GTIN: "04012345123456", Lot: "L1", Expiry: "2027-12-31", Serials: []string{"S9"}}, supply.ErrUnknownProduct},
		{"only the custodian ships", "dist", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.ID("pharmacy")}, supply.ErrNotCustodian},
		{"unknown serial", "maker", supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)NOPE"}, To: w.ID("dist")}, supply.ErrUnknownObject},
		{"ship to a non-member", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: "nobody"}, supply.ErrUnknownOrg},
		{"receipt without shipment", "dist", supply.TypeReceive, supply.Receive{Codes: []string{pack1}}, supply.ErrNotShipped},
		{"pack into a case", "maker", supply.TypePack, supply.Pack{Parent: case1, Children: []string{pack1, pack2}}, nil},
		{"a parent must be an SSCC", "maker", supply.TypePack, supply.Pack{Parent: pack3, Children: []string{pack1}}, supply.ErrNotContainer},
		{"a packed pack does not move alone", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.ID("dist")}, supply.ErrInContainer},
		{"ship the case", "maker", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.ID("dist"), EventID: "ev-ship-1"}, nil},
		{"event ids are idempotent", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.ID("dist"), EventID: "ev-ship-1"}, supply.ErrDuplicateEvent},
		{"nothing moves in transit", "maker", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.ID("pharmacy")}, supply.ErrInTransit},
		{"only the named receiver receives", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, supply.ErrNotReceiver},
		{"receive the case: children come along", "dist", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, nil},
		{"ship the case on", "dist", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.ID("pharmacy")}, nil},
		{"pharmacy receives", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, nil},
		{"dispense needs unpacking", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrInContainer},
		{"unpack everything", "pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1}, nil},
		{"unpack what is not inside", "pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1, Children: []string{pack1}}, supply.ErrNotChild},
		{"only the custodian dispenses", "pharmacy2", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrNotCustodian},
		{"dispense", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, nil},
		{"dispensed once", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrDispensed},
		{"nothing moves after dispensing", "pharmacy", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.ID("dist")}, supply.ErrDispensed},
		{"a distributor does not dispense", "dist", supply.TypeDispense, supply.Dispense{Code: pack3}, ledger.ErrUnauthorized},
		{"bad decommission reason", "maker", supply.TypeDecommission, supply.Decommission{Codes: []string{pack3}, Reason: "lost-ish"}, supply.ErrBadReason},
		{"decommission: stolen", "maker", supply.TypeDecommission, supply.Decommission{Codes: []string{pack3}, Reason: "stolen"}, nil},
		{"nothing moves after decommissioning", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.ID("dist")}, supply.ErrDecommissioned},
		{"another manufacturer may not recall", "maker2", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L1", Reason: "x"}, supply.ErrNotManufacturer},
		{"the regulator recalls", "regulator", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L1", Reason: "contamination"}, nil},
		{"a recalled pack is not dispensed", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}, supply.ErrRecalled},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := w.St.Hash()
			err := w.Do(s.org, s.typ, s.body)
			if !errors.Is(err, s.want) {
				t.Fatalf("got %v, want %v", err, s.want)
			}
			if err != nil && string(before) != string(w.St.Hash()) {
				t.Fatal("a refused step changed the state")
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	w := setup(t)
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "OLD", Expiry: "2026-05-31", Serials: []string{"E1"}}))
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "BAD", Expiry: "2028-01-31", Serials: []string{"R1"}}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1, pack2, pack3, "(01)09506000134352(21)E1", "(01)09506000134352(21)R1"}, To: w.ID("pharmacy")}))
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1, pack2, pack3, "(01)09506000134352(21)E1", "(01)09506000134352(21)R1"}}))
	must(t, w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}))
	must(t, w.Do("maker", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "BAD", Reason: "sterility"}))
	must(t, w.Do("pharmacy", supply.TypeReportSuspect, supply.ReportSuspect{Code: pack3, Reason: "broken seal"}))
	ph := w.ID("pharmacy")
	cases := []struct {
		name, code, scanner, want string
	}{
		{"genuine", "01095060001343522" + "1S1", ph, supply.VerdictDispensable},
		{"genuine, Digital Link", "https://id.gs1.org/01/09506000134352/21/S1", ph, supply.VerdictDispensable},
		{"genuine, with lot and expiry", "(01)09506000134352(17)271231(10)L1(21)S1", ph, supply.VerdictDispensable},
		{"printed lot differs", "(01)09506000134352(10)FAKE(21)S1", ph, supply.VerdictUnknown},
		{"unknown serial", "(01)09506000134352(21)NOPE", ph, supply.VerdictUnknown},
		{"clone of a dispensed pack", pack2, ph, supply.VerdictDispensed},
		{"recalled", "(01)09506000134352(21)R1", ph, supply.VerdictRecalled},
		{"expired", "(01)09506000134352(21)E1", ph, supply.VerdictExpired},
		{"quarantined", pack3, ph, supply.VerdictQuarantined},
		{"wrong hands", pack1, w.ID("pharmacy2"), supply.VerdictWrongHands},
		{"garbage", "hello", ph, supply.VerdictBadCode},
		{"two scans in one field", "(01)09506000134352(21)R1(01)09506000134352(21)S1", ph, supply.VerdictBadCode},
		// A keyboard-wedge scanner that drops GS: the ledger settles which
		// reading names a pack, or says to scan again — never a false
		// counterfeit alarm.
		{"no GS: the lot swallows the serial", "0109506000134352" + "10L121S1", ph, supply.VerdictDispensable},
		{"no GS: the serial swallows the lot", "0109506000134352" + "21S110L1", ph, supply.VerdictDispensable},
		{"no GS, and no reading is a pack", "0109506000134352" + "10L121NOPE", ph, supply.VerdictMissingSeparator},
		{"no GS, and the lot names no pack's", "0109506000134352" + "10XX21S1", ph, supply.VerdictMissingSeparator},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verify(w, c.code, c.scanner)
			if v.Verdict != c.want || v.Dispensable != (c.want == supply.VerdictDispensable) || v.Message == "" {
				t.Fatalf("got %s (%s), want %s", v.Verdict, v.Message, c.want)
			}
			if strings.HasPrefix(c.name, "no GS") != (v.Reading != "" || v.Verdict == supply.VerdictMissingSeparator) {
				t.Fatalf("reading %q for %s", v.Reading, c.name)
			}
		})
	}
	v := verify(w, pack2, ph)
	if v.DispensedBy != ph || len(v.Trail) != 4 || v.Trail[0].Action != "commission" || v.Trail[3].Action != "dispense" {
		t.Fatalf("clone report: %+v", v)
	}
}

func TestReturnableAssets(t *testing.T) {
	w := newWorld(t)
	cyl := "urn:epc:id:grai:0614141.12345.400"
	must(t, w.Do("dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: cyl, AssetType: "oxygen-10l", InspectionDue: "2026-09-01"}))
	for _, step := range []struct {
		org, typ string
		body     any
		want     error
	}{
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "fill"}, nil},
		{"dist", supply.TypeShip, supply.Ship{Codes: []string{cyl}, To: w.ID("pharmacy")}, nil},
		{"pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{cyl}}, nil},
		{"pharmacy", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "use"}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "empty"}, supply.ErrNotCustodian},
		{"pharmacy", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "empty"}, nil},
		{"pharmacy", supply.TypeShip, supply.Ship{Codes: []string{cyl}, To: w.ID("dist")}, nil},
		{"dist", supply.TypeReceive, supply.Receive{Codes: []string{cyl}}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "inspect"}, supply.ErrBadField},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "inspect", InspectionDue: "2027-09-01"}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: pack1, Action: "fill"}, supply.ErrUnknownObject},
	} {
		if err := w.Do(step.org, step.typ, step.body); !errors.Is(err, step.want) {
			t.Fatalf("%s %s: got %v, want %v", step.org, step.typ, err, step.want)
		}
	}
	if due, next, err := supply.AssetsPage(w.St.Committed(), "2027-12-31", "", 10); err != nil || len(due) != 1 || next != "" {
		t.Fatalf("assets due before 2027-12-31: %v %q %v", due, next, err)
	}
	if due, _, _ := supply.AssetsPage(w.St.Committed(), "2027-01-01", "", 10); len(due) != 0 {
		t.Fatalf("assets due before 2027-01-01: %v", due)
	}
	key, _, _ := supply.KeyOf(cyl)
	o, err := supply.GetObject(w.St.Committed(), key)
	if err != nil || o.Custodian != w.ID("dist") || o.AssetState != "empty" || o.Cycles != 1 || o.InspectionDue != "2027-09-01" {
		t.Fatalf("cylinder: %+v %v", o, err)
	}
}

// TestUndoDispense: the dispensing organisation takes a dispense back within
// 10 days of it (EU FMD), and the pack is dispensable in its stock again;
// nobody else may, nothing not dispensed can be, and past the window it is
// refused with its own code and changes nothing.
func TestUndoDispense(t *testing.T) {
	w := setup(t)
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1, pack2, pack3}, To: w.ID("pharmacy")}))
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1, pack2, pack3}}))
	must(t, w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}))
	must(t, w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}))
	cases := []struct {
		name, who, code string
		after           time.Duration
		want            error
		verdict         string
	}{
		{"a pack never dispensed", "pharmacy", pack3, 0, supply.ErrNotDispensed, supply.VerdictDispensable},
		{"another pharmacy", "pharmacy2", pack1, 0, supply.ErrNotCustodian, supply.VerdictDispensed},
		{"the dispenser, the same day", "pharmacy", pack1, 0, nil, supply.VerdictDispensable},
		{"again: nothing left to take back", "pharmacy", pack1, 0, supply.ErrNotDispensed, supply.VerdictDispensable},
		{"past 10 days", "pharmacy", pack2, supply.UndoWindow + time.Second, supply.ErrUndoWindow, supply.VerdictDispensed},
	}
	// A pack recalled since its dispense stays dispensed.
	w2 := setup(t)
	must(t, w2.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w2.ID("pharmacy")}))
	must(t, w2.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1}}))
	must(t, w2.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}))
	must(t, w2.Do("maker", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L1", Reason: "contaminated"}))
	w2.Try(t, "pharmacy", supply.TypeUndoDispense, supply.UndoDispense{Code: pack1}, supply.ErrRecalled)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.Advance(c.after)
			if err := w.Do(c.who, supply.TypeUndoDispense, supply.UndoDispense{Code: c.code}); !errors.Is(err, c.want) {
				t.Fatalf("undo: %v, want %v", err, c.want)
			}
			if v := verify(w, c.code, w.ID("pharmacy")); v.Verdict != c.verdict {
				t.Fatalf("then the verdict is %s, want %s", v.Verdict, c.verdict)
			}
		})
	}
	o, err := supply.GetObject(w.St.Committed(), "sgtin:"+gtin+".S1")
	if err != nil || o.DispensedBy != "" || o.DispensedAt != "" || o.Custodian != w.ID("pharmacy") {
		t.Fatalf("the pack taken back: %+v %v", o, err)
	}
}
