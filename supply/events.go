package supply

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers events.go

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
)

var (
	prefixEvent = []byte("sup/ev/") // sup/ev/<seq uint64> -> Event
	// sup/et/<event time: seconds (sign bit flipped), nanoseconds><seq>
	// -> nothing: the events in event-time order (orderBy=eventTime).
	prefixEventTime = []byte("sup/et/")
	keyNextEvent    = []byte("sup/evnext")
	prefixLocation  = []byte("sup/gln/") // sup/gln/<gln13> -> organisation id
)

// Event is what the ledger keeps of every supply-chain step, in the shape
// of an EPCIS 2.0 event so the query interface can answer from it.
//
//easyjson:json
type Event struct {
	Seq         uint64   `json:"seq"`
	EventID     string   `json:"event_id,omitempty"`
	Type        string   `json:"type"`   // ObjectEvent, AggregationEvent
	Action      string   `json:"action"` // ADD, OBSERVE, DELETE
	BizStep     string   `json:"biz_step"`
	Disposition string   `json:"disposition,omitempty"`
	EventTime   string   `json:"event_time"`
	RecordTime  string   `json:"record_time"`
	Keys        []string `json:"keys,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	By          string   `json:"by"`
	To          string   `json:"to,omitempty"`
	Lot         string   `json:"lot,omitempty"`
	Expiry      string   `json:"expiry,omitempty"`
	// Cold is the event's temperature record's seq plus one (0: none).
	Cold uint64 `json:"cold,omitempty"`
	// An event kept as recorded, changing no custody (a class-level or
	// transformation event, an association): its other identifiers.
	Quantities       []Quantity `json:"quantities,omitempty"`
	ChildQuantities  []Quantity `json:"child_quantities,omitempty"`
	Inputs           []string   `json:"inputs,omitempty"`
	Outputs          []string   `json:"outputs,omitempty"`
	InputQuantities  []Quantity `json:"input_quantities,omitempty"`
	OutputQuantities []Quantity `json:"output_quantities,omitempty"`
	TransformationID string     `json:"transformation_id,omitempty"`
	// BizTransactions are a kept event's business transactions (type,
	// id): a TransactionEvent is about them.
	BizTransactions [][2]string `json:"biz_transactions,omitempty"`
	// Sources and Destinations are the parties and locations it names
	// (type, id, as captured) beside the member that recorded it (By)
	// and the one it was shipped to (To).
	Sources      [][2]string `json:"sources,omitempty"`
	Destinations [][2]string `json:"destinations,omitempty"`
	// Locations are its read point's and business location's extension
	// fields: canonical JSON {"readPoint":{…},"bizLocation":{…}}, at most
	// MaxExtension bytes ("" none).
	Locations string `json:"locations,omitempty"`
	// ReadPoint and BizLocation are where an EPCIS event says it happened
	// (their ids, e.g. SGLN URIs), as captured; PersistentSet and
	// PersistentUnset its persistent dispositions (bare CBV names).
	ReadPoint       string   `json:"read_point,omitempty"`
	BizLocation     string   `json:"biz_location,omitempty"`
	PersistentSet   []string `json:"persistent_set,omitempty"`
	PersistentUnset []string `json:"persistent_unset,omitempty"`
	// Extensions are the event's own fields outside EPCIS's, and ILMD its
	// ILMD's beside the lot and expiry: canonical JSON as captured, at
	// most MaxExtension bytes each ("" none).
	Extensions string `json:"extensions,omitempty"`
	ILMD       string `json:"ilmd,omitempty"`
	// Sensors are its sensor elements that say more than its temperature
	// record holds (other measurements, times, methods, extension
	// fields): canonical JSON as captured, at most MaxSensorData bytes
	// ("" none).
	Sensors string `json:"sensors,omitempty"`
	// ErrorDeclaration is its recorder's later word that the event was
	// in error (EPCIS 2.0 errorDeclaration): kept beside it, custody
	// unchanged (the corrective events are captured on their own).
	ErrorDeclaration *ErrorDeclaration `json:"error_declaration,omitempty"`
}

// ErrorDeclaration is an EPCIS error declaration: when, why (a CBV error
// reason, bare, or a URI) and the events that correct it.
type ErrorDeclaration struct {
	Time       string   `json:"time"`
	Reason     string   `json:"reason,omitempty"`
	Corrective []string `json:"corrective,omitempty"`
	// Extensions are its namespaced fields, as canonical JSON (at most
	// MaxExtension bytes).
	Extensions string `json:"extensions,omitempty"`
}

// Quantity is an EPCIS quantity element: a class (an LGTIN or a GTIN
// pattern), how much (a decimal, as written: the ledger never computes
// with it) and its unit.
//
//easyjson:json
type Quantity struct {
	Class    string `json:"class"`
	Quantity string `json:"quantity,omitempty"`
	UOM      string `json:"uom,omitempty"`
}

// recordEvent appends an event; eventTime defaults to the block time.
func recordEvent(ctx *ledger.Context, e Event) {
	seq, _ := bump(ctx, keyNextEvent) // a storage error panics in the store
	e.Seq = seq
	e.By = actor(ctx)
	e.RecordTime = ctx.Time.Format(time.RFC3339)
	if e.EventTime == "" {
		e.EventTime = ctx.EventTime
	}
	if e.EventTime == "" {
		e.EventTime = e.RecordTime
	}
	ledger.SetJSON(ctx.State, seqKey(prefixEvent, seq), e)
	at, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil {
		at = ctx.Time // an event time no event has: where it was recorded
	}
	ledger.SetPresent(ctx.State, eventTimeKey(at, seq))
	if e.EventID != "" {
		ctx.State.Set(k(prefixEventSeq, e.EventID), binary.BigEndian.AppendUint64(nil, seq))
	}
}

// declareError keeps the recorder's declaration that the event recorded
// under id was in error. The event stays as recorded, and so does
// custody: an EPCIS error declaration says what was wrong and names the
// corrective events, captured on their own.
func declareError(ctx *ledger.Context, id string, d *ErrorDeclaration) error {
	if d == nil || id == "" {
		return ErrBadField.Wrapf("an error declaration names the event it declares in error by its event id")
	}
	if _, err := time.Parse(time.RFC3339Nano, d.Time); err != nil {
		return ErrBadField.Wrapf("an error declaration's declarationTime is an RFC 3339 time")
	}
	if len(d.Extensions) > MaxExtension {
		return ErrBadField.Wrapf("an error declaration's extension fields of at most %d bytes", MaxExtension)
	}
	if len(d.Corrective) > maxCorrective {
		return ErrTooMany.Wrapf("%d corrective events (at most %d)", len(d.Corrective), maxCorrective)
	}
	for _, f := range append([]string{id, d.Time, d.Reason}, d.Corrective...) {
		if len(f) > maxKeptField {
			return ErrBadField.Wrapf("a field longer than %d bytes", maxKeptField)
		}
	}
	// A reason is CBV's (bare) or a URI; corrective events are named by
	// their ids (URIs).
	if d.Reason != "" && d.Reason != "did_not_occur" && d.Reason != "incorrect_data" && !uriLike(d.Reason) {
		return ErrBadField.Wrapf("an error reason is did_not_occur, incorrect_data or a URI")
	}
	for _, c := range d.Corrective {
		if !uriLike(c) {
			return ErrBadField.Wrapf("a corrective event is named by its event id, a URI")
		}
	}
	b, err := ctx.State.Get(k(prefixEventSeq, id))
	if err != nil {
		panic(err)
	}
	if len(b) != 8 {
		return ErrUnknownEvent.Wrapf("%s", short(id))
	}
	key := seqKey(prefixEvent, binary.BigEndian.Uint64(b))
	var ev Event
	if found, err := ledger.GetJSON(ctx.State, key, &ev); err != nil || !found {
		panic(fmt.Sprintf("supply: event %s is indexed and not in state: %v", short(id), err))
	}
	if ev.By != actor(ctx) {
		return ErrNotRecorder.Wrapf("%s", short(id))
	}
	if d.Extensions != "" && isDispensing(ev.BizStep) {
		return ErrPublicDispensing.Wrapf("an error declaration of a dispensing keeps no extension fields")
	}
	if ev.ErrorDeclaration != nil {
		return ErrAlreadyDeclared.Wrapf("%s, at %s", short(id), ev.ErrorDeclaration.Time)
	}
	ev.ErrorDeclaration = d
	ledger.SetJSON(ctx.State, key, ev)
	return nil
}

// maxCorrective bounds the corrective events an error declaration names.
const maxCorrective = 32

// EventFilter selects events (EPCIS SimpleEventQuery parameters).
type EventFilter struct {
	Types    []string // eventType
	BizSteps []string // EQ_bizStep (bare CBV names)
	Actions  []string // EQ_action
	Keys     []string // MATCH_epc, canonical keys
	From, To time.Time
	// RecordFrom and RecordTo bound the record time (GE_recordTime,
	// LT_recordTime); EventIDs are EQ_eventID's.
	RecordFrom, RecordTo time.Time
	EventIDs             []string
	// Keep, when set, is every other condition (the EPCIS query
	// parameters answered from more than the event: its temperature
	// record). An error stops the scan.
	Keep func(*Event) (bool, error)
	// After is the page token Events answered for the page before ("":
	// the first page); ParseEventToken checks one.
	After string
	// ByEventTime lists events by their event time (orderBy eventTime),
	// else in the order they were recorded (orderBy recordTime); Desc
	// lists the latest first (orderDirection DESC).
	ByEventTime bool
	Desc        bool
	// ScanLimit, when set, examines fewer events a page than
	// ledger.MaxPageScan (a condition that reads more than the event).
	ScanLimit int
	Limit     int
}

// eventTimeKey orders events by event time, then record order: seconds
// with the sign bit flipped (earlier first, before 1970 too), then
// nanoseconds, then seq.
func eventTimeKey(at time.Time, seq uint64) []byte {
	b := binary.BigEndian.AppendUint64(append([]byte{}, prefixEventTime...), uint64(at.Unix())^1<<63)
	b = binary.BigEndian.AppendUint32(b, uint32(at.Nanosecond()))
	return binary.BigEndian.AppendUint64(b, seq)
}

// ParseEventToken checks a page token of Events for the order asked: a
// seq in record order, "t" and the hex of an event-time index key in
// event-time order.
func ParseEventToken(token string, byEventTime, desc bool) error {
	_, err := startOf(token, byEventTime, desc)
	return err
}

// maxScanBytes bounds the bytes of events one page decodes (an event may
// carry kilobytes of sensor data and extension fields): a page that
// reaches it answers what it found and the token to go on from.
const maxScanBytes = 8 << 20

// startOf is where a page starts: the key of the first event to examine
// (nil: the first, or with desc the last).
func startOf(token string, byEventTime, desc bool) ([]byte, error) {
	bad := ErrBadField.Wrapf("not a page token of this query (its order changed?)")
	switch {
	case token == "":
		return nil, nil
	case byEventTime:
		raw, err := hex.DecodeString(strings.TrimPrefix(token, "t"))
		if err != nil || !strings.HasPrefix(token, "t") || len(raw) != 20 {
			return nil, bad
		}
		return append(append([]byte{}, prefixEventTime...), raw...), nil
	default:
		seq, err := strconv.ParseUint(token, 10, 64)
		if err != nil {
			return nil, bad
		}
		if desc {
			// Descending, a token is the page's first seq plus one (0
			// would be the newest end).
			if seq == 0 {
				return nil, bad
			}
			seq--
		}
		return seqKey(prefixEvent, seq), nil
	}
}

// Events returns matching events in the filter's order and the page token
// of the next page ("": none). It seeks to the page's first event and
// examines at most ledger.MaxPageScan events: a filter few events match
// returns a short page and the token to go on from.
func Events(r ledger.Reader, f EventFilter) ([]Event, string, error) {
	var out []Event
	var next string
	var derr error
	scanned := 0
	start, err := startOf(f.After, f.ByEventTime, f.Desc)
	if err != nil {
		return nil, "", err
	}
	prefix := prefixEvent
	// In event-time order, the scan ends where the other time bound is
	// passed: no event beyond it can match.
	var end []byte
	if f.ByEventTime && !f.Desc && !f.To.IsZero() {
		end = eventTimeKey(f.To, 0)
	}
	if f.ByEventTime && f.Desc && !f.From.IsZero() {
		end = eventTimeKey(f.From, 0)
	}
	scannedBytes := 0
	if f.ByEventTime {
		prefix = prefixEventTime
		// The first page of events from (or, descending, before) a time
		// starts there.
		switch {
		case start != nil:
		case !f.Desc && !f.From.IsZero():
			start = eventTimeKey(f.From, 0)
		case f.Desc && !f.To.IsZero():
			start = eventTimeKey(f.To, 0)
		}
	}
	keys := make(map[string]bool, len(f.Keys))
	for _, k := range f.Keys {
		keys[k] = true
	}
	scanLimit := ledger.MaxPageScan
	if f.ScanLimit > 0 {
		scanLimit = min(f.ScanLimit, scanLimit)
	}
	token := func(k []byte, seq uint64) string {
		switch {
		case f.ByEventTime:
			return "t" + hex.EncodeToString(k[len(prefixEventTime):])
		case f.Desc:
			return strconv.FormatUint(seq+1, 10)
		}
		return strconv.FormatUint(seq, 10)
	}
	err = ledger.Scan(r, prefix, start, f.Desc, func(k, v []byte) bool {
		if end != nil && (!f.Desc && bytes.Compare(k, end) >= 0 || f.Desc && bytes.Compare(k, end) < 0) {
			return false
		}
		if f.ByEventTime {
			if len(k) != len(prefixEventTime)+20 {
				derr = fmt.Errorf("supply: a malformed event-time key")
				return false
			}
			if v, derr = r.Get(seqKey(prefixEvent, binary.BigEndian.Uint64(k[len(k)-8:]))); derr != nil {
				return false
			}
		}
		var e Event
		if derr = ledger.DecodeState(v, &e); derr != nil {
			return false
		}
		if scanned, scannedBytes = scanned+1, scannedBytes+len(v); scanned > scanLimit || scannedBytes > maxScanBytes {
			next = token(k, e.Seq)
			return false
		}
		if !f.match(&e, keys) {
			return true
		}
		if f.Keep != nil {
			ok, err := f.Keep(&e)
			if err != nil {
				derr = err
				return false
			}
			if !ok {
				return true
			}
		}
		if len(out) == f.Limit {
			next = token(k, e.Seq)
			return false
		}
		out = append(out, e)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, next, err
}

func (f EventFilter) match(e *Event, keys map[string]bool) bool {
	in := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	if !in(f.Types, e.Type) || !in(f.BizSteps, e.BizStep) || !in(f.Actions, e.Action) {
		return false
	}
	if len(f.Keys) > 0 {
		hit := keys[e.Parent]
		for _, ek := range e.Keys {
			hit = hit || keys[ek]
		}
		if !hit {
			return false
		}
	}
	if len(f.EventIDs) > 0 && !in(f.EventIDs, e.EventID) {
		return false
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, e.EventTime)
		if err != nil || (!f.From.IsZero() && t.Before(f.From)) || (!f.To.IsZero() && !t.Before(f.To)) {
			return false
		}
	}
	if !f.RecordFrom.IsZero() || !f.RecordTo.IsZero() {
		t, err := time.Parse(time.RFC3339, e.RecordTime)
		if err != nil || (!f.RecordFrom.IsZero() && t.Before(f.RecordFrom)) || (!f.RecordTo.IsZero() && !t.Before(f.RecordTo)) {
			return false
		}
	}
	return true
}

// URI renders a canonical key as the identifier an EPCIS event carries: a
// GS1 Digital Link URI.
func URI(key string) string {
	kind, rest, _ := strings.Cut(key, ":")
	c := &gs1.Code{}
	switch gs1.Kind(kind) {
	case gs1.KindSGTIN:
		c.GTIN, c.Serial, _ = strings.Cut(rest, ".")
	case gs1.KindSSCC:
		c.SSCC = rest
	case gs1.KindGRAI:
		c.GRAI, c.GRAISerial, _ = strings.Cut(rest, ".")
	case gs1.KindLGTIN:
		c.GTIN, c.Lot, _ = strings.Cut(rest, ".")
	default:
		return key
	}
	return c.DigitalLink()
}

// OrgOfLocation maps a party or location GLN to the member that registered
// it. A GLN another member registered before the holder of its company
// prefix claimed the prefix maps to no one until the holder registers it:
// a shipment to it is refused, not delivered to whoever named it first.
func OrgOfLocation(r ledger.Reader, gln string) (string, error) {
	b, err := r.Get(k(prefixLocation, gln))
	if err != nil {
		return "", err
	}
	if b == nil {
		return "", ErrUnknownOrg.Wrapf("no member registered the GLN %s", gln)
	}
	p, err := CoveringPrefix(r, &gs1.Code{GLN: gln})
	if err != nil {
		return "", err
	}
	if p != nil && p.Owner != string(b) && authoritative(p) {
		return "", ErrUnknownOrg.Wrapf("the GLN %s is under the company prefix %s, whose holder (%s) has not registered it", gln, p.Prefix, p.Owner)
	}
	return string(b), nil
}

// RegisterLocation is the body of supply.register_location: a member
// declares a GLN (a site or itself as a party) so EPCIS documents that name
// it are understood.
type RegisterLocation struct {
	GLN string `json:"gln"`
}

// TypeRegisterLocation declares a member's GLN.
const TypeRegisterLocation = "supply.register_location"

func registerLocation(ctx *ledger.Context, m *RegisterLocation) error {
	// Exactly a GLN: 13 digits, nothing appended (another key appended
	// would be read for the prefix check instead of the GLN).
	if len(m.GLN) != 13 {
		return ErrBadCode.Wrapf("gln must be 13 digits")
	}
	c, err := gs1.Parse("(414)" + m.GLN)
	if err != nil {
		return ErrBadCode.Wrapf("gln: %v", err)
	}
	held, err := mayCreate(ctx, c)
	if err != nil {
		return err
	}
	key := k(prefixLocation, c.GLN)
	b, err := ctx.State.Get(key)
	if err != nil {
		return err
	}
	// The holder of a company prefix the regulator or the genesis gave
	// takes back a GLN another member declared first under it; under a
	// prefix its holder claimed itself, or none, the first stays.
	if b != nil && string(b) != ctx.Signer.ID && !authoritative(held) {
		return ErrBadField.Wrapf("GLN %s belongs to another member", c.GLN)
	}
	ctx.State.Set(key, []byte(ctx.Signer.ID))
	ctx.Emit("supply.location", [2]string{"gln", c.GLN}, [2]string{"org", ctx.Signer.ID}, [2]string{"from", string(b)})
	return nil
}

// CaptureEvent is one EPCIS event, already understood: the API turns an
// EPCIS document into these, and supply.capture applies them all or none.
type CaptureEvent struct {
	EventID     string   `json:"event_id,omitempty"`
	EventTime   string   `json:"event_time,omitempty"`
	Step        string   `json:"step"` // commission, ship, receive, observe, pack, unpack, dispense, decommission
	Codes       []string `json:"codes,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	To          string   `json:"to,omitempty"`
	Lot         string   `json:"lot,omitempty"`
	Expiry      string   `json:"expiry,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Disposition string   `json:"disposition,omitempty"`
	// Carrier is a shipment's carrier; BizStep an observation's; Sensor
	// the temperatures the event's sensorElementList reported.
	Carrier string  `json:"carrier,omitempty"`
	BizStep string  `json:"biz_step,omitempty"`
	Sensor  *Sensor `json:"sensor,omitempty"`
	// Record is an event kept as it was recorded, changing no custody
	// (step "record").
	Record *Event `json:"record,omitempty"`
	// Product is a product's master data from the capture's header (step
	// "product"): registered, or updated by its manufacturer.
	Product *RegisterProduct `json:"product,omitempty"`
	// What the event says beside its step, kept on the event the step
	// records: where it happened, its business transactions, its
	// persistent dispositions (at most MaxEventContext in all).
	ReadPoint       string      `json:"read_point,omitempty"`
	BizLocation     string      `json:"biz_location,omitempty"`
	BizTransactions [][2]string `json:"biz_transactions,omitempty"`
	Sources         [][2]string `json:"sources,omitempty"`
	Destinations    [][2]string `json:"destinations,omitempty"`
	Locations       string      `json:"locations,omitempty"`
	PersistentSet   []string    `json:"persistent_set,omitempty"`
	PersistentUnset []string    `json:"persistent_unset,omitempty"`
	Extensions      string      `json:"extensions,omitempty"`
	ILMD            string      `json:"ilmd,omitempty"`
	Sensors         string      `json:"sensors,omitempty"`
	// Declare is an error declaration of the event recorded under
	// EventID (step "declare_error").
	Declare *ErrorDeclaration `json:"declare,omitempty"`
	// Location is a location's master data from the capture's header
	// (step "location").
	Location *LocationMaster `json:"location,omitempty"`
}

// MaxEventContext bounds an event's business transactions and persistent
// dispositions together (as many as a kept event's identifiers);
// MaxExtension its extension fields, and its ILMD's, as JSON;
// MaxSensorData its sensor data beyond its temperature record, as JSON.
const (
	MaxEventContext = maxKeptIDs
	MaxExtension    = 4096
	MaxSensorData   = 16 << 10
)

// context is what e says beside its step, checked: nil when it says
// nothing more.
func (e *CaptureEvent) context() (*Event, error) {
	n := len(e.BizTransactions) + len(e.PersistentSet) + len(e.PersistentUnset) + len(e.Sources) + len(e.Destinations)
	if e.ReadPoint == "" && e.BizLocation == "" && n == 0 && e.Extensions == "" && e.ILMD == "" && e.Sensors == "" && e.Locations == "" {
		return nil, nil
	}
	if len(e.Extensions) > MaxExtension || len(e.ILMD) > MaxExtension || len(e.Locations) > MaxExtension {
		return nil, ErrBadField.Wrapf("extension fields of at most %d bytes an event", MaxExtension)
	}
	if len(e.Sensors) > MaxSensorData {
		return nil, ErrBadSensor.Wrapf("sensor data beyond temperatures of at most %d bytes an event", MaxSensorData)
	}
	if n > MaxEventContext {
		return nil, ErrTooMany.Wrapf("%d business transactions, sources, destinations and persistent dispositions in one event (at most %d)", n, MaxEventContext)
	}
	fields := append(append([]string{e.ReadPoint, e.BizLocation}, e.PersistentSet...), e.PersistentUnset...)
	for _, list := range [][][2]string{e.BizTransactions, e.Sources, e.Destinations} {
		for _, bt := range list {
			fields = append(fields, bt[0], bt[1])
		}
	}
	for _, f := range fields {
		if len(f) > maxKeptField {
			return nil, ErrBadField.Wrapf("a read point, business location, business transaction or disposition longer than %d bytes", maxKeptField)
		}
	}
	return &Event{ReadPoint: e.ReadPoint, BizLocation: e.BizLocation, BizTransactions: e.BizTransactions, Sources: e.Sources, Destinations: e.Destinations, Locations: e.Locations,
		PersistentSet: e.PersistentSet, PersistentUnset: e.PersistentUnset, Extensions: e.Extensions, ILMD: e.ILMD, Sensors: e.Sensors}, nil
}

// Capture is the body of supply.capture.
type Capture struct {
	Events []CaptureEvent `json:"events"`
}

// TypeCapture applies a batch of EPCIS events atomically.
const TypeCapture = "supply.capture"

// MaxCaptureEvents bounds one capture transaction.
const MaxCaptureEvents = 200

func capture(ctx *ledger.Context, m *Capture) error {
	if len(m.Events) == 0 || len(m.Events) > MaxCaptureEvents {
		return ErrTooMany.Wrapf("%d events (1-%d per transaction)", len(m.Events), MaxCaptureEvents)
	}
	readings := 0
	for _, e := range m.Events {
		if e.Sensor != nil {
			readings += len(e.Sensor.Readings)
		}
	}
	if readings > MaxReadings {
		return ErrBadSensor.Wrapf("%d readings in one capture", readings)
	}
	for i, e := range m.Events {
		if err := applyEvent(ctx, e); err != nil {
			return fmt.Errorf("event %d (%s): %w", i, short(e.EventID), err)
		}
	}
	return nil
}

func applyEvent(ctx *ledger.Context, e CaptureEvent) error {
	// Each step runs the handler of its own transaction type on a body
	// built from the event (no JSON in between).
	var (
		typ string
		run func() error
	)
	switch e.Step {
	case "commission":
		if len(e.Codes) == 0 {
			return ErrBadField.Wrapf("no epcList")
		}
		var gtin string
		serials := make([]string, 0, len(e.Codes))
		for _, code := range e.Codes {
			_, c, err := KeyOf(code)
			if err != nil {
				return err
			}
			if c.Serial == "" || (gtin != "" && c.GTIN != gtin) {
				return ErrBadField.Wrapf("commissioning takes SGTINs of one GTIN")
			}
			gtin = c.GTIN
			serials = append(serials, c.Serial)
		}
		typ, run = TypeCommission, func() error {
			return commission(ctx, &Commission{GTIN: gtin, Lot: e.Lot, Expiry: e.Expiry, Serials: serials, EventID: e.EventID})
		}
	case "ship":
		typ, run = TypeShip, func() error {
			return ship(ctx, &Ship{Codes: e.Codes, To: e.To, Carrier: e.Carrier, Sensor: e.Sensor, EventID: e.EventID})
		}
	case "receive":
		typ, run = TypeReceive, func() error { return receive(ctx, &Receive{Codes: e.Codes, Sensor: e.Sensor, EventID: e.EventID}) }
	case "record":
		typ, run = TypeCapture, func() error { return keep(ctx, e.Record) }
	case "declare_error":
		typ, run = TypeCapture, func() error { return declareError(ctx, e.EventID, e.Declare) }
	case "location":
		typ, run = TypeRegisterLocation, func() error { return setLocationMaster(ctx, e.Location) }
	case "product":
		if e.Product == nil {
			return ErrBadField.Wrapf("a product step carries the product")
		}
		typ, run = TypeRegisterProduct, func() error { return upsertProduct(ctx, e.Product) }
	case "observe":
		typ, run = TypeObserve, func() error {
			return observe(ctx, &Observe{Codes: e.Codes, BizStep: e.BizStep, Sensor: e.Sensor, EventID: e.EventID})
		}
	case "pack":
		typ, run = TypePack, func() error { return pack(ctx, &Pack{Parent: e.Parent, Children: e.Codes, EventID: e.EventID}) }
	case "unpack":
		typ, run = TypeUnpack, func() error { return unpack(ctx, &Pack{Parent: e.Parent, Children: e.Codes, EventID: e.EventID}) }
	case "dispense":
		if len(e.Codes) != 1 {
			return ErrBadField.Wrapf("a dispensing event names exactly one pack")
		}
		typ, run = TypeDispense, func() error { return dispense(ctx, &Dispense{Code: e.Codes[0], EventID: e.EventID}) }
	case "decommission":
		typ, run = TypeDecommission, func() error {
			return decommission(ctx, &Decommission{Codes: e.Codes, Reason: e.Reason, EventID: e.EventID})
		}
	default:
		return ErrBadField.Wrapf("unknown step %q", short(e.Step))
	}
	if !allowed(typ, ctx.Signer) {
		return ledger.ErrUnauthorized.Wrapf("%s may not %s", ctx.Signer.Kind, e.Step)
	}
	if e.EventTime != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.EventTime); err != nil {
			return ErrBadField.Wrapf("event_time is not an RFC 3339 time")
		}
	}
	more, err := e.context()
	if err != nil {
		return err
	}
	ctx.EventTime = e.EventTime
	defer func() { ctx.EventTime = "" }()
	if more == nil {
		return run()
	}
	before := counter(ctx, keyNextEvent)
	if err := run(); err != nil {
		return err
	}
	// The step recorded its event (one, or none: an event kept before):
	// what the event says beside it goes on it.
	if counter(ctx, keyNextEvent) == before+1 {
		key := seqKey(prefixEvent, before)
		var ev Event
		if found, err := ledger.GetJSON(ctx.State, key, &ev); err != nil || !found {
			panic(fmt.Sprintf("supply: the event just recorded is not in state: %v", err))
		}
		if isDispensing(ev.BizStep) && more.private() {
			return ErrPublicDispensing
		}
		// What the event says, over what the step recorded (a kept
		// event's own, when the event says nothing of it).
		ev.ReadPoint, ev.BizLocation = cmp.Or(more.ReadPoint, ev.ReadPoint), cmp.Or(more.BizLocation, ev.BizLocation)
		ev.Extensions, ev.ILMD = cmp.Or(more.Extensions, ev.Extensions), cmp.Or(more.ILMD, ev.ILMD)
		ev.Sensors = cmp.Or(more.Sensors, ev.Sensors)
		if len(more.PersistentSet) > 0 {
			ev.PersistentSet = more.PersistentSet
		}
		if len(more.PersistentUnset) > 0 {
			ev.PersistentUnset = more.PersistentUnset
		}
		if len(more.BizTransactions) > 0 {
			ev.BizTransactions = more.BizTransactions
		}
		if len(more.Sources) > 0 {
			ev.Sources = more.Sources
		}
		if len(more.Destinations) > 0 {
			ev.Destinations = more.Destinations
		}
		ev.Locations = cmp.Or(more.Locations, ev.Locations)
		ledger.SetJSON(ctx.State, key, ev)
	}
	return nil
}

// counter is the value of a counter bump increments.
func counter(ctx *ledger.Context, key []byte) uint64 {
	b, err := ctx.State.Get(key)
	if err != nil {
		panic(err)
	}
	if len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// isDispensing says whether a business step is dispensing (bare, or
// CBV's URN or URI).
func isDispensing(step string) bool {
	return step == "dispensing" || strings.HasSuffix(step, ":dispensing") || strings.HasSuffix(step, "-dispensing")
}

// private says whether an event carries what may name a patient in a
// dispensing: parties, extension fields, ILMD, sensor data, locations'
// own fields.
func (e *Event) private() bool {
	return len(e.Sources)+len(e.Destinations) > 0 || e.Extensions != "" || e.ILMD != "" || e.Sensors != "" || e.Locations != ""
}

// Bounds of an event kept as recorded.
const (
	maxKeptIDs   = MaxCodes // identifiers, every list together
	maxKeptField = 256      // an identifier, a class, a quantity, a unit
)

// keep records an event that changes no custody (a class-level event, a
// transformation, an association, an observation naming no object): the
// member's statement, answered by queries, once per event id.
func keep(ctx *ledger.Context, e *Event) error {
	if e == nil {
		return ErrBadField.Wrapf("a record step carries the event")
	}
	switch e.Type {
	case "ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent":
	default:
		return ErrBadField.Wrapf("event type %q", short(e.Type))
	}
	switch e.Action {
	case "", "ADD", "OBSERVE", "DELETE":
	default:
		return ErrBadField.Wrapf("action %q", short(e.Action))
	}
	n := len(e.BizTransactions) + len(e.Sources) + len(e.Destinations) + len(e.Keys) + len(e.Inputs) + len(e.Outputs) + len(e.Quantities) + len(e.ChildQuantities) + len(e.InputQuantities) + len(e.OutputQuantities) +
		len(e.PersistentSet) + len(e.PersistentUnset)
	if n > maxKeptIDs {
		return ErrTooMany.Wrapf("%d identifiers and quantities in one event", n)
	}
	if len(e.Extensions) > MaxExtension || len(e.ILMD) > MaxExtension {
		return ErrBadField.Wrapf("extension fields of at most %d bytes an event", MaxExtension)
	}
	if len(e.Sensors) > MaxSensorData {
		return ErrBadSensor.Wrapf("sensor data beyond temperatures of at most %d bytes an event", MaxSensorData)
	}
	if len(e.Locations) > MaxExtension {
		return ErrBadField.Wrapf("locations' extension fields of at most %d bytes an event", MaxExtension)
	}
	if isDispensing(e.BizStep) && e.private() {
		return ErrPublicDispensing
	}
	fields := []string{e.EventID, e.BizStep, e.Disposition, e.EventTime, e.Parent, e.TransformationID, e.ReadPoint, e.BizLocation}
	for _, list := range [][]string{e.Keys, e.Inputs, e.Outputs, e.PersistentSet, e.PersistentUnset} {
		fields = append(fields, list...)
	}
	for _, list := range [][]Quantity{e.Quantities, e.ChildQuantities, e.InputQuantities, e.OutputQuantities} {
		for _, q := range list {
			fields = append(fields, q.Class, q.Quantity, q.UOM)
		}
	}
	for _, list := range [][][2]string{e.BizTransactions, e.Sources, e.Destinations} {
		for _, bt := range list {
			fields = append(fields, bt[0], bt[1])
		}
	}
	for _, f := range fields {
		if len(f) > maxKeptField {
			return ErrBadField.Wrapf("a field longer than %d bytes", maxKeptField)
		}
	}
	if e.EventTime != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.EventTime); err != nil {
			return ErrBadField.Wrapf("event_time is not an RFC 3339 time")
		}
	}
	for _, list := range [][]Quantity{e.Quantities, e.ChildQuantities, e.InputQuantities, e.OutputQuantities} {
		for _, q := range list {
			if q.Quantity != "" && !plainDecimal(q.Quantity) {
				return ErrBadField.Wrapf("a quantity is a decimal of at most 40 characters with an exponent of at most two digits")
			}
		}
	}
	// A member states what happened to the objects it holds (or that are
	// on their way to it), not to another's. Identifiers the ledger does
	// not know are the member's own business.
	named := append(append(append([]string{}, e.Keys...), e.Inputs...), e.Outputs...)
	if e.Parent != "" {
		named = append(named, e.Parent)
	}
	for _, key := range named {
		o, err := GetObject(ctx.State, key)
		if errors.Is(err, ErrUnknownObject) {
			continue
		} else if err != nil {
			return err
		}
		if o.Custodian != actor(ctx) && (o.Status != StatusInTransit || o.ShipTo != actor(ctx)) {
			return ErrNotCustodian.Wrapf("%s: an event about it is its custodian's to record", o.Key)
		}
	}
	if err := claimEvent(ctx, e.EventID); err != nil {
		return err
	}
	kept := *e
	kept.To, kept.Lot, kept.Expiry, kept.Cold = "", "", "", 0
	kept.ErrorDeclaration = nil // only its recorder's declaration, later (declareError)
	recordEvent(ctx, kept)
	return nil
}

// plainDecimal says whether s is a JSON number of at most 40 characters
// whose exponent, if any, has at most two digits: what a query may read
// exactly and cheaply.
func plainDecimal(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	i := 0
	if s[i] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 || exp > 2 {
			return false
		}
	}
	return i == len(s)
}

func allowed(typ string, s ledger.Signer) bool {
	for _, r := range Routes() {
		if r.Type == typ {
			return r.Allows(s)
		}
	}
	return false
}

// uriLike says whether s has a URI's form: a scheme, a colon, no spaces.
func uriLike(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" || rest == "" || strings.ContainsAny(s, " \t\n\"<>") {
		return false
	}
	for i, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// LocationMaster is a location's master data (EPCIS BusinessLocation or
// ReadPoint vocabulary element): its attributes, set by the member that
// registered its GLN.
type LocationMaster struct {
	ID string `json:"id"` // as captured (an SGLN URI or a Digital Link)
	By string `json:"by"`
	// Attributes are each attribute's id and value (text, or canonical
	// JSON when not a string).
	Attributes [][2]string `json:"attributes"`
	Height     int64       `json:"height"`
}

// Bounds of a location's master data.
const (
	maxLocationAttrs = 32
	maxAttrValue     = 1024
)

var prefixLocationMaster = []byte("sup/lmd/") // sup/lmd/<id> -> LocationMaster

// GetLocationMaster is the master data of the location id, or nil.
func GetLocationMaster(r ledger.Reader, id string) (*LocationMaster, error) {
	var m LocationMaster
	if found, err := ledger.GetJSON(r, k(prefixLocationMaster, id), &m); err != nil || !found {
		return nil, err
	}
	return &m, nil
}

// setLocationMaster keeps a location's master data (its attributes
// replaced): the member that registered the location's GLN only.
func setLocationMaster(ctx *ledger.Context, m *LocationMaster) error {
	if m == nil || m.ID == "" || len(m.ID) > maxKeptField {
		return ErrBadField.Wrapf("a location's master data names the location (an SGLN URI or a GLN Digital Link, at most %d bytes)", maxKeptField)
	}
	if len(m.Attributes) > maxLocationAttrs {
		return ErrTooMany.Wrapf("%d attributes of one location (at most %d)", len(m.Attributes), maxLocationAttrs)
	}
	for _, a := range m.Attributes {
		if a[0] == "" || len(a[0]) > maxKeptField || len(a[1]) > maxAttrValue {
			return ErrBadField.Wrapf("an attribute is an id of at most %d bytes and a value of at most %d", maxKeptField, maxAttrValue)
		}
	}
	c, err := gs1.Parse(m.ID)
	if err != nil || c.GLN == "" {
		return ErrBadCode.Wrapf("a location's master data names it by an SGLN URI or a GLN Digital Link")
	}
	org, err := OrgOfLocation(ctx.State, c.GLN)
	if err != nil && !errors.Is(err, ErrUnknownOrg) {
		panic(err)
	}
	if org != ctx.Signer.ID {
		return ErrNotYourLocation.Wrapf("the GLN %s", c.GLN)
	}
	ledger.SetJSON(ctx.State, k(prefixLocationMaster, m.ID), LocationMaster{ID: m.ID, By: ctx.Signer.ID, Attributes: m.Attributes, Height: ctx.Height})
	return nil
}
