package node_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/primum-health/primum/internal/conformance"
)

// epcisSchema compiles the GS1 EPCIS 2.0 JSON schemas from the conformance
// folder (each file registered under its own $id), with formats asserted.
func epcisSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	root := conformance.Dir(t, "epcis/JSON-Schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// The GS1 schemas use ECMAScript look-ahead, which Go's RE2 lacks.
	c.UseRegexpEngine(func(expr string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(expr, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	files, _ := filepath.Glob(filepath.Join(root, "*.json"))
	more, _ := filepath.Glob(filepath.Join(root, "schemas", "*.json"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	s, err := c.Compile("https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json")
	if err != nil {
		t.Fatalf("cannot compile the EPCIS schema: %v", err)
	}
	return s
}

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}

func (r ecmaRegexp) String() string { return r.re.String() }

// validEPCIS fails the test when doc does not validate.
func validEPCIS(t *testing.T, s *jsonschema.Schema, name string, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("%s does not validate against the EPCIS 2.0 schema: %v", name, err)
	}
}

// The schema itself accepts the GS1 examples (a check on the check).
func TestEPCISSchemaAcceptsExamples(t *testing.T) {
	s := epcisSchema(t)
	for _, f := range []string{"Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld", "EPCISQueryDocument.jsonld"} {
		b, err := os.ReadFile(filepath.Join(conformance.Dir(t, "epcis/JSON"), f))
		if err != nil {
			t.Fatal(err)
		}
		validEPCIS(t, s, f, b)
	}
	if err := s.Validate(map[string]any{"type": "ObjectEvent", "action": "SHOUT"}); err == nil {
		t.Fatal("the schema accepts an invalid event")
	}
}
