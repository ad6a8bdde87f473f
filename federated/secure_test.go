package federated_test

import (
	"crypto/ecdh"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
)

// TestSecureAggregation: a secure task over four hospitals (a secure task
// needs three: with two, each would learn the other's model). Each posts a
// mask key; each round's update is masked so that no posted vector is a
// site's n·W, yet the round's model is exactly the plain average. In round
// 2 the fourth site drops out after the key set froze: past the deadline
// the three survivors reveal their seeds with it (a wrong seed is
// refused), and the model is the average of the survivors' updates. In
// round 3 it drops out again and a survivor does not reveal: the model
// carries over; so does a round with only two contributions.
func TestSecureAggregation(t *testing.T) {
	w := moduletest.New(t, federated.Declare(), identity.Declare())
	w.AddOrg("institute", "research")
	sites := []string{"h1", "h2", "h3", "h4"}
	for _, h := range sites {
		w.AddOrg(h, "hospital")
	}
	w.Commit()
	ids := []string{w.ID("h1"), w.ID("h2"), w.ID("h3"), w.ID("h4")}
	w.Try(t, "institute", federated.TypeTask, federated.Task{ID: "sec-two", Title: "Secure", Features: []string{"age", "bmi"}, Label: "y",
		LearningRate: 500_000, LocalEpochs: 1, Clip: 5 << federated.ScaleBits, Rounds: 3, RoundBlocks: 10, Participants: ids[:2], Secure: true}, federated.ErrBadTask)
	w.Try(t, "institute", federated.TypeTask, federated.Task{ID: "sec", Title: "Secure", Features: []string{"age", "bmi"}, Label: "y",
		LearningRate: 500_000, LocalEpochs: 1, Clip: 5 << federated.ScaleBits, Rounds: 4, RoundBlocks: 20, Participants: ids, Secure: true}, nil)
	priv := map[string]*ecdh.PrivateKey{}
	for _, h := range sites {
		k, err := federated.MaskKeyFor(moduletest.Key(h).Seed(), "sec")
		if err != nil {
			t.Fatal(err)
		}
		priv[h] = k
	}
	plain := map[string][]int64{"h1": {65536, -3000, 17}, "h2": {1000, 2000, -3000}, "h3": {-60000, 5, 999}, "h4": {4, -4, 40000}}
	samples := map[string]int64{"h1": 120, "h2": 300, "h3": 7, "h4": 55}
	state := func() *federated.State {
		s, err := federated.Get(w.St.Committed(), "sec")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A plain update to a secure task, and a contribution before enough
	// keys, are refused.
	w.Try(t, "h1", federated.TypeContribute, federated.Contribute{Task: "sec", Round: 1, Samples: 1, Weights: []int64{1, 2, 3}}, federated.ErrNoMaskKey)
	for _, h := range sites {
		w.Try(t, h, federated.TypeMaskKey, federated.MaskKey{Task: "sec", PublicKey: hex.EncodeToString(priv[h].PublicKey().Bytes())}, nil)
	}
	w.Try(t, "h1", federated.TypeMaskKey, federated.MaskKey{Task: "sec", PublicKey: hex.EncodeToString(priv["h1"].PublicKey().Bytes())}, federated.ErrBadMaskKey)
	seeds := map[string]map[string][]byte{}
	masked := func(h string, round int64) federated.Contribute {
		s := state()
		keySet := federated.KeySetOf(s)
		m, c, sd, err := federated.MaskUpdate(priv[h], w.ID(h), s.MaskKeys, keySet, round, samples[h], plain[h])
		if err != nil {
			t.Fatal(err)
		}
		seeds[h] = sd
		return federated.Contribute{Task: "sec", Round: round, Samples: samples[h], Masked: m, Commitments: c}
	}
	w.Try(t, "h1", federated.TypeContribute, federated.Contribute{Task: "sec", Round: 1, Samples: 1, Weights: []int64{1, 2, 3}}, federated.ErrBadMasked)
	for _, h := range sites {
		body := masked(h, 1)
		for k, y := range body.Masked {
			if int64(y) == samples[h]*plain[h][k] {
				t.Fatalf("%s's posted update shows its n·W[%d]", h, k)
			}
		}
		w.Try(t, h, federated.TypeContribute, body, nil)
	}
	avg := func(hs ...string) []int64 {
		var cs []federated.Contribution
		for _, h := range hs {
			cs = append(cs, federated.Contribution{Samples: samples[h], Weights: plain[h]})
		}
		out, _ := federated.Average(cs, 3)
		return out
	}
	if m, err := federated.GetModel(w.St.Committed(), "sec", 1); err != nil || !slices.Equal(m.Weights, avg("h1", "h2", "h3", "h4")) {
		t.Fatalf("round 1: %+v %v, want %v", m, err, avg("h1", "h2", "h3", "h4"))
	}
	// Round 2: h4 drops out.
	for _, h := range sites[:3] {
		w.Try(t, h, federated.TypeContribute, masked(h, 2), nil)
	}
	for range 21 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h1", federated.TypeClose, federated.Close{Task: "sec", Round: 2}, nil)
	if s := state(); !slices.Equal(s.Dropped, []string{w.ID("h4")}) {
		t.Fatalf("dropped %v", s.Dropped)
	}
	w.Try(t, "h1", federated.TypeClose, federated.Close{Task: "sec", Round: 2}, federated.ErrRoundOpen)
	w.Try(t, "h4", federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 2, Seeds: []string{hex.EncodeToString(seeds["h4"][w.ID("h1")])}}, federated.ErrOnlySurvivors)
	w.Try(t, "h1", federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 2, Seeds: []string{hex.EncodeToString(seeds["h2"][w.ID("h1")])}}, federated.ErrBadSeeds)
	for _, h := range sites[:3] {
		w.Try(t, h, federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 2, Seeds: []string{hex.EncodeToString(seeds[h][w.ID("h4")])}}, nil)
	}
	if m, err := federated.GetModel(w.St.Committed(), "sec", 2); err != nil || !slices.Equal(m.Weights, avg("h1", "h2", "h3")) || m.CarriedOver != "" {
		t.Fatalf("round 2: %+v %v, want %v", m, err, avg("h1", "h2", "h3"))
	}
	// Round 3: h4 drops out again, and h2 does not reveal: carried over.
	for _, h := range sites[:3] {
		w.Try(t, h, federated.TypeContribute, masked(h, 3), nil)
	}
	for range 21 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h2", federated.TypeClose, federated.Close{Task: "sec", Round: 3}, nil)
	w.Try(t, "h1", federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 3, Seeds: []string{hex.EncodeToString(seeds["h1"][w.ID("h4")])}}, nil)
	w.Try(t, "h3", federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 3, Seeds: []string{hex.EncodeToString(seeds["h3"][w.ID("h4")])}}, nil)
	for range 21 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h1", federated.TypeClose, federated.Close{Task: "sec", Round: 3}, nil)
	m3, err := federated.GetModel(w.St.Committed(), "sec", 3)
	if err != nil || !slices.Equal(m3.Weights, avg("h1", "h2", "h3")) || m3.CarriedOver == "" {
		t.Fatalf("round 3: %+v %v", m3, err)
	}
	// Round 4: two contributions only (no drop-outs to reveal for, the
	// others silent): carried over, not averaged.
	w.Try(t, "h1", federated.TypeContribute, masked("h1", 4), nil)
	w.Try(t, "h2", federated.TypeContribute, masked("h2", 4), nil)
	for range 21 {
		w.Begin()
		w.Commit()
	}
	// Fewer than three contributors: no seed is asked for (a survivor's
	// reveal would unmask its own update to the other), the round closes
	// carried over at once.
	w.Try(t, "h1", federated.TypeClose, federated.Close{Task: "sec", Round: 4}, nil)
	w.Try(t, "h1", federated.TypeUnmask, federated.Unmask{Task: "sec", Round: 4, Seeds: []string{hex.EncodeToString(seeds["h1"][w.ID("h3")]),
		hex.EncodeToString(seeds["h1"][w.ID("h4")])}}, federated.ErrNoUnmasking)
	if m4, err := federated.GetModel(w.St.Committed(), "sec", 4); err != nil || !slices.Equal(m4.Weights, avg("h1", "h2", "h3")) || m4.CarriedOver == "" {
		t.Fatalf("round 4 with two contributions: %+v %v", m4, err)
	}
	if s := state(); s.Status != federated.StatusDone {
		t.Fatalf("%+v", s)
	}
}

// TestMaskKeyWindow: the key set cannot be frozen early by a quick
// contributor while a participant has not posted its key (the key window:
// half of round 1), and a low-order X25519 point, which would make every
// peer's key agreement fail, is refused as a mask key.
func TestMaskKeyWindow(t *testing.T) {
	w := moduletest.New(t, federated.Declare(), identity.Declare())
	w.AddOrg("institute", "research")
	sites := []string{"h1", "h2", "h3", "slow"}
	var ids []string
	for _, h := range sites {
		w.AddOrg(h, "hospital")
		ids = append(ids, w.ID(h))
	}
	w.Commit()
	w.Try(t, "institute", federated.TypeTask, federated.Task{ID: "win", Title: "Window", Features: []string{"age"}, Label: "y",
		LearningRate: 500_000, LocalEpochs: 1, Clip: 1 << 20, Rounds: 1, RoundBlocks: 40, Participants: ids, Secure: true}, nil)
	w.Try(t, "h1", federated.TypeMaskKey, federated.MaskKey{Task: "win", PublicKey: strings.Repeat("00", 32)}, federated.ErrBadMaskKey)
	keys := map[string]*ecdh.PrivateKey{}
	for _, h := range sites[:3] {
		k, _ := federated.MaskKeyFor(moduletest.Key(h).Seed(), "win")
		keys[h] = k
		w.Try(t, h, federated.TypeMaskKey, federated.MaskKey{Task: "win", PublicKey: hex.EncodeToString(k.PublicKey().Bytes())}, nil)
	}
	s, _ := federated.Get(w.St.Committed(), "win")
	body := func() federated.Contribute {
		m, c, _, err := federated.MaskUpdate(keys["h1"], w.ID("h1"), s.MaskKeys, federated.KeySetOf(s), 1, 10, []int64{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		return federated.Contribute{Task: "win", Round: 1, Samples: 10, Masked: m, Commitments: c}
	}
	w.Try(t, "h1", federated.TypeContribute, body(), federated.ErrNoMaskKey) // "slow" has not posted yet
	for range 20 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h1", federated.TypeContribute, body(), nil) // past the window: the set is the three that posted
	if s, _ := federated.Get(w.St.Committed(), "win"); len(s.KeySet) != 3 {
		t.Fatalf("key set %v", s.KeySet)
	}
}
