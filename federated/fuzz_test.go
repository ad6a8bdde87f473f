package federated_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/ledger"
)

// FuzzContribution: the task, contribution and close decoders (strict
// JSON, then the checks) never panic; a task they accept survives a round
// trip unchanged; and the data-file reader (a site's CSV) never panics on
// what a site might hand it.
func FuzzContribution(f *testing.F) {
	for _, r := range federated.Declare().Txs {
		f.Add([]byte(r.Example))
	}
	f.Add([]byte(`{"task":"t2d","round":1,"samples":10,"weights":[1,-2,3],"eval":{"holdout_commitment":"` + holdout + `","holdout_size":2,"accuracy_ppm":5,"auc_ppm":6}}`))
	f.Add([]byte("age,bmi,diabetes\n0.1,0.2,1\n-1e3,2,0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var task federated.Task
		if ledger.DecodeBody(b, &task) == nil && task.Check() == nil {
			again, err := json.Marshal(task)
			if err != nil {
				t.Fatal(err)
			}
			var back federated.Task
			if err := ledger.DecodeBody(again, &back); err != nil || !reflect.DeepEqual(back, task) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, task, back)
			}
		}
		var c federated.Contribute
		_ = ledger.DecodeBody(b, &c)
		var cl federated.Close
		_ = ledger.DecodeBody(b, &cl)
		_, _ = federated.ReadCSV(bytes.NewReader(b), []string{"age", "bmi"}, "diabetes")
	})
}
