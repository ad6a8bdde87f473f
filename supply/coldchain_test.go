package supply_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// readings makes a logger's record: one reading every step seconds from
// start, at the given centi-degrees.
func readings(start, step int64, cs ...int64) *supply.Sensor {
	s := &supply.Sensor{Device: "urn:epc:id:giai:4000001.111"}
	for i, c := range cs {
		s.Readings = append(s.Readings, supply.Reading{T: start + int64(i)*step, C: c})
	}
	return s
}

// TestAssess: a storage rule's verdict on readings, integers only.
func TestAssess(t *testing.T) {
	rule := &supply.StorageRule{GTIN: gtin, MinC: 200, MaxC: 800,
		Alarms: []supply.Alarm{{When: "at_or_above", C: 4500, Seconds: 3600}, {When: "at_or_below", C: -50, Seconds: 3600}}}
	lenient := *rule
	lenient.AllowanceS = 3 * 3600
	const t0 = 1_767_225_600
	cases := []struct {
		name    string
		rule    *supply.StorageRule
		sensor  *supply.Sensor
		want    bool
		seconds int64
		reason  string
	}{
		{"all in range", rule, readings(t0, 1800, 400, 500, 790, 210), false, 0, ""},
		{"one reading warm for 30 min", rule, readings(t0, 1800, 400, 950, 500), true, 1800, "outside 2.00–8.00 °C for 30 min"},
		{"the last reading counts as long as the interval before it, at most 30 min", rule, readings(t0, 3600, 400, 500, 150), true, 1800, "outside"},
		{"a lone reading counts 30 min", rule, readings(t0, 0, 950), true, 1800, "outside"},
		{"a gap counts at most an hour", rule, &supply.Sensor{Readings: []supply.Reading{{T: t0, C: 1200}, {T: t0 + 10*86400, C: 500}}}, true, 3600, "for 1 h"},
		{"within the allowance", &lenient, readings(t0, 3600, 400, 1200, 1200, 500), false, 7200, ""},
		{"past the allowance", &lenient, readings(t0, 3600, 400, 1200, 1200, 1200, 1200, 500), true, 4 * 3600, "more than the 3 h allowed"},
		{"an alarm within an allowance still breaks the rule", &lenient, readings(t0, 1800, 400, 4600, 4600, 500), true, 3600, "at or above 45.00 °C for 1 h"},
		{"frozen", &lenient, readings(t0, 1800, 400, -100, -100, 400), true, 3600, "at or below -0.50 °C"},
		{"the logger's own alarm", rule, &supply.Sensor{Readings: []supply.Reading{{T: t0, C: 500}}, Exceptions: []supply.SensorException{{T: t0 + 60, Exception: "ALARM_CONDITION"}}}, true, 0, "ALARM_CONDITION"},
		{"an error condition is no verdict", rule, &supply.Sensor{Readings: []supply.Reading{{T: t0, C: 500}}, Exceptions: []supply.SensorException{{T: t0, Exception: "ERROR_CONDITION"}}}, false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.rule.Assess(c.sensor)
			if a.Excursion != c.want || a.Seconds != c.seconds || !strings.Contains(a.Reason, c.reason) {
				t.Fatalf("got %+v", a)
			}
		})
	}
}

// TestColdChain: a case shipped with a logger; the receiver's readings
// break the rule, its packs scan as temperature_excursion, cannot be
// dispensed, and the manufacturer's release lets them go; every refusal
// changes nothing.
func TestColdChain(t *testing.T) {
	w := setup(t)
	const t0 = 1_767_225_600
	w.Now = w.Now.AddDate(1, 0, 0)
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: case1, Children: []string{pack1, pack2}}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{case1}, To: w.ID("pharmacy"), Carrier: "ColdExpress"}))
	warm := readings(t0, 1800, 400, 500, 1200, 1300, 600)

	refusals := []struct {
		name string
		org  string
		typ  string
		body any
		want error
	}{
		{"a rule for another maker's product", "maker2", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800}, supply.ErrNotRuleHolder},
		{"an upside-down range", "maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 800, MaxC: 200}, supply.ErrBadRule},
		{"an alarm of no kind", "maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800, Alarms: []supply.Alarm{{When: "hot", C: 3000, Seconds: 60}}}, supply.ErrBadRule},
		{"a reading hotter than anything real", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: readings(t0, 60, 500, 20000)}, supply.ErrBadSensor},
		{"readings out of order", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: &supply.Sensor{Readings: []supply.Reading{{T: t0 + 60, C: 500}, {T: t0, C: 500}}}}, supply.ErrBadSensor},
		{"a reading after the block", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: readings(w.Now.Unix()+7200, 60, 500)}, supply.ErrBadSensor},
		{"no readings", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: &supply.Sensor{}}, supply.ErrNothingToWatch},
		{"too many readings", "pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: readings(t0, 1, make([]int64, supply.MaxReadings+1)...)}, supply.ErrBadSensor},
		{"an observation by a stranger", "dist", supply.TypeObserve, supply.Observe{Codes: []string{case1}, Sensor: warm}, supply.ErrNotCustodian},
	}
	for _, r := range refusals {
		before := w.St.Hash()
		if err := w.Do(r.org, r.typ, r.body); !errors.Is(err, r.want) {
			t.Fatalf("%s: got %v, want %v", r.name, err, r.want)
		}
		if string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refusal changed the state", r.name)
		}
	}

	must(t, w.Do("maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800,
		Alarms: []supply.Alarm{{When: "at_or_above", C: 4500, Seconds: 3600}}}))
	// The pharmacy observes on the way (a clean record), then receives with
	// the logger's readings.
	must(t, w.Do("pharmacy", supply.TypeObserve, supply.Observe{Codes: []string{case1}, Sensor: readings(t0-7200, 1800, 400, 410)}))
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{case1}, Sensor: warm}))

	v := verify(w, pack1, w.ID("pharmacy"))
	if v.Verdict != supply.VerdictExcursion || v.Dispensable || v.Excursion == nil || v.Excursion.Seconds != 3600 ||
		v.Excursion.Carrier != "ColdExpress" || v.Excursion.From != w.ID("maker") || v.Excursion.To != w.ID("pharmacy") {
		t.Fatalf("after a warm shipment: %+v %+v", v, v.Excursion)
	}
	if len(v.ColdChain) != 2 || len(v.ColdChain[1].Readings) != 5 || v.StorageRule == nil || v.ColdChain[1].Assessments[0].Packs != 2 {
		t.Fatalf("the verdict's chart: %d records, rule %v", len(v.ColdChain), v.StorageRule)
	}
	if !strings.Contains(v.Message, "2 readings at 12.00 to 13.00 °C") || !strings.Contains(v.Message, "releases or destroys") {
		t.Fatalf("message: %s", v.Message)
	}
	must(t, w.Do("pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1, Children: []string{pack2}}))
	if err := w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack2}); !errors.Is(err, supply.ErrColdHold) {
		t.Fatalf("dispensing a held pack: %v", err)
	}
	// The case itself carries the records but no hold.
	if v := verify(w, case1, w.ID("pharmacy")); len(v.ColdChain) != 2 || v.Excursion != nil {
		t.Fatalf("the case: %+v", v)
	}

	// The regulator's view.
	out, err := w.Query("regulator", "/api/v1/supply/excursions/counts", nil)
	counts, _ := out.(*supply.ExcursionCounts)
	if err != nil || counts == nil || len(counts.Routes) != 1 || counts.Routes[0].Count != 1 || len(counts.Carriers) != 1 || counts.Carriers[0].Carrier != "ColdExpress" {
		t.Fatalf("counts: %+v", counts)
	}
	exc, _, err := supply.ExcursionsPage(w.St.Committed(), "", "", 10)
	if err != nil || len(exc) != 1 || exc[0].Packs != 2 || len(exc[0].Lots) != 1 {
		t.Fatalf("excursions: %v %+v", err, exc)
	}
	id := exc[0].ID
	lot, err := supply.LotExcursions(w.St.Committed(), gtin, "L1", 10)
	if err != nil || len(lot) != 1 || lot[0].ID != id {
		t.Fatalf("the lot's excursions: %v %+v", err, lot)
	}

	decisions := []struct {
		name string
		org  string
		body supply.ExcursionDecision
		want error
	}{
		{"another maker decides", "maker2", supply.ExcursionDecision{ID: id, Decision: "release", Note: "x"}, supply.ErrNotRuleHolder},
		{"a pharmacy decides", "pharmacy", supply.ExcursionDecision{ID: id, Decision: "release", Note: "x"}, ledger.ErrUnauthorized},
		{"no such excursion", "maker", supply.ExcursionDecision{ID: "99/" + gtin, Decision: "release", Note: "x"}, supply.ErrUnknownExc},
		{"a decision of no kind", "maker", supply.ExcursionDecision{ID: id, Decision: "maybe", Note: "x"}, supply.ErrBadField},
		{"no note", "maker", supply.ExcursionDecision{ID: id, Decision: "release"}, supply.ErrBadField},
	}
	for _, d := range decisions {
		before := w.St.Hash()
		if err := w.Do(d.org, supply.TypeExcursionDecision, d.body); !errors.Is(err, d.want) {
			t.Fatalf("%s: got %v, want %v", d.name, err, d.want)
		}
		if string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refusal changed the state", d.name)
		}
	}
	must(t, w.Do("maker", supply.TypeExcursionDecision, supply.ExcursionDecision{ID: id, Decision: "release", Note: "stability data: 1 h at 13 °C is within label"}))
	if err := w.Do("maker", supply.TypeExcursionDecision, supply.ExcursionDecision{ID: id, Decision: "destroy", Note: "x"}); !errors.Is(err, supply.ErrExcDecided) {
		t.Fatalf("deciding twice: %v", err)
	}
	if v := verify(w, pack2, w.ID("pharmacy")); v.Verdict != supply.VerdictDispensable || len(v.ColdChain) != 2 {
		t.Fatalf("after the release: %s %s", v.Verdict, v.Message)
	}
	must(t, w.Do("pharmacy", supply.TypeUnpack, supply.Pack{Parent: case1}))
	must(t, w.Do("pharmacy", supply.TypeDispense, supply.Dispense{Code: pack1}))
}

// TestColdChainDestroy: a destroy decision keeps the packs held for good.
func TestColdChainDestroy(t *testing.T) {
	w := setup(t)
	const t0 = 1_767_225_600
	w.Now = w.Now.AddDate(1, 0, 0)
	must(t, w.Do("maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack3}, To: w.ID("pharmacy")}))
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack3}, Sensor: readings(t0, 1800, 400, -200, 400)}))
	id := supply.ExcursionID(0, gtin)
	must(t, w.Do("regulator", supply.TypeExcursionDecision, supply.ExcursionDecision{ID: id, Decision: "destroy", Note: "frozen: not to be used"}))
	v := verify(w, pack3, w.ID("pharmacy"))
	if v.Verdict != supply.VerdictExcursion || !strings.Contains(v.Message, "destroyed") {
		t.Fatalf("after destroy: %s %s", v.Verdict, v.Message)
	}
	// The carrier was not named: counted under "-".
	_, carriers, _, err := supply.Counts(w.St.Committed(), 10)
	if err != nil || len(carriers) != 1 || carriers[0].Carrier != "-" {
		t.Fatalf("carriers: %v %+v", err, carriers)
	}
}

// TestMaxReadingsFitAnEnvelope: a capture of as many readings as a capture
// may carry, with the lowest temperatures, the longest times and a full
// device id, still fits one transaction's envelope.
func TestMaxReadingsFitAnEnvelope(t *testing.T) {
	s := readings(1<<40, 1, make([]int64, supply.MaxReadings)...)
	for i := range s.Readings {
		s.Readings[i].C = supply.MinCenti
	}
	s.Device = strings.Repeat("d", 256)
	body := supply.Capture{Events: []supply.CaptureEvent{{Step: "receive", EventID: strings.Repeat("e", 200), Codes: []string{case1}, Sensor: s}}}
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	raw, err := envelope.Build("primum-test", key, 1<<62, supply.TypeCapture, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.Decode(raw); err != nil {
		t.Fatalf("%d bytes: %v", len(raw), err)
	}
}

// TestMasterData: a capture's product step registers a product, updates
// its manufacturer's own, and is refused for another's.
func TestMasterData(t *testing.T) {
	w := newWorld(t)
	must(t, w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin", Form: "capsule"}))
	upsert := func(org string, p supply.RegisterProduct) error {
		return w.Do(org, supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "product", Product: &p}}})
	}
	must(t, upsert("maker", supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin 500 mg capsules", Strength: "500 mg"}))
	if p, err := supply.GetProduct(w.St.Committed(), gtin); err != nil || p.Name != "Amoxicillin 500 mg capsules" || p.Form != "capsule" {
		t.Fatalf("updated: %v %+v", err, p)
	}
	if err := upsert("maker2", supply.RegisterProduct{GTIN: gtin, Name: "mine now"}); !errors.Is(err, supply.ErrProductExists) {
		t.Fatalf("another maker's update: %v", err)
	}
	if err := upsert("pharmacy", supply.RegisterProduct{GTIN: "04012345123456", Name: "x"}); !errors.Is(err, ledger.ErrUnauthorized) {
		t.Fatalf("a pharmacy's master data: %v", err)
	}
	must(t, upsert("maker2", supply.RegisterProduct{GTIN: "04012345123456", Name: "Paracetamol"}))
	// Once a pack is commissioned, its product's master data is fixed.
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2030-01-01", Serials: []string{"S1"}}))
	if err := upsert("maker", supply.RegisterProduct{GTIN: gtin, Strength: "5000 mg"}); !errors.Is(err, supply.ErrProductExists) {
		t.Fatalf("an update after commissioning: %v", err)
	}
}

// TestHoldsAddUp: a pack held by two excursions stays held until both are
// decided; records of a journey add up however they are split; a
// receiver's repeated records of packs already held do not count again by
// route and carrier.
func TestHoldsAddUp(t *testing.T) {
	w := setup(t)
	const t0 = 1_767_225_600
	w.Now = w.Now.AddDate(1, 0, 0)
	must(t, w.Do("maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800, AllowanceS: 7200,
		Alarms: []supply.Alarm{{When: "at_or_above", C: 2500, Seconds: 3600}}}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1, pack2}, To: w.ID("pharmacy"), Carrier: "HonestCarrier"}))
	// Split into lone readings at 30 °C: each counts 30 min, the second
	// reaches the alarm's hour.
	must(t, w.Do("pharmacy", supply.TypeObserve, supply.Observe{Codes: []string{pack1, pack2}, Sensor: readings(t0, 0, 3000)}))
	if v := verify(w, pack1, ""); v.Verdict == supply.VerdictExcursion {
		t.Fatalf("one lone reading: %s", v.Message)
	}
	must(t, w.Do("pharmacy", supply.TypeObserve, supply.Observe{Codes: []string{pack1, pack2}, Sensor: readings(t0+1800, 0, 3000)}))
	v := verify(w, pack1, "")
	if v.Verdict != supply.VerdictExcursion || !strings.Contains(v.Message, "with the pack's earlier records") {
		t.Fatalf("split records: %s %s", v.Verdict, v.Message)
	}
	first := v.Excursion.ID
	// More records of packs already held: another hold each, no count.
	must(t, w.Do("pharmacy", supply.TypeObserve, supply.Observe{Codes: []string{pack1, pack2}, Sensor: readings(t0+3600, 0, 3000)}))
	must(t, w.Do("pharmacy", supply.TypeObserve, supply.Observe{Codes: []string{pack1, pack2}, Sensor: readings(t0+5400, 0, 3000)}))
	routes, carriers, _, err := supply.Counts(w.St.Committed(), 10)
	if err != nil || len(routes) != 1 || routes[0].Count != 1 || carriers[0].Count != 1 {
		t.Fatalf("counts: %v %+v %+v", err, routes, carriers)
	}
	// Releasing the first excursion leaves the others holding the packs.
	must(t, w.Do("maker", supply.TypeExcursionDecision, supply.ExcursionDecision{ID: first, Decision: "release", Note: "reviewed"}))
	if v := verify(w, pack1, ""); v.Verdict != supply.VerdictExcursion || v.Excursion.ID == first || len(v.Excursions) < 3 {
		t.Fatalf("after one release: %s, %d excursions", v.Verdict, len(v.Excursions))
	}
	exc, _, err := supply.ExcursionsPage(w.St.Committed(), gtin, "", 10)
	must(t, err)
	for _, e := range exc {
		if e.ID != first {
			must(t, w.Do("maker", supply.TypeExcursionDecision, supply.ExcursionDecision{ID: e.ID, Decision: "release", Note: "reviewed"}))
		}
	}
	if v := verify(w, pack1, ""); v.Verdict == supply.VerdictExcursion || v.Excursion != nil {
		t.Fatalf("after every release: %s", v.Verdict)
	}
}

// TestKeptEventsAreTheHoldersToRecord: an event kept as recorded that
// names another member's pack, has a time that is not one or a quantity
// that is no plain decimal is refused.
func TestKeptEventsAreTheHoldersToRecord(t *testing.T) {
	w := setup(t)
	keep := func(org string, e supply.Event, at string) error {
		return w.Do(org, supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "record", EventTime: at, Record: &e}}})
	}
	key := "sgtin:" + gtin + ".S1"
	for _, c := range []struct {
		name string
		org  string
		e    supply.Event
		at   string
		want error
	}{
		{"another's pack", "pharmacy2", supply.Event{Type: "ObjectEvent", Action: "DELETE", BizStep: "decommissioning", Keys: []string{key}}, "", supply.ErrNotCustodian},
		{"not a time", "maker", supply.Event{Type: "TransformationEvent", Inputs: []string{key}}, "not a time", supply.ErrBadField},
		{"a huge quantity", "maker", supply.Event{Type: "ObjectEvent", Action: "OBSERVE", Quantities: []supply.Quantity{{Class: "urn:epc:class:lgtin:9506000.013435.L1", Quantity: "1e999999"}}}, "", supply.ErrBadField},
		{"a quantity that is no number", "maker", supply.Event{Type: "ObjectEvent", Action: "OBSERVE", Quantities: []supply.Quantity{{Class: "urn:epc:class:lgtin:9506000.013435.L1", Quantity: "x"}}}, "", supply.ErrBadField},
	} {
		before := w.St.Hash()
		if err := keep(c.org, c.e, c.at); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refusal changed the state", c.name)
		}
	}
	must(t, keep("maker", supply.Event{Type: "TransformationEvent", Inputs: []string{key}, OutputQuantities: []supply.Quantity{{Class: "urn:epc:class:lgtin:9506000.013435.L1", Quantity: "2.5e1", UOM: "KGM"}}}, "2026-01-01T00:00:00Z"))
}

// TestLoggerBatch: a record whose readings a registered logger committed
// in a batch names it; the ledger checks the batch committed exactly those
// readings (from the frontier of the log before them), so each is
// provable offline from the logger's log. A record that differs by one
// reading, names a batch that is not there or a frontier of another log is
// refused, and changes nothing.
func TestLoggerBatch(t *testing.T) {
	w := moduletest.New(t, supply.Declare(), devices.Declare())
	for _, o := range []struct{ name, typ string }{{"maker", "manufacturer"}, {"pharmacy", "pharmacy"}} {
		w.AddOrg(o.name, o.typ)
	}
	w.Commit()
	logger := w.AddDevice("logger", "maker", "data-logger")
	must(t, w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "MR vaccine"}))
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2030-12-31", Serials: []string{"S1"}}))
	must(t, w.Do("maker", supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.ID("pharmacy")}))

	// The logger's log: an earlier shipment's 3 readings (batch 1), then
	// this one's 4 (batch 2).
	const t0 = 1_767_225_600
	earlier := readings(t0-86400, 1800, 500, 510, 520)
	this := readings(t0, 1800, 450, 460, 470, 480)
	log := append(supply.LoggerLeaves(earlier.Readings), supply.LoggerLeaves(this.Readings)...)
	first, err := devices.Next(log[:3], nil)
	must(t, err)
	must(t, w.Do("logger", devices.TypeBatch, first))
	latest, err := devices.Latest(w.St.Committed(), logger)
	must(t, err)
	second, err := devices.Next(log, latest)
	must(t, err)
	must(t, w.Do("logger", devices.TypeBatch, second))
	frontier, err := anchor.Frontier(log[:3])
	must(t, err)
	hexes := make([]string, len(frontier))
	for i, h := range frontier {
		hexes[i] = hex.EncodeToString(h)
	}
	anchored := func(s *supply.Sensor, batch uint64, fr []string) *supply.Sensor {
		c := *s
		c.Logger, c.Batch, c.Frontier = logger, batch, fr
		return &c
	}
	tampered := readings(t0, 1800, 450, 460, 470, 481)
	for _, c := range []struct {
		name   string
		sensor *supply.Sensor
	}{
		{"a reading changed", anchored(tampered, 2, hexes)},
		{"the earlier batch", anchored(this, 1, hexes)},
		{"no such batch", anchored(this, 9, hexes)},
		{"no frontier", anchored(this, 2, nil)},
		{"a frontier hash that is not hex", anchored(this, 2, []string{"zz"})},
		{"a batch without its logger", &supply.Sensor{Readings: this.Readings, Batch: 2}},
	} {
		before := w.St.Hash()
		if err := w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1}, Sensor: c.sensor}); !errors.Is(err, supply.ErrNotAnchored) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refusal changed the state", c.name)
		}
	}
	must(t, w.Do("pharmacy", supply.TypeReceive, supply.Receive{Codes: []string{pack1}, Sensor: anchored(this, 2, hexes)}))
	v := verify(w, pack1, w.ID("pharmacy"))
	if len(v.ColdChain) != 1 || v.ColdChain[0].Logger != logger || v.ColdChain[0].Batch != 2 || v.Verdict != supply.VerdictDispensable {
		t.Fatalf("the anchored record: %+v", v)
	}
	// Each reading is in the logger's committed log: its inclusion proof
	// checks against batch 2's root.
	e, err := devices.GetBatch(w.St.Committed(), logger, 2)
	must(t, err)
	root, _ := hex.DecodeString(e.Root)
	for i := range this.Readings {
		p, err := anchor.Prove(log, uint64(3+i))
		must(t, err)
		if err := anchor.Verify(supply.LoggerLeaves(this.Readings)[i], uint64(3+i), e.Size, p, root); err != nil {
			t.Fatalf("reading %d: %v", i, err)
		}
	}
}

// TestDispensingKeepsNoDetails: event data is public, and a pharmacy's
// system may name the patient in a dispensing's parties, extension
// fields, ILMD, sensor data or location fields: the ledger keeps none of
// them on a dispensing, however it is recorded (a kept event, a custody
// step, an error declaration), and a refusal changes nothing.
func TestDispensingKeepsNoDetails(t *testing.T) {
	w := setup(t)
	capture := func(e supply.CaptureEvent) error {
		return w.Do("maker", supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{e}})
	}
	patient := [][2]string{{"possessing_party", "urn:example:patient:jane-doe"}}
	for _, c := range []struct {
		name string
		e    supply.CaptureEvent
		want error
	}{
		{"a kept dispensing naming a party", supply.CaptureEvent{Step: "record", Record: &supply.Event{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "dispensing",
			Quantities: []supply.Quantity{{Class: "urn:epc:class:lgtin:9506000.013435.L1", Quantity: "1"}}, Destinations: patient}}, supply.ErrPublicDispensing},
		{"a kept dispensing (CBV URN) with an extension field", supply.CaptureEvent{Step: "record", Record: &supply.Event{Type: "ObjectEvent", Action: "OBSERVE",
			BizStep: "urn:epcglobal:cbv:bizstep:dispensing", Extensions: `{"example:patient":"Jane Doe"}`}}, supply.ErrPublicDispensing},
		{"an observation recorded as a dispensing, with location fields", supply.CaptureEvent{Step: "observe", BizStep: "dispensing", Codes: []string{pack3},
			Locations: `{"bizLocation":{"example:deliverTo":"12 Home St"}}`, BizLocation: "urn:epc:id:sgln:9506000.00001.0"}, supply.ErrPublicDispensing},
		{"an inspection with the same", supply.CaptureEvent{Step: "observe", BizStep: "inspecting", Codes: []string{pack3},
			Locations: `{"bizLocation":{"example:dock":"3"}}`, BizLocation: "urn:epc:id:sgln:9506000.00001.0", Destinations: patient}, nil},
		{"a kept dispensing, plainly", supply.CaptureEvent{Step: "record", EventID: "urn:uuid:d1", Record: &supply.Event{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "dispensing", EventID: "urn:uuid:d1",
			Quantities: []supply.Quantity{{Class: "urn:epc:class:lgtin:9506000.013435.L1", Quantity: "1"}}}}, nil},
		{"its error declaration with an extension field", supply.CaptureEvent{Step: "declare_error", EventID: "urn:uuid:d1",
			Declare: &supply.ErrorDeclaration{Time: "2026-01-02T00:00:00Z", Extensions: `{"example:patient":"Jane Doe"}`}}, supply.ErrPublicDispensing},
	} {
		before := w.St.Hash()
		if err := capture(c.e); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v; want %v", c.name, err, c.want)
		}
		if c.want != nil && string(before) != string(w.St.Hash()) {
			t.Fatalf("%s: a refusal changed the state", c.name)
		}
	}
}

// TestLocationMasterData: a location's master data is set, and replaced,
// by the member that registered its GLN only.
func TestLocationMasterData(t *testing.T) {
	w := setup(t)
	gln := "950600000001" + string(gs1.CheckDigit("950600000001"))
	must(t, w.Do("maker", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: gln}))
	set := func(org, id string, attrs ...[2]string) error {
		return w.Do(org, supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{{Step: "location", Location: &supply.LocationMaster{ID: id, Attributes: attrs}}}})
	}
	const id = "urn:epc:id:sgln:9506000.00001.0"
	for _, c := range []struct {
		name, org, id string
		attrs         [][2]string
		want          error
	}{
		{"another member", "dist", id, [][2]string{{"urn:epcglobal:cbv:mda#sst", "201"}}, supply.ErrNotYourLocation},
		{"not a location", "maker", "urn:epc:id:sscc:0614141.1234567890", nil, supply.ErrBadCode},
		{"an unregistered GLN", "maker", "urn:epc:id:sgln:9506000.00002.0", nil, supply.ErrNotYourLocation},
		{"an attribute too long", "maker", id, [][2]string{{"urn:x", strings.Repeat("x", 1025)}}, supply.ErrBadField},
		{"its registrant", "maker", id, [][2]string{{"urn:epcglobal:cbv:mda#sst", "201"}}, nil},
	} {
		if err := set(c.org, c.id, c.attrs...); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v; want %v", c.name, err, c.want)
		}
	}
	if m, err := supply.GetLocationMaster(w.St.Committed(), id); err != nil || m == nil || m.Attributes[0][1] != "201" || m.By != w.ID("maker") {
		t.Fatalf("the location's master data: %+v %v", m, err)
	}
}
