package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/localnet"
)

// runDemoProcess starts 'primum demo' (on the outside contract's fixed
// ports: this is the one test that uses them) and waits for its members file.
func runDemoProcess(t *testing.T, home string) (*exec.Cmd, *localnet.Buffer, demo.File) {
	t.Helper()
	out := &localnet.Buffer{}
	cmd := exec.Command(primumBinary(t), "demo", "--home", home, "--log-level", "error")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	deadline := time.Now().Add(3 * time.Minute) // a new demo seeds every story first
	for time.Now().Before(deadline) {
		if strings.Contains(out.String(), "Press Ctrl-C") {
			var f demo.File
			b, err := os.ReadFile(filepath.Join(home, "demo-members.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			return cmd, out, f
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("demo did not come up:\n%s", out.String())
	return nil, nil, demo.File{}
}

func stopDemo(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo did not exit cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of Ctrl-C")
	}
}

func TestDemoRunsStopsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("demo process test (-short)")
	}
	home := t.TempDir()
	cmd, out, f := runDemoProcess(t, home)
	counts := map[string]int{}
	for _, m := range f.Members {
		counts[m.Kind]++
		if _, err := os.Stat(m.KeyFile); err != nil {
			t.Fatalf("%s: key file: %v", m.Name, err)
		}
	}
	// The 7 founders, and the research institute, the second insurer and
	// the third hospital they vote in.
	if counts["organisation"] != 10 || counts["practitioner"] < 3 || counts["patient"] != 3 {
		t.Fatalf("demo members: %v", counts)
	}
	for _, want := range []string{"http://127.0.0.1:8080", "26657", "demo-members.json"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
	// Act as a demo member through the CLI with its key file.
	var patient demo.Member
	for _, m := range f.Members {
		if m.Kind == "patient" {
			patient = m
			break
		}
	}
	// A new key is registered with its holder's proof of possession: signed
	// here from its key file, or by its holder elsewhere and passed along.
	bin, keysHome := primumBinary(t), t.TempDir()
	for _, name := range []string{"glucose-1", "glucose-2"} {
		if b, err := exec.Command(bin, "keys", "add", name, "--unencrypted", "--home", keysHome).CombinedOutput(); err != nil {
			t.Fatalf("keys add: %v\n%s", err, b)
		}
	}
	cli := exec.Command(bin, "tx", "register-device", "--from", patient.KeyFile, "--key-file", filepath.Join(keysHome, "keys", "glucose-1.json"),
		"--type", "glucose-monitor", "--node", f.API, "--output", "json")
	b, err := cli.CombinedOutput()
	if err != nil || !strings.Contains(string(b), `"committed": true`) {
		t.Fatalf("tx as a demo patient: %v\n%s", err, b)
	}
	b, err = exec.Command(bin, "keys", "prove-possession", "glucose-2", "--as", "device", "--for", patient.Address,
		"--home", keysHome, "--node", f.API, "--output", "json").CombinedOutput()
	var pop struct{ Key, Proof string }
	if err != nil || json.Unmarshal(b, &pop) != nil || pop.Proof == "" {
		t.Fatalf("keys prove-possession: %v\n%s", err, b)
	}
	b, err = exec.Command(bin, "tx", "register-device", "--from", patient.KeyFile, "--key", pop.Key, "--type", "glucose-monitor",
		"--node", f.API).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--key needs --proof") {
		t.Fatalf("a key without its proof was sent: %v\n%s", err, b)
	}
	b, err = exec.Command(bin, "tx", "register-device", "--from", patient.KeyFile, "--key", pop.Key, "--proof", pop.Proof,
		"--type", "glucose-monitor", "--node", f.API).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "committed at height") {
		t.Fatalf("register-device --key --proof: %v\n%s", err, b)
	}
	// A joining organisation's init writes its membership request (keys and
	// proofs, the validator's from its own priv_validator_key.json); a
	// member proposes it as it is.
	joinHome := t.TempDir()
	b, err = exec.Command(bin, "init", "--home", joinHome, "--genesis", filepath.Join(home, "config", "genesis.json"),
		"--org-name", "St Olav Hospital", "--org-type", "hospital", "--unencrypted", "--p2p-port", "36656", "--rpc-port", "36657",
		"--api-port", "18080").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "membership-request.json") {
		t.Fatalf("init --genesis: %v\n%s", err, b)
	}
	b, err = exec.Command(bin, "tx", "propose-add-member", "--request", filepath.Join(joinHome, "membership-request.json"), "--power", "0",
		"--from", f.Member("St Luke's Hospital").KeyFile, "--node", f.API).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "committed at height") {
		t.Fatalf("propose-add-member --request: %v\n%s", err, b)
	}
	// A member's proof made elsewhere agrees to one admission: proposed as
	// another type it is refused before anything is sent; as agreed, sent.
	if b, err := exec.Command(bin, "keys", "add", "fjord", "--unencrypted", "--home", keysHome).CombinedOutput(); err != nil {
		t.Fatalf("keys add: %v\n%s", err, b)
	}
	b, err = exec.Command(bin, "keys", "prove-possession", "fjord", "--as", "member", "--for", "Fjord Clinic", "--org-type", "clinic",
		"--home", keysHome, "--node", f.API, "--output", "json").CombinedOutput()
	var memberPop struct{ Key, Proof string }
	if err != nil || json.Unmarshal(b, &memberPop) != nil || memberPop.Proof == "" {
		t.Fatalf("keys prove-possession --as member: %v\n%s", err, b)
	}
	for _, c := range []struct{ orgType, want string }{{"regulator", "[bad_key_proof]"}, {"clinic", "committed at height"}} {
		b, err = exec.Command(bin, "tx", "propose-add-member", "--name", "Fjord Clinic", "--org-type", c.orgType, "--key", memberPop.Key,
			"--key-proof", memberPop.Proof, "--from", f.Member("St Luke's Hospital").KeyFile, "--node", f.API).CombinedOutput()
		if !strings.Contains(string(b), c.want) {
			t.Fatalf("propose-add-member as a %s: %v\n%s", c.orgType, err, b)
		}
	}
	// The README tour: while the regulator suspends Dr Amara Okafor, St
	// Luke's cannot register her licence again under a fresh key.
	if b, err := exec.Command(bin, "keys", "add", "dr-amara-2", "--unencrypted", "--home", keysHome).CombinedOutput(); err != nil {
		t.Fatalf("keys add: %v\n%s", err, b)
	}
	amara, regulator := f.Member("Dr Amara Okafor").Address, f.Member("National Medicines Agency").KeyFile
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "practitioner-status", amara, "suspended", "--note", "fitness to practise", "--from", regulator}, "committed at height"},
		{[]string{"tx", "register-practitioner", "--from", f.Member("St Luke's Hospital").KeyFile, "--key-file", filepath.Join(keysHome, "keys", "dr-amara-2.json"),
			"--licence", "MD-100231", "--profession", "doctor", "--valid-until", "2030-01-01T00:00:00Z"}, "[licence_suspended]"},
		{[]string{"tx", "practitioner-status", amara, "active", "--from", regulator}, "committed at height"},
	} {
		if b, _ := exec.Command(bin, append(step.args, "--node", f.API)...).CombinedOutput(); !strings.Contains(string(b), step.want) {
			t.Fatalf("%s: want %q\n%s", strings.Join(step.args[:2], " "), step.want, b)
		}
	}
	// An answer proven against the validators' signed header, from the
	// home's genesis (SPEC F14).
	b, err = exec.Command(primumBinary(t), "query", "proof", "id/"+patient.Address, "--from", patient.KeyFile, "--home", home).CombinedOutput()
	if err != nil || !strings.Contains(string(b), `"kind":"patient"`) || !strings.Contains(string(b), "signed by 1 of 1 validators") {
		t.Fatalf("query proof: %v\n%s", err, b)
	}
	c := client.New(f.API)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // two more demos come up under it
	defer cancel()
	// Health records: Patient 1 has records at both hospitals; Dr Lena
	// Fischer may read the observations, not the prescription.
	byName := map[string]demo.Member{}
	for _, m := range f.Members {
		byName[m.Name] = m
		if m.APIToken == "" {
			t.Fatalf("%s has no API token for the portals", m.Name)
		}
	}
	recs, err := c.WithToken(byName["Patient 1"].APIToken).Records(ctx, byName["Patient 1"].Address) // the patient's to read
	// Four imported, and the two batches of the watch's readings St
	// Luke's keeps (observations too: Dr Lena Fischer's consent covers
	// them).
	if err != nil || len(recs) != 6 {
		t.Fatalf("Patient 1's records: %d, %v", len(recs), err)
	}
	for _, r := range recs {
		want := "granted"
		if r.Category == "medication" {
			want = "no_consent"
		}
		b, _ := exec.Command(primumBinary(t), "records", "fetch", r.ID, "--from", byName["Dr Lena Fischer"].KeyFile, "--node", f.API).CombinedOutput()
		if got := strings.Contains(string(b), "matches its commitment"); got != (want == "granted") || !got && !strings.Contains(string(b), want) {
			t.Fatalf("Dr Lena Fischer reading %s (%s): %s", r.ID, r.Category, b)
		}
	}
	before, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopDemo(t, cmd)

	// The operator rotates the record store's KEK while the node is down.
	if b, err := exec.Command(primumBinary(t), "records", "rotate-kek", "--home", home).CombinedOutput(); err != nil || !strings.Contains(string(b), "now term 2") {
		t.Fatalf("rotate-kek: %v\n%s", err, b)
	}

	// Again: the same chain resumes, members are not duplicated.
	cmd, out, f2 := runDemoProcess(t, home)
	if !strings.Contains(out.String(), "Resuming") {
		t.Fatalf("second run did not resume:\n%s", out)
	}
	after, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.ChainID != before.ChainID || after.Height < before.Height {
		t.Fatalf("chain did not resume: before %+v after %+v", before, after)
	}
	all, err := c.WithToken(byName["National Medicines Agency"].APIToken).Identities(ctx, "") // patients too: the regulator
	if err != nil {
		t.Fatal(err)
	}
	pseudonyms := 0 // a patient's pseudonyms beyond their key's own
	for _, m := range f2.Members {
		for _, id := range m.Pseudonyms {
			if id != m.Address {
				pseudonyms++
			}
		}
	}
	// The members, four devices (the two this test registers, Patient 1's
	// watch and St Luke's ward monitor), Patient 2 at Riverside.
	if pseudonyms != 1 || len(all) != len(f2.Members)+4+pseudonyms {
		t.Fatalf("%d identities for %d demo members + 4 devices + %d pseudonyms", len(all), len(f2.Members), pseudonyms)
	}
	// Records stored before the KEK rotation still read, and are not
	// imported twice.
	recs, err = c.WithToken(byName["Patient 1"].APIToken).Records(ctx, byName["Patient 1"].Address)
	if err != nil || len(recs) != 6 {
		t.Fatalf("Patient 1's records after resuming: %d, %v", len(recs), err)
	}
	condition := ""
	for _, r := range recs {
		if r.Category == "condition" {
			condition = r.ID
		}
	}
	if b, err := exec.Command(primumBinary(t), "records", "fetch", condition, "--from", byName["Dr Lena Fischer"].KeyFile, "--node", f.API).CombinedOutput(); err != nil {
		t.Fatalf("reading after the KEK rotation: %v\n%s", err, b)
	}
	stopDemo(t, cmd)

	// A demo whose state an earlier Primum wrote (an IAVL tree) is kept
	// aside and a new demo starts in its place.
	db, err := pebble.Open(filepath.Join(home, "data", "primum"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(db.Delete([]byte("m/state"), pebble.Sync), db.Set([]byte("ts\x00\x00\x00\x01"), []byte("node"), pebble.Sync), db.Close()); err != nil {
		t.Fatal(err)
	}
	cmd, out, f3 := runDemoProcess(t, home)
	if !strings.Contains(out.String(), "made by an earlier Primum") || !strings.Contains(out.String(), "created a new demo consortium") {
		t.Fatalf("an old-format demo was not replaced:\n%s", out)
	}
	aside, _ := filepath.Glob(home + ".old-*")
	if len(aside) != 1 {
		t.Fatalf("old demo kept aside as %v", aside)
	}
	t.Cleanup(func() { os.RemoveAll(aside[0]) })
	if _, err := os.Stat(filepath.Join(aside[0], "demo-members.json")); err != nil {
		t.Fatalf("the old demo was not kept: %v", err)
	}
	// A new ledger: the devices this test registered on the old one are
	// not there (the demo's own two are).
	regToken := ""
	for _, m := range f3.Members {
		if m.Name == "National Medicines Agency" {
			regToken = m.APIToken // the regulator sees patients too
		}
	}
	// (and Patient 2's pseudonym at Riverside, a patient of its own)
	if all, err := c.WithToken(regToken).Identities(ctx, ""); err != nil || len(all) != len(f3.Members)+1+2 {
		t.Fatalf("%d identities for %d demo members, a pseudonym and the demo's 2 devices on the new ledger (%v)", len(all), len(f3.Members), err)
	}
	stopDemo(t, cmd)
}
