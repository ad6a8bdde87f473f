package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// The EPCIS 2.0 REST binding (base /epcis): capture of EPCISDocuments as
// asynchronous jobs, and the query interface answering EPCISQueryDocuments
// from the events the ledger keeps.

var (
	errEPCISAuth        = newAPIError(20, "epcis_unauthorized", http.StatusUnauthorized, "capture needs 'Authorization: Bearer <token>' naming a member key configured on this node (api_tokens in config/primum.json)")
	errEPCISVersion     = newAPIError(21, "epcis_version_unsupported", http.StatusNotAcceptable, "this node speaks EPCIS 2.0 and CBV 2.0")
	errEPCISDocument    = newAPIError(22, "epcis_bad_document", http.StatusBadRequest, "not a valid EPCISDocument")
	errCaptureLimit     = newAPIError(23, "epcis_capture_limit_exceeded", http.StatusRequestEntityTooLarge, "too many events in one capture; see the GS1-EPCIS-Capture-Limit header")
	errNoCaptureJob     = newAPIError(24, "epcis_no_such_capture", http.StatusNotFound, "no capture job with this id on this node")
	errBadQueryParam    = newAPIError(25, "epcis_query_parameter", http.StatusBadRequest, "invalid query parameter")
	errCaptureBehaviour = newAPIError(26, "epcis_capture_behaviour", http.StatusBadRequest, "GS1-Capture-Error-Behaviour must be rollback or proceed")
	errCaptureForbidden = newAPIError(28, "epcis_capture_forbidden", http.StatusForbidden, "this token's identity may not capture: only a member organisation in good standing captures EPCIS events")
	errCaptureBusy      = newAPIError(29, "epcis_capture_busy", http.StatusServiceUnavailable, "this node holds as many capture jobs as it keeps; retry when some have finished")
)

// Bounds of the capture endpoint: what one capture may carry and what the
// node keeps of finished jobs (in memory, for their status).
const (
	// maxEPCISField bounds an event's identifiers and names (an event id is
	// a URI of a few hundred bytes at most).
	maxEPCISField = 256
	// captureJobTTL is how long a finished job's status is kept.
	captureJobTTL = time.Hour
	// maxCaptureJobs is how many jobs the node keeps at once.
	maxCaptureJobs = 1000
	// maxJobDetail bounds each error's detail in a job's status.
	maxJobDetail = 300
)

// CaptureJob is the status of one capture (EPCIS 2.0 REST binding).
type CaptureJob struct {
	CaptureID             string         `json:"captureID"`
	CreatedAt             string         `json:"createdAt"`
	FinishedAt            string         `json:"finishedAt,omitempty"`
	Running               bool           `json:"running"`
	Success               bool           `json:"success"`
	CaptureErrorBehaviour string         `json:"captureErrorBehaviour"`
	Events                int            `json:"events"`
	Accepted              int            `json:"accepted"`
	Errors                []CaptureError `json:"errors"`
}

// CaptureError says which event failed and why.
type CaptureError struct {
	EventIndex int    `json:"eventIndex"`
	EventID    string `json:"eventID,omitempty"`
	Code       string `json:"code"`
	Detail     string `json:"detail"`
}

type captureJobs struct {
	mu   sync.Mutex
	jobs map[string]*CaptureJob
	run  sync.Mutex // one job at a time per node: nonces stay in order
}

func (j *captureJobs) get(id string) (CaptureJob, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok {
		return CaptureJob{}, false
	}
	c := *job
	c.Errors = append([]CaptureError{}, job.Errors...)
	return c, true
}

// add keeps a new job, first forgetting finished jobs older than
// captureJobTTL and, past maxCaptureJobs, the oldest finished ones; it
// refuses the job when every kept job is still running.
func (j *captureJobs) add(job *CaptureJob, now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	var finished []*CaptureJob
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
		slices.SortFunc(finished, func(a, b *CaptureJob) int { return strings.Compare(a.FinishedAt, b.FinishedAt) })
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

func (j *captureJobs) update(id string, f func(*CaptureJob)) {
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
	key, ok := s.bearerKey(r)
	if !ok {
		writeError(w, errEPCISAuth)
		return
	}
	if signer, err := identity.Resolve(s.App.Store().Committed(), key.Public().(ed25519.PublicKey), s.App.LastBlockTime()); err != nil || signer.Kind != ledger.KindOrganisation {
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
	var doc EPCISDocument
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&doc); err != nil {
		if tooLarge(err) {
			writeError(w, errBodyTooLarge)
			return
		}
		writeError(w, errEPCISDocument.Wrapf("%v", err))
		return
	}
	if err := nothingAfter(dec); err != nil {
		writeError(w, err)
		return
	}
	if doc.Type != "EPCISDocument" {
		writeError(w, errEPCISDocument.Wrapf("type must be EPCISDocument, got %q", doc.Type))
		return
	}
	events := doc.EPCISBody.EventList
	if len(events) == 0 {
		writeError(w, errEPCISDocument.Wrapf("epcisBody.eventList is empty"))
		return
	}
	if len(events) > supply.MaxCaptureEvents {
		writeError(w, errCaptureLimit.Wrapf("%d events, limit %d", len(events), supply.MaxCaptureEvents))
		return
	}
	// A capture counts against its token's key as one transaction per
	// event, the rate a node accepts from one key.
	if ok, wait := s.limiter.allowN(string(key.Public().(ed25519.PublicKey)), len(events)); !ok {
		writeRateLimited(w, wait)
		return
	}
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	job := &CaptureJob{CaptureID: hex.EncodeToString(idb), CreatedAt: time.Now().UTC().Format(time.RFC3339Nano), Running: true,
		CaptureErrorBehaviour: behaviour, Events: len(events), Errors: []CaptureError{}}
	if !s.captures.add(job, time.Now()) {
		writeError(w, errCaptureBusy)
		return
	}
	translated := make([][]supply.CaptureEvent, len(events))
	refusals := map[int]error{}
	committed := s.App.Store().Committed()
	for i, raw := range events {
		translated[i], refusals[i] = TranslateEvent(committed, raw)
		if refusals[i] == nil {
			delete(refusals, i)
		}
	}
	go s.runCapture(job.CaptureID, key, events, translated, refusals, behaviour)
	w.Header().Set("Location", "/epcis/capture/"+job.CaptureID)
	w.WriteHeader(http.StatusAccepted)
}

func eventIDOf(raw json.RawMessage) string {
	var e struct {
		EventID string `json:"eventID"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.EventID
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
		eventID := eventIDOf(raw[i])
		if len(eventID) > maxEPCISField {
			eventID = ""
		}
		s.captures.update(id, func(j *CaptureJob) {
			j.Errors = append(j.Errors, CaptureError{EventIndex: i, EventID: eventID, Code: e.Name, Detail: detail})
		})
	}
	finish := func() {
		s.captures.update(id, func(j *CaptureJob) {
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
		s.captures.update(id, func(j *CaptureJob) { j.Accepted = len(raw) })
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
				s.captures.update(id, func(j *CaptureJob) { j.Accepted++ })
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

// EPCISDocument is the envelope of a capture.
type EPCISDocument struct {
	Context       json.RawMessage `json:"@context"`
	Type          string          `json:"type"`
	SchemaVersion string          `json:"schemaVersion"`
	CreationDate  string          `json:"creationDate"`
	EPCISBody     struct {
		EventList []json.RawMessage `json:"eventList"`
	} `json:"epcisBody"`
}

type epcisEvent struct {
	Type            string            `json:"type"`
	EventID         string            `json:"eventID"`
	EventTime       string            `json:"eventTime"`
	Action          string            `json:"action"`
	BizStep         string            `json:"bizStep"`
	Disposition     string            `json:"disposition"`
	EPCList         []string          `json:"epcList"`
	ParentID        string            `json:"parentID"`
	ChildEPCs       []string          `json:"childEPCs"`
	QuantityList    []json.RawMessage `json:"quantityList"`
	ChildQuantities []json.RawMessage `json:"childQuantityList"`
	DestinationList []struct {
		Type        string `json:"type"`
		Destination string `json:"destination"`
	} `json:"destinationList"`
	ILMD map[string]json.RawMessage `json:"ilmd"`
}

// checkLengths refuses an event whose identifiers or names are longer than
// any real one (maxEPCISField), naming the field, never echoing its value.
func (e *epcisEvent) checkLengths() error {
	fields := map[string]string{"type": e.Type, "eventID": e.EventID, "eventTime": e.EventTime, "action": e.Action,
		"bizStep": e.BizStep, "disposition": e.Disposition, "parentID": e.ParentID}
	for _, name := range []string{"type", "eventID", "eventTime", "action", "bizStep", "disposition", "parentID"} {
		if len(fields[name]) > maxEPCISField {
			return errEPCISDocument.Wrapf("%s is longer than %d bytes", name, maxEPCISField)
		}
	}
	for _, list := range [][]string{e.EPCList, e.ChildEPCs} {
		for _, epc := range list {
			if len(epc) > maxEPCISField {
				return errEPCISDocument.Wrapf("an EPC is longer than %d bytes", maxEPCISField)
			}
		}
	}
	for _, d := range e.DestinationList {
		if len(d.Type) > maxEPCISField || len(d.Destination) > maxEPCISField {
			return errEPCISDocument.Wrapf("a destination is longer than %d bytes", maxEPCISField)
		}
	}
	return nil
}

// cbvName reduces a CBV value to its bare name: "shipping" from
// "urn:epcglobal:cbv:bizstep:shipping" or "https://ref.gs1.org/cbv/BizStep-shipping".
func cbvName(v string) string {
	if i := strings.LastIndexAny(v, ":-"); i >= 0 && (strings.HasPrefix(v, "urn:epcglobal:cbv:") || strings.HasPrefix(v, "https://ref.gs1.org/cbv/")) {
		return v[i+1:]
	}
	return v
}

var errNotHeld = newAPIError(27, "epcis_not_held", http.StatusUnprocessableEntity, "Primum does not hold this kind of event")

// TranslateEvent turns one EPCIS event into the custody steps it means, or
// says why Primum does not hold it.
func TranslateEvent(r ledger.Reader, raw json.RawMessage) ([]supply.CaptureEvent, error) {
	var e epcisEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, errEPCISDocument.Wrapf("event: %v", err)
	}
	if err := e.checkLengths(); err != nil {
		return nil, err
	}
	if e.EventTime == "" {
		return nil, errEPCISDocument.Wrapf("eventTime is required")
	}
	t, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil {
		return nil, errEPCISDocument.Wrapf("eventTime %q: %v", e.EventTime, err)
	}
	base := supply.CaptureEvent{EventID: e.EventID, EventTime: t.UTC().Format(time.RFC3339), Disposition: cbvName(e.Disposition)}
	step := cbvName(e.BizStep)
	switch e.Type {
	case "ObjectEvent":
		if len(e.EPCList) == 0 {
			if len(e.QuantityList) > 0 {
				return nil, errNotHeld.Wrapf("class-level (quantityList) events: Primum tracks serialised objects")
			}
			return nil, errNotHeld.Wrapf("an ObjectEvent that names no object (no epcList): nothing in Primum's custody changes")
		}
		base.Codes = e.EPCList
		switch {
		case e.Action == "ADD" && (step == "commissioning" || step == ""):
			base.Step = "commission"
			base.Lot = ilmdString(e.ILMD, "lotNumber")
			base.Expiry = ilmdString(e.ILMD, "itemExpirationDate")
			if base.Lot == "" || base.Expiry == "" {
				return nil, errNotHeld.Wrapf("commissioning without ilmd lotNumber and itemExpirationDate: Primum commissions medicine packs with lot and expiry")
			}
		case step == "shipping":
			base.Step = "ship"
			to, err := destination(r, e.DestinationList)
			if err != nil {
				return nil, err
			}
			base.To = to
		case step == "receiving":
			base.Step = "receive"
		case step == "dispensing":
			out := make([]supply.CaptureEvent, len(e.EPCList))
			for i, code := range e.EPCList {
				out[i] = base
				out[i].Step, out[i].Codes = "dispense", []string{code}
				if base.EventID != "" && len(e.EPCList) > 1 {
					out[i].EventID = base.EventID + "#" + strconv.Itoa(i)
				}
			}
			return out, nil
		case e.Action == "DELETE" || step == "decommissioning" || step == "destroying":
			base.Step = "decommission"
			switch d := cbvName(e.Disposition); d {
			case "destroyed", "stolen", "damaged", "expired":
				base.Reason = d
			default:
				base.Reason = "decommissioned"
				if step == "destroying" {
					base.Reason = "destroyed"
				}
			}
		default:
			return nil, errNotHeld.Wrapf("ObjectEvent %s with bizStep %q changes no custody Primum holds", e.Action, step)
		}
	case "AggregationEvent":
		if e.ParentID == "" || len(e.ChildEPCs) == 0 {
			if len(e.ChildQuantities) > 0 {
				return nil, errNotHeld.Wrapf("class-level (childQuantityList) aggregation: Primum tracks serialised objects")
			}
			return nil, errEPCISDocument.Wrapf("AggregationEvent needs parentID and childEPCs")
		}
		base.Parent, base.Codes = e.ParentID, e.ChildEPCs
		switch e.Action {
		case "ADD":
			base.Step = "pack"
		case "DELETE":
			base.Step = "unpack"
		default:
			return nil, errNotHeld.Wrapf("AggregationEvent OBSERVE changes no custody")
		}
	case "TransformationEvent", "AssociationEvent", "TransactionEvent":
		return nil, errNotHeld.Wrapf("%s: Primum records custody of packs, cases and returnable assets only", e.Type)
	default:
		return nil, errEPCISDocument.Wrapf("unknown event type %q", e.Type)
	}
	return []supply.CaptureEvent{base}, nil
}

func ilmdString(ilmd map[string]json.RawMessage, name string) string {
	for k, v := range ilmd {
		if k == name || strings.HasSuffix(k, ":"+name) {
			var s string
			if json.Unmarshal(v, &s) == nil {
				return s
			}
		}
	}
	return ""
}

// destination finds the receiving member: a party named
// urn:primum:org:<id>, or a party/location GLN a member registered.
func destination(r ledger.Reader, list []struct {
	Type        string `json:"type"`
	Destination string `json:"destination"`
}) (string, error) {
	for _, d := range list {
		if t := cbvName(d.Type); t != "owning_party" && t != "possessing_party" && t != "location" {
			continue
		}
		if id, ok := strings.CutPrefix(d.Destination, "urn:primum:org:"); ok {
			return id, nil
		}
		gln := ""
		if c, err := gs1.Parse(strings.Replace(d.Destination, "urn:epc:id:pgln:", "urn:epc:id:sgln:", 1) + pglnSuffix(d.Destination)); err == nil {
			gln = c.GLN
		}
		if gln == "" {
			continue
		}
		if org, err := supply.OrgOfLocation(r, gln); err == nil {
			return org, nil
		}
	}
	return "", nil
}

// pglnSuffix gives a party GLN URN the empty extension an SGLN URN has.
func pglnSuffix(urn string) string {
	if strings.HasPrefix(urn, "urn:epc:id:pgln:") {
		return ".0"
	}
	return ""
}

// epcisEvents: GET /epcis/events (and the per-resource paths).
func (s *server) epcisEvents(w http.ResponseWriter, r *http.Request) {
	epcisHeaders(w)
	q := r.URL.Query()
	f := supply.EventFilter{Limit: 100}
	if v := r.PathValue("eventType"); v != "" {
		q.Set("eventType", v)
	}
	if v := r.PathValue("bizStep"); v != "" {
		q.Set("EQ_bizStep", v)
	}
	if v := r.PathValue("epc"); v != "" {
		q.Set("MATCH_epc", v)
	}
	split := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for _, p := range strings.Split(v, "|") {
				if p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f.Types, f.Actions = split("eventType"), split("EQ_action")
	for _, b := range split("EQ_bizStep") {
		f.BizSteps = append(f.BizSteps, cbvName(b))
	}
	for _, code := range split("MATCH_epc") {
		key, _, err := supply.KeyOf(code)
		if err != nil {
			writeError(w, errBadQueryParam.Wrapf("MATCH_epc: %v", err))
			return
		}
		f.Keys = append(f.Keys, key)
	}
	for name, dst := range map[string]*time.Time{"GE_eventTime": &f.From, "LT_eventTime": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, errBadQueryParam.Wrapf("%s: %v", name, err))
				return
			}
			*dst = t
		}
	}
	if v := q.Get("perPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, errBadQueryParam.Wrapf("perPage must be 1-1000"))
			return
		}
		f.Limit = n
	}
	if v := q.Get("nextPageToken"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, errBadQueryParam.Wrapf("nextPageToken"))
			return
		}
		f.After = n
	}
	events, next, err := supply.Events(s.App.Store().Committed(), f)
	if err != nil {
		writeError(w, err)
		return
	}
	list := make([]map[string]any, 0, len(events))
	for _, e := range events {
		list = append(list, renderEvent(e))
	}
	if next != 0 {
		q.Set("nextPageToken", strconv.FormatUint(next, 10))
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
	}
	doc := map[string]any{
		"@context":      []any{"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"},
		"type":          "EPCISQueryDocument",
		"schemaVersion": "2.0",
		"creationDate":  time.Now().UTC().Format(time.RFC3339),
		"epcisBody": map[string]any{"queryResults": map[string]any{
			"queryName":   "SimpleEventQuery",
			"resultsBody": map[string]any{"eventList": list},
		}},
	}
	w.Header().Set("Content-Type", "application/ld+json")
	_ = json.NewEncoder(w).Encode(doc)
}

func renderEvent(e supply.Event) map[string]any {
	id := e.EventID
	if id == "" || !strings.Contains(id, ":") {
		id = "urn:primum:event:" + strconv.FormatUint(e.Seq, 10)
	}
	uris := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		uris[i] = supply.URI(k)
	}
	out := map[string]any{
		"type": e.Type, "eventID": id, "eventTime": e.EventTime, "eventTimeZoneOffset": "+00:00",
		"recordTime": e.RecordTime, "action": e.Action, "bizStep": e.BizStep,
		"sourceList": []map[string]string{{"type": "owning_party", "source": "urn:primum:org:" + e.By}},
	}
	if e.Disposition != "" {
		out["disposition"] = e.Disposition
	}
	if e.Type == "AggregationEvent" {
		out["parentID"], out["childEPCs"] = supply.URI(e.Parent), uris
	} else {
		out["epcList"] = uris
	}
	if e.To != "" {
		out["destinationList"] = []map[string]string{{"type": "owning_party", "destination": "urn:primum:org:" + e.To}}
	}
	if e.Lot != "" || e.Expiry != "" {
		out["ilmd"] = map[string]string{"cbvmda:lotNumber": e.Lot, "cbvmda:itemExpirationDate": e.Expiry}
	}
	return out
}
