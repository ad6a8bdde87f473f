package federated

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// TestExampleFigures prints the example's table (federated beside central
// and each site alone, accuracy and AUC on the pooled holdouts) and, with
// PRIMUM_WRITE_DOCS=1, writes the accuracy curve per round as an SVG for
// docs/federated.md.
func TestExampleFigures(t *testing.T) {
	const rounds, epochs, lr = 12, 5, 0.5
	var trains [][]Example
	var pooledTrain, pooledTest []Example
	for i, s := range SynthSites {
		tr, ho := Split(Synth(s, uint64(i+1)))
		trains = append(trains, tr)
		pooledTrain, pooledTest = append(pooledTrain, tr...), append(pooledTest, ho...)
	}
	dim := len(SynthFeatures) + 1
	global := make([]int64, dim)
	var fedCurve, centralCurve []float64
	central := make([]float64, dim)
	for range rounds {
		var cs []Contribution
		for _, tr := range trains {
			cs = append(cs, Contribution{Samples: int64(len(tr)), Weights: ToFixed(Train(FromFixed(global), tr, lr, epochs), 5<<ScaleBits)})
		}
		global, _ = Average(cs, dim)
		central = Train(central, pooledTrain, lr, epochs)
		a, _ := Evaluate(FromFixed(global), pooledTest)
		c, _ := Evaluate(central, pooledTest)
		fedCurve, centralCurve = append(fedCurve, a), append(centralCurve, c)
	}
	row := func(name string, w []float64, n int) string {
		a, auc := Evaluate(w, pooledTest)
		return fmt.Sprintf("| %s | %d | %.1f%% | %.3f |", name, n, 100*a, auc)
	}
	lines := []string{"| model | trained on | accuracy | AUC |", "| --- | --- | --- | --- |",
		row("federated (3 sites, 12 rounds × 5 local epochs)", FromFixed(global), len(pooledTrain)),
		row("central (pooled data, 60 epochs)", central, len(pooledTrain))}
	for i, tr := range trains {
		lines = append(lines, row(fmt.Sprintf("%s alone (60 epochs)", SynthSites[i].Name), Train(make([]float64, dim), tr, lr, rounds*epochs), len(tr)))
	}
	t.Log("\n" + strings.Join(lines, "\n"))
	if os.Getenv("PRIMUM_WRITE_DOCS") == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "federated-accuracy.svg"), []byte(curveSVG(fedCurve, centralCurve)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// curveSVG draws accuracy per round, federated and central, 60% to 85%.
func curveSVG(fed, central []float64) string {
	const w, h, left, bottom = 560, 300, 50, 40
	x := func(i int) float64 { return left + float64(i)*float64(w-left-20)/float64(len(fed)-1) }
	y := func(a float64) float64 { return float64(h-bottom) - (a-0.60)/(0.85-0.60)*float64(h-bottom-20) }
	line := func(v []float64) string {
		var b strings.Builder
		for i, a := range v {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(a))
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12" role="img" aria-label="Accuracy per round on the pooled holdouts: federated and central">`+"\n", w, h)
	for _, a := range []float64{0.60, 0.65, 0.70, 0.75, 0.80, 0.85} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#dde"/><text x="%d" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", left, w-20, y(a), y(a), left-6, y(a)+4, 100*a)
	}
	for i := range fed {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(i), h-bottom+16, i+1)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">round</text>`+"\n", (w+left)/2, h-4)
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#8a979e" stroke-width="2" stroke-dasharray="6 4" points="%s"/>`+"\n", line(central))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#0b5563" stroke-width="2.5" points="%s"/>`+"\n", line(fed))
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#0b5563">federated</text><text x="%d" y="%d" fill="#5a6a72">central (pooled), same epochs</text>`+"\n", left+10, 30, left+110, 30)
	b.WriteString("</svg>\n")
	return b.String()
}
