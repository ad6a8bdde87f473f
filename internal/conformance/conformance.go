// Package conformance finds the published test material of the standards
// Primum implements (GS1 EPCIS, HL7 FHIR), kept beside the repository in
// ../shared/conformance, for the tests that check against it.
package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of sub (e.g. "epcis/JSON") inside the
// conformance folder: $PRIMUM_CONFORMANCE, or shared/conformance found by
// walking up from the working directory. A test that needs it fails when it
// is missing: the material is part of the project's checkout.
func Dir(tb testing.TB, sub string) string {
	tb.Helper()
	if root := os.Getenv("PRIMUM_CONFORMANCE"); root != "" {
		return check(tb, filepath.Join(root, sub))
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "conformance", sub)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("conformance material %q not found: expected ../shared/conformance beside the checkout, or set PRIMUM_CONFORMANCE", sub)
		}
		dir = parent
	}
}

func check(tb testing.TB, p string) string {
	tb.Helper()
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("conformance material: %v", err)
	}
	return p
}
