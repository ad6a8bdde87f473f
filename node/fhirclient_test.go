package node_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/internal/conformance"
)

// fhirClientDir installs the pinned FHIR client library (testdata/fhirclient,
// fhir-kit-client from npm) once per lock file, in the user's cache.
func fhirClientDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for the FHIR client test: install Node.js (apt-get install nodejs npm)", tool)
		}
	}
	src := filepath.Join(conformance.RepoRoot(t), "testdata", "fhirclient")
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "primum-test", "fhirclient-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"package.json", "package-lock.json", "read.mjs"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	return dir
}

// TestOrdinaryFHIRClientReads: fhir-kit-client, a FHIR client library
// used by FHIR applications, reads the node's facade: capability statement,
// searches, reads and a 404 OperationOutcome.
func TestOrdinaryFHIRClientReads(t *testing.T) {
	dir := fhirClientDir(t)
	base, m, _, _ := recordsNode(t)
	patient := m["patient"].id
	out := mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["stlukes"].token, sentinelObservation())
	var docRef struct{ ID string }
	_ = json.Unmarshal(out, &docRef)
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": consent.Grant{
		Grantee: m["drremote"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}})
	mustCall(t, 200, "POST", base+"/api/v1/records/"+docRef.ID+"/read", m["drremote"].token, api_ReadRequest{Purpose: "treatment"})
	mustCall(t, 403, "POST", base+"/api/v1/records/"+docRef.ID+"/read", m["drlocal"].token, api_ReadRequest{Purpose: "treatment"})

	cmd := exec.Command("node", "read.mjs", base+"/fhir", patient, docRef.ID, m["patient"].token)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fhir-kit-client: %v\n%s", err, b)
	}
	var got struct {
		FHIRVersion   string   `json:"fhirVersion"`
		Resources     []string `json:"resources"`
		Consents      int      `json:"consents"`
		ConsentStatus []string `json:"consentStatus"`
		Audits        []string `json:"audits"`
		DocStatus     string   `json:"documentStatus"`
		Custodian     string   `json:"custodian"`
		Patient       string   `json:"patient"`
		NotFound      string   `json:"notFound"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if got.FHIRVersion != "4.0.1" || got.Consents != 1 || got.ConsentStatus[0] != "active" || len(got.Audits) != 2 ||
		got.Audits[0] != "0" || got.Audits[1] != "4" || got.DocStatus != "current" || got.Custodian != "Organization/"+m["stlukes"].id ||
		got.Patient != patient || got.NotFound != "404 OperationOutcome" {
		t.Fatalf("fhir-kit-client read: %s", b)
	}
}
