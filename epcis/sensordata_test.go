package epcis

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/primum-health/primum/supply"
)

// TestSensorData: an event keeps whole the sensor elements that say more
// than its temperature record holds, and only those; the logger's batch
// and frontier stay with the temperature record; more than MaxSensorData
// is refused with its reason.
func TestSensorData(t *testing.T) {
	el := func(md, reports string) string {
		return `{"sensorMetadata":` + md + `,"sensorReport":[` + reports + `]}`
	}
	const temp = `{"type":"Temperature","value":5.2,"uom":"CEL"}`
	for _, c := range []struct {
		name string
		list []string
		want int // elements kept
		err  error
	}{
		{"temperatures only", []string{el(`{"time":"2026-01-01T00:00:00Z","deviceID":"urn:x","ex:batch":3,"ex:frontier":["aa"]}`, temp)}, 0, nil},
		{"humidity beside", []string{el(`{"time":"2026-01-01T00:00:00Z"}`, temp+`,{"type":"RelativeHumidity","value":40,"uom":"P1"}`)}, 1, nil},
		{"a temperature's mean", []string{el(`{}`, `{"type":"Temperature","meanValue":5,"uom":"CEL"}`)}, 1, nil},
		{"a start time", []string{el(`{"startTime":"2026-01-01T00:00:00Z"}`, temp), el(`{}`, temp)}, 1, nil},
		{"an element's own field", []string{`{"ex:note":"x","sensorReport":[` + temp + `]}`}, 1, nil},
		{"too much", []string{el(`{}`, strings.Repeat(`{"type":"RelativeHumidity","value":40.25,"uom":"P1","time":"2026-01-01T00:00:00Z"},`, 300)+temp)}, 0, supply.ErrBadSensor},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := sensorData(json.RawMessage(`{"sensorElementList":[` + strings.Join(c.list, ",") + `]}`))
			if !errors.Is(err, c.err) {
				t.Fatalf("%v; want %v", err, c.err)
			}
			if got := len(keptSensors(doc)); got != c.want {
				t.Fatalf("%d elements kept, want %d: %s", got, c.want, doc)
			}
			if strings.Contains(doc, "batch") || strings.Contains(doc, "frontier") {
				t.Fatalf("the logger's fields kept: %s", doc)
			}
		})
	}
}

// TestKeptSensorsShown: what a hand-signed capture kept is shown only as
// the schema allows: standard fields of their type, namespaced extensions,
// reports with a type.
func TestKeptSensorsShown(t *testing.T) {
	kept := keptSensors(`[{"sensorMetadata":{"time":5,"bizRules":"urn:r","eventID":"x","ex:a":1},"sensorReport":[{"type":"T","value":"high","booleanValue":"yes","stringValue":"ok","ex:b":2},{"value":3}],"epcList":["x"],"ex:c":3},{"sensorReport":[{"value":1}]}]`)
	if len(kept) != 1 {
		t.Fatalf("%d elements", len(kept))
	}
	b, _ := json.Marshal(kept[0].render())
	if got := string(b); got != `{"ex:c":3,"sensorMetadata":{"bizRules":"urn:r","ex:a":1},"sensorReport":[{"ex:b":2,"stringValue":"ok","type":"T"}]}` {
		t.Fatalf("shown %s", got)
	}
}

// TestMeasureMatches: a kept report's measure in its unit, temperatures
// converted; a percentile rank has no unit.
func TestMeasureMatches(t *testing.T) {
	r := map[string]any{"meanValue": json.Number("41"), "uom": "FAH", "percRank": json.Number("50")}
	five, _ := centiCelsius("5", "CEL")
	for _, c := range []struct {
		measure, uom, op string
		limit            string
		centi            int64
		want             bool
	}{
		{"meanValue", "CEL", "EQ", "5", five, true}, // 41 °F is 5 °C
		{"meanValue", "CEL", "GT", "5", five, false},
		{"meanValue", "FAH", "GE", "41", 0, true},
		{"meanValue", "P1", "GE", "0", 0, false}, // another unit
		{"percRank", "", "GE", "50", 0, true},
		{"sDev", "FAH", "GE", "0", 0, false}, // none
	} {
		limit, _ := new(big.Rat).SetString(c.limit)
		if c.centi == 0 && (c.uom == "FAH" || c.uom == "CEL") {
			c.centi, _ = centiCelsius(c.limit, c.uom)
		}
		if got := measureMatches(r, c.measure, c.uom, c.op, limit, c.centi); got != c.want {
			t.Errorf("%s %s %s %s: %v", c.op, c.measure, c.limit, c.uom, got)
		}
	}
}

// FuzzKeptSensors: kept sensor data (any JSON a capture may have kept)
// decodes and renders without failing, as sensor elements: their
// metadata, their reports (each with a type), namespaced fields.
func FuzzKeptSensors(f *testing.F) {
	f.Add(`[{"sensorMetadata":{"time":"2026-01-01T00:00:00Z"},"sensorReport":[{"type":"RelativeHumidity","value":40,"uom":"P1"}]}]`)
	f.Add(`[{"sensorReport":[{"type":"T","booleanValue":true,"ex:x":{"ex:y":[1,2]}}],"eventID":"x","ex:z":null}]`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, k := range keptSensors(doc) {
			out := k.render()
			if _, err := json.Marshal(out); err != nil {
				t.Fatal(err)
			}
			for name := range out {
				if name != "sensorMetadata" && name != "sensorReport" && !ExtensionName(name) {
					t.Fatalf("an element shows %q", name)
				}
			}
			for _, r := range k.reports {
				if _, ok := r["type"].(string); !ok {
					t.Fatalf("a report without a type: %v", r)
				}
			}
		}
	})
}
