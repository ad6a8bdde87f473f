package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/primum-health/primum/supply"
	"golang.org/x/term"
)

// ImportProgressEvery is how many events apart an import not on a terminal
// shows its progress.
const ImportProgressEvery = 10000

// ImportSummary is what an import did, as its last line says it ('primum
// supply import -o json': this document).
type ImportSummary struct {
	Events          int    `json:"events"`
	Accepted        int    `json:"accepted"`
	AlreadyRecorded int    `json:"already_recorded"`
	Refused         int    `json:"refused"`
	Report          string `json:"report,omitempty"`
}

// ImportProgress follows an Import: Done (Import's done) writes each
// event's result to the report as a JSON line, tallies them and shows the
// progress on w, redrawn in place when w is a terminal, else a plain line
// every ImportProgressEvery events (in a file or a pipe a \r would only
// pile up). The document is read through Reader, which counts how far it
// is.
type ImportProgress struct {
	report  *json.Encoder
	size    int64
	counted *countingReader
	start   time.Time
	total   int
	counts  map[string]int
	w       io.Writer
	tty     bool
}

// NewImportProgress follows the import of a document of size bytes read
// from r.
func NewImportProgress(r io.Reader, size int64, report, w io.Writer) *ImportProgress {
	return &ImportProgress{report: json.NewEncoder(report), size: size, counted: &countingReader{r: r}, start: time.Now(),
		counts: map[string]int{}, w: w, tty: isTerminal(w)}
}

// Reader reads the document, counting how much of it the import read.
func (im *ImportProgress) Reader() io.Reader { return im.counted }

// isTerminal reports whether w is a terminal, where progress may be redrawn
// in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Done takes a batch's results (Import's done).
func (im *ImportProgress) Done(results []ImportResult) error {
	before := im.total
	for _, r := range results {
		im.counts[r.Status]++
		_ = im.report.Encode(r)
	}
	im.total += len(results)
	if im.tty {
		im.progress(false)
	} else if im.total/ImportProgressEvery > before/ImportProgressEvery {
		im.progress(false)
	}
	return nil
}

// Finish draws the bar at 100% and ends its line (not on a terminal, the
// summary that follows says it all), and returns the tally.
func (im *ImportProgress) Finish() ImportSummary {
	if im.tty {
		im.progress(true)
		fmt.Fprintln(im.w)
	}
	return ImportSummary{Events: im.total, Accepted: im.counts["accepted"], AlreadyRecorded: im.counts["already_recorded"],
		Refused: im.counts["refused"]}
}

func (im *ImportProgress) progress(final bool) {
	frac := 0.0
	if im.size > 0 {
		frac = float64(im.counted.n) / float64(im.size)
	}
	if final {
		frac = 1
	}
	rate := float64(im.total) / time.Since(im.start).Seconds()
	counts := fmt.Sprintf("%d events  accepted %d  already %d  refused %d  %.0f ev/s",
		im.total, im.counts["accepted"], im.counts["already_recorded"], im.counts["refused"], rate)
	if !im.tty {
		fmt.Fprintf(im.w, "%3.0f%%  %s\n", 100*frac, counts)
		return
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	fmt.Fprintf(im.w, "\r[%s] %3.0f%%  %s ", bar, 100*frac, counts)
}

// ImportFile imports the EPCIS document at path (Import, batch events a
// capture), showing the progress on w and writing each event's result to
// the file report names (JSON Lines; none: no report), and answers the
// summary. An import ctx interrupted is said to be run again: what it
// recorded is skipped then.
func (c *Client) ImportFile(ctx context.Context, token, path, report string, batch int, w io.Writer) (*ImportSummary, error) {
	if batch < 1 || batch > supply.MaxCaptureEvents {
		return nil, fmt.Errorf("--batch must be 1-%d", supply.MaxCaptureEvents)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.Stat()
	var out io.Writer = io.Discard
	if report != "" {
		rf, err := os.Create(report)
		if err != nil {
			return nil, err
		}
		defer rf.Close()
		bw := bufio.NewWriter(rf)
		defer bw.Flush()
		out = bw
	}
	im := NewImportProgress(f, st.Size(), out, w)
	err = c.Import(ctx, token, im.Reader(), batch, im.Done)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: run the import again to continue (recorded events are skipped)")
	}
	if err != nil {
		return nil, err
	}
	sum := im.Finish()
	sum.Report = report
	return &sum, nil
}
