package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/primum-health/primum/bench"
	"github.com/primum-health/primum/internal/localnet"
)

// TestBenchRuns runs `primum bench` briefly end to end: a real validator
// process under the signed mix at a bounded offered rate, then the kvstore
// ceiling, reported as JSON and drawn as an SVG chart; one transaction a
// request, and in batches (Primum's batch endpoint, JSON-RPC batches for
// the kvstore).
func TestBenchRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch int
	}{{"one transaction a request", 1}, {"batches", 8}} {
		t.Run(tc.name, func(t *testing.T) { benchRuns(t, tc.batch) })
	}
}

func benchRuns(t *testing.T, batch int) {
	chart := filepath.Join(t.TempDir(), "bench.svg")
	// 3 s: a wearable's first upload waits for its batch to commit, then
	// for the keeper's devices.kept; on a loaded 2-core machine that took
	// longer than a 2 s window once.
	cmd := exec.Command(primumBinary(t), "bench", "--duration", "3s", "--warmup", "0s", "--clients", "4",
		"--max-txs", "6000", "--rate", "1500", "--batch", strconv.Itoa(batch), "--json", "--chart", chart)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	var r bench.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("bench --json printed no report: %v\n%s", err, out)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"committed_tps > 0", r.CommittedTPS > 0},
		{"kvstore_tps > 0", r.KVStoreTPS > 0},
		{"ratio is primum/kvstore", r.Ratio > 0 && r.Ratio == r.CommittedTPS/r.KVStoreTPS},
		{"latency p50 <= p95 <= p99", r.LatencyP50Ms > 0 && r.LatencyP50Ms <= r.LatencyP95Ms && r.LatencyP95Ms <= r.LatencyP99Ms},
		{"cpu, memory and disk measured", r.CPUPercent > 0 && r.RSSMB > 0 && r.DiskBytesPerTx > 0},
		{"blocks followed", r.Primum != nil && r.Primum.Blocks > 0 && r.KVStore != nil && r.KVStore.Blocks > 0},
		{"mix has registrations, consents and access entries",
			r.Mix["identity.register_patient"] > 0 && r.Mix["consent.grant"] > 0 && r.Mix["records.access"] > 0},
		{"mix has EPCIS supply-chain events",
			r.Mix["supply.dispense"] > 0 && r.Mix["supply.commission"]+r.Mix["supply.capture"] > 0},
		{"mix has claims and capacity reports", r.Mix["claims.submit"] > 0 && r.Mix["capacity.report"] > 0},
		{"mix has federated learning and research aggregates", r.Mix["fl.contribute"] > 0 && r.Mix["research.cells"] > 0},
		{"mix has device batches", r.Mix["devices.batch"] > 0},
		{"mix has keeper namings and the keeper's node's indexing of uploaded readings",
			r.Mix["devices.keeper"] > 0 && r.Mix["devices.kept"] > 0 && r.Mix["records.register"] >= r.Mix["devices.kept"]},
		{"mix has organisations saying they keep wearables' readings", r.Mix["devices.keeping"] > 0},
		// An upload answers after its devices.kept commits: in a short
		// window under load, the first may answer after the window.
		{"wearables' uploads reported, none failed", r.Primum != nil && r.Primum.Uploads != nil && r.Primum.Uploads.Errors == 0},
		{"no transaction refused in a block", r.Primum != nil && r.Primum.Failed == 0},
		{"batch reported", r.Batch == batch},
		{"no submission refused", r.Primum != nil && r.Primum.SubmitErrors == 0 && r.KVStore != nil && r.KVStore.SubmitErrors == 0},
		{"offered load bounded by --rate", r.Rate == 1500 && r.Primum != nil && r.Primum.Submitted > 0 && r.Primum.Submitted <= 3*1500+15},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %s", c.name, out)
		}
	}
	svg, err := os.ReadFile(chart)
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("chart not written: %v", err)
	}
}

// TestBenchStopsWhenANodeDies: a node that exits during a run ends the run
// at once with an error naming it (its folder kept), instead of the bench
// loading a dead network until its time is up.
func TestBenchStopsWhenANodeDies(t *testing.T) {
	cmd := exec.Command(primumBinary(t), "bench", "--duration", "90s", "--warmup", "0s", "--clients", "4",
		"--max-txs", "20000", "--rate", "300", "--skip-kvstore")
	stderr := &localnet.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(stderr.String(), "loading Primum"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not start loading:\n%s", stderr.String())
		}
	}
	child := childProcess(t, cmd.Process.Pid, "node")
	start := time.Now()
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(start)
	out := stderr.String()
	if err == nil || !strings.Contains(out, "node 0 exited during the run") || !strings.Contains(out, "signal: killed") {
		t.Fatalf("bench ended with %v:\n%s", err, out)
	}
	if took > 30*time.Second {
		t.Fatalf("bench took %s to stop after its node died", took)
	}
	if i := strings.Index(out, "/primum-bench-"); i >= 0 {
		dir := out[strings.LastIndex(out[:i], " ")+1:]
		dir = strings.TrimRight(dir[:strings.IndexAny(dir, ")\n")], ")")
		os.RemoveAll(dir)
	}
}

// childProcess finds the child of parent whose command line has word as
// its second argument (Linux /proc).
func childProcess(t *testing.T, parent int, word string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil || !strings.Contains(string(status), fmt.Sprintf("\nPPid:\t%d\n", parent)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && args[1] == word {
			return pid
		}
	}
	t.Fatalf("no child %q of process %d", word, parent)
	return 0
}
