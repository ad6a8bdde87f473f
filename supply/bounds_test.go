package supply_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/supply"
)

// sscc is the n-th test SSCC (company prefix 0614141), with its check digit.
func sscc(n int) string {
	body := fmt.Sprintf("1061414%010d", n)
	return "(00)" + body + string(gs1.CheckDigit(body))
}

// commissionMany commissions n packs of gtin named prefix0…, 1,000 a block.
func commissionMany(t *testing.T, w *world, prefix string, n int) []string {
	t.Helper()
	var codes []string
	for from := 0; from < n; from += supply.MaxCodes {
		var serials []string
		for i := from; i < min(n, from+supply.MaxCodes); i++ {
			serials = append(serials, fmt.Sprintf("%s%d", prefix, i))
			codes = append(codes, fmt.Sprintf("(01)%s(21)%s%d", gtin, prefix, i))
		}
		must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2027-12-31", Serials: serials}))
	}
	return codes
}

// TestAggregationIsAForest: a pack that would close a cycle, nest too deep
// or overfill a container is refused with its own code and changes
// nothing; what is accepted keeps every container's counts true.
func TestAggregationIsAForest(t *testing.T) {
	w := setup(t)
	a, b := sscc(1), sscc(2)
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: a, Children: []string{pack1}}))
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: b, Children: []string{pack2}}))
	// Nest eight levels: b ← a, then c3 ← b, … (the pack is the eighth).
	chain := []string{a, b}
	for i := 3; i <= 7; i++ {
		chain = append(chain, sscc(i))
	}
	steps := []struct {
		name   string
		parent string
		child  string
		want   error
	}{
		{"a into b", b, a, nil},
		{"b back into a: a cycle", a, b, supply.ErrCycle},
		{"b into itself", b, b, supply.ErrCycle},
		{"a pack is not a parent", pack3, a, supply.ErrNotContainer},
		{"a parent carrying a GTIN and serial is not an SSCC", "(00)106141419999999991(01)09506000134352(21)FORGED1", pack3, supply.ErrBadCode},
		{"b into c3", chain[2], b, nil},
		{"c3 into c4", chain[3], chain[2], nil},
		{"c4 into c5", chain[4], chain[3], nil},
		{"c5 into c6", chain[5], chain[4], nil},
		{"c6 into c7: eight levels with the pack", chain[6], chain[5], nil},
		{"c7 into c8: nine levels", sscc(8), chain[6], supply.ErrTooDeep},
		{"pack3 into c9", sscc(9), pack3, nil},
		{"c9 into the innermost case: nine levels", a, sscc(9), supply.ErrTooDeep},
		{"the outermost back into the innermost: a cycle", a, chain[6], supply.ErrCycle},
	}
	for _, s := range steps {
		before := w.St.Hash()
		err := w.Do("maker", supply.TypePack, supply.Pack{Parent: s.parent, Children: []string{s.child}})
		if !errors.Is(err, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
		if err != nil && string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refused pack changed the state", s.name)
		}
	}
	outer := object(t, w, chain[6])
	if outer.Contents != 8 || outer.Levels != 7 {
		t.Fatalf("outermost: %d objects over %d levels, want 8 over 7", outer.Contents, outer.Levels)
	}
	// Decommissioning the outermost walks all eight containers and two packs.
	must(t, w.Do("maker", supply.TypeDecommission, supply.Decommission{Codes: []string{chain[6]}, Reason: "destroyed"}))
	if o := object(t, w, pack1); o.Status != supply.StatusDestroyed {
		t.Fatalf("innermost pack: %s", o.Status)
	}
}

func object(t *testing.T, w *world, code string) *supply.Object {
	t.Helper()
	key, _, err := supply.KeyOf(code)
	if err != nil {
		t.Fatal(err)
	}
	o, err := supply.GetObject(w.St.Committed(), key)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestMovesAreBounded: one transaction moves at most MaxMoved objects,
// counted across a capture's events, and a container holds at most
// MaxContents; each limit has its code and a refused transaction changes
// nothing.
func TestMovesAreBounded(t *testing.T) {
	w := setup(t)
	packs := commissionMany(t, w, "B", 2000)
	box := sscc(10)
	for i := 0; i < len(packs); i += supply.MaxCodes {
		must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: box, Children: packs[i:min(len(packs), i+supply.MaxCodes)]}))
	}
	// Ten ship-and-receive pairs of a 2,000-pack case: 42,000 moves.
	var events []supply.CaptureEvent
	for range 10 {
		events = append(events, supply.CaptureEvent{Step: "ship", Codes: []string{box}, To: w.ID("dist")},
			supply.CaptureEvent{Step: "receive", Codes: []string{box}})
	}
	before := w.St.Hash()
	if err := w.Do("maker", supply.TypeCapture, supply.Capture{Events: events[:2]}); !errors.Is(err, supply.ErrNotReceiver) {
		t.Fatalf("the maker receiving its own shipment: %v", err)
	}
	// Through the distributor: a ship by the maker, then receive and ship
	// back by the distributor, would need two signers; one signer's pairs
	// are an open shipment received by itself.
	for i := range events {
		if events[i].Step == "ship" {
			events[i].To = ""
		}
	}
	if err := w.Do("maker", supply.TypeCapture, supply.Capture{Events: events}); !errors.Is(err, supply.ErrMovesTooMany) {
		t.Fatalf("ten pairs: %v", err)
	}
	if string(before) != string(w.St.Hash()) {
		t.Fatal("a refused capture changed the state")
	}
	must(t, w.Do("maker", supply.TypeCapture, supply.Capture{Events: events[:4]}))

	// A container holds at most MaxContents objects at any depth.
	more := commissionMany(t, w, "C", supply.MaxContents-len(packs)+1)
	big := sscc(11)
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: big, Children: []string{box}}))
	var err error
	for i := 0; i < len(more) && err == nil; i += supply.MaxCodes {
		err = w.Do("maker", supply.TypePack, supply.Pack{Parent: big, Children: more[i:min(len(more), i+supply.MaxCodes)]})
	}
	if !errors.Is(err, supply.ErrContainerFull) {
		t.Fatalf("packing past %d: %v", supply.MaxContents, err)
	}
	// Filled to the brim, one pack at a time past the last whole batch.
	held := object(t, w, big).Contents
	for _, p := range more[len(more)-int(supply.MaxContents-held):] {
		must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: big, Children: []string{p}}))
		if held++; held == supply.MaxContents {
			break
		}
	}
	if err := w.Do("maker", supply.TypePack, supply.Pack{Parent: big, Children: []string{more[0]}}); !errors.Is(err, supply.ErrContainerFull) && !errors.Is(err, supply.ErrInContainer) {
		t.Fatalf("one past full: %v", err)
	}
	if o := object(t, w, big); o.Contents != supply.MaxContents {
		t.Fatalf("the pallet holds %d", o.Contents)
	}
	// Unpacking and packing write a custody step a child, and count:
	// unpacking the pallet (its case and 17,999 packs), then the case
	// (2,000), then packing two of them again is 20,002 steps, more than
	// one transaction may write.
	before = w.St.Hash()
	err = w.Do("maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "unpack", Parent: big}, {Step: "unpack", Parent: box},
		{Step: "pack", Parent: box, Codes: packs[:2]}}})
	if !errors.Is(err, supply.ErrMovesTooMany) || string(before) != string(w.St.Hash()) {
		t.Fatalf("20,002 steps in one capture: %v", err)
	}
	// A full container still moves: it and its contents are MaxMoved.
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{big}, To: w.ID("dist")}))
	must(t, w.Do("dist", supply.TypeReceive, supply.Receive{Codes: []string{big}}))
}

// TestBlockMovesAreBounded: one block writes at most MaxBlockMoved custody
// steps through transactions larger than MaxCodes; past it such a
// transaction is refused (block_busy) and changes nothing, while small
// ones go on, and the next block takes it.
func TestBlockMovesAreBounded(t *testing.T) {
	w := setup(t)
	box := sscc(30)
	packs := commissionMany(t, w, "W", 19_000)
	for i := 0; i < len(packs); i += supply.MaxCodes {
		must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: box, Children: packs[i:min(len(packs), i+supply.MaxCodes)]}))
	}
	// Ship the box out and back, as an open shipment the maker receives
	// itself: each pair is 38,002 steps, in one block.
	w.Begin()
	pairs := 0
	for {
		err := w.Run("maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "ship", Codes: []string{box}}}})
		if err == nil {
			err = w.Run("maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "receive", Codes: []string{box}}}})
		}
		if err != nil {
			if !errors.Is(err, supply.ErrBlockBusy) {
				t.Fatal(err)
			}
			break
		}
		pairs++
	}
	if w.Work > supply.MaxBlockMoved || pairs != 2 {
		t.Fatalf("%d pairs, %d steps in one block", pairs, w.Work)
	}
	// A small transaction still goes into this block.
	must(t, w.Run("maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.ID("dist")}))
	w.Commit()
	must(t, w.Do("maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "receive", Codes: []string{box}}}}))
}

// TestDecommissionedLeavesItsContainer: a pack reported stolen inside a
// case is taken out of it, so the case's journey no longer carries it and
// nothing can bring it back; the case's counts follow.
func TestDecommissionedLeavesItsContainer(t *testing.T) {
	w := setup(t)
	outer, inner := sscc(40), sscc(41)
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: inner, Children: []string{pack1, pack2}}))
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: outer, Children: []string{inner}}))
	must(t, w.Do("maker", supply.TypeDecommission, supply.Decommission{Codes: []string{pack1}, Reason: "stolen"}))
	if o := object(t, w, outer); o.Contents != 2 || o.Levels != 2 {
		t.Fatalf("outer after the theft: %d objects over %d levels", o.Contents, o.Levels)
	}
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{outer}, To: w.ID("pharmacy")}))
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{outer}}))
	must(t, w.Do("pharmacy", supply.TypeUnpack, supply.Pack{Parent: outer}))
	must(t, w.Do("pharmacy", supply.TypeUnpack, supply.Pack{Parent: inner}))
	if o := object(t, w, pack1); o.Status != supply.StatusStolen || o.Parent != "" || o.Custodian != w.ID("maker") {
		t.Fatalf("the stolen pack: %+v", o)
	}
	if err := w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}); !errors.Is(err, supply.ErrNotCustodian) && !errors.Is(err, supply.ErrDecommissioned) {
		t.Fatalf("dispensing the stolen pack: %v", err)
	}
	must(t, w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}))
	if err := w.Do("pharmacy", supply.TypeUnpack, supply.Pack{Parent: inner}); !errors.Is(err, supply.ErrBadField) {
		t.Fatalf("unpacking an empty case: %v", err)
	}
	// Levels shrink with what is unpacked: outer is empty and flat again.
	if o := object(t, w, outer); o.Contents != 0 || o.Levels != 0 {
		t.Fatalf("outer emptied: %d objects over %d levels", o.Contents, o.Levels)
	}
}

// TestIdentifierIntegrity: a code names exactly one object of the kind its
// step takes; serials with separators cannot reach another object's trail;
// a shipment naming no receiver goes only to an organisation that may hold
// medicines.
func TestIdentifierIntegrity(t *testing.T) {
	w := setup(t)
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2027-12-31", Serials: []string{"S1/x", "S1%2Fy"}}))
	for _, s := range []struct {
		name, org, typ string
		body           any
		want           error
	}{
		{"pack under a forged SGTIN", "dist", supply.TypePack, supply.Pack{Parent: "(00)106141419999999991(01)09506000134352(21)FORGED1", Children: []string{pack1}}, supply.ErrBadCode},
		{"asset carrying a GTIN and serial", "dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: "(8003)00614141123452400(01)09506000134352(21)FORGED2", AssetType: "oxygen"}, supply.ErrBadCode},
		{"asset from a pack code", "dist", supply.TypeRegisterAsset, supply.RegisterAsset{Code: "(01)09506000134352(21)FORGED3", AssetType: "oxygen"}, supply.ErrNotAsset},
		{"pack S1/x", "maker", supply.TypePack, supply.Pack{Parent: sscc(20), Children: []string{"(01)09506000134352(21)S1/x"}}, nil},
		{"ship S1%2Fy, open", "maker", supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)S1%2Fy"}}, nil},
		{"an insurer cannot take an open shipment", "insurer", supply.TypeReceive, supply.Receive{Codes: []string{"(01)09506000134352(21)S1%2Fy"}}, supply.ErrOpenReceipt},
		{"a pharmacy can", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{"(01)09506000134352(21)S1%2Fy"}}, nil},
	} {
		if err := w.Do(s.org, s.typ, s.body); !errors.Is(err, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
	}
	if v := verify(w, "(01)09506000134352(21)FORGED1", ""); v.Verdict != supply.VerdictUnknown {
		t.Fatalf("forged serial: %s", v.Verdict)
	}
	for code, steps := range map[string][]string{
		pack1:                          {"commission"},
		"(01)09506000134352(21)S1/x":   {"commission", "pack"},
		"(01)09506000134352(21)S1%2Fy": {"commission", "ship", "receive"},
	} {
		v := verify(w, code, "")
		var got []string
		for _, s := range v.Trail {
			got = append(got, s.Action)
		}
		if fmt.Sprint(got) != fmt.Sprint(steps) {
			t.Fatalf("%s: trail %v, want %v", code, got, steps)
		}
	}
	if v := verify(w, "(01)09506000134352(21)S1%2Fy", ""); v.Trail[2].Note == "" {
		t.Fatal("the receipt of an open shipment does not say so")
	}
	if v := verify(w, sscc(20), ""); v.Verdict != supply.VerdictLogisticUnit || v.Dispensable {
		t.Fatalf("a case: %s %v", v.Verdict, v.Dispensable)
	}
	if children, err := supply.Children(w.St.Committed(), "sscc:"+sscc(20)[4:]); err != nil || len(children) != 1 || children[0] != "sgtin:09506000134352.S1/x" {
		t.Fatalf("children: %q %v", children, err)
	}
}

// TestSuspectsIndex: the suspect listing reads an index of reported
// objects, not every object: a report adds to it, the regulator's release
// takes out, and the limit holds.
func TestSuspectsIndex(t *testing.T) {
	w := setup(t)
	commissionMany(t, w, "Q", 50)
	for _, p := range []string{pack1, pack2, "(01)" + gtin + "(21)Q7"} {
		must(t, w.Do("pharmacy", supply.TypeReportSuspect, supply.ReportSuspect{Code: p, Reason: "seal broken"}))
	}
	list := func(limit int) []string {
		t.Helper()
		objs, err := supply.Suspects(w.St.Committed(), limit)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		return keys
	}
	if got := list(10); len(got) != 3 {
		t.Fatalf("suspects: %v", got)
	}
	if got := list(2); len(got) != 2 {
		t.Fatalf("limit 2: %v", got)
	}
	must(t, w.Do("regulator", supply.TypeReleaseQuarantine, supply.Release{Code: pack1}))
	if got := list(10); len(got) != 2 || got[0] == "sgtin:"+gtin+".S1" {
		t.Fatalf("after release: %v", got)
	}
}
