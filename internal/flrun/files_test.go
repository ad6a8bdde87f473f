package flrun_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// write writes a data file of this test's and names it.
func write(t *testing.T, name string, fill func(*strings.Builder) error) string {
	t.Helper()
	var b strings.Builder
	if err := fill(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func examples(n int) func(*strings.Builder) error {
	return func(b *strings.Builder) error {
		return federated.WriteCSV(b, federated.SynthFeatures, federated.SynthLabel, federated.Synth(federated.SynthSites[0], 1)[:n])
	}
}

// node answers the paths given with their JSON, and 404 otherwise.
func node(t *testing.T, answers map[string]string) *client.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.RequestURI()]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":"not_found","detail":"no such thing"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL)
}

// A site's data and a custodian's rows are read from their files, and a
// file that does not read names itself.
func TestReadFiles(t *testing.T) {
	good := write(t, "site.csv", examples(20))
	rows := write(t, "rows.csv", func(b *strings.Builder) error { return research.WriteRows(b, research.SynthRows(1)) })
	bad := write(t, "bad.csv", func(b *strings.Builder) error { _, err := b.WriteString("a,b\n1,2\n"); return err })
	none := filepath.Join(t.TempDir(), "none.csv")
	for _, c := range []struct {
		name string
		read func() (int, error)
		want int
		err  string
	}{
		{"a site's data", func() (int, error) {
			e, err := flrun.ReadExamples(good, federated.SynthFeatures, federated.SynthLabel)
			return len(e), err
		}, 20, ""},
		{"a site's data without the task's columns", func() (int, error) {
			e, err := flrun.ReadExamples(bad, federated.SynthFeatures, federated.SynthLabel)
			return len(e), err
		}, 0, bad + ": "},
		{"no site's data", func() (int, error) {
			e, err := flrun.ReadExamples(none, federated.SynthFeatures, federated.SynthLabel)
			return len(e), err
		}, 0, none},
		{"a custodian's rows", func() (int, error) { r, err := flrun.ReadRows(rows); return len(r), err }, len(research.SynthRows(1)), ""},
		{"rows without their columns", func() (int, error) { r, err := flrun.ReadRows(bad); return len(r), err }, 0, bad + ": "},
		{"no rows", func() (int, error) { r, err := flrun.ReadRows(none); return len(r), err }, 0, none},
	} {
		n, err := c.read()
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || n != c.want):
			t.Errorf("%s: %d, %v; want %d", c.name, n, err, c.want)
		}
	}
}

// A site is its task's data, one row in five held out; fewer than five
// rows, or a task the node does not know, are refused.
func TestNewSite(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	c := node(t, map[string]string{"/api/v1/fl/tasks/t2d": fmt.Sprintf(`{"id":"t2d","features":["%s"],"label":%q}`,
		strings.Join(federated.SynthFeatures, `","`), federated.SynthLabel)})
	for _, c2 := range []struct {
		name, task, path string
		train, holdout   int
		err              string
	}{
		{"forty rows", "t2d", write(t, "40.csv", examples(40)), 32, 8, ""},
		{"four rows", "t2d", write(t, "4.csv", examples(4)), 0, 0, "holds 4 rows: at least 5 are needed (one in five is the holdout)"},
		{"a task not there", "none", write(t, "40.csv", examples(40)), 0, 0, "no such thing"},
	} {
		s, err := flrun.NewSite(context.Background(), c, key, c2.task, c2.path)
		switch {
		case c2.err != "" && (err == nil || !strings.Contains(err.Error(), c2.err)):
			t.Errorf("%s: %v, want %q", c2.name, err, c2.err)
		case c2.err == "" && (err != nil || len(s.Train) != c2.train || len(s.Holdout) != c2.holdout || s.Task != c2.task):
			t.Errorf("%s: %+v %v", c2.name, s, err)
		}
	}
}

// A query named that takes no cells from this custodian is refused, saying
// why; with --all such queries are passed over, and nothing is posted.
func TestAnswerQueriesPassedOver(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	me := ledger.Address(pub)
	answered := fmt.Sprintf(`{"id":"q-answered","dataset":"d-mine","status":"open","answered":[%q]}`, me)
	released := `{"id":"q-released","dataset":"d-mine","status":"released","answered":[]}`
	other := `{"id":"q-other","dataset":"d-other","status":"open","answered":[]}`
	c := node(t, map[string]string{
		"/api/v1/research/queries?status=open": "[" + answered + "," + released + "," + other + "]",
		"/api/v1/research/queries/q-answered":  answered,
		"/api/v1/research/queries/q-released":  released,
		"/api/v1/research/queries/q-other":     other,
		"/api/v1/research/datasets/d-other":    `{"id":"d-other","custodians":["someone-else"]}`,
	})
	for _, c2 := range []struct{ id, err string }{
		{"q-answered", "you have answered q-answered already: nothing to post"},
		{"q-released", "q-released is released: it takes no more cells"},
		{"q-other", "your organisation is not a custodian of d-other: only its custodians answer q-other"},
		{"q-none", "no such thing"},
		{"", ""}, // --all: each passed over
	} {
		told := 0
		n, err := flrun.AnswerQueries(context.Background(), c, key, nil, c2.id, func(*research.Query) { told++ })
		switch {
		case c2.err != "" && (err == nil || !strings.Contains(err.Error(), c2.err)):
			t.Errorf("%q: %v, want %q", c2.id, err, c2.err)
		case c2.err == "" && err != nil:
			t.Errorf("%q: %v", c2.id, err)
		case n != 0 || told != 0:
			t.Errorf("%q: %d answered, %d told", c2.id, n, told)
		}
	}
}
