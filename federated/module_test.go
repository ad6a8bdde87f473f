package federated_test

import (
	"slices"
	"testing"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
)

const holdout = "5e0c0f2bd1aa56a1a7f3c1e2b0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"

// TestRounds: a task, contributions averaged by the ledger when the last
// participant posts (the same integers Average gives anyone), a round
// closed after its deadline with whoever contributed, the task done after
// its rounds; every refusal with its own code and no change.
func TestRounds(t *testing.T) {
	w := moduletest.New(t, federated.Declare(), identity.Declare())
	w.AddOrg("institute", "research")
	w.AddOrg("h1", "hospital")
	w.AddOrg("h2", "hospital")
	w.AddOrg("h3", "hospital")
	w.AddOrg("pharm", "pharmacy")
	w.AddOrg("reg", "regulator")
	w.Commit()
	task := func(change func(*federated.Task)) federated.Task {
		tk := federated.Task{ID: "t2d", Title: "Type 2 diabetes risk", Features: []string{"age", "bmi"}, Label: "diabetes",
			LearningRate: 500_000, LocalEpochs: 5, Clip: 5 << federated.ScaleBits, Rounds: 2, RoundBlocks: 50,
			Participants: []string{w.ID("h1"), w.ID("h2"), w.ID("h3")}}
		if change != nil {
			change(&tk)
		}
		return tk
	}
	eval := &federated.Eval{HoldoutCommitment: holdout, HoldoutSize: 100, AccuracyPPM: 700_000, AUCPPM: 800_000}
	c := func(round, samples int64, weights ...int64) federated.Contribute {
		return federated.Contribute{Task: "t2d", Round: round, Samples: samples, Weights: weights, Eval: eval}
	}
	state := func(t *testing.T) *federated.State {
		s, err := federated.Get(w.St.Committed(), "t2d")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	steps := []struct {
		name, as, typ string
		body          any
		want          error
		then          func(t *testing.T)
	}{
		{"a pharmacy defines no task", "pharm", federated.TypeTask, task(nil), ledger.ErrUnauthorized, nil},
		{"no features", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Features = nil }), federated.ErrBadTask, nil},
		{"the label as a feature", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Features = []string{"diabetes"} }), federated.ErrBadTask, nil},
		{"one participant", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Participants = k.Participants[:1] }), federated.ErrBadTask, nil},
		{"a participant twice", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Participants[2] = k.Participants[0] }), federated.ErrBadParticipant, nil},
		{"a participant that is no member", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Participants[2] = "0000000000000000000000000000000000000000" }), federated.ErrBadParticipant, nil},
		{"a float-sized learning rate", "institute", federated.TypeTask, task(func(k *federated.Task) { k.LearningRate = 0 }), federated.ErrBadTask, nil},
		{"defined", "institute", federated.TypeTask, task(nil), nil, func(t *testing.T) {
			s := state(t)
			m, err := federated.GetModel(w.St.Committed(), "t2d", 0)
			if s.Round != 1 || s.Status != federated.StatusTraining || err != nil || !slices.Equal(m.Weights, []int64{0, 0, 0}) || s.ModelHash != m.Hash {
				t.Fatalf("%+v %+v %v", s, m, err)
			}
		}},
		{"again", "institute", federated.TypeTask, task(nil), federated.ErrTaskExists, nil},
		{"a non-participant contributes", "pharm", federated.TypeContribute, c(1, 10, 1, 2, 3), federated.ErrNotParticipant, nil},
		{"the wrong dimension", "h1", federated.TypeContribute, c(1, 10, 1, 2), federated.ErrWrongDimension, nil},
		{"outside the clipping bound", "h1", federated.TypeContribute, c(1, 10, 1, 5<<federated.ScaleBits+1, 3), federated.ErrOutsideClip, nil},
		{"no samples", "h1", federated.TypeContribute, c(1, 0, 1, 2, 3), federated.ErrBadSamples, nil},
		{"a future round", "h1", federated.TypeContribute, c(2, 10, 1, 2, 3), federated.ErrWrongRound, nil},
		{"a bad evaluation", "h1", federated.TypeContribute, federated.Contribute{Task: "t2d", Round: 1, Samples: 10, Weights: []int64{1, 2, 3},
			Eval: &federated.Eval{HoldoutCommitment: holdout, HoldoutSize: 1, AccuracyPPM: 1_000_001}}, federated.ErrBadEval, nil},
		{"h1 contributes", "h1", federated.TypeContribute, c(1, 100, 65536, -3, 7), nil, nil},
		{"h1 again", "h1", federated.TypeContribute, c(1, 100, 65536, -3, 7), federated.ErrContributed, nil},
		{"closed before its deadline", "institute", federated.TypeClose, federated.Close{Task: "t2d", Round: 1}, federated.ErrRoundOpen, nil},
		{"h2 contributes", "h2", federated.TypeContribute, c(1, 300, 0, 5, -8), nil, nil},
		{"h3 contributes: the round closes", "h3", federated.TypeContribute, c(1, 1, 1000, 1000, 1000), nil, func(t *testing.T) {
			m, err := federated.GetModel(w.St.Committed(), "t2d", 1)
			if err != nil {
				t.Fatal(err)
			}
			// (100·65536 + 300·0 + 1·1000) / 401 = 16345.6 → 16346;
			// (100·-3 + 300·5 + 1000) / 401 = 5.49 → 5;
			// (100·7 + 300·-8 + 1000) / 401 = -1.75 → -2.
			want := []int64{16346, 5, -2}
			if !slices.Equal(m.Weights, want) || m.Samples != 401 || len(m.Contributors) != 3 || m.Hash != federated.ModelHash("t2d", 1, want) {
				t.Fatalf("model %+v", m)
			}
			if s := state(t); s.Round != 2 || len(s.Contributed) != 0 || s.ModelHash != m.Hash {
				t.Fatalf("%+v", s)
			}
		}},
		{"a late contribution to round 1", "h3", federated.TypeContribute, c(1, 1, 1, 1, 1), federated.ErrWrongRound, nil},
		{"h2 contributes to round 2", "h2", federated.TypeContribute, c(2, 300, 10, 20, 30), nil, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
	// Round 2's deadline passes with h2 alone: no more contributions; a
	// pharmacy may not close it; h1 closes it, and round 1's model carries
	// over (h2's own model is not published).
	for range 51 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h1", federated.TypeContribute, c(2, 100, 1, 1, 1), federated.ErrRoundClosed)
	w.Try(t, "pharm", federated.TypeClose, federated.Close{Task: "t2d", Round: 2}, federated.ErrNotOwnerOrParty)
	w.Try(t, "h1", federated.TypeClose, federated.Close{Task: "t2d", Round: 2}, nil)
	m, err := federated.GetModel(w.St.Committed(), "t2d", 2)
	if err != nil || !slices.Equal(m.Weights, []int64{16346, 5, -2}) || !slices.Equal(m.Contributors, []string{w.ID("h2")}) || m.CarriedOver == "" || m.Samples != 0 {
		t.Fatalf("round 2: %+v %v", m, err)
	}
	if s := state(t); s.Status != federated.StatusDone {
		t.Fatalf("after its rounds: %+v", s)
	}
	w.Try(t, "h1", federated.TypeContribute, c(3, 100, 1, 1, 1), federated.ErrWrongRound)
	// Accounting: rounds and samples per site.
	items, err := w.Query("reg", "/api/v1/fl/tasks/t2d/accounts", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, a := range items.([]*federated.Account) {
		got[w.Name(a.Site)] = [2]int64{a.Rounds, a.Samples}
	}
	if got["h1"] != [2]int64{1, 100} || got["h2"] != [2]int64{2, 600} || got["h3"] != [2]int64{1, 1} {
		t.Fatalf("accounts %v", got)
	}
	// The contributions: to the parties and the regulator, not to others.
	for who, ok := range map[string]bool{"institute": true, "h3": true, "reg": true, "pharm": false} {
		_, err := w.Query(who, "/api/v1/fl/tasks/t2d/rounds/1/contributions", nil)
		if ok != (err == nil) {
			t.Errorf("%s reads the contributions: %v", who, err)
		}
	}
}

// TestAverageRounding: halves round up, negative values round toward the
// nearest with halves up (-2.5 → -2), exactly, over large values.
func TestAverageRounding(t *testing.T) {
	for _, c := range []struct {
		cs   []federated.Contribution
		want int64
	}{
		{[]federated.Contribution{{Samples: 1, Weights: []int64{1}}, {Samples: 1, Weights: []int64{2}}}, 2},    // 1.5 → 2
		{[]federated.Contribution{{Samples: 1, Weights: []int64{-2}}, {Samples: 1, Weights: []int64{-3}}}, -2}, // -2.5 → -2
		{[]federated.Contribution{{Samples: 2, Weights: []int64{-1}}, {Samples: 1, Weights: []int64{0}}}, -1},  // -0.67 → -1
		{[]federated.Contribution{{Samples: federated.MaxSamples, Weights: []int64{federated.MaxClip}}, {Samples: federated.MaxSamples, Weights: []int64{federated.MaxClip}}}, federated.MaxClip},
		{[]federated.Contribution{{Samples: federated.MaxSamples, Weights: []int64{-federated.MaxClip}}, {Samples: 1, Weights: []int64{federated.MaxClip}}}, -federated.MaxClip + 4},
	} {
		if got, _ := federated.Average(c.cs, 1); got[0] != c.want {
			t.Errorf("%+v: %d, want %d", c.cs, got[0], c.want)
		}
	}
}
