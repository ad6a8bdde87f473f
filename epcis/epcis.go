// Package epcis is Primum's EPCIS 2.0 edge without the HTTP: the document a
// capture carries, the bounds and checks of its events, the translation of
// one event into the supply custody steps it means, and the shaping of
// queries and of the EPCISQueryDocument that answers them. The REST binding
// (handlers, capture jobs, tokens, rate limits) is package api's.
//
// Refusals keep the codes they were published with, in codespace "api":
// a code is part of the outside contract and never changes.
package epcis

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// Refusals of a document, an event or a query (HTTP statuses as package api
// answers them).
var (
	ErrDocument   = ledger.NewError("api", 22, "epcis_bad_document", 400, "not a valid EPCISDocument")
	ErrQueryParam = ledger.NewError("api", 25, "epcis_query_parameter", 400, "invalid query parameter")
	ErrNotHeld    = ledger.NewError("api", 27, "epcis_not_held", 422, "Primum does not hold this kind of event")
)

// MaxField bounds an event's identifiers and names (an event id is a URI of
// a few hundred bytes at most).
const MaxField = 256

// EPCISDocument is the envelope of a capture. (Its name is in the text of
// a refusal of a malformed document, so it keeps it.)
type EPCISDocument struct {
	Context       json.RawMessage `json:"@context"`
	Type          string          `json:"type"`
	SchemaVersion string          `json:"schemaVersion"`
	CreationDate  string          `json:"creationDate"`
	EPCISHeader   *epcisHeader    `json:"epcisHeader"`
	EPCISBody     struct {
		EventList []json.RawMessage `json:"eventList"`
	} `json:"epcisBody"`
}

// DecodeDocument reads one EPCISDocument from dec. A refusal is ErrDocument
// wrapping the decoder's error, so a caller still finds what the reader
// underneath said (a body over its limit, say).
func DecodeDocument(dec *json.Decoder) (*EPCISDocument, error) {
	var doc EPCISDocument
	if err := dec.Decode(&doc); err != nil {
		return nil, ErrDocument.Wrapf("%w", wireError(err))
	}
	return &doc, nil
}

// Events returns the document's events, refusing a document that is not an
// EPCISDocument or carries none.
func (d *EPCISDocument) Events() ([]json.RawMessage, error) {
	if d.Type != "EPCISDocument" {
		return nil, ErrDocument.Wrapf("type must be EPCISDocument, got %q", d.Type)
	}
	if len(d.EPCISBody.EventList) == 0 {
		return nil, ErrDocument.Wrapf("epcisBody.eventList is empty")
	}
	return d.EPCISBody.EventList, nil
}

// EventID is the rule by which an event's id is read from its bytes: its
// eventID member, "" if it has none; err is the decoder's complaint, if any
// (an id may be read from an event that is otherwise malformed).
func EventID(raw json.RawMessage) (string, error) {
	var e struct {
		EventID string `json:"eventID"`
	}
	err := json.Unmarshal(raw, &e)
	return e.EventID, err
}

// epcisEvent is one event as Primum reads it. (Its name is in the text of
// a refusal of a malformed event, so it keeps it.)
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
	QuantityList    []quantityElement `json:"quantityList"`
	ChildQuantities []quantityElement `json:"childQuantityList"`
	InputEPCList    []string          `json:"inputEPCList"`
	OutputEPCList   []string          `json:"outputEPCList"`
	InputQuantities []quantityElement `json:"inputQuantityList"`
	OutputQuantity  []quantityElement `json:"outputQuantityList"`
	TransformID     string            `json:"transformationID"`
	BizTransactions []struct {
		Type           string `json:"type"`
		BizTransaction string `json:"bizTransaction"`
	} `json:"bizTransactionList"`
	SourceList []struct {
		Type   string `json:"type"`
		Source string `json:"source"`
	} `json:"sourceList"`
	DestinationList []struct {
		Type        string `json:"type"`
		Destination string `json:"destination"`
	} `json:"destinationList"`
	ILMD              map[string]json.RawMessage `json:"ilmd"`
	SensorElementList []sensorElement            `json:"sensorElementList"`
	ReadPoint         struct {
		ID string `json:"id"`
	} `json:"readPoint"`
	BizLocation struct {
		ID string `json:"id"`
	} `json:"bizLocation"`
	PersistentDisposition struct {
		Set   []string `json:"set"`
		Unset []string `json:"unset"`
	} `json:"persistentDisposition"`
	ErrorDeclaration *struct {
		DeclarationTime    string   `json:"declarationTime"`
		Reason             string   `json:"reason"`
		CorrectiveEventIDs []string `json:"correctiveEventIDs"`
	} `json:"errorDeclaration"`
}

// quantityElement is a class-level quantity: a class, how much, a unit.
type quantityElement struct {
	EPCClass string       `json:"epcClass"`
	Quantity *json.Number `json:"quantity"`
	UOM      string       `json:"uom"`
}

// sensorElement is one of an event's sensorElementList entries: what a
// sensor (a temperature logger) reported, and when.
type sensorElement struct {
	SensorMetadata sensorMetadata `json:"sensorMetadata"`
	SensorReport   []sensorReport `json:"sensorReport"`
}

type sensorMetadata struct {
	Time      string `json:"time"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
	DeviceID  string `json:"deviceID"`
	// The logger's batch that committed these readings: extension
	// members named …:batch (a number) and …:frontier (hex hashes).
	Batch    uint64
	Frontier []string
}

func (m *sensorMetadata) UnmarshalJSON(b []byte) error {
	type plain sensorMetadata
	if err := json.Unmarshal(b, (*plain)(m)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names) // several namespaces: the first by name
	for _, k := range names {
		v := all[k]
		i := strings.LastIndexByte(k, ':')
		if i <= 0 {
			continue
		}
		switch k[i+1:] {
		case "batch":
			if m.Batch != 0 {
				continue
			}
			if err := json.Unmarshal(v, &m.Batch); err != nil {
				return fmt.Errorf("sensorMetadata %s: a batch number: %w", k, err)
			}
		case "frontier":
			if m.Frontier != nil {
				continue
			}
			if err := json.Unmarshal(v, &m.Frontier); err != nil {
				return fmt.Errorf("sensorMetadata %s: hex hashes: %w", k, err)
			}
		}
	}
	return nil
}

type sensorReport struct {
	Type      string       `json:"type"`
	Time      string       `json:"time"`
	Value     *json.Number `json:"value"`
	MinValue  *json.Number `json:"minValue"`
	MaxValue  *json.Number `json:"maxValue"`
	UOM       string       `json:"uom"`
	Exception string       `json:"exception"`
}

// checkLengths refuses an event whose identifiers or names are longer than
// any real one (MaxField), naming the field, never echoing its value.
func (e *epcisEvent) checkLengths() error {
	fields := map[string]string{"type": e.Type, "eventID": e.EventID, "eventTime": e.EventTime, "action": e.Action,
		"bizStep": e.BizStep, "disposition": e.Disposition, "parentID": e.ParentID, "readPoint": e.ReadPoint.ID, "bizLocation": e.BizLocation.ID}
	for _, name := range []string{"type", "eventID", "eventTime", "action", "bizStep", "disposition", "parentID", "readPoint", "bizLocation"} {
		if len(fields[name]) > MaxField {
			return ErrDocument.Wrapf("%s is longer than %d bytes", name, MaxField)
		}
	}
	if len(e.TransformID) > MaxField {
		return ErrDocument.Wrapf("transformationID is longer than %d bytes", MaxField)
	}
	for _, list := range [][]string{e.EPCList, e.ChildEPCs, e.InputEPCList, e.OutputEPCList} {
		for _, epc := range list {
			if len(epc) > MaxField {
				return ErrDocument.Wrapf("an EPC is longer than %d bytes", MaxField)
			}
		}
	}
	for _, list := range [][]quantityElement{e.QuantityList, e.ChildQuantities, e.InputQuantities, e.OutputQuantity} {
		for _, q := range list {
			if len(q.EPCClass) > MaxField || len(q.UOM) > MaxField || (q.Quantity != nil && len(*q.Quantity) > 64) {
				return ErrDocument.Wrapf("a quantity element is longer than %d bytes", MaxField)
			}
		}
	}
	if d := e.ErrorDeclaration; d != nil {
		if len(d.DeclarationTime) > MaxField || len(d.Reason) > MaxField || len(d.CorrectiveEventIDs) > 32 {
			return ErrDocument.Wrapf("an error declaration is longer than %d bytes a field, or names more than 32 corrective events", MaxField)
		}
		for _, id := range d.CorrectiveEventIDs {
			if len(id) > MaxField {
				return ErrDocument.Wrapf("a corrective event id is longer than %d bytes", MaxField)
			}
		}
	}
	for _, d := range append(slices.Clone(e.PersistentDisposition.Set), e.PersistentDisposition.Unset...) {
		if len(d) > MaxField {
			return ErrDocument.Wrapf("a persistent disposition is longer than %d bytes", MaxField)
		}
	}
	for _, b := range e.BizTransactions {
		if len(b.Type) > MaxField || len(b.BizTransaction) > MaxField {
			return ErrDocument.Wrapf("a business transaction is longer than %d bytes", MaxField)
		}
	}
	for _, d := range e.DestinationList {
		if len(d.Type) > MaxField || len(d.Destination) > MaxField {
			return ErrDocument.Wrapf("a destination is longer than %d bytes", MaxField)
		}
	}
	return nil
}

// wireError keeps a JSON type error's text as it was when this code lived
// in package api: a document or event that is not a JSON object is refused
// with "... into Go value of type api.EPCISDocument" (or api.epcisEvent),
// and that text is on the wire, in a problem's or a capture job's detail.
func wireError(err error) error {
	te, ok := err.(*json.UnmarshalTypeError)
	if !ok || te.Struct != "" || te.Field != "" ||
		(te.Type != reflect.TypeFor[EPCISDocument]() && te.Type != reflect.TypeFor[epcisEvent]()) {
		return err
	}
	return typeError{te}
}

type typeError struct{ err *json.UnmarshalTypeError }

func (e typeError) Error() string {
	return strings.Replace(e.err.Error(), " of type epcis.", " of type api.", 1)
}

func (e typeError) Unwrap() error { return e.err }
