// Package conformance finds the published test material of the standards
// Primum implements, for the tests that check against it: the GS1 EPCIS 2.0
// examples and schemas are kept in the repository (testdata/conformance,
// with GS1's licence), so a clean checkout tests on its own.
package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of sub (e.g. "epcis/JSON") inside the
// conformance folder: $PRIMUM_CONFORMANCE, else the first of
// testdata/conformance (in the repository) or shared/conformance (beside
// it) found walking up from the working directory. A test that needs it
// fails when it is missing.
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
		for _, base := range []string{filepath.Join(dir, "testdata", "conformance"), filepath.Join(dir, "shared", "conformance")} {
			p := filepath.Join(base, sub)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("conformance material %q not found: expected testdata/conformance in the repository, or set PRIMUM_CONFORMANCE", sub)
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

// RepoRoot is the repository's root folder (the one holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}
