package flrun

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// Answer posts a custodian's noisy cells for a query: its rows in the
// query's cohort, counted by the query's groups, each with discrete
// Laplace noise of scale 1/ε added here (research.Noisy). The rows and the
// exact counts stay here.
func Answer(ctx context.Context, c *client.Client, key ed25519.PrivateKey, rows []research.Row, q *research.Query, d *research.DatasetState) error {
	cells := research.Noisy(research.Count(rows, q, &d.Values), q.EpsMicro)
	_, err := c.Send(ctx, key, research.TypeCells, research.Cells{Query: q.ID, Cells: cells}, true)
	return err
}

// Worker is a member node's research work in the background, signed with
// the node's own key: it takes part in every federated learning task the
// member participates in for which Dir holds fl/<task>.csv, and answers
// every open research query on a dataset the member is a custodian of for
// which Dir holds research/<dataset>.csv. The files are the member's own
// systems' exports; nothing in them leaves the node but models and noisy
// cells. With Records, it does the same for consented tasks and datasets
// from the records the node holds, of the patients whose research consent
// names the member for the study (Cohort), declaring them first
// (records.use: each sees it on their trail).
type Worker struct {
	Client  *client.Client
	Key     ed25519.PrivateKey
	Dir     string
	Records Records
	// Every is how often it looks (default 2 s).
	Every time.Duration
	Log   *slog.Logger

	sites map[string]*Site // by task, with its data loaded
	done  map[string]bool  // tasks finished, or whose data was refused
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	every := w.Every
	if every == 0 {
		every = 2 * time.Second
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	w.sites, w.done = map[string]*Site{}, map[string]bool{}
	for {
		w.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Once looks at the tasks and the open queries once and does what is due.
func (w *Worker) Once(ctx context.Context) {
	if w.sites == nil {
		w.sites, w.done = map[string]*Site{}, map[string]bool{}
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	c := w.Client.WithKey(w.Key)
	me := ledger.Address(w.Key.Public().(ed25519.PublicKey))
	var tasks []*federated.TaskRow
	if err := c.Get(ctx, "/api/v1/fl/tasks?limit=1000", &tasks); err != nil {
		w.Log.Warn("research worker: cannot list the learning tasks", "err", err)
	}
	for _, t := range tasks {
		if t.Status != federated.StatusTraining || w.done[t.ID] {
			continue
		}
		site, err := w.site(ctx, c, t.ID, me)
		if err != nil {
			w.Log.Warn("research worker: task set aside", "task", t.ID, "err", err)
			w.done[t.ID] = true
			continue
		}
		if site == nil {
			continue
		}
		for range 4 { // a few steps a look: post a key, contribute, close…
			st, acted, err := site.Step(ctx)
			if err != nil {
				w.Log.Warn("research worker: task step", "task", t.ID, "err", err)
				break
			}
			if st.Status == federated.StatusDone {
				w.done[t.ID] = true
				w.Log.Info("research worker: task done", "task", t.ID, "model", st.ModelHash)
			}
			if !acted || st.Status == federated.StatusDone {
				break
			}
		}
	}
	var qs []*research.Query
	if err := c.Get(ctx, "/api/v1/research/queries?status=open&limit=1000", &qs); err != nil {
		w.Log.Warn("research worker: cannot list the open queries", "err", err)
	}
	datasets := map[string]*research.DatasetState{}
	for _, q := range qs {
		if slices.Contains(q.Answered, me) {
			continue
		}
		path := w.file("research", q.Dataset)
		if _, err := os.Stat(path); err != nil && w.Records == nil {
			continue
		}
		d, ok := datasets[q.Dataset]
		if !ok {
			d = &research.DatasetState{}
			if err := c.Get(ctx, "/api/v1/research/datasets/"+url.PathEscape(q.Dataset), d); err != nil {
				continue
			}
			datasets[q.Dataset] = d
		}
		if !slices.Contains(d.Custodians, me) {
			continue
		}
		var rows []research.Row
		if d.Consented {
			if w.Records == nil {
				continue
			}
			var err error
			if rows, err = w.consentedRows(ctx, q, d); err != nil {
				w.Log.Warn("research worker: cannot count the consented records", "query", q.ID, "err", err)
				continue
			}
		} else {
			var err error
			if rows, err = ReadRows(path); err != nil {
				w.Log.Warn("research worker: cannot read the dataset's rows", "err", err)
				continue
			}
		}
		if err := Answer(ctx, w.Client, w.Key, rows, q, d); err != nil && !benign(err) {
			var p *client.Problem
			if !errors.As(err, &p) || p.Code != research.ErrQueryClosed.Name {
				w.Log.Warn("research worker: cannot answer", "query", q.ID, "err", err)
			}
			continue
		}
		w.Log.Info("research worker: answered", "query", q.ID)
	}
}

// site is the runner of a task this member takes part in with data here,
// or nil.
func (w *Worker) site(ctx context.Context, c *client.Client, task, me string) (*Site, error) {
	if s, ok := w.sites[task]; ok {
		return s, nil
	}
	path := w.file("fl", task)
	if _, err := os.Stat(path); err != nil && w.Records == nil {
		return nil, nil
	}
	var st federated.State
	if err := c.Get(ctx, "/api/v1/fl/tasks/"+url.PathEscape(task), &st); err != nil {
		return nil, nil
	}
	var examples []federated.Example
	if st.Consented {
		if w.Records == nil || !slices.Contains(st.Participants, me) {
			return nil, nil
		}
		study := federated.StudyPrefix + ":" + task
		cohort, err := Cohort(ctx, w.Client, w.Key, w.Records, study, time.Now())
		if err != nil {
			return nil, err
		}
		var used []string
		if examples, used, err = Examples(cohort, st.Features, st.Label); err != nil {
			return nil, err
		}
		if len(examples) < 5 {
			return nil, fmt.Errorf("%d patients here consented to this task (naming this member and fl:%s); %d of them have %s in their records: at least 5 are needed — the task is set aside until the node restarts",
				len(cohort), task, len(examples), strings.Join(st.Features, ", "))
		}
		if err := Declare(ctx, w.Client, w.Key, study, used); err != nil {
			return nil, fmt.Errorf("declaring the cohort: %w", err)
		}
		path = "the records of " + fmt.Sprint(len(used)) + " consenting patients"
	} else {
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
		if !slices.Contains(st.Participants, me) {
			return nil, fmt.Errorf("%s holds data for a task this member does not take part in", path)
		}
		var err error
		if examples, err = ReadExamples(path, st.Features, st.Label); err != nil {
			return nil, err
		}
	}
	train, holdout := federated.Split(examples)
	if len(train) == 0 || len(holdout) == 0 {
		return nil, fmt.Errorf("%s holds %d rows: at least 5 are needed", path, len(examples))
	}
	s := &Site{Client: w.Client, Key: w.Key, Task: task, Train: train, Holdout: holdout}
	w.sites[task] = s
	w.Log.Info("research worker: taking part", "task", task, "train", len(train), "holdout", len(holdout))
	return s, nil
}

// consentedRows are this custodian's rows for a query on a consented
// dataset: its patients who consented to the query's project, declared
// first (records.use).
func (w *Worker) consentedRows(ctx context.Context, q *research.Query, d *research.DatasetState) ([]research.Row, error) {
	study := research.StudyPrefix + ":" + q.Project
	cohort, err := Cohort(ctx, w.Client, w.Key, w.Records, study, time.Now())
	if err != nil {
		return nil, err
	}
	rows, used := Rows(cohort, &d.Values)
	if len(used) > 0 {
		if err := Declare(ctx, w.Client, w.Key, study, used); err != nil {
			return nil, fmt.Errorf("declaring the cohort: %w", err)
		}
	}
	return rows, nil
}

// file is the data file of a task or dataset in Dir, or "" without Dir
// (os.Stat("") fails: no file).
func (w *Worker) file(kind, id string) string {
	if w.Dir == "" {
		return ""
	}
	return filepath.Join(w.Dir, kind, id+".csv")
}
