package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/supply"
)

func newSupplyImportCmd(g *globals) *cobra.Command {
	var (
		token  string
		report string
		batch  int
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a large EPCIS 2.0 document through the node's capture interface",
		Long: `Streams the events of an EPCISDocument to --node's /epcis/capture in batches (proceed on
error), shows progress, and reports every event as accepted, already recorded or refused
(with its code) in --report (JSON Lines) and a summary (-o json: one JSON document). Events
without an eventID get one derived from their content, so running the import again after an
interruption records nothing twice: what was accepted before reports as already recorded.

The progress is redrawn in place on a terminal; otherwise (a log file, a pipe) it is a plain
line every ` + strconv.Itoa(progressEvery) + ` events. The token is --token, or else PRIMUM_TOKEN (as for every
command), or else PRIMUM_API_TOKEN (its older name, still read).`,
		Example: `  primum supply import shipments.jsonld --token $TOKEN --report import-report.jsonl
  PRIMUM_TOKEN=$TOKEN primum supply import big.jsonld -o json > summary.json
  primum supply import big.jsonld --token $(jq -r '.members[]|select(.name=="Acme Pharma").api_token' ~/.primum/demo-members.json)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token = apiToken(token, "PRIMUM_API_TOKEN")
			if token == "" {
				return fmt.Errorf("--token is required: the API token of the organisation the events are captured as (or env PRIMUM_TOKEN)")
			}
			if batch < 1 || batch > supply.MaxCaptureEvents {
				return fmt.Errorf("--batch must be 1-%d", supply.MaxCaptureEvents)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, _ := f.Stat()
			var out io.Writer = io.Discard
			if report != "" {
				rf, err := os.Create(report)
				if err != nil {
					return err
				}
				defer rf.Close()
				bw := bufio.NewWriter(rf)
				defer bw.Flush()
				out = bw
			}
			progress := cmd.ErrOrStderr()
			im := &importer{report: json.NewEncoder(out), size: st.Size(), counted: &countingReader{r: f}, start: time.Now(),
				counts: map[string]int{}, w: progress, tty: isTerminal(progress)}
			err = g.client().Import(cmd.Context(), token, im.counted, batch, im.done)
			if err != nil && cmd.Context().Err() != nil {
				return fmt.Errorf("interrupted: run the import again to continue (recorded events are skipped)")
			}
			if err != nil {
				return err
			}
			im.finish()
			sum := importSummary{Events: im.total, Accepted: im.counts["accepted"], AlreadyRecorded: im.counts["already_recorded"],
				Refused: im.counts["refused"], Report: report}
			return g.print(cmd.OutOrStdout(), sum, func(w io.Writer) {
				fmt.Fprintf(w, "%d events: %d accepted, %d already recorded, %d refused\n", sum.Events, sum.Accepted, sum.AlreadyRecorded, sum.Refused)
			})
		},
	}
	cmd.Flags().StringVar(&token, "token", "", "API token naming the capturing organisation (env PRIMUM_TOKEN, or PRIMUM_API_TOKEN)")
	cmd.Flags().StringVar(&report, "report", "", "write one JSON line per event to this file")
	cmd.Flags().IntVar(&batch, "batch", supply.MaxCaptureEvents, "events per capture")
	return cmd
}

// importSummary is what an import did, as its last line says it (-o json:
// this document).
type importSummary struct {
	Events          int    `json:"events"`
	Accepted        int    `json:"accepted"`
	AlreadyRecorded int    `json:"already_recorded"`
	Refused         int    `json:"refused"`
	Report          string `json:"report,omitempty"`
}

// isTerminal reports whether w is a terminal, where progress may be redrawn
// in place; in a file or a pipe a \r would only pile up.
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

// progressEvery is how many events apart an import not on a terminal
// prints its progress.
const progressEvery = 10000

// importer reports an import's progress to w (redrawn in place when tty,
// else a line every progressEvery events) and each event's result.
type importer struct {
	report  *json.Encoder
	size    int64
	counted *countingReader
	start   time.Time
	total   int
	counts  map[string]int
	w       io.Writer
	tty     bool
}

func (im *importer) done(results []client.ImportResult) error {
	before := im.total
	for _, r := range results {
		im.counts[r.Status]++
		_ = im.report.Encode(r)
	}
	im.total += len(results)
	if im.tty {
		im.progress(false)
	} else if im.total/progressEvery > before/progressEvery {
		im.progress(false)
	}
	return nil
}

// finish draws the bar at 100% and ends its line; not on a terminal, the
// summary that follows says it all.
func (im *importer) finish() {
	if im.tty {
		im.progress(true)
		fmt.Fprintln(im.w)
	}
}

func (im *importer) progress(final bool) {
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
