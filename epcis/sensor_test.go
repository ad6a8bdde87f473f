package epcis

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/supply"
)

// TestCentiCelsius: units convert exactly, rounded half away from zero.
func TestCentiCelsius(t *testing.T) {
	for _, c := range []struct {
		num, uom string
		want     int64
	}{
		{"4.5", "CEL", 450}, {"-0.5", "CEL", -50}, {"26.125", "CEL", 2613}, {"-26.125", "CEL", -2613}, {"1e1", "CEL", 1000},
		{"39.2", "FAH", 400}, {"46.4", "FAH", 800}, {"-40", "FAH", -4000},
		{"277.15", "KEL", 400}, {"0", "KEL", -27315},
	} {
		if got, err := centiCelsius(c.num, c.uom); err != nil || got != c.want {
			t.Errorf("%s %s: got %d, %v; want %d", c.num, c.uom, got, err, c.want)
		}
	}
	if _, err := centiCelsius("4", "DEG"); err == nil {
		t.Fatal("an unknown unit was read")
	}
}

// TestSensorElementList: the conformance examples' temperature reports
// read as readings in time order; other measures are left; a temperature
// in an unknown unit is refused as unknown_unit.
func TestSensorElementList(t *testing.T) {
	dir := conformance.Dir(t, "epcis/JSON/WithSensorData")
	b, err := os.ReadFile(filepath.Join(dir, "SensorDataExample1.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	var doc EPCISDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var e epcisEvent
	if err := json.Unmarshal(doc.EPCISBody.EventList[0], &e); err != nil {
		t.Fatal(err)
	}
	s, err := e.sensor(mustTime(t, "2019-04-02T14:00:00Z"))
	if err != nil || s == nil || len(s.Readings) < 3 || s.Readings[0].C != 2600 || s.Readings[1].C != 2610 || s.Device != "urn:epc:id:giai:4000001.111" {
		t.Fatalf("example 1: %v %+v", err, s)
	}
	// Every example with sensor data reads or is refused with a reason.
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonld"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		var doc EPCISDocument
		if json.Unmarshal(b, &doc) != nil {
			continue
		}
		for _, raw := range doc.EPCISBody.EventList {
			if _, err := TranslateEvent(emptyState{}, raw); err != nil && err.Error() == "" {
				t.Fatalf("%s: unclear refusal", filepath.Base(p))
			}
		}
	}

	bad := `{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"OBSERVE","bizStep":"receiving","epcList":["urn:epc:id:sscc:0614141.1234567890"],
	"sensorElementList":[{"sensorReport":[{"type":"Temperature","value":4,"uom":"DEG"}]}]}`
	if _, err := TranslateEvent(emptyState{}, json.RawMessage(bad)); !errors.Is(err, supply.ErrUnknownUnit) {
		t.Fatalf("unknown unit: %v", err)
	}
	observe := `{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"OBSERVE","bizStep":"storing","epcList":["urn:epc:id:sscc:0614141.1234567890"],"example:carrier":"x",
	"sensorElementList":[{"sensorMetadata":{"time":"2026-01-01T00:00:00Z"},"sensorReport":[{"type":"Temperature","value":9,"uom":"CEL","exception":"ALARM_CONDITION"},{"type":"Humidity","value":40,"uom":"A93"}]}]}`
	events, err := TranslateEvent(emptyState{}, json.RawMessage(observe))
	if err != nil || len(events) != 1 || events[0].Step != "observe" || events[0].BizStep != "storing" || events[0].Sensor == nil ||
		len(events[0].Sensor.Readings) != 1 || len(events[0].Sensor.Exceptions) != 1 {
		t.Fatalf("observation: %v %+v", err, events)
	}
	logged := `{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"OBSERVE","bizStep":"receiving","epcList":["urn:epc:id:sscc:0614141.1234567890"],
	"sensorElementList":[{"sensorMetadata":{"time":"2026-01-01T00:00:00Z","deviceID":"urn:primum:device:abc123","primum:batch":2,"primum:frontier":["` + strings.Repeat("ab", 32) + `"]},
	"sensorReport":[{"type":"Temperature","value":5,"uom":"CEL"}]}]}`
	if events, err := TranslateEvent(emptyState{}, json.RawMessage(logged)); err != nil || events[0].Sensor.Logger != "abc123" || events[0].Sensor.Batch != 2 || len(events[0].Sensor.Frontier) != 1 {
		t.Fatalf("a logger's batch: %v %+v", err, events)
	}
	ship := `{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"OBSERVE","bizStep":"shipping","epcList":["urn:epc:id:sscc:0614141.1234567890"],"example:carrier":"ColdExpress"}`
	if events, err := TranslateEvent(emptyState{}, json.RawMessage(ship)); err != nil || events[0].Carrier != "ColdExpress" {
		t.Fatalf("carrier: %v %+v", err, events)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestMasterData: EPCClass master data in a document's header reads as
// product steps; other vocabularies are left; a class that names no GTIN
// is refused.
func TestMasterData(t *testing.T) {
	doc := func(header string) *EPCISDocument {
		var d EPCISDocument
		if err := json.Unmarshal([]byte(`{"type":"EPCISDocument","epcisHeader":{"epcisMasterData":{"vocabularyList":[`+header+`]}},"epcisBody":{"eventList":[{}]}}`), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	steps, err := doc(`{"type":"urn:epcglobal:epcis:vtype:EPCClass","vocabularyElementList":[
		{"id":"urn:epc:idpat:sgtin:9506000.013435.*","attributes":[{"id":"urn:epcglobal:cbv:mda#regulatedProductName","attribute":"Amoxicillin"},{"id":"cbvmda:dosageFormType","attribute":"capsule"},{"id":"urn:epcglobal:cbv:mda#strengthDescription","attribute":"500 mg"}]},
		{"id":"https://id.gs1.org/01/09506000134376","attributes":[{"id":"urn:epcglobal:cbv:mda#tradeItemDescription","attribute":"MR vaccine"}]}]},
		{"type":"urn:epcglobal:epcis:vtype:Location","vocabularyElementList":[{"id":"urn:epc:id:sgln:0614141.00777.0"}]}`).MasterData()
	if err != nil || len(steps) != 2 || steps[0].Product.GTIN != "09506000134352" || steps[0].Product.Name != "Amoxicillin" || steps[0].Product.Form != "capsule" ||
		steps[0].Product.Strength != "500 mg" || steps[1].Product.GTIN != "09506000134376" || steps[1].Product.Name != "MR vaccine" {
		t.Fatalf("%v %+v", err, steps)
	}
	if _, err := doc(`{"type":"urn:epcglobal:epcis:vtype:EPCClass","vocabularyElementList":[{"id":"urn:epc:id:sscc:0614141.1234567890"}]}`).MasterData(); !errors.Is(err, ErrDocument) {
		t.Fatalf("an SSCC as a class: %v", err)
	}
}
