package research_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// FuzzQuery: the dataset, approval, query and cells decoders (strict
// JSON, then the checks) never panic; a dataset they accept survives a
// round trip; the differencing rule never panics on what a query names;
// a custodian's rows reader never panics.
func FuzzQuery(f *testing.F) {
	for _, r := range research.Declare().Txs {
		f.Add([]byte(r.Example))
	}
	f.Add([]byte("category,region,age_band,period\nt2d,NORTH,65+,2026-Q4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d research.Dataset
		if ledger.DecodeBody(b, &d) == nil && d.Check() == nil {
			again, _ := json.Marshal(d)
			var back research.Dataset
			if err := ledger.DecodeBody(again, &back); err != nil || !reflect.DeepEqual(back, d) {
				t.Fatalf("round trip: %v", err)
			}
		}
		var q research.Ask
		if ledger.DecodeBody(b, &q) == nil {
			research.Differs(&q.Cohort, &research.Cohort{}, q.GroupBy, &research.SynthValues)
		}
		var a research.Approve
		_ = ledger.DecodeBody(b, &a)
		var c research.Cells
		_ = ledger.DecodeBody(b, &c)
		_, _ = research.ReadRows(bytes.NewReader(b))
	})
}
