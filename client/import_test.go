package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// TestImport: a document's events go in batches under its own @context;
// an event without an eventID gets the same one derived from its content
// each time (so a second import finds it recorded); the node's refusals
// come back against the right events, a duplicate as already recorded.
func TestImport(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{} // event ids the fake node recorded
	var batches []int
	var lastJob wire.CaptureJob // the fake node answers the job of the last capture it took
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == "GET" {
			_ = json.NewEncoder(w).Encode(lastJob)
			return
		}
		var doc struct {
			Context []string `json:"@context"`
			Body    struct {
				EventList []struct {
					EventID string `json:"eventID"`
					Action  string `json:"action"`
				} `json:"eventList"`
			} `json:"epcisBody"`
		}
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil || len(doc.Context) != 2 || doc.Context[1] != "https://example.org/ctx" {
			t.Errorf("capture of %+v (%v)", doc, err)
		}
		batches = append(batches, len(doc.Body.EventList))
		job := wire.CaptureJob{}
		for i, ev := range doc.Body.EventList {
			switch {
			case ev.EventID == "":
				t.Errorf("event %d sent without an eventID", i)
			case ev.Action == "DELETE":
				job.Errors = append(job.Errors, wire.CaptureError{EventIndex: i, Code: "unknown_serial", Detail: "never commissioned"})
			case seen[ev.EventID]:
				job.Errors = append(job.Errors, wire.CaptureError{EventIndex: i, Code: "duplicate_event"})
			}
			seen[ev.EventID] = true
		}
		lastJob = job
		w.Header().Set("Location", "/epcis/capture/1")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	var events []string
	for i := range 5 {
		id := ""
		if i%2 == 0 {
			id = fmt.Sprintf(`"eventID":"urn:uuid:%d",`, i)
		}
		action := "ADD"
		if i == 3 {
			action = "DELETE"
		}
		events = append(events, fmt.Sprintf(`{%s"type":"ObjectEvent","action":%q,"n":%d}`, id, action, i))
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld","https://example.org/ctx"],"type":"EPCISDocument","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`
	run := func() []ImportResult {
		var got []ImportResult
		err := New(srv.URL).Import(context.Background(), "tok", strings.NewReader(doc), 2, func(rs []ImportResult) error {
			got = append(got, rs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	status := func(rs []ImportResult) string {
		var s []string
		for i, r := range rs {
			if r.Index != i || r.EventID == "" {
				t.Errorf("result %d: %+v", i, r)
			}
			s = append(s, r.Status)
		}
		return strings.Join(s, " ")
	}
	first := run()
	if got := status(first); got != "accepted accepted accepted refused accepted" || first[3].Code != "unknown_serial" {
		t.Fatalf("first import: %s %+v", got, first)
	}
	if fmt.Sprint(batches) != "[2 2 1]" {
		t.Fatalf("batches of %v events", batches)
	}
	second := run()
	if got := status(second); got != "already_recorded already_recorded already_recorded refused already_recorded" {
		t.Fatalf("second import: %s", got)
	}
	for i := range first {
		if first[i].EventID != second[i].EventID {
			t.Fatalf("event %d's id changed: %s, then %s", i, first[i].EventID, second[i].EventID)
		}
	}
}

// An import's progress is redrawn in place only on a terminal: written to a
// log file it is a plain line every ImportProgressEvery events, never a \r.
func TestImportProgress(t *testing.T) {
	for _, c := range []struct {
		name  string
		tty   bool
		lines int // newline-ended lines before the summary
	}{
		{"a log file", false, 2},
		{"a terminal", true, 1},
	} {
		var w strings.Builder
		im := NewImportProgress(nil, 100, io.Discard, &w)
		im.counted.n, im.tty = 50, c.tty
		for range 25000 / supply.MaxCaptureEvents {
			_ = im.Done(make([]ImportResult, supply.MaxCaptureEvents))
		}
		im.Finish()
		out := w.String()
		if strings.Contains(out, "\r") != c.tty || strings.Count(out, "\n") != c.lines {
			t.Errorf("%s: %q", c.name, out)
		}
		if !c.tty && !strings.HasPrefix(out, " 50%  10000 events") {
			t.Errorf("%s: the first line is not the progress at 10,000 events: %q", c.name, out)
		}
	}
}

// An import of a file reports each event in its report file and sums them
// up; a batch no capture takes, a file not there, and an interrupted
// import (to be run again) are errors.
func TestImportFile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			_ = json.NewEncoder(w).Encode(wire.CaptureJob{})
			return
		}
		w.Header().Set("Location", "/epcis/capture/1")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	dir := t.TempDir()
	doc := filepath.Join(dir, "doc.jsonld")
	body := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","epcisBody":{"eventList":[` +
		`{"eventID":"urn:uuid:1","type":"ObjectEvent","action":"ADD"},{"eventID":"urn:uuid:2","type":"ObjectEvent","action":"ADD"}]}}`
	if err := os.WriteFile(doc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name, path, report string
		batch              int
		ctx                context.Context
		err                string
	}{
		{"with a report", doc, filepath.Join(dir, "report.jsonl"), 1, context.Background(), ""},
		{"without", doc, "", supply.MaxCaptureEvents, context.Background(), ""},
		{"a batch of none", doc, "", 0, context.Background(), "--batch must be 1-"},
		{"a batch too large", doc, "", supply.MaxCaptureEvents + 1, context.Background(), "--batch must be 1-"},
		{"no such file", filepath.Join(dir, "none"), "", 1, context.Background(), "no such file"},
		{"interrupted", doc, "", 1, cancelled, "interrupted: run the import again"},
	} {
		sum, err := New(srv.URL).ImportFile(c.ctx, "token", c.path, c.report, c.batch, io.Discard)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || sum.Events != 2 || sum.Accepted != 2 || sum.Report != c.report {
			t.Errorf("%s: %+v %v", c.name, sum, err)
			continue
		}
		if c.report != "" {
			if b, err := os.ReadFile(c.report); err != nil || strings.Count(string(b), "\n") != 2 {
				t.Errorf("%s: the report %q, %v", c.name, b, err)
			}
		}
	}
}
