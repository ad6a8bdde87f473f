package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/keyring"
)

// A patient with a pseudonym per institution (the demo's Patient 2) reads,
// grants, enrols, rotates and erases with one key: --from alone covers
// every pseudonym its key file lists (--search: every organisation's), --at
// one of them; rotating the key rotates them all; a pseudonym without
// records does not fail the erasure of the others'.
func TestPatientPseudonymsCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	p2 := f.Member("Patient 2")
	riverside := p2.Pseudonyms["Riverside General Hospital"]
	run := func(args ...string) string {
		t.Helper()
		b, err := exec.Command(primumBinary(t), append(args, "--node", n.APIURL())...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	count := func(out, s string) int { return strings.Count(out, s) }
	if out := run("identity", "pseudonyms", "--from", p2.KeyFile); !strings.Contains(out, p2.Address) || !strings.Contains(out, riverside) {
		t.Fatalf("pseudonyms: %s", out)
	}
	if out := run("records", "list", "--from", p2.KeyFile); count(out, "stored") != 2 || !strings.Contains(out, "St Luke's") || !strings.Contains(out, "Riverside") {
		t.Fatalf("records list --from: both hospitals' records, got:\n%s", out)
	}
	if out := run("records", "list", "--from", p2.KeyFile, "--at", "Riverside General Hospital"); count(out, "stored") != 1 || !strings.Contains(out, "Riverside") {
		t.Fatalf("records list --at: Riverside's record alone, got:\n%s", out)
	}
	doctor := f.Member("Dr Lena Fischer").Address
	run("consent", "grant", doctor, "--from", p2.KeyFile, "--at", "Riverside General Hospital", "--all", "--valid-for", "7d")
	// One consent of the Riverside pseudonym, beside those the demo's
	// claims story had the patient's own identity grant.
	lines := func(out, s string) (n int) {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, s) && strings.Contains(l, "active") {
				n++
			}
		}
		return n
	}
	if out := run("consent", "list", "--from", p2.KeyFile); lines(out, riverside) != 1 {
		t.Fatalf("consent list --from: the Riverside pseudonym's consent, got:\n%s", out)
	}
	run("identity", "register-patient", "--voucher", f.Vouchers[1], "--from", p2.KeyFile, "--at", "Central Pharmacy")
	if out := run("identity", "pseudonyms", "--from", p2.KeyFile); count(out, "\n") != 3 || !strings.Contains(out, "Central Pharmacy") {
		t.Fatalf("pseudonyms after enrolling at the pharmacy:\n%s", out)
	}
	if b, err := exec.Command(primumBinary(t), "identity", "register-patient", "--voucher", f.Vouchers[2], "--from", p2.KeyFile, "--at", "Central Pharmacy",
		"--node", n.APIURL()).CombinedOutput(); err == nil || !strings.Contains(string(b), "enrolled at Central Pharmacy already") {
		t.Fatalf("enrolling twice: %v\n%s", err, b)
	}
	// A key file that lists none (a copy from before, a backup) finds only
	// the key's own, until --search asks about every organisation.
	f2, err := keyring.ReadFile(p2.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	f2.Pseudonyms = nil
	bare := filepath.Join(t.TempDir(), "bare.json")
	if err := keyring.WriteFile(bare, f2); err != nil {
		t.Fatal(err)
	}
	if out := run("identity", "pseudonyms", "--from", bare); count(out, "\n") != 1 {
		t.Fatalf("pseudonyms of a key file listing none:\n%s", out)
	}
	if out := run("identity", "pseudonyms", "--from", bare, "--search"); count(out, "\n") != 3 {
		t.Fatalf("pseudonyms --search:\n%s", out)
	}
	if out := run("identity", "pseudonyms", "--from", bare); count(out, "\n") != 3 {
		t.Fatalf("--search did not record what it found:\n%s", out)
	}
	// Rotating the key rotates every pseudonym with it: the new key finds
	// and reads them all; the old key's pseudonym keys are retired.
	keys := t.TempDir()
	run("keys", "add", "p2-new", "--unencrypted", "--home", keys)
	newKey := filepath.Join(keys, "keys", "p2-new.json")
	if b, err := exec.Command(primumBinary(t), "identity", "rotate-key", "--from", p2.KeyFile, "--at", "Riverside General Hospital", "--new", newKey,
		"--node", n.APIURL()).CombinedOutput(); err == nil || !strings.Contains(string(b), "rotated with the patient's own key") {
		t.Fatalf("a pseudonym rotated alone: %v\n%s", err, b)
	}
	run("identity", "rotate-key", "--from", p2.KeyFile, "--new", newKey)
	if out := run("identity", "pseudonyms", "--from", newKey); count(out, "\n") != 3 || !strings.Contains(out, riverside) {
		t.Fatalf("pseudonyms of the new key:\n%s", out)
	}
	if out := run("records", "list", "--from", newKey); count(out, "stored") != 2 {
		t.Fatalf("records list with the new key:\n%s", out)
	}
	if out := run("records", "erase", "--from", newKey); !strings.Contains(out, "2 record(s) erased") {
		t.Fatalf("erase: %s", out)
	}
}
