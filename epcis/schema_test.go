package epcis

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/conformance"
)

// TestSchemasAreGS1s: the embedded schemas are the conformance copies,
// byte for byte.
func TestSchemasAreGS1s(t *testing.T) {
	root := conformance.Dir(t, "epcis/JSON-Schema")
	n := 0
	err := fs.WalkDir(schemaFiles, "schema", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		ours, _ := schemaFiles.ReadFile(path)
		theirs, err := os.ReadFile(filepath.Join(root, strings.TrimPrefix(path, "schema/")))
		if err != nil || !bytes.Equal(ours, theirs) {
			t.Errorf("%s differs from the conformance copy (%v)", path, err)
		}
		return nil
	})
	if err != nil || n < 15 {
		t.Fatalf("%d schemas: %v", n, err)
	}
}

// TestValidate: a document the EPCIS 2.0 schema refuses is refused before
// anything reads it, naming the event and the JSON pointer, never echoing
// a value.
func TestValidate(t *testing.T) {
	head := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T10:00:00Z","epcisBody":{"eventList":[`
	ok := `{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`
	doc := func(events ...string) []byte { return []byte(head + strings.Join(events, ",") + `]}}`) }
	cases := []struct {
		name string
		doc  []byte
		want string // in the refusal; "" for none
	}{
		{"a valid document", doc(ok), ""},
		{"missing @context", []byte(strings.Replace(string(doc(ok)), `"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],`, "", 1)), "@context"},
		{"an ILMD field without a namespace", doc(ok, `{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","epcList":["urn:epc:id:sgtin:0614141.812345.6789"],"ilmd":{"lotNumber":"SECRET"}}`), "event 1, at /epcisBody/eventList/1/ilmd/lotNumber"},
		{"a non-standard disposition without a URI", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","disposition":"kaputt","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`), "event 0, at /epcisBody/eventList/0/disposition"},
		{"a non-standard bizStep without a URI", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"wandering","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`), "/epcisBody/eventList/0/bizStep"},
		{"a quantity as text", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":"ten"}]}`), "/epcisBody/eventList/0/quantityList/0/quantity: got string, want number"},
		{"an unknown field in a standard structure", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":["urn:epc:id:sscc:0614141.1234567890"],"sensorElementList":[{"sensorReport":[{"type":"Temperature","value":4,"colour":"red"}]}]}`), "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/colour: a field the standard does not define"},
		{"an unknown field in an event", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":["urn:epc:id:sscc:0614141.1234567890"],"colour":"red"}`), "/epcisBody/eventList/0/colour"},
		{"an unknown field in a quantity", doc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":1,"colour":"red"}]}`), "/epcisBody/eventList/0/quantityList/0: unknown field \"colour\""},
		{"not JSON", []byte(`{"type":`), "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.doc)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrDocument) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "kaputt") {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

// TestValidateExamples: GS1's own example documents validate.
func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(conformance.Dir(t, "epcis/JSON"), "*", "*.jsonld"))
	more, _ := filepath.Glob(filepath.Join(conformance.Dir(t, "epcis/JSON"), "*.jsonld"))
	for _, f := range append(files, more...) {
		b, _ := os.ReadFile(f)
		if !bytes.Contains(b, []byte(`"EPCISDocument"`)) {
			continue
		}
		if err := Validate(b); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// FuzzValidate: the schema check never panics and refuses with a reason.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T10:00:00Z","epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":["urn:epc:id:sscc:0614141.1234567890"],"ilmd":{"x":1}}]}}`))
	f.Add([]byte(`{"type":"EPCISDocument"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1<<16 {
			return
		}
		if err := Validate(raw); err != nil && err.Error() == "" {
			t.Fatal("an empty refusal")
		}
	})
}
