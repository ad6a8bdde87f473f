package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/primum-health/primum/epcis"
	"github.com/primum-health/primum/internal/conformance"
)

// validEPCIS fails the test when doc does not validate against the GS1
// EPCIS 2.0 JSON schemas (epcis.Validate: the embedded copies, which
// epcis.TestSchemasAreGS1s keeps equal to the conformance folder's).
func validEPCIS(t *testing.T, name string, doc []byte) {
	t.Helper()
	if err := epcis.Validate(doc); err != nil {
		t.Fatalf("%s does not validate against the EPCIS 2.0 schema: %v", name, err)
	}
}

// The schema itself accepts the GS1 examples (a check on the check).
func TestEPCISSchemaAcceptsExamples(t *testing.T) {
	for _, f := range []string{"Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld", "EPCISQueryDocument.jsonld"} {
		b, err := os.ReadFile(filepath.Join(conformance.Dir(t, "epcis/JSON"), f))
		if err != nil {
			t.Fatal(err)
		}
		validEPCIS(t, f, b)
	}
	if err := epcis.Validate([]byte(`{"type":"ObjectEvent","action":"SHOUT"}`)); err == nil {
		t.Fatal("the schema accepts an invalid event")
	}
}
