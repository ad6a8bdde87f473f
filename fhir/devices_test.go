package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/internal/conformance"
)

// TestDeviceObservation: each kind of reading becomes an Observation the
// R4 definitions accept, coded in LOINC and MDC as the SpO2 vital-signs
// example is, with its exact value.
func TestDeviceObservation(t *testing.T) {
	v := conformance.LoadFHIR(t)
	for _, m := range devices.Measures {
		t.Run(m.Name, func(t *testing.T) {
			r := devices.Reading{Time: 1_790_000_000, Code: m.Code, Value: m.Min + 5}
			o, err := fhir.DeviceObservation("3a9c.41", "3a9c", "9c7d", r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(o)
			if problems := v.Validate(b); len(problems) > 0 {
				t.Fatalf("not valid R4: %v\n%s", problems, b)
			}
			s := string(b)
			for _, want := range []string{`"system":"urn:iso:std:iso:11073:10101"`, `"device":{"reference":"Device/3a9c"}`, `"subject":{"reference":"Patient/9c7d"}`,
				`"effectiveDateTime":"2026-09-21T`, `"code":"` + m.Unit + `"`} {
				if !strings.Contains(s, want) {
					t.Fatalf("%s lacks %s", s, want)
				}
			}
			if m.VitalSign != strings.Contains(s, `"vital-signs"`) || (m.LOINC != "") != strings.Contains(s, `"system":"http://loinc.org"`) {
				t.Fatalf("category or LOINC: %s", s)
			}
		})
	}
	spo2, _ := fhir.DeviceObservation("x.1", "x", "", devices.Reading{Time: 1_790_000_000, Code: 150456, Value: 97_05})
	b, _ := json.Marshal(spo2)
	if !strings.Contains(string(b), `"value":97.05`) || strings.Contains(string(b), "subject") ||
		!strings.Contains(string(b), `"code":"150456","display":"MDC_PULS_OXIM_SAT_O2"`) || !strings.Contains(string(b), `"code":"59408-5"`) {
		t.Fatalf("an organisation's SpO2 reading: %s", b)
	}
	if _, err := fhir.DeviceObservation("x.1", "x", "", devices.Reading{Code: 1}); err == nil {
		t.Fatal("an unknown code became an Observation")
	}
}
