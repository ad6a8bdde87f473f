package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/supply"
)

// A generated query verb reads as its caller: signed with --from's key, or
// with --token, or else PRIMUM_TOKEN; with none, as anyone. The access
// audit is the regulator's to read.
func TestQueryVerbReadsAsTheCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	regulator := f.Member("National Medicines Agency")
	for _, tc := range []struct {
		name string
		args []string
		env  string
		read bool
	}{
		{"anyone", nil, "", false},
		{"a hospital", []string{"--from", f.Member("St Luke's Hospital").KeyFile}, "", false},
		{"--from", []string{"--from", regulator.KeyFile}, "", true},
		{"--token", []string{"--token", regulator.APIToken}, "", true},
		{"PRIMUM_TOKEN", nil, regulator.APIToken, true},
	} {
		cmd := exec.Command(primumBinary(t), append([]string{"records", "audit", "--node", n.APIURL()}, tc.args...)...)
		cmd.Env = append(os.Environ(), "PRIMUM_TOKEN="+tc.env)
		b, err := cmd.CombinedOutput()
		if (err == nil) != tc.read || !tc.read && !strings.Contains(string(b), "Error [") {
			t.Fatalf("%s: read %v, want %v:\n%s", tc.name, err == nil, tc.read, b)
		}
	}
}

// A generated transaction verb builds its body from positional arguments
// (a list takes the rest, text joins its words), a flag per field, and
// --body under them; a bad number is refused before anything is sent.
// Each is run as a user would, against the demo, and read back.
func TestTxVerbBuildsTheBody(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	acme, pharmacy := f.Member("Acme Pharma").KeyFile, f.Member("Central Pharmacy").KeyFile
	run := func(args ...string) (string, error) {
		cmd := exec.Command(primumBinary(t), append(args, "--node", n.APIURL())...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	pack := func(serial string) string { return "(01)" + demo.GTIN + "(21)" + serial }
	keys := t.TempDir()
	if out, err := run("keys", "add", "probe-1", "--unencrypted", "--home", keys); err != nil {
		t.Fatalf("keys add: %v\n%s", err, out)
	}
	probe := filepath.Join(keys, "keys", "probe-1.json")
	for _, tc := range []struct {
		name string
		args []string
		fail string // "" when it must commit
	}{
		{"a list takes the rest, flags the fields", []string{"supply", "commission", "CLI1", "CLI2", "--gtin", demo.GTIN, "--lot", "CLILOT", "--expiry", "2030-01-31", "--from", acme}, ""},
		{"text joins the words", []string{"supply", "report-suspect", pack("CLI2"), "torn", "blister", "seal", "--from", acme}, ""},
		{"--body under the flags", []string{"supply", "recall", "--body", `{"gtin":"` + demo.GTIN + `","lot":"WRONG","reason":"sterility failure"}`, "--lot", "CLILOT", "--from", acme}, ""},
		{"all in --body", []string{"supply", "ship", "--body", `{"codes":["` + pack("CLI1") + `"],"to":"` + f.Member("Central Pharmacy").Address + `"}`, "--from", acme}, ""},
		{"a bad number is refused here", []string{"governance", "vote", "first", "yes", "--from", acme}, `PROPOSAL-ID: "first" is not a whole number`},
		{"a missing argument", []string{"supply", "dispense", "--from", pharmacy}, "accepts 1 arg"},
		{"--body null", []string{"supply", "dispense", "--body", "null", "--from", pharmacy}, "--body must be one JSON object"},
		{"--body with more after it", []string{"supply", "dispense", "--body", `{"code":"x"} {"code":"y"}`, "--from", pharmacy}, "--body must be one JSON object"},
		{"the ledger's refusal", []string{"supply", "dispense", pack("CLI1"), "--from", pharmacy}, "not_custodian"},
		// A new key's holder agrees to it (ledger.KeyHolder): the key is
		// opened here and its proof signed, or the proof comes with it.
		{"a new key opened here", []string{"identity", "register-device", "--key-file", probe, "--type", "thermometer", "--from", acme}, ""},
		{"a new key without its proof", []string{"identity", "register-device", "--key", strings.Repeat("ab", 32), "--type", "thermometer", "--from", acme}, "--key needs --proof"},
		{"the key file and the key", []string{"identity", "register-device", "--key-file", probe, "--key", strings.Repeat("ab", 32), "--from", acme}, "none of the others can be"},
	} {
		out, err := run(tc.args...)
		if tc.fail == "" && (err != nil || !strings.Contains(out, "committed at height")) {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
		if tc.fail != "" && (err == nil || !strings.Contains(out, tc.fail)) {
			t.Fatalf("%s: want %q, got %v\n%s", tc.name, tc.fail, err, out)
		}
	}
	var one, two supply.ObjectAnswer
	if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(pack("CLI1")), &one); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(pack("CLI2")), &two); err != nil {
		t.Fatal(err)
	}
	if o := one.Object; o.Lot != "CLILOT" || o.Expiry != "2030-01-31" || o.Status != "in_transit" {
		t.Fatalf("CLI1: %+v", o)
	}
	if two.Object.Suspect != "torn blister seal" {
		t.Fatalf("CLI2's suspect reason %q", two.Object.Suspect)
	}
	var recalls []*supply.Recall
	if err := c.Get(ctx, "/api/v1/supply/recalls", &recalls); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recalls {
		found = found || r.Lot == "CLILOT" && r.Reason == "sterility failure"
	}
	if !found {
		t.Fatalf("no recall of CLILOT with --body's reason: %+v", recalls)
	}
}

// A committed proposal says its number, and the vote that decides it says
// so; the votes before it print only their commit. The generated vote verb
// and the spelling under 'primum tx' alike.
func TestGovernanceSaysWhatHappened(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	keys := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		b, err := exec.Command(primumBinary(t), append(args, "--node", n.APIURL(), "--home", keys)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	run("keys", "add", "fjord", "--unencrypted")
	out := run("governance", "propose-add-member", "--name", "Fjord Clinic", "--org-type", "clinic", "--key-file", "fjord",
		"--from", f.Member("St Luke's Hospital").KeyFile)
	// The demo's first proposals admitted its research institute, its
	// second insurer and its third hospital.
	if !strings.Contains(out, `proposal 4 (add_member "Fjord Clinic"): open`) {
		t.Fatalf("propose: %s", out)
	}
	// Ten members: the proposer and six more make more than 2/3.
	for i, tc := range []struct {
		verb []string
		from string
	}{
		{[]string{"governance", "vote"}, "Riverside General Hospital"},
		{[]string{"tx", "vote"}, "Central Pharmacy"},
		{[]string{"governance", "vote"}, "Acme Pharma"},
		{[]string{"governance", "vote"}, "MedLogistics"},
		{[]string{"governance", "vote"}, "CareShield Insurance"},
		{[]string{"governance", "vote"}, "National Medicines Agency"},
	} {
		out := run(append(tc.verb, "4", "yes", "--from", f.Member(tc.from).KeyFile)...)
		if decided := strings.Contains(out, `proposal 4 (add_member "Fjord Clinic"): passed, admitted as `); decided != (i == 5) {
			t.Fatalf("vote %d by %s says passed: %v\n%s", i+1, tc.from, decided, out)
		}
	}
}

// Every declared column names a field of its query's answer (a typo would
// leave a column empty for good), and a table shows what each kind of
// value holds.
func TestColumnsShowTheAnswer(t *testing.T) {
	for _, m := range modules.All() {
		for _, q := range m.Queries {
			if len(q.Columns) == 0 {
				continue
			}
			typ := reflect.TypeOf(q.Answer)
			if p, ok := q.Answer.(ledger.Page); ok {
				typ = reflect.TypeOf(p.Items)
			}
			for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
				typ = typ.Elem()
			}
			for _, c := range q.Columns {
				ft := typ
				for _, part := range strings.Split(c.Field, ".") {
					for ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					f, ok := jsonField(ft, part)
					if !ok {
						t.Fatalf("%s %s: column %s reads %q, which %s does not have", m.Name, q.Name, c.Head, c.Field, ft)
					}
					ft = f.Type
				}
			}
		}
	}
}

func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if n == name {
			return f, true
		}
		// An embedded struct without a JSON name has its fields promoted
		// (encoding/json), so a column reads them directly.
		if et := f.Type; f.Anonymous && n == "" && (et.Kind() == reflect.Struct || (et.Kind() == reflect.Pointer && et.Elem().Kind() == reflect.Struct)) {
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if pf, ok := jsonField(et, name); ok {
				return pf, true
			}
		}
	}
	return reflect.StructField{}, false
}
