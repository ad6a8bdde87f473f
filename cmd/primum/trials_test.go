package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestTrialsProve: a record of the demo's anchored batch is proven to have
// been in it, through the command a trial monitor runs; the same batch
// file with one record back-filled is not, nor is a file of another size.
func TestTrialsProve(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, n, _, _ := demotest.Seeded(t, ctx)
	bin := primumBinary(t)
	file := demo.BatchFile(home)
	prove := func(file string) (string, error) {
		b, err := exec.Command(bin, "trials", "prove", demo.CleanTrial, "1", "--file", file, "--record", "2", "--node", n.APIURL()).CombinedOutput()
		return string(b), err
	}
	if out, err := prove(file); err != nil || !strings.Contains(out, "record 2 was in batch 1 of "+demo.CleanTrial+" (3 records, root ") ||
		!strings.Contains(out, "by Riverside General Hospital (") || !strings.HasSuffix(strings.TrimSpace(out), "proven (2 hashes)") {
		t.Fatalf("prove: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "changed.jsonl")
	if err := os.WriteFile(changed, []byte(strings.Replace(string(b), `"hba1c_mmol_mol":58`, `"hba1c_mmol_mol":52`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := prove(changed); err == nil || !strings.Contains(out, "record 2 is not in batch 1 as anchored") {
		t.Fatalf("a back-filled record was proven: %v\n%s", err, out)
	}
	longer := filepath.Join(t.TempDir(), "longer.jsonl")
	if err := os.WriteFile(longer, append(b, []byte("{\"visit\":4}\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := prove(longer); err == nil || !strings.Contains(out, "the file holds 4 records, batch 1 of "+demo.CleanTrial+" holds 3") {
		t.Fatalf("a file of another size: %v\n%s", err, out)
	}
}
