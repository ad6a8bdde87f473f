package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/primum-health/primum/epcis"
	"github.com/primum-health/primum/wire"
)

// ImportResult is what became of one event of an import: a line of 'primum
// supply import --report' (JSON Lines).
type ImportResult struct {
	Index   int    `json:"index"`
	EventID string `json:"eventID"`
	Status  string `json:"status"` // accepted, already_recorded, refused
	Code    string `json:"code,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Import streams the events of the EPCISDocument r reads to the node's
// capture interface as the organisation token names, batch events a
// capture, proceeding past the events the node refuses, without holding
// the whole document in memory. After each capture it passes done that
// batch's results, in order; an error from done stops the import.
//
// An event without an eventID gets one derived from its content, so an
// import run again after an interruption records nothing twice: what was
// accepted before reports as already recorded.
func (c *Client) Import(ctx context.Context, token string, r io.Reader, batch int, done func([]ImportResult) error) error {
	dec := json.NewDecoder(r)
	docContext, err := seekEvents(dec)
	if err != nil {
		return err
	}
	if len(docContext) == 0 {
		docContext = json.RawMessage(`["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]`)
	}
	total := 0
	send := func(chunk []json.RawMessage) error {
		doc, _ := json.Marshal(map[string]any{"@context": docContext, "type": "EPCISDocument", "schemaVersion": "2.0",
			"creationDate": time.Now().UTC().Format(time.RFC3339), "epcisBody": map[string]any{"eventList": chunk}})
		job, err := c.Capture(ctx, token, doc, CaptureProceed)
		if err != nil {
			return err
		}
		results := importResults(chunk, job, total)
		total += len(chunk)
		return done(results)
	}
	var chunk []json.RawMessage
	for dec.More() {
		var ev json.RawMessage
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("event %d: %w", total+len(chunk), err)
		}
		chunk = append(chunk, withEventID(ev))
		if len(chunk) == batch {
			if err := send(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) > 0 {
		return send(chunk)
	}
	return nil
}

// seekEvents walks the document to the '[' of epcisBody.eventList, and
// answers the document's @context, for the batches.
func seekEvents(dec *json.Decoder) (docContext json.RawMessage, err error) {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not an EPCISDocument with epcisBody.eventList: %w", err)
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
				if err := dec.Decode(&docContext); err != nil {
					return nil, err
				}
			}
			if v == "eventList" {
				if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
					return nil, fmt.Errorf("eventList is not an array")
				}
				return docContext, nil
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

// importResults reads a finished capture job of chunk, whose first event
// is the import's first-th: a duplicate event is already recorded.
func importResults(chunk []json.RawMessage, job *wire.CaptureJob, first int) []ImportResult {
	failed := map[int]wire.CaptureError{}
	for _, e := range job.Errors {
		failed[e.EventIndex] = e
	}
	results := make([]ImportResult, len(chunk))
	for i, ev := range chunk {
		id, _ := epcis.EventID(ev)
		r := ImportResult{Index: first + i, EventID: id, Status: "accepted"}
		if e, bad := failed[i]; bad {
			r.Code, r.Detail = e.Code, e.Detail
			r.Status = "refused"
			if e.Code == "duplicate_event" {
				r.Status = "already_recorded"
			}
		}
		results[i] = r
	}
	return results
}
