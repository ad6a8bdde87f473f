package supply_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/supply"
)

// world runs supply transactions on a real store, the way the app does:
// staged in an overlay, flushed only on success.
type world struct {
	t      testing.TB
	st     *store.Store
	height int64
	now    time.Time
	orgs   map[string]ledger.Signer
	routes map[string]ledger.Route
	work   int64 // what the current block's transactions did (ledger.Context.BlockWork)
}

func key(name string) ed25519.PublicKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
}

func newWorld(t testing.TB) *world {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			statetest.NoEmptyValues(t, st.Committed())
		}
		st.Close()
	})
	w := &world{t: t, st: st, now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), orgs: map[string]ledger.Signer{}, routes: map[string]ledger.Route{}}
	for _, r := range supply.Routes() {
		w.routes[r.Type] = r
	}
	for _, o := range []struct{ name, typ string }{
		{"maker", "manufacturer"}, {"maker2", "manufacturer"}, {"dist", "distributor"},
		{"pharmacy", "pharmacy"}, {"pharmacy2", "pharmacy"}, {"regulator", "regulator"}, {"insurer", "insurer"},
	} {
		ident, err := identity.AddOrganisation(st.Staged(), o.name, o.typ, key(o.name), nil, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.orgs[o.name] = ledger.Signer{ID: ident.ID, Kind: ledger.KindOrganisation, OrgType: o.typ}
	}
	if _, _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) id(org string) string { return w.orgs[org].ID }

// do executes one transaction body as org and commits it as a block.
func (w *world) do(org, typ string, body any) error {
	w.t.Helper()
	w.height++
	err := w.run(org, typ, body)
	w.commit()
	return err
}

// run executes one transaction body as org in the current block.
func (w *world) run(org, typ string, body any) error {
	w.t.Helper()
	return w.runOn(w.st.Staged(), org, typ, body)
}

// runOn is run over state, a writer of the current block.
func (w *world) runOn(state ledger.Writer, org, typ string, body any) error {
	w.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		w.t.Fatal(err)
	}
	overlay := ledger.NewOverlay(state)
	var vu []ledger.ValidatorUpdate
	ctx := &ledger.Context{ChainID: "t", Height: w.height, Time: w.now, Signer: w.orgs[org], State: overlay, ValidatorUpdates: &vu, BlockWork: &w.work}
	route := w.routes[typ]
	if !route.Allows(ctx.Signer) {
		return ledger.ErrUnauthorized
	}
	err = route.Handle.Run(ctx, b)
	w.work += ctx.Work
	if err == nil {
		overlay.Flush(state)
	}
	return err
}

// commit ends the current block.
func (w *world) commit() {
	w.t.Helper()
	w.work = 0
	if _, _, err := w.st.Commit(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) verify(code, scanner string) *supply.Verdict {
	w.t.Helper()
	v, err := supply.Verify(w.st.Committed(), code, scanner, w.now)
	if err != nil {
		w.t.Fatal(err)
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
	must(t, w.do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}))
	must(t, w.do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2027-12-31", Serials: []string{"S1", "S2", "S3"}}))
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
		{"only the custodian ships", "dist", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.id("pharmacy")}, supply.ErrNotCustodian},
		{"unknown serial", "maker", supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)NOPE"}, To: w.id("dist")}, supply.ErrUnknownObject},
		{"ship to a non-member", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: "nobody"}, supply.ErrUnknownOrg},
		{"receipt without shipment", "dist", supply.TypeReceive, supply.Receive{Codes: []string{pack1}}, supply.ErrNotShipped},
		{"pack into a case", "maker", supply.TypePack, supply.Pack{Parent: case1, Children: []string{pack1, pack2}}, nil},
		{"a parent must be an SSCC", "maker", supply.TypePack, supply.Pack{Parent: pack3, Children: []string{pack1}}, supply.ErrNotContainer},
		{"a packed pack does not move alone", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.id("dist")}, supply.ErrInContainer},
		{"ship the case", "maker", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.id("dist"), EventID: "ev-ship-1"}, nil},
		{"event ids are idempotent", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.id("dist"), EventID: "ev-ship-1"}, supply.ErrDuplicateEvent},
		{"nothing moves in transit", "maker", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.id("pharmacy")}, supply.ErrInTransit},
		{"only the named receiver receives", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, supply.ErrNotReceiver},
		{"receive the case: children come along", "dist", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, nil},
		{"ship the case on", "dist", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.id("pharmacy")}, nil},
		{"pharmacy receives", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}}, nil},
		{"dispense needs unpacking", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrInContainer},
		{"unpack everything", "pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1}, nil},
		{"unpack what is not inside", "pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1, Children: []string{pack1}}, supply.ErrNotChild},
		{"only the custodian dispenses", "pharmacy2", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrNotCustodian},
		{"dispense", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, nil},
		{"dispensed once", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}, supply.ErrDispensed},
		{"nothing moves after dispensing", "pharmacy", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.id("dist")}, supply.ErrDispensed},
		{"a distributor does not dispense", "dist", supply.TypeDispense, supply.Dispense{Code: pack3}, ledger.ErrUnauthorized},
		{"bad decommission reason", "maker", supply.TypeDecommission, supply.Decommission{Codes: []string{pack3}, Reason: "lost-ish"}, supply.ErrBadReason},
		{"decommission: stolen", "maker", supply.TypeDecommission, supply.Decommission{Codes: []string{pack3}, Reason: "stolen"}, nil},
		{"nothing moves after decommissioning", "maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.id("dist")}, supply.ErrDecommissioned},
		{"another manufacturer may not recall", "maker2", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L1", Reason: "x"}, supply.ErrNotManufacturer},
		{"the regulator recalls", "regulator", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L1", Reason: "contamination"}, nil},
		{"a recalled pack is not dispensed", "pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}, supply.ErrRecalled},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := w.st.Hash()
			err := w.do(s.org, s.typ, s.body)
			if !errors.Is(err, s.want) {
				t.Fatalf("got %v, want %v", err, s.want)
			}
			if err != nil && string(before) != string(w.st.Hash()) {
				t.Fatal("a refused step changed the state")
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	w := setup(t)
	must(t, w.do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "OLD", Expiry: "2026-05-31", Serials: []string{"E1"}}))
	must(t, w.do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "BAD", Expiry: "2028-01-31", Serials: []string{"R1"}}))
	must(t, w.do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1, pack2, pack3, "(01)09506000134352(21)E1", "(01)09506000134352(21)R1"}, To: w.id("pharmacy")}))
	must(t, w.do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1, pack2, pack3, "(01)09506000134352(21)E1", "(01)09506000134352(21)R1"}}))
	must(t, w.do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}))
	must(t, w.do("maker", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "BAD", Reason: "sterility"}))
	must(t, w.do("pharmacy", supply.TypeReportSuspect, supply.ReportSuspect{Code: pack3, Reason: "broken seal"}))
	ph := w.id("pharmacy")
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
		{"wrong hands", pack1, w.id("pharmacy2"), supply.VerdictWrongHands},
		{"garbage", "hello", ph, supply.VerdictBadCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := w.verify(c.code, c.scanner)
			if v.Verdict != c.want || v.Dispensable != (c.want == supply.VerdictDispensable) || v.Message == "" {
				t.Fatalf("got %s (%s), want %s", v.Verdict, v.Message, c.want)
			}
		})
	}
	v := w.verify(pack2, ph)
	if v.DispensedBy != ph || len(v.Trail) != 4 || v.Trail[0].Action != "commission" || v.Trail[3].Action != "dispense" {
		t.Fatalf("clone report: %+v", v)
	}
}

func TestReturnableAssets(t *testing.T) {
	w := newWorld(t)
	cyl := "urn:epc:id:grai:0614141.12345.400"
	must(t, w.do("dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: cyl, AssetType: "oxygen-10l", InspectionDue: "2026-09-01"}))
	for _, step := range []struct {
		org, typ string
		body     any
		want     error
	}{
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "fill"}, nil},
		{"dist", supply.TypeShip, supply.Ship{Codes: []string{cyl}, To: w.id("pharmacy")}, nil},
		{"pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{cyl}}, nil},
		{"pharmacy", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "use"}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "empty"}, supply.ErrNotCustodian},
		{"pharmacy", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "empty"}, nil},
		{"pharmacy", supply.TypeShip, supply.Ship{Codes: []string{cyl}, To: w.id("dist")}, nil},
		{"dist", supply.TypeReceive, supply.Receive{Codes: []string{cyl}}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "inspect"}, supply.ErrBadField},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: cyl, Action: "inspect", InspectionDue: "2027-09-01"}, nil},
		{"dist", supply.TypeAssetEvent, supply.AssetEvent{Code: pack1, Action: "fill"}, supply.ErrUnknownObject},
	} {
		if err := w.do(step.org, step.typ, step.body); !errors.Is(err, step.want) {
			t.Fatalf("%s %s: got %v, want %v", step.org, step.typ, err, step.want)
		}
	}
	if due, next, err := supply.AssetsPage(w.st.Committed(), "2027-12-31", "", 10); err != nil || len(due) != 1 || next != "" {
		t.Fatalf("assets due before 2027-12-31: %v %q %v", due, next, err)
	}
	if due, _, _ := supply.AssetsPage(w.st.Committed(), "2027-01-01", "", 10); len(due) != 0 {
		t.Fatalf("assets due before 2027-01-01: %v", due)
	}
	key, _, _ := supply.KeyOf(cyl)
	o, err := supply.GetObject(w.st.Committed(), key)
	if err != nil || o.Custodian != w.id("dist") || o.AssetState != "empty" || o.Cycles != 1 || o.InspectionDue != "2027-09-01" {
		t.Fatalf("cylinder: %+v %v", o, err)
	}
}
