package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/wire"
)

// Capture behaviours on an event the node refuses (EPCIS 2.0's
// GS1-Capture-Error-Behaviour).
const (
	CaptureRollback = "rollback" // record none of the document's events
	CaptureProceed  = "proceed"  // record the others
)

// captureRetries bound how often StartCapture sends a document again: to a
// node that holds as many capture jobs as it keeps (503), a second apart,
// and to one that asks the token's key to slow down (429), as long as its
// Retry-After says.
const (
	captureBusyRetries    = 10
	captureLimitedRetries = 100
)

// StartCapture posts an EPCIS 2.0 document to POST /epcis/capture as the
// organisation token names, with behaviour (CaptureRollback or
// CaptureProceed) on a refused event, and answers the id of the capture job
// the node started. The node counts a capture as one transaction per event
// against the token's key: when it answers 429, StartCapture waits as its
// Retry-After asks (a second if it does not say) and sends the same
// document again.
func (c *Client) StartCapture(ctx context.Context, token string, doc []byte, behaviour string) (string, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/epcis/capture", bytes.NewReader(doc))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/ld+json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("GS1-Capture-Error-Behaviour", behaviour)
		res, err := c.http.Do(req)
		if err != nil {
			return "", fmt.Errorf("cannot reach the node at %s: %w", c.base, err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		var wait time.Duration
		switch {
		case res.StatusCode == http.StatusServiceUnavailable && attempt < captureBusyRetries:
			wait = time.Second
		case res.StatusCode == http.StatusTooManyRequests && attempt < captureLimitedRetries:
			wait = time.Second
			if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && n > 0 {
				wait = time.Duration(n) * time.Second
			}
		case res.StatusCode != http.StatusAccepted:
			return "", fmt.Errorf("capture refused (HTTP %d): %s", res.StatusCode, strings.TrimSpace(string(body)))
		default:
			id, ok := strings.CutPrefix(res.Header.Get("Location"), "/epcis/capture/")
			if !ok || id == "" {
				return "", fmt.Errorf("capture accepted without its job's location (%q)", res.Header.Get("Location"))
			}
			return id, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

// CaptureJob reads where a capture job stands: GET /epcis/capture/{id}.
func (c *Client) CaptureJob(ctx context.Context, id string) (*wire.CaptureJob, error) {
	var job wire.CaptureJob
	return &job, c.do(ctx, "GET", "/epcis/capture/"+url.PathEscape(id), nil, &job)
}

// Capture starts a capture (StartCapture) and waits for its job to finish,
// reading its status every 150 ms; it answers the finished job, whose
// Errors say which events the node refused and why.
func (c *Client) Capture(ctx context.Context, token string, doc []byte, behaviour string) (*wire.CaptureJob, error) {
	id, err := c.StartCapture(ctx, token, doc, behaviour)
	if err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
		job, err := c.CaptureJob(ctx, id)
		if err != nil {
			return nil, err
		}
		if !job.Running {
			return job, nil
		}
	}
}
