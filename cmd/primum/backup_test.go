package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
)

// TestBackupRestoreAfterDiskLoss: a validator of a four-node consortium is
// backed up while it runs, with the real command; the chain goes on; the
// validator then loses its whole home (killed, folder deleted) and is
// restored from the backup into the same path. Started, it catches up,
// holds what was committed after the backup, and agrees with the others
// on the app hash of every block. A restore over a running node is
// refused, even with --force.
func TestBackupRestoreAfterDiskLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consortium test (-short)")
	}
	procs, _ := startConsortium(t, 4)
	bin := primumBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c0 := client.New(procs[0].API)
	register := func(n int) []ed25519.PrivateKey {
		var keys []ed25519.PrivateKey
		for range n {
			k := newPatient(t)
			if _, err := c0.Send(ctx, k, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		return keys
	}
	before := register(3)
	if err := waitIdentity(ctx, client.New(procs[3].API), before[2]); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "node3-backup")
	start := time.Now()
	b, err := exec.CommandContext(ctx, bin, "backup", "--home", procs[3].Home, "--out", out, "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("primum backup: %v\n%s", err, b)
	}
	var m struct {
		Online    bool    `json:"online"`
		PauseMS   float64 `json:"pause_ms"`
		AppHeight int64   `json:"app_height"`
		Bytes     int64   `json:"bytes"`
		Files     int     `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil || !m.Online {
		t.Fatalf("primum backup said %s (%v): want a running node's backup", b, err)
	}
	t.Logf("backup of the running node3 at height %d: paused %.1f ms, %d files, %.1f MB, %s in all",
		m.AppHeight, m.PauseMS, m.Files, float64(m.Bytes)/1e6, time.Since(start).Round(time.Millisecond))

	after := register(3)
	if b, err := exec.CommandContext(ctx, bin, "restore", "--from", out, "--home", procs[0].Home, "--force").CombinedOutput(); err == nil || !strings.Contains(string(b), "a node runs") {
		t.Fatalf("restore over running node0: %v\n%s", err, b)
	}

	// node3's disk is lost: the process, then every file of its home.
	procs[3].Kill()
	if err := os.RemoveAll(procs[3].Home); err != nil {
		t.Fatal(err)
	}
	after = append(after, register(2)...)
	if b, err := exec.CommandContext(ctx, bin, "restore", "--from", out, "--home", procs[3].Home).CombinedOutput(); err != nil {
		t.Fatalf("primum restore: %v\n%s", err, b)
	}
	restart(t, procs[3])

	s0, err := c0.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c3 := client.New(procs[3].API)
	if err := c3.WaitHeight(ctx, s0.Height); err != nil {
		t.Fatalf("restored node3 did not catch up: %v", err)
	}
	for _, k := range append(before, after...) {
		if err := waitIdentity(ctx, c3, k); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(1); h <= s0.Height; h++ {
		want, err := blockAppHash(ctx, procs[0].RPC, h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := blockAppHash(ctx, procs[3].RPC, h)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("height %d: restored node3's app hash %s, node0's %s", h, got, want)
		}
	}
}
