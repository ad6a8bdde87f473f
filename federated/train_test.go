package federated

import (
	"testing"
)

// experiment runs the synthetic three-site example in process: FedAvg
// through the ledger's own integer average (Average over ToFixed
// contributions), beside a model trained centrally on the pooled
// training data and one per site alone, all evaluated on the pooled
// holdouts.
type experiment struct {
	federated, central float64
	alone              []float64
	fedAUC, centralAUC float64
}

func runExperiment(rounds, epochs int, lr float64, clip int64) experiment {
	var trains [][]Example
	var pooledTrain, pooledTest []Example
	for i, s := range SynthSites {
		tr, ho := Split(Synth(s, uint64(i+1)))
		trains = append(trains, tr)
		pooledTrain = append(pooledTrain, tr...)
		pooledTest = append(pooledTest, ho...)
	}
	dim := len(SynthFeatures) + 1
	global := make([]int64, dim)
	for range rounds {
		var cs []Contribution
		for _, tr := range trains {
			w := Train(FromFixed(global), tr, lr, epochs)
			cs = append(cs, Contribution{Samples: int64(len(tr)), Weights: ToFixed(w, clip)})
		}
		global, _ = Average(cs, dim)
	}
	var e experiment
	e.federated, e.fedAUC = Evaluate(FromFixed(global), pooledTest)
	e.central, e.centralAUC = Evaluate(Train(make([]float64, dim), pooledTrain, lr, rounds*epochs), pooledTest)
	for _, tr := range trains {
		a, _ := Evaluate(Train(make([]float64, dim), tr, lr, rounds*epochs), pooledTest)
		e.alone = append(e.alone, a)
	}
	return e
}

func TestSyntheticExperiment(t *testing.T) {
	e := runExperiment(20, 5, 0.5, 5<<ScaleBits)
	t.Logf("federated %.4f (AUC %.4f), central %.4f (AUC %.4f), alone %v", e.federated, e.fedAUC, e.central, e.centralAUC, e.alone)
	if e.central-e.federated > 0.01 {
		t.Errorf("federated %.4f is more than 1 point below central %.4f", e.federated, e.central)
	}
	if e.federated <= e.alone[2] {
		t.Errorf("federated %.4f is no better than the smallest site alone %.4f", e.federated, e.alone[2])
	}
}
