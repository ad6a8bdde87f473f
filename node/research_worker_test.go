package node_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/research"
)

// TestResearchWorker: a member's node does its research in the background
// with its own key, from the files its systems put in research_data. h1's
// node trains a learning task with h2 (run here, as another member's node
// would), and answers a research query on a dataset it is a custodian of,
// with h2's answer posted here; neither file leaves the node.
func TestResearchWorker(t *testing.T) {
	data := t.TempDir()
	_, c, m := startMembersWith(t, func(s *node.Settings) {
		s.ResearchData, s.ResearchKey = data, filepath.Join("keys", "h1.json")
	}, [][2]string{{"institute", "research"}, {"h1", "hospital"}, {"h2", "hospital"}, {"regulator", "regulator"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	write := func(path string, fill func(f *os.File) error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fill(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// Federated learning: h1's data for the task, in its node's folder.
	task := federated.Task{ID: "worker-task", Title: "Worker", Features: federated.SynthFeatures, Label: federated.SynthLabel, LearningRate: 500_000,
		LocalEpochs: 5, Clip: 5 << federated.ScaleBits, Rounds: 3, RoundBlocks: 40, Participants: []string{m["h1"].id, m["h2"].id}}
	write(filepath.Join(data, "fl", task.ID+".csv"), func(f *os.File) error {
		return federated.WriteCSV(f, federated.SynthFeatures, federated.SynthLabel, federated.Synth(federated.SynthSites[0], 1))
	})
	if _, err := c.Send(ctx, m["institute"].key, federated.TypeTask, task, true); err != nil {
		t.Fatal(err)
	}
	tr, ho := federated.Split(federated.Synth(federated.SynthSites[1], 2))
	h2 := &flrun.Site{Client: c, Key: m["h2"].key, Task: task.ID, Train: tr, Holdout: ho, Poll: 100 * time.Millisecond}
	if _, err := h2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var accounts []*federated.Account
	if err := c.WithKey(m["institute"].key).Get(ctx, "/api/v1/fl/tasks/"+task.ID+"/accounts", &accounts); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if a.Rounds != 3 {
			t.Errorf("%s contributed to %d rounds of 3", a.Site, a.Rounds)
		}
	}
	if len(accounts) != 2 {
		t.Fatalf("accounts %v", accounts)
	}
	// Research aggregates: h1's rows in its node's folder.
	write(filepath.Join(data, "research", "worker-ds.csv"), func(f *os.File) error { return research.WriteRows(f, research.SynthRows(1)) })
	for _, s := range []struct {
		key  string
		typ  string
		body any
	}{
		{"regulator", research.TypeDataset, research.Dataset{ID: "worker-ds", Title: "Worker", Custodians: []string{m["h1"].id, m["h2"].id}, Values: research.SynthValues, CapMicroEps: 5_000_000}},
		{"regulator", research.TypeApprove, research.Approve{Project: "worker-project", Title: "Worker", Researcher: m["institute"].id, Dataset: "worker-ds", BudgetMicroEps: 1_000_000,
			Expires: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}},
		{"institute", research.TypeQuery, research.Ask{ID: "worker-q", Project: "worker-project", GroupBy: research.DimAgeBand, EpsMicro: 1_000_000}},
	} {
		if _, err := c.Send(ctx, m[s.key].key, s.typ, s.body, true); err != nil {
			t.Fatal(err)
		}
	}
	var q research.Query
	var d research.DatasetState
	if err := c.WithKey(m["h2"].key).Get(ctx, "/api/v1/research/queries/worker-q", &q); err != nil {
		t.Fatal(err)
	}
	if err := c.WithKey(m["h2"].key).Get(ctx, "/api/v1/research/datasets/worker-ds", &d); err != nil {
		t.Fatal(err)
	}
	if err := flrun.Answer(ctx, c, m["h2"].key, research.SynthRows(2), &q, &d); err != nil {
		t.Fatal(err)
	}
	for q.Status != research.StatusReleased {
		if ctx.Err() != nil {
			t.Fatalf("h1's node never answered: %+v", q)
		}
		time.Sleep(200 * time.Millisecond)
		if err := c.WithKey(m["institute"].key).Get(ctx, "/api/v1/research/queries/worker-q", &q); err != nil {
			t.Fatal(err)
		}
	}
	if q.Release.Custodians != 2 || q.Release.Cells[1] == nil || *q.Release.Cells[1] < 300 {
		t.Fatalf("release %+v", q.Release)
	}
}
