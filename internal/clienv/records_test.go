package clienv

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/records"
)

// A retention policy is its holds, or none with --clear; neither, both or
// a hold not CATEGORY:BASIS:YEARS is refused.
func TestRetention(t *testing.T) {
	for _, c := range []struct {
		name  string
		holds []string
		clear bool
		want  int // holds in the policy
		err   string
	}{
		{"two holds", []string{"medication:legal_obligation:10", "financial:legal_claims:6"}, false, 2, ""},
		{"--clear", nil, true, 0, ""},
		{"neither", nil, false, 0, "give the policy with --hold"},
		{"both", []string{"medication:legal_obligation:10"}, true, 0, "--clear removes every hold"},
		{"a hold without its years", []string{"medication:legal_obligation"}, false, 0, "--hold \"medication:legal_obligation\": want CATEGORY:BASIS:YEARS"},
	} {
		body, err := Retention(c.holds, c.clear)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || len(body.Holds) != c.want):
			t.Errorf("%s: %+v %v, want %d holds", c.name, body, err, c.want)
		}
	}
	body, _ := Retention([]string{"medication:legal_obligation:10"}, false)
	if want := []records.Hold{{Category: "medication", Basis: "legal_obligation", Years: 10}}; !reflect.DeepEqual(body.Holds, want) {
		t.Errorf("%+v, want %+v", body.Holds, want)
	}
}

// JSON goes to the file named, its owner's only, or else to the writer,
// the same either way.
func TestWriteJSON(t *testing.T) {
	v := map[string]int{"a": 1}
	var out strings.Builder
	if err := WriteJSON(&out, "", v); err != nil || out.String() != "{\n  \"a\": 1\n}\n" {
		t.Errorf("to the writer: %q %v", out.String(), err)
	}
	path := filepath.Join(t.TempDir(), "v.json")
	var none strings.Builder
	if err := WriteJSON(&none, path, v); err != nil || none.Len() != 0 {
		t.Fatalf("to a file: %v, %q written to the writer", err, none.String())
	}
	b, err := os.ReadFile(path)
	if info, _ := os.Stat(path); err != nil || string(b) != out.String() || info.Mode().Perm() != 0o600 {
		t.Errorf("the file: %q %v, mode %v", b, err, info.Mode())
	}
	if err := WriteJSON(&none, filepath.Join(path, "no-folder"), v); err == nil {
		t.Error("a file in a folder that is not: written")
	}
}

// What the records and consent verbs get wrong is said before the node is
// asked.
func TestRecordsRefusedHere(t *testing.T) {
	t.Setenv("PRIMUM_TOKEN", "")
	home := t.TempDir()
	e := &Env{Home: home, Node: "http://127.0.0.1:1", Output: "text"}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"an import without a token", func() error { _, err := e.ImportFHIR(ctx, "", "1f0c", "bundle.json"); return err }, "--token (or PRIMUM_TOKEN) and --patient are required"},
		{"an import without a patient", func() error { _, err := e.ImportFHIR(ctx, "token", "", "bundle.json"); return err }, "--token (or PRIMUM_TOKEN) and --patient are required"},
		{"an import of no file", func() error {
			_, err := e.ImportFHIR(ctx, "token", "1f0c", filepath.Join(home, "none.json"))
			return err
		}, "none.json"},
		{"a fetch as nobody", func() error { _, err := e.Fetch(ctx, "", "observation-3f", "treatment", "", ""); return err }, "--from is required"},
		{"an export as nobody", func() error { _, _, err := e.Export(ctx, "", false); return err }, "--from is required"},
		{"an erasure as nobody", func() error { _, err := e.Erase(ctx, "", nil); return err }, "--from is required"},
		{"consents of nobody", func() error { _, _, err := e.Consents(ctx, nil, "", nil); return err }, "give a PATIENT id or --from"},
	} {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// A patient's consents are listed as each of their pseudonyms, or as
// PATIENT's reader, and proven with a trust root; their export is one
// Bundle of them all.
func testRecords(t *testing.T, ctx context.Context, e *Env, rpc string, f *demo.File) {
	p1 := f.Member("Patient 1")
	for _, c := range []struct {
		name  string
		args  []string
		trust *Trust
	}{
		{"every pseudonym's", nil, nil},
		{"PATIENT's", []string{p1.Address}, nil},
		{"every pseudonym's, proven", nil, &Trust{RPC: rpc}},
	} {
		cs, proven, err := e.Consents(ctx, c.args, p1.KeyFile, c.trust)
		if err != nil || len(cs) == 0 {
			t.Errorf("%s: %d consents, %v", c.name, len(cs), err)
		} else if (c.trust == nil) != (len(proven) == 0) {
			t.Errorf("%s: %d proofs of %d consents", c.name, len(proven), len(cs))
		}
	}
	bundle, n, err := e.Export(ctx, p1.KeyFile, false)
	if err != nil || n == 0 || bundle["resourceType"] != "Bundle" || len(bundle["entry"].([]any)) == 0 {
		t.Errorf("export: %d pseudonyms, %v; %.200v", n, err, bundle)
	}
}
