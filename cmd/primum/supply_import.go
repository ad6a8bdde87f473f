package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/epcis"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// importResult is one line of the import report (JSON Lines).
type importResult struct {
	Index   int    `json:"index"`
	EventID string `json:"eventID"`
	Status  string `json:"status"` // accepted, already_recorded, refused
	Code    string `json:"code,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

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
			im := &importer{ctx: cmd.Context(), c: g.client(), token: token, report: json.NewEncoder(out), size: st.Size(), counted: &countingReader{r: f}}
			return im.run(batch)
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

type importer struct {
	ctx     context.Context
	c       *client.Client
	token   string
	report  *json.Encoder
	size    int64
	counted *countingReader
	context json.RawMessage
	start   time.Time
	total   int
	counts  map[string]int
}

// run streams eventList without holding the whole document in memory.
func (im *importer) run(batch int) error {
	im.start, im.counts = time.Now(), map[string]int{}
	dec := json.NewDecoder(im.counted)
	if err := im.seekEvents(dec); err != nil {
		return err
	}
	var chunk []json.RawMessage
	for dec.More() {
		var ev json.RawMessage
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("event %d: %w", im.total+len(chunk), err)
		}
		chunk = append(chunk, withEventID(ev))
		if len(chunk) == batch {
			if err := im.send(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) > 0 {
		if err := im.send(chunk); err != nil {
			return err
		}
	}
	im.progress(true)
	fmt.Fprintf(os.Stderr, "\n%d events: %d accepted, %d already recorded, %d refused\n", im.total, im.counts["accepted"], im.counts["already_recorded"], im.counts["refused"])
	return nil
}

// seekEvents walks the document to the '[' of epcisBody.eventList,
// remembering @context for the batches.
func (im *importer) seekEvents(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not an EPCISDocument with epcisBody.eventList: %w", err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if v == "@context" && depth == 1 {
				if err := dec.Decode(&im.context); err != nil {
					return err
				}
			}
			if v == "eventList" {
				if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
					return fmt.Errorf("eventList is not an array")
				}
				return nil
			}
		}
	}
}

// withEventID gives an event without an eventID one derived from its bytes,
// so a re-run is idempotent.
func withEventID(ev json.RawMessage) json.RawMessage {
	if id, err := epcis.EventID(ev); err == nil && id != "" {
		return ev
	}
	var compact bytes.Buffer
	if json.Compact(&compact, ev) != nil {
		return ev
	}
	sum := sha256.Sum256(compact.Bytes())
	id := "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=primum-import"
	trimmed := bytes.TrimSpace(ev)
	if len(trimmed) < 2 || trimmed[0] != '{' {
		return ev
	}
	return append([]byte(`{"eventID":"`+id+`",`), trimmed[1:]...)
}

func (im *importer) send(chunk []json.RawMessage) error {
	ctx := im.context
	if len(ctx) == 0 {
		ctx = json.RawMessage(`["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`)
	}
	doc, _ := json.Marshal(map[string]any{"@context": ctx, "type": "EPCISDocument", "schemaVersion": "2.0",
		"creationDate": time.Now().UTC().Format(time.RFC3339), "epcisBody": map[string]any{"eventList": chunk}})
	job, err := im.capture(doc)
	if err != nil {
		return err
	}
	failed := map[int]wire.CaptureError{}
	for _, e := range job.Errors {
		failed[e.EventIndex] = e
	}
	for i, ev := range chunk {
		id, _ := epcis.EventID(ev)
		r := importResult{Index: im.total + i, EventID: id, Status: "accepted"}
		if e, bad := failed[i]; bad {
			r.Code, r.Detail = e.Code, e.Detail
			r.Status = "refused"
			if e.Code == "duplicate_event" {
				r.Status = "already_recorded"
			}
		}
		im.counts[r.Status]++
		_ = im.report.Encode(r)
	}
	im.total += len(chunk)
	im.progress(false)
	return nil
}

// capture sends one batch, proceeding past the events the node refuses,
// and waits for its job. The client waits as the node asks when the
// token's key is over its rate (429) and sends the same document again.
func (im *importer) capture(doc []byte) (*wire.CaptureJob, error) {
	job, err := im.c.Capture(im.ctx, im.token, doc, client.CaptureProceed)
	if err != nil && im.ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: run the import again to continue (recorded events are skipped)")
	}
	return job, err
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
