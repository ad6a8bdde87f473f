package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
(with its code) in --report (JSON Lines) and a summary. Events without an eventID get one
derived from their content, so running the import again after an interruption records
nothing twice: what was accepted before reports as already recorded.`,
		Example: `  primum supply import shipments.jsonld --token $TOKEN --report import-report.jsonl
  primum supply import big.jsonld --token $(jq -r '.members[]|select(.name=="Acme Pharma").api_token' ~/.primum/demo-members.json)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if token == "" {
				return fmt.Errorf("--token is required: the API token of the organisation the events are captured as (PRIMUM_API_TOKEN)")
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
			im := &importer{report: json.NewEncoder(out), size: st.Size(), counted: &countingReader{r: f}, start: time.Now(), counts: map[string]int{}}
			err = g.client().Import(cmd.Context(), token, im.counted, batch, im.done)
			if err != nil && cmd.Context().Err() != nil {
				return fmt.Errorf("interrupted: run the import again to continue (recorded events are skipped)")
			}
			if err != nil {
				return err
			}
			im.progress(true)
			fmt.Fprintf(os.Stderr, "\n%d events: %d accepted, %d already recorded, %d refused\n", im.total, im.counts["accepted"], im.counts["already_recorded"], im.counts["refused"])
			return nil
		},
	}
	cmd.Flags().StringVar(&token, "token", os.Getenv("PRIMUM_API_TOKEN"), "API token naming the capturing organisation (env PRIMUM_API_TOKEN)")
	cmd.Flags().StringVar(&report, "report", "", "write one JSON line per event to this file")
	cmd.Flags().IntVar(&batch, "batch", supply.MaxCaptureEvents, "events per capture")
	return cmd
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

// importer reports an import's progress and each event's result.
type importer struct {
	report  *json.Encoder
	size    int64
	counted *countingReader
	start   time.Time
	total   int
	counts  map[string]int
}

func (im *importer) done(results []client.ImportResult) error {
	for _, r := range results {
		im.counts[r.Status]++
		_ = im.report.Encode(r)
	}
	im.total += len(results)
	im.progress(false)
	return nil
}

func (im *importer) progress(final bool) {
	frac := 0.0
	if im.size > 0 {
		frac = float64(im.counted.n) / float64(im.size)
	}
	if final {
		frac = 1
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	rate := float64(im.total) / time.Since(im.start).Seconds()
	fmt.Fprintf(os.Stderr, "\r[%s] %3.0f%%  %d events  accepted %d  already %d  refused %d  %.0f ev/s ",
		bar, 100*frac, im.total, im.counts["accepted"], im.counts["already_recorded"], im.counts["refused"], rate)
}
