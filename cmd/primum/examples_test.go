package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// The README tour's EPCIS files work on the demo chain as it shows them:
// examples/events.jsonld captured by Acme Pharma commissions its three
// packs, and a document from examples/gen-epcis imports in full.
func TestTourExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	token := f.Member("Acme Pharma").APIToken
	doc, err := os.ReadFile(filepath.Join("..", "..", "examples", "events.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", n.APIURL()+"/epcis/capture", bytes.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("GS1-EPCIS-Version", "2.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("capture of examples/events.jsonld: %s", res.Status)
	}
	for _, serial := range []string{"DEMO201", "DEMO202", "DEMO203"} {
		code := "(01)" + demo.GTIN + "(21)" + serial
		for {
			if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(code), nil); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("%s was not commissioned: %v", serial, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The tour's messages name members, not only their ids.
	pharmacy, hospital := f.Member("Central Pharmacy"), f.Member("St Luke's Hospital")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "https://id.gs1.org/01/" + demo.GTIN + "/21/DEMO001", "--as", pharmacy.Address},
			"already dispensed by Central Pharmacy (" + pharmacy.Address + ")"},
		{[]string{"records", "list", "--from", f.Member("Patient 1").KeyFile}, "St Luke's Hospital (" + hospital.Address[:12] + "…)"}, // a table: the id's start
		{[]string{"consent", "list", "--from", f.Member("Patient 1").KeyFile}, " at Riverside General Hospital ("},
	} {
		b, _ := exec.Command(primumBinary(t), append(c.args, "--node", n.APIURL())...).CombinedOutput()
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s: want %q in\n%s", strings.Join(c.args[:2], " "), c.want, b)
		}
	}

	// The tour's import from an EHR, run twice: the second time nothing is
	// recorded again (it once doubled Patient 1's records).
	patient := f.Member("Patient 1")
	before, err := c.WithToken(patient.APIToken).Records(ctx, patient.Address)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stored 27 record(s)", "stored 0 record(s) encrypted; indexed on the ledger; 27 already recorded"} {
		b, err := exec.Command(primumBinary(t), "records", "import", filepath.Join("..", "..", "testdata", "conformance", "fhir-r4", "synthea.bundle.json"),
			"--patient", patient.Address, "--token", hospital.APIToken, "--node", n.APIURL()).CombinedOutput()
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("records import: %v, want %q:\n%s", err, want, b)
		}
	}
	if after, err := c.WithToken(patient.APIToken).Records(ctx, patient.Address); err != nil || len(after) != len(before)+27 {
		t.Fatalf("after importing the bundle twice: %d records, had %d (%v)", len(after), len(before), err)
	}

	big := filepath.Join(t.TempDir(), "big-epcis.jsonld")
	gen := exec.Command("go", "run", "./examples/gen-epcis", "-n", "450")
	gen.Dir = filepath.Join("..", "..")
	out, err := gen.Output()
	if err != nil {
		t.Fatalf("gen-epcis: %v", err)
	}
	if err := os.WriteFile(big, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// With the token in PRIMUM_TOKEN, as every command reads it, and -o
	// json: the summary is one JSON document on stdout; the progress, on
	// stderr, is not redrawn with \r into a file.
	imp := func(env string, args ...string) (stdout, stderr string, err error) {
		cmd := exec.Command(primumBinary(t), append([]string{"supply", "import", big, "--node", n.APIURL()}, args...)...)
		cmd.Env = append(os.Environ(), "PRIMUM_TOKEN=", "PRIMUM_API_TOKEN=", env)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}
	stdout, stderr, err := imp("PRIMUM_TOKEN="+token, "-o", "json", "--report", filepath.Join(t.TempDir(), "report.jsonl"))
	var sum client.ImportSummary
	if err != nil || json.Unmarshal([]byte(stdout), &sum) != nil || sum.Events != 450 || sum.Accepted != 450 || strings.Contains(stderr, "\r") {
		t.Fatalf("import of gen-epcis's document: %v %+v\nstdout: %s\nstderr: %q", err, sum, stdout, stderr)
	}
	// Again, in text, with the token in PRIMUM_API_TOKEN (its older name):
	// nothing is recorded twice.
	stdout, stderr, err = imp("PRIMUM_API_TOKEN=" + token)
	if err != nil || !strings.Contains(stdout, "450 events: 0 accepted, 450 already recorded, 0 refused") {
		t.Fatalf("import again: %v\n%s%s", err, stdout, stderr)
	}
}
