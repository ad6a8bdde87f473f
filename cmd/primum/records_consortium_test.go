package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// Health data that must never appear in clear on a node: in its block
// store, its state, its record store or its log.
var sentinels = []string{"SENTINEL-PHI-7Hq2xR", "Abbott770", "Jeromy216", "999383248", "303 Cremin Knolls"}

// TestRecordsAcrossTwoNodes: a record held by St Luke's (node0) is read by a
// practitioner of Riverside (node1) through the CLI on Riverside's node:
// refused without consent, granted with it, refused after revocation,
// granted in an emergency and flagged; the patient's trail, export and
// erasure; then no node holds any of the health data in clear.
func TestRecordsAcrossTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test (-short)")
	}
	procs, dir := startConsortiumLogging(t, 2, "debug", "hospital", "hospital")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stlukes, riverside := operatorKey(t, procs[0]), operatorKey(t, procs[1])
	c0, c1 := client.New(procs[0].API), client.New(procs[1].API)
	keyFile := func(name string, k ed25519.PrivateKey) string {
		f, err := keyring.Seal(name, k, "", true)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".json")
		if err := keyring.WriteFile(path, f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	addr := func(k ed25519.PrivateKey) string { return ledger.Address(k.Public().(ed25519.PublicKey)) }
	patient, drRemote, drLocal := newPatient(t), newPatient(t), newPatient(t)
	patientFile, remoteFile, localFile := keyFile("patient", patient), keyFile("dr-remote", drRemote), keyFile("dr-local", drLocal)
	if _, err := c1.Send(ctx, patient, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	until := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	for _, p := range []struct {
		c   *client.Client
		org ed25519.PrivateKey
		dr  ed25519.PrivateKey
	}{{c1, riverside, drRemote}, {c0, stlukes, drLocal}} {
		if _, err := p.c.RegisterPractitioner(ctx, p.org, p.dr, identity.RegisterPractitioner{
			Licence: "MD-" + addr(p.dr)[:6], Profession: "doctor", ValidUntil: until}, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitIdentity(ctx, c0, patient); err != nil {
		t.Fatal(err)
	}

	// St Luke's imports the patient's record from its EHR into its own node.
	token := operatorToken(t, procs[0])
	synthea, err := os.ReadFile(filepath.Join(conformance.Dir(t, "fhir-r4"), "synthea.bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c0.ImportFHIR(ctx, token, addr(patient), synthea); err != nil {
		t.Fatal(err)
	}
	obsDoc := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},"valueString":"` + sentinels[0] + `"}`)
	out, err := c0.ImportFHIR(ctx, token, addr(patient), obsDoc)
	if err != nil {
		t.Fatal(err)
	}
	obs := out.Response["id"].(string)

	bin := primumBinary(t)
	cli := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, "--node", procs[1].API, "--home", dir)...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	mustCLI := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("primum %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	wantRefused := func(reason string, args ...string) {
		t.Helper()
		out, err := cli(args...)
		if err == nil || !strings.Contains(out, reason) {
			t.Fatalf("primum %s: want a refusal (%s), got %v\n%s", strings.Join(args, " "), reason, err, out)
		}
	}
	// Riverside's node sees the record index (the ledger) at once.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if recs, err := c1.WithKey(patient).Records(ctx, addr(patient)); err == nil && len(recs) == 28 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("node1 sees %d records (%v)", len(recs), err)
		}
	}
	fetch := []string{"records", "fetch", obs, "--from", remoteFile, "--purpose", "treatment"}
	wantRefused("no_consent", fetch...)
	mustCLI("consent", "grant", addr(drRemote), "--from", patientFile, "--categories", "observation", "--purpose", "treatment", "--valid-for", "24h")
	if out := mustCLI(fetch...); !strings.Contains(out, "matches its commitment") || !strings.Contains(out, sentinels[0]) {
		t.Fatalf("granted fetch: %s", out)
	}
	var consents []map[string]any
	if err := json.Unmarshal([]byte(mustCLI("consent", "list", "--from", patientFile, "-o", "json")), &consents); err != nil || len(consents) != 1 {
		t.Fatalf("consents: %v", err)
	}
	mustCLI("consent", "revoke", consents[0]["id"].(string), "--from", patientFile)
	wantRefused("no_consent", fetch...)
	mustCLI("records", "fetch", obs, "--from", localFile, "--purpose", "emergency", "--emergency", "patient_unconscious")

	// The custodian's node committed the last entry; Riverside's node may
	// be a moment behind.
	var trail []records.Access
	for deadline := time.Now().Add(20 * time.Second); len(trail) < 4 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := json.Unmarshal([]byte(mustCLI("records", "trail", "--from", patientFile, "-o", "json")), &trail); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, a := range trail {
		got = append(got, fmt.Sprintf("%s:%s:%v", a.Requester[:6], a.Outcome, a.Emergency))
	}
	want := []string{addr(drRemote)[:6] + ":refused:false", addr(drRemote)[:6] + ":granted:false", addr(drRemote)[:6] + ":refused:false", addr(drLocal)[:6] + ":granted:true"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("trail: %v, want %v", got, want)
	}

	exportFile := filepath.Join(dir, "export.json")
	mustCLI("records", "export", "--from", patientFile, "--out", exportFile)
	export, _ := os.ReadFile(exportFile)
	for _, s := range sentinels {
		if !bytes.Contains(export, []byte(s)) {
			t.Fatalf("the export lacks %q", s) // also shows the scan below can see these values
		}
	}

	mustCLI("records", "erase", "--from", patientFile)
	// The custodian (node0) destroys the keys as it commits the erasure;
	// the patient's own read is refused from then on.
	wantRefused("record_erased", "records", "fetch", obs, "--from", patientFile, "--purpose", "patient")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(procs[0].Log(), "records=28"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("node0 did not report destroying the 28 records' keys:\n%s", procs[0].Log())
		}
	}

	// No health data in clear on any node: block store, state, record store,
	// logs. Blocks are also read through CometBFT's RPC, decoded, in case a
	// file compresses what it holds.
	for i, p := range procs {
		height, err := c1.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for h := int64(1); h <= height.Height; h++ {
			for _, tx := range blockTxs(ctx, t, p.RPC, h) {
				for _, s := range sentinels {
					if bytes.Contains(tx, []byte(s)) {
						t.Errorf("node%d: block %d carries %q", i, h, s)
					}
				}
			}
		}
	}
	for i, p := range procs {
		p.Kill()
		for _, s := range sentinels {
			if hits := filesContaining(t, p.Home, s); len(hits) > 0 {
				t.Errorf("node%d: %q in clear in %v", i, s, hits)
			}
			if strings.Contains(p.Log(), s) {
				t.Errorf("node%d: %q in the log", i, s)
			}
		}
	}
	if len(procs[0].Log()) == 0 {
		t.Fatal("node0 logged nothing at debug level: the log scan saw nothing")
	}
}

// blockTxs reads block h's transactions from CometBFT's RPC.
func blockTxs(ctx context.Context, t *testing.T, rpc string, h int64) [][]byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/block?height=%d", rpc, h), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Result struct {
			Block struct {
				Data struct {
					Txs []string `json:"txs"`
				} `json:"data"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, s := range body.Result.Block.Data.Txs {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// filesContaining lists the files under dir that contain needle.
func filesContaining(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(needle)) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}
