package capacity_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/ledger"
)

// FuzzReport: the status report decoder (strict JSON, then the shape
// checks) never panics, and a report it accepts survives a round trip
// with every count in range and never more in use than there is.
func FuzzReport(f *testing.F) {
	for _, r := range capacity.Declare().Txs {
		f.Add([]byte(r.Example))
	}
	f.Add([]byte(`{"site":"S-1","items":[{"type":"icu-bed","total":1000000,"in_use":999999,"out_of_service":1}],"oxygen":{"litres":1000000000,"burn_lph":0}}`))
	f.Add([]byte(`{"site":"S-1","items":[{"type":"ventilator","total":5,"in_use":9223372036854775807,"out_of_service":-9223372036854775807}]}`))
	f.Add([]byte(`{"site":"S-1","oxygen":{"litres":1,"burn_lph":1,"cylinders":["(8003)00614141123452","(8003)0061414112345"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r capacity.ReportBody
		if ledger.DecodeBody(b, &r) != nil || capacity.CheckReport(&r) != nil {
			return
		}
		// The round trip keeps what the ledger writes (an empty list and
		// none encode alike).
		again, _ := json.Marshal(r)
		var back capacity.ReportBody
		if err := ledger.DecodeBody(again, &back); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if twice, _ := json.Marshal(back); !bytes.Equal(twice, again) {
			t.Fatalf("round trip: %s, then %s", again, twice)
		}
		for _, it := range r.Items {
			if it.Available() < 0 || it.Total > capacity.MaxUnits || it.InUse < 0 || it.OutOfService < 0 {
				t.Fatalf("accepted %+v", it)
			}
		}
	})
}
