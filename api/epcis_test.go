package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/ledger"
)

type emptyState struct{}

func (emptyState) Get([]byte) ([]byte, error)                   { return nil, nil }
func (emptyState) Iterate([]byte, func(k, v []byte) bool) error { return nil }

// FuzzTranslateEvent: the EPCIS event decoder never panics; what it accepts
// names a known step, and every identifier in it parses.
func FuzzTranslateEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(conformance.Dir(f, "epcis/JSON"), "*.jsonld"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var doc EPCISDocument
		if json.Unmarshal(b, &doc) == nil {
			for _, e := range doc.EPCISBody.EventList {
				f.Add([]byte(e))
			}
		}
	}
	f.Add([]byte(`{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"ADD","epcList":["urn:epc:id:sgtin:0614141.812345.6789"],"ilmd":{"cbvmda:lotNumber":"L","cbvmda:itemExpirationDate":"2027-01-01"}}`))
	f.Add([]byte(`{"type":"AggregationEvent","eventTime":"2026-01-01T00:00:00Z","action":"DELETE","parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["x"]}`))
	var r ledger.Reader = emptyState{}
	steps := map[string]bool{"commission": true, "ship": true, "receive": true, "pack": true, "unpack": true, "dispense": true, "decommission": true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		events, err := TranslateEvent(r, raw)
		if err != nil {
			if ledger.AsError(err) == ledger.ErrInternal || err.Error() == "" {
				t.Fatalf("unclear refusal: %v", err)
			}
			return
		}
		for _, e := range events {
			if !steps[e.Step] {
				t.Fatalf("unknown step %q", e.Step)
			}
			if e.Step == "pack" || e.Step == "unpack" {
				if strings.TrimSpace(e.Parent) == "" {
					t.Fatal("aggregation without a parent")
				}
			}
		}
	})
}
