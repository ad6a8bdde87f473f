package flrun

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// ReadExamples reads a site's data file, CSV, for a task's features and
// label (federated.ReadCSV); a file that does not read names itself.
func ReadExamples(path string, features []string, label string) ([]federated.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	examples, err := federated.ReadCSV(f, features, label)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return examples, nil
}

// ReadRows reads a custodian's rows file, CSV (research.ReadRows); a file
// that does not read names itself.
func ReadRows(path string) ([]research.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := research.ReadRows(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// NewSite is the runner of task for the organisation of key, on its data
// in the CSV file at path, read for the task's features and label: every
// fifth row is its holdout (federated.Split), and fewer than five rows are
// refused.
func NewSite(ctx context.Context, c *client.Client, key ed25519.PrivateKey, task, path string) (*Site, error) {
	var st federated.State
	if err := c.WithKey(key).Get(ctx, "/api/v1/fl/tasks/"+task, &st); err != nil {
		return nil, err
	}
	examples, err := ReadExamples(path, st.Features, st.Label)
	if err != nil {
		return nil, err
	}
	train, holdout := federated.Split(examples)
	if len(train) == 0 || len(holdout) == 0 {
		return nil, fmt.Errorf("%s holds %d rows: at least 5 are needed (one in five is the holdout)", path, len(examples))
	}
	return &Site{Client: c, Key: key, Task: task, Train: train, Holdout: holdout}, nil
}

// AnswerQueries posts the noisy cells counted from a custodian's rows
// (Answer) for the query id or, with id "", for every open query on a
// dataset the organisation of key is a custodian of and has not answered
// yet; answered is told each query answered, and the count is returned. A
// query named that takes no cells from it (answered already, released, or
// on a dataset it is no custodian of) is refused.
func AnswerQueries(ctx context.Context, c *client.Client, key ed25519.PrivateKey, rows []research.Row, id string, answered func(*research.Query)) (int, error) {
	all, r := id == "", c.WithKey(key)
	var qs []*research.Query
	if all {
		if err := r.Get(ctx, "/api/v1/research/queries?status=open", &qs); err != nil {
			return 0, err
		}
	} else {
		var q research.Query
		if err := r.Get(ctx, "/api/v1/research/queries/"+id, &q); err != nil {
			return 0, err
		}
		qs = append(qs, &q)
	}
	me := ledger.Address(key.Public().(ed25519.PublicKey))
	n := 0
	for _, q := range qs {
		if slices.Contains(q.Answered, me) || q.Status != research.StatusOpen {
			if !all && slices.Contains(q.Answered, me) {
				return n, fmt.Errorf("you have answered %s already: nothing to post", q.ID)
			} else if !all {
				return n, fmt.Errorf("%s is released: it takes no more cells", q.ID)
			}
			continue
		}
		var d research.DatasetState
		if err := r.Get(ctx, "/api/v1/research/datasets/"+q.Dataset, &d); err != nil {
			return n, err
		}
		if !slices.Contains(d.Custodians, me) {
			if !all {
				return n, fmt.Errorf("your organisation is not a custodian of %s: only its custodians answer %s", d.ID, q.ID)
			}
			continue
		}
		if err := Answer(ctx, c, key, rows, q, &d); err != nil {
			return n, fmt.Errorf("%s: %w", q.ID, err)
		}
		if answered != nil {
			answered(q)
		}
		n++
	}
	return n, nil
}
