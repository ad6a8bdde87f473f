package federated

// Off-chain: what a site does with its own data — train the global model
// further (logistic regression, full-batch gradient descent), clip it,
// turn it into the ledger's fixed point, and evaluate a model on its
// holdout. Floats are fine here: nothing of this runs in block execution;
// the ledger only checks and averages the integers it is given.

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Example is one standardised example: its features, in the task's
// order, and its label (0 or 1).
type Example struct {
	X []float64
	Y float64
}

// Predict is the model's probability for x (the bias is the last weight).
func Predict(w, x []float64) float64 {
	z := w[len(w)-1]
	for i, v := range x {
		z += w[i] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// Train continues from w on data for epochs of full-batch gradient
// descent on the logistic loss, with learning rate lr; it returns the new
// model and leaves w alone.
func Train(w []float64, data []Example, lr float64, epochs int) []float64 {
	w = slices.Clone(w)
	if len(data) == 0 {
		return w
	}
	g := make([]float64, len(w))
	for range epochs {
		clear(g)
		for _, e := range data {
			d := Predict(w, e.X) - e.Y
			for i, v := range e.X {
				g[i] += d * v
			}
			g[len(g)-1] += d
		}
		for i := range w {
			w[i] -= lr * g[i] / float64(len(data))
		}
	}
	return w
}

// ToFixed clips each weight to ±clip (at scale 2^16) and rounds it to
// the ledger's fixed point.
func ToFixed(w []float64, clip int64) []int64 {
	out := make([]int64, len(w))
	for i, v := range w {
		f := math.Round(v * (1 << ScaleBits))
		out[i] = int64(max(-float64(clip), min(float64(clip), f)))
	}
	return out
}

// FromFixed is a ledger model as floats.
func FromFixed(w []int64) []float64 {
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = float64(v) / (1 << ScaleBits)
	}
	return out
}

// Evaluate is a model's accuracy (threshold 0.5) and AUC (the probability
// that a random positive scores above a random negative, ties half) on
// data.
func Evaluate(w []float64, data []Example) (accuracy, auc float64) {
	if len(data) == 0 {
		return 0, 0
	}
	type scored struct{ p, y float64 }
	s := make([]scored, len(data))
	right := 0
	for i, e := range data {
		p := Predict(w, e.X)
		s[i] = scored{p, e.Y}
		if (p >= 0.5) == (e.Y == 1) {
			right++
		}
	}
	slices.SortFunc(s, func(a, b scored) int {
		switch {
		case a.p < b.p:
			return -1
		case a.p > b.p:
			return 1
		}
		return 0
	})
	// Mann-Whitney: the sum of the positives' ranks (ties: mean rank).
	var rankSum, pos float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].p == s[i].p {
			j++
		}
		mean := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if s[k].y == 1 {
				rankSum += mean
				pos++
			}
		}
		i = j
	}
	neg := float64(len(s)) - pos
	if pos == 0 || neg == 0 {
		return float64(right) / float64(len(data)), 0.5
	}
	return float64(right) / float64(len(data)), (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// PPM is a metric in parts per million, for the ledger.
func PPM(v float64) int64 { return int64(math.Round(max(0, min(1, v)) * MaxPPM)) }

// EvalOf is a model's evaluation on a holdout, as posted.
func EvalOf(w []float64, holdout []Example) *Eval {
	acc, auc := Evaluate(w, holdout)
	return &Eval{HoldoutCommitment: Commitment(holdout), HoldoutSize: int64(len(holdout)), AccuracyPPM: PPM(acc), AUCPPM: PPM(auc)}
}

// Commitment is SHA-256 over a data set's canonical CSV (WriteCSV without
// a header): the same set, the same commitment, round after round.
func Commitment(data []Example) string {
	h := sha256.New()
	_ = writeRows(h, data)
	return hex.EncodeToString(h.Sum(nil))
}

// WriteCSV writes a data set with a header of the feature names and the
// label.
func WriteCSV(w io.Writer, features []string, label string, data []Example) error {
	if _, err := fmt.Fprintln(w, strings.Join(append(slices.Clone(features), label), ",")); err != nil {
		return err
	}
	return writeRows(w, data)
}

func writeRows(w io.Writer, data []Example) error {
	bw := bufio.NewWriter(w)
	for _, e := range data {
		for _, v := range e.X {
			bw.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			bw.WriteByte(',')
		}
		bw.WriteString(strconv.FormatFloat(e.Y, 'g', -1, 64))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// MaxCSVRows bounds a data file.
const MaxCSVRows = 10_000_000

// ReadCSV reads a data set whose header names at least the task's
// features and label (in any order; other columns are ignored): features
// standardised as the site's system wrote them, labels 0 or 1.
func ReadCSV(r io.Reader, features []string, label string) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("the data's header: %w", err)
	}
	col := make([]int, len(features)+1)
	for i, name := range append(slices.Clone(features), label) {
		col[i] = slices.Index(head, name)
		if col[i] < 0 {
			return nil, fmt.Errorf("the data has no column %q (its header: %s)", name, strings.Join(head, ","))
		}
	}
	var out []Example
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(out) == MaxCSVRows {
			return nil, fmt.Errorf("more than %d rows", MaxCSVRows)
		}
		e := Example{X: make([]float64, len(features))}
		for i, c := range col {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[c]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d, column %q: not a number", line, head[c])
			}
			if i < len(features) {
				e.X[i] = v
			} else if v != 0 && v != 1 {
				return nil, fmt.Errorf("line %d: the label %q must be 0 or 1", line, head[c])
			} else {
				e.Y = v
			}
		}
		out = append(out, e)
	}
}

// Split keeps every fifth example for the holdout, the rest for training
// (deterministic: the same holdout every round, as its commitment says).
func Split(data []Example) (train, holdout []Example) {
	for i, e := range data {
		if i%5 == 4 {
			holdout = append(holdout, e)
		} else {
			train = append(train, e)
		}
	}
	return train, holdout
}

// The synthetic example: patients generated from a known ground truth, a
// logistic model of type 2 diabetes over age, BMI, systolic pressure and
// HbA1c (standardised: (age-55)/15, (bmi-27)/5, (sbp-130)/18,
// (hba1c-5.8)/0.9), at sites with different age mixes and so different
// prevalence (not identically distributed).
var (
	SynthFeatures = []string{"age", "bmi", "sbp", "hba1c"}
	SynthLabel    = "diabetes"
	// SynthTruth is the ground truth: a weight per feature, the bias last.
	SynthTruth = []float64{0.8, 0.7, 0.3, 1.6, -1.0}
)

// SynthSite is one site of the synthetic example.
type SynthSite struct {
	Name     string
	Patients int
	MeanAge  float64 // years
	MeanBMI  float64
}

// SynthSites are the example's three hospitals: a large one with older
// patients, a middle one with younger, a small one.
var SynthSites = []SynthSite{
	{Name: "site-1", Patients: 1200, MeanAge: 64, MeanBMI: 29},
	{Name: "site-2", Patients: 700, MeanAge: 44, MeanBMI: 26},
	{Name: "site-3", Patients: 60, MeanAge: 55, MeanBMI: 31},
}

// Synth generates a site's patients, the same for the same seed.
func Synth(site SynthSite, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, uint64(site.Patients)))
	out := make([]Example, site.Patients)
	for i := range out {
		age := site.MeanAge + 12*rng.NormFloat64()
		bmi := site.MeanBMI + 4.5*rng.NormFloat64()
		sbp := 118 + 0.35*age + 14*rng.NormFloat64()
		hba1c := 5.2 + 0.012*age + 0.03*bmi + 0.6*rng.NormFloat64()
		x := []float64{(age - 55) / 15, (bmi - 27) / 5, (sbp - 130) / 18, (hba1c - 5.8) / 0.9}
		y := 0.0
		if rng.Float64() < Predict(SynthTruth, x) {
			y = 1
		}
		out[i] = Example{X: x, Y: y}
	}
	return out
}
