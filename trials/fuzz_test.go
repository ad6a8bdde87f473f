package trials_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/trials"
)

// FuzzProtocol: the protocol and results decoders (strict JSON, then the
// TRDS checks) never panic, and a protocol they accept survives a round
// trip unchanged (what the ledger stores is what was sent).
func FuzzProtocol(f *testing.F) {
	for _, r := range trials.Declare().Txs {
		f.Add([]byte(r.Example))
	}
	f.Add([]byte(`{"id":"PRM-1","protocol":{"title":"t","conditions":["c"],"interventions":["i"],"inclusion":"a","exclusion":"b","sample_size":1,"primary_outcomes":[{"id":"p","measure":"m","time_frame":"1 w"}],"sites":["x"],"protocol_commitment":"` + commitment + `"}}`))
	f.Add([]byte(`{"trial":"PRM-1","results":{"reported":[{"id":"p","summary":"s","analysis_commitment":"` + commitment + `"}],"added":[{"id":"q","measure":"m","summary":"s"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var reg trials.Register
		if ledger.DecodeBody(b, &reg) == nil && reg.Protocol.Check() == nil {
			again, err := json.Marshal(reg)
			if err != nil {
				t.Fatal(err)
			}
			var back trials.Register
			if err := ledger.DecodeBody(again, &back); err != nil || !reflect.DeepEqual(back, reg) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, reg, back)
			}
		}
		var res trials.RegisterResults
		_ = ledger.DecodeBody(b, &res)
	})
}
