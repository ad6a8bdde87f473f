package epcis

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

type emptyState struct{}

func (emptyState) Get([]byte) ([]byte, error)                   { return nil, nil }
func (emptyState) Iterate([]byte, func(k, v []byte) bool) error { return nil }

// FuzzTranslateEvent: the EPCIS event decoder never panics; what it accepts
// names a known step, and every identifier in it parses.
func FuzzTranslateEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(conformance.Dir(f, "epcis/JSON"), "*.jsonld"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var doc EPCISDocument
		if json.Unmarshal(b, &doc) == nil {
			for _, e := range doc.EPCISBody.EventList {
				f.Add([]byte(e))
			}
		}
	}
	f.Add([]byte(`{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"ADD","epcList":["urn:epc:id:sgtin:0614141.812345.6789"],"ilmd":{"cbvmda:lotNumber":"L","cbvmda:itemExpirationDate":"2027-01-01"}}`))
	f.Add([]byte(`{"type":"AggregationEvent","eventTime":"2026-01-01T00:00:00Z","action":"DELETE","parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["x"]}`))
	var r ledger.Reader = emptyState{}
	steps := map[string]bool{"commission": true, "ship": true, "receive": true, "observe": true, "record": true, "pack": true, "unpack": true, "dispense": true, "decommission": true}
	f.Add([]byte(`{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","action":"OBSERVE","bizStep":"receiving","epcList":["urn:epc:id:sscc:0614141.1234567890"],"sensorElementList":[{"sensorMetadata":{"time":"2026-01-01T00:00:00Z"},"sensorReport":[{"type":"Temperature","value":4.5,"uom":"CEL"},{"type":"gs1:Temperature","minValue":39.2,"maxValue":1e2,"uom":"FAH","exception":"ALARM_CONDITION"}]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		events, err := TranslateEvent(r, raw)
		if err != nil {
			if ledger.AsError(err) == ledger.ErrInternal || err.Error() == "" {
				t.Fatalf("unclear refusal: %v", err)
			}
			return
		}
		for _, e := range events {
			if !steps[e.Step] {
				t.Fatalf("unknown step %q", e.Step)
			}
			if e.Step == "record" && e.Record == nil {
				t.Fatal("a record step without its event")
			}
			if s := e.Sensor; s != nil {
				for i := 1; i < len(s.Readings); i++ {
					if s.Readings[i].T < s.Readings[i-1].T {
						t.Fatal("readings out of time order")
					}
				}
			}
			if e.Step == "pack" || e.Step == "unpack" {
				if strings.TrimSpace(e.Parent) == "" {
					t.Fatal("aggregation without a parent")
				}
			}
		}
	})
}

// TestEPCISFieldLengths: an event whose identifiers are longer than any
// real one is refused, naming the field and never echoing it.
func TestEPCISFieldLengths(t *testing.T) {
	long := "urn:uuid:" + strings.Repeat("X", MaxField)
	for _, c := range []struct{ name, event string }{
		{"eventID", `{"type":"ObjectEvent","eventID":"` + long + `","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"receiving","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`},
		{"EPC", `{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"receiving","epcList":["` + long + `"]}`},
		{"destination", `{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"shipping","epcList":["urn:epc:id:sscc:0614141.1234567890"],"destinationList":[{"type":"owning_party","destination":"` + long + `"}]}`},
		{"type", `{"type":"` + long + `","eventTime":"2026-11-01T08:00:00Z"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := TranslateEvent(nil, json.RawMessage(c.event))
			if !errors.Is(err, ErrDocument) || strings.Contains(err.Error(), "XXXX") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestRefusalTextKept: a document or an event that is not a JSON object is
// refused with the text it had when this code lived in package api (the
// text is a problem's or a capture job's detail); a document too large for
// its reader still shows as that.
func TestRefusalTextKept(t *testing.T) {
	_, err := TranslateEvent(nil, json.RawMessage(`[1]`))
	if want := "not a valid EPCISDocument: event: json: cannot unmarshal array into Go value of type api.epcisEvent"; !errors.Is(err, ErrDocument) || err.Error() != want {
		t.Fatalf("event: got %v", err)
	}
	_, err = TranslateEvent(nil, json.RawMessage(`{"eventID":5}`))
	if want := "not a valid EPCISDocument: event: json: cannot unmarshal number into Go struct field epcisEvent.eventID of type string"; err == nil || err.Error() != want {
		t.Fatalf("event field: got %v", err)
	}
	_, err = DecodeDocument(json.NewDecoder(strings.NewReader(`"x"`)))
	var te *json.UnmarshalTypeError
	if want := "not a valid EPCISDocument: json: cannot unmarshal string into Go value of type api.EPCISDocument"; !errors.Is(err, ErrDocument) || !errors.As(err, &te) || err.Error() != want {
		t.Fatalf("document: got %v", err)
	}
	_, err = DecodeDocument(json.NewDecoder(strings.NewReader(`{"type":5}`)))
	if want := "not a valid EPCISDocument: json: cannot unmarshal number into Go struct field EPCISDocument.type of type string"; err == nil || err.Error() != want {
		t.Fatalf("document field: got %v", err)
	}
	tooLarge := errors.New("body too large")
	_, err = DecodeDocument(json.NewDecoder(io.MultiReader(strings.NewReader(`{"type":`), errReader{tooLarge})))
	if !errors.Is(err, ErrDocument) || !errors.Is(err, tooLarge) {
		t.Fatalf("reader's error: got %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestEventID: the one rule for an event's id, an id read even from an
// event that is otherwise malformed.
func TestEventID(t *testing.T) {
	for _, c := range []struct {
		raw, id string
		bad     bool
	}{
		{`{"eventID":"urn:uuid:1","type":"ObjectEvent"}`, "urn:uuid:1", false},
		{`{"type":"ObjectEvent"}`, "", false},
		{`{"eventID":5}`, "", true},
		{`{"eventID":"a","eventID":5}`, "a", true},
		{`[1]`, "", true},
		{`{`, "", true},
	} {
		id, err := EventID(json.RawMessage(c.raw))
		if id != c.id || (err != nil) != c.bad {
			t.Errorf("%s: got %q, %v", c.raw, id, err)
		}
	}
}

// TestShippingToNoMember: a shipping event whose destination names a
// party or location that is no member's is refused (it would otherwise be a
// shipment anyone could receive first); one with no destination is a
// shipment to anyone, as it says; one naming a member goes to it.
func TestShippingToNoMember(t *testing.T) {
	st := ledger.NewOverlay(emptyState{})
	ev := func(dest string) json.RawMessage {
		list := ""
		if dest != "" {
			list = `,"destinationList":[{"type":"owning_party","destination":"` + dest + `"}]`
		}
		return json.RawMessage(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"shipping","epcList":["urn:epc:id:sscc:0614141.1234567890"]` + list + `}`)
	}
	for _, c := range []struct {
		name, dest, to string
		err            error
	}{
		{"an unregistered GLN", "urn:epc:id:pgln:0614141.00777", "", supply.ErrUnknownDestination},
		{"no destination", "", "", nil},
		{"a member", "urn:primum:org:abc", "abc", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := TranslateEvent(st, ev(c.dest))
			if !errors.Is(err, c.err) || err == nil && out[0].To != c.to {
				t.Fatalf("%+v, %v; want to %q, %v", out, err, c.to, c.err)
			}
		})
	}
}
