package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/primum-health/primum/epcis"
	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// The EPCIS 2.0 REST binding (base /epcis): capture of EPCISDocuments as
// asynchronous jobs, and the query interface answering EPCISQueryDocuments
// from the events the ledger keeps. The documents, their events and their
// translation into custody steps are package epcis's; codes 22, 25 and 27
// of this codespace are declared there.

var (
	errEPCISAuth        = newAPIError(20, "epcis_unauthorized", http.StatusUnauthorized, "capture needs 'Authorization: Bearer <token>' naming a member key configured on this node (api_tokens in config/primum.json)")
	errEPCISVersion     = newAPIError(21, "epcis_version_unsupported", http.StatusNotAcceptable, "this node speaks EPCIS 2.0 and CBV 2.0")
	errCaptureLimit     = newAPIError(23, "epcis_capture_limit_exceeded", http.StatusRequestEntityTooLarge, "too many events in one capture; see the GS1-EPCIS-Capture-Limit header")
	errNoCaptureJob     = newAPIError(24, "epcis_no_such_capture", http.StatusNotFound, "no capture job with this id on this node")
	errCaptureBehaviour = newAPIError(26, "epcis_capture_behaviour", http.StatusBadRequest, "GS1-Capture-Error-Behaviour must be rollback or proceed")
	errCaptureForbidden = newAPIError(28, "epcis_capture_forbidden", http.StatusForbidden, "this token's identity may not capture: only a member organisation in good standing captures EPCIS events")
	errCaptureBusy      = newAPIError(29, "epcis_capture_busy", http.StatusServiceUnavailable, "this node holds as many capture jobs as it keeps; retry when some have finished")
)

// Bounds of the capture endpoint: what one capture may carry and what the
// node keeps of finished jobs (in memory, for their status).
const (
	// captureJobTTL is how long a finished job's status is kept.
	captureJobTTL = time.Hour
	// maxCaptureJobs is how many jobs the node keeps at once.
	maxCaptureJobs = 1000
	// maxJobDetail bounds each error's detail in a job's status.
	maxJobDetail = 800
)

type captureJobs struct {
	mu   sync.Mutex
	jobs map[string]*wire.CaptureJob
	run  sync.Mutex // one job at a time per node: nonces stay in order
}

func (j *captureJobs) get(id string) (wire.CaptureJob, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok {
		return wire.CaptureJob{}, false
	}
	c := *job
	c.Errors = append([]wire.CaptureError{}, job.Errors...)
	return c, true
}

// add keeps a new job, first forgetting finished jobs older than
// captureJobTTL and, past maxCaptureJobs, the oldest finished ones; it
// refuses the job when every kept job is still running.
func (j *captureJobs) add(job *wire.CaptureJob, now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	var finished []*wire.CaptureJob
	for id, old := range j.jobs {
		if old.Running {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, old.FinishedAt); err == nil && now.Sub(t) > captureJobTTL {
			delete(j.jobs, id)
			continue
		}
		finished = append(finished, old)
	}
	if len(j.jobs) >= maxCaptureJobs {
		slices.SortFunc(finished, func(a, b *wire.CaptureJob) int { return strings.Compare(a.FinishedAt, b.FinishedAt) })
		for _, old := range finished[:min(len(finished), len(j.jobs)-maxCaptureJobs+1)] {
			delete(j.jobs, old.CaptureID)
		}
	}
	if len(j.jobs) >= maxCaptureJobs {
		return false
	}
	j.jobs[job.CaptureID] = job
	return true
}

func (j *captureJobs) update(id string, f func(*wire.CaptureJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(j.jobs[id])
}

func epcisHeaders(w http.ResponseWriter) {
	w.Header().Set("GS1-EPCIS-Version", "2.0.0")
	w.Header().Set("GS1-CBV-Version", "2.0.0")
	w.Header().Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(supply.MaxCaptureEvents))
	w.Header().Set("GS1-Extensions", "")
}

func checkEPCISVersions(r *http.Request) error {
	for _, h := range []string{"GS1-EPCIS-Version", "GS1-CBV-Version"} {
		if v := r.Header.Get(h); v != "" && !strings.HasPrefix(v, "2.0") {
			return errEPCISVersion.Wrapf("%s: %s", h, v)
		}
	}
	return nil
}

// epcisCapture: POST /epcis/capture.
func (s *server) epcisCapture(w http.ResponseWriter, r *http.Request) {
	epcisHeaders(w)
	if err := checkEPCISVersions(r); err != nil {
		writeError(w, err)
		return
	}
	if s.catchingUp() { // before a job is started that could only fail event by event
		writeError(w, errCatchingUp)
		return
	}
	key, signer, err := s.tokenHolder(r, tokens.ScopeEPCISCapture, s.Ledger.Committed(), s.Ledger.LastBlockTime())
	switch {
	case errors.Is(err, errTokenRequired):
		writeError(w, errEPCISAuth)
		return
	case errors.Is(err, errTokenScope), errors.Is(err, errTokenExpired):
		writeError(w, err) // the token's own trouble, not the organisation's
		return
	case err != nil || signer.Kind != ledger.KindOrganisation:
		writeError(w, errCaptureForbidden)
		return
	}

	behaviour := strings.ToLower(r.Header.Get("GS1-Capture-Error-Behaviour"))
	if behaviour == "" {
		behaviour = "rollback"
	}
	if behaviour != "rollback" && behaviour != "proceed" {
		writeError(w, errCaptureBehaviour)
		return
	}
	// The document is checked against the EPCIS 2.0 JSON schemas before
	// anything else reads it (a refusal names the event and the JSON
	// pointer); the body is bounded (MaxCaptureBytes).
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		if tooLarge(err) {
			writeError(w, errBodyTooLarge)
			return
		}
		writeError(w, epcis.ErrDocument.Wrapf("%v", err))
		return
	}
	if err := epcis.Validate(raw); err != nil {
		writeError(w, err)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	doc, err := epcis.DecodeDocument(dec)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := nothingAfter(dec); err != nil {
		writeError(w, err)
		return
	}
	events, err := doc.Events()
	if err != nil {
		writeError(w, err)
		return
	}
	if len(events) > supply.MaxCaptureEvents {
		writeError(w, errCaptureLimit.Wrapf("%d events, limit %d", len(events), supply.MaxCaptureEvents))
		return
	}
	// Master data (epcisHeader.epcisMasterData, EPCClass): products
	// registered or updated with the first event the capture sends.
	master, err := doc.MasterData()
	if err != nil {
		writeError(w, err)
		return
	}
	// A location's master data is set by the member that registered its
	// GLN: the elements of other members' locations (a trading partner's,
	// as documents often carry) are not read, as no other vocabulary is,
	// instead of failing the capture.
	master = slices.DeleteFunc(master, func(m supply.CaptureEvent) bool {
		if m.Location == nil {
			return false
		}
		c, err := gs1.Parse(m.Location.ID)
		if err != nil || c.GLN == "" {
			return true
		}
		org, err := supply.OrgOfLocation(s.Ledger.Committed(), c.GLN)
		return err != nil || org != signer.ID
	})
	// A capture counts against its token's key as one transaction per
	// event, the rate a node accepts from one key.
	if ok, wait := s.limiter.allowN(string(key.Public().(ed25519.PublicKey)), len(events)); !ok {
		writeRateLimited(w, wait)
		return
	}
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	job := &wire.CaptureJob{CaptureID: hex.EncodeToString(idb), CreatedAt: time.Now().UTC().Format(time.RFC3339Nano), Running: true,
		CaptureErrorBehaviour: behaviour, Events: len(events), Errors: []wire.CaptureError{}}
	if !s.captures.add(job, time.Now()) {
		writeError(w, errCaptureBusy)
		return
	}
	translated := make([][]supply.CaptureEvent, len(events))
	refusals := map[int]error{}
	committed := s.Ledger.Committed()
	for i, raw := range events {
		translated[i], refusals[i] = epcis.TranslateEvent(committed, raw)
		if refusals[i] == nil {
			delete(refusals, i)
		}
	}
	for i := range translated {
		if _, bad := refusals[i]; !bad && len(master) > 0 {
			translated[i] = append(master, translated[i]...)
			break
		}
	}
	go s.runCapture(job.CaptureID, key, events, translated, refusals, behaviour)
	w.Header().Set("Location", "/epcis/capture/"+job.CaptureID)
	w.WriteHeader(http.StatusAccepted)
}

func (s *server) runCapture(id string, key ed25519.PrivateKey, raw []json.RawMessage, events [][]supply.CaptureEvent, refusals map[int]error, behaviour string) {
	s.captures.run.Lock()
	defer s.captures.run.Unlock()
	fail := func(i int, err error) {
		e := ledger.AsError(err)
		detail := err.Error()
		if len(detail) > maxJobDetail {
			detail = detail[:maxJobDetail] + "…"
		}
		eventID, _ := epcis.EventID(raw[i])
		if len(eventID) > epcis.MaxField {
			eventID = ""
		}
		s.captures.update(id, func(j *wire.CaptureJob) {
			j.Errors = append(j.Errors, wire.CaptureError{EventIndex: i, EventID: eventID, Code: e.Name, Detail: detail})
		})
	}
	finish := func() {
		s.captures.update(id, func(j *wire.CaptureJob) {
			j.Running, j.Success, j.FinishedAt = false, len(j.Errors) == 0, time.Now().UTC().Format(time.RFC3339Nano)
		})
	}
	defer finish()
	if behaviour == "rollback" {
		var all []supply.CaptureEvent
		index := []int{}
		for i := range raw {
			if err, bad := refusals[i]; bad {
				fail(i, err)
				return
			}
			for range events[i] {
				index = append(index, i)
			}
			all = append(all, events[i]...)
		}
		if _, err := s.submitCapture(key, all); err != nil {
			i := 0
			var n int
			if _, scanErr := fmt.Sscanf(err.Error(), "event %d", &n); scanErr == nil && n < len(index) {
				i = index[n]
			}
			fail(i, err)
			return
		}
		s.captures.update(id, func(j *wire.CaptureJob) { j.Accepted = len(raw) })
		return
	}
	// proceed: one transaction per event, all sent in order before waiting,
	// so a whole batch fits in a few blocks.
	type pending struct {
		index int
		done  <-chan wire.TxResult
		stop  func()
	}
	var sent []pending
	for i := range raw {
		if err, bad := refusals[i]; bad {
			fail(i, err)
			continue
		}
		_, done, stop, err := s.broadcast(context.Background(), key, supply.TypeCapture, supply.Capture{Events: events[i]})
		if err != nil {
			fail(i, err)
			continue
		}
		sent = append(sent, pending{i, done, stop})
	}
	timeout := time.After(2 * time.Minute)
	for _, p := range sent {
		select {
		case r := <-p.done:
			if r.Code != 0 {
				fail(p.index, codedError(r.Codespace, r.Code, r.Log))
			} else {
				s.captures.update(id, func(j *wire.CaptureJob) { j.Accepted++ })
			}
		case <-timeout:
			fail(p.index, errTimeout)
		}
		p.stop()
	}
}

// submitCapture signs one supply.capture transaction and waits for its block.
func (s *server) submitCapture(key ed25519.PrivateKey, events []supply.CaptureEvent) (*wire.TxResult, error) {
	return s.sendAs(context.Background(), key, supply.TypeCapture, supply.Capture{Events: events})
}

// epcisCaptureStatus: GET /epcis/capture/{captureID}.
func (s *server) epcisCaptureStatus(w http.ResponseWriter, r *http.Request) {
	epcisHeaders(w)
	job, ok := s.captures.get(r.PathValue("id"))
	if !ok {
		writeError(w, errNoCaptureJob)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

// epcisEvents: GET /epcis/events (and the per-resource paths).
func (s *server) epcisEvents(w http.ResponseWriter, r *http.Request) {
	epcisHeaders(w)
	q := r.URL.Query()
	if v := r.PathValue("eventType"); v != "" {
		q.Set("eventType", v)
	}
	if v := r.PathValue("bizStep"); v != "" {
		q.Set("EQ_bizStep", v)
	}
	if v := r.PathValue("epc"); v != "" {
		q.Set("MATCH_epc", v)
	}
	committed := s.Ledger.Committed()
	query, err := epcis.ParseQuery(committed, q)
	if err != nil {
		writeError(w, err)
		return
	}
	events, next, err := supply.Events(committed, query.EventFilter)
	if err != nil {
		writeError(w, err)
		return
	}
	switch {
	case query.MaxCount > 0 && len(events) > query.MaxCount:
		writeError(w, epcis.ErrQueryTooLarge.Wrapf("more than %d events match", query.MaxCount))
		return
	case query.MaxCount > 0 && next != "":
		// Not all events were examined: the count is not known.
		writeError(w, epcis.ErrQueryTooLarge.Wrapf("the query examines more events than one answer may: narrow it (eventType, times, EPCs)"))
		return
	case query.CountLimit > 0:
		// eventCountLimit: this many events at most, and no next page.
	case next != "":
		q.Set("nextPageToken", next)
		linkNext(w, r, q)
	}
	doc, err := epcis.QueryDocument(committed, events, time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(doc)
	if err != nil {
		writeError(w, fmt.Errorf("the events do not encode: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/ld+json")
	_, _ = w.Write(append(b, '\n'))
}
