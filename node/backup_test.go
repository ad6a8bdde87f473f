package node_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/node"
)

// A running node's backup, taken while transactions keep arriving, is a
// ledger CometBFT starts from: restored into a new home (the original
// stopped: one validator key, one signer), the node executes again the
// block it held and goes on, and its app hash after that block is the one
// the original node reached. Each backup's heights are ones CometBFT's
// handshake accepts.
func TestBackupUnderLoadRestores(t *testing.T) {
	n, c := startSingle(t, newKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for load.Err() == nil {
				_, _ = c.Send(load, newKey(t), identity.TypeRegisterPatient, struct{}{}, false)
			}
		}()
	}
	var last *node.Manifest
	var lastDir string
	for i := range 3 {
		time.Sleep(300 * time.Millisecond)
		lastDir = filepath.Join(t.TempDir(), "backup")
		start := time.Now()
		m, err := node.Backup(ctx, n.Home(), lastDir)
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if !m.Online || m.BlockHeight != m.StateHeight+1 || m.AppHeight != m.StateHeight {
			t.Fatalf("backup %d: online %v, app %d, state %d, blocks %d: want a copy paused before a block", i, m.Online, m.AppHeight, m.StateHeight, m.BlockHeight)
		}
		t.Logf("backup %d at height %d: paused %.1f ms, %d files, %.1f MB, %s", i, m.AppHeight, m.PauseMS, len(m.Files), float64(m.Size())/1e6, time.Since(start).Round(time.Millisecond))
		last = m
	}
	stopLoad()
	wg.Wait()
	if err := c.WaitHeight(ctx, last.BlockHeight+2); err != nil {
		t.Fatal(err)
	}
	// The header of block h+1 holds the app hash after block h.
	b, _ := n.Comet.BlockStore().LoadBlock(last.BlockHeight + 1)
	want := b.AppHash
	n.Stop()

	for _, f := range []string{"config/priv_validator_key.json", "config/node_key.json", "config/record-store-unseal.json", "data/records/kek.sealed", "data/priv_validator_state.json"} {
		if fi, err := os.Stat(filepath.Join(lastDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s in the backup: %v %v, want an owner-only file", f, fi, err)
		}
	}
	home := filepath.Join(t.TempDir(), "restored")
	if _, _, err := node.Restore(lastDir, home, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, rc := startHome(t, home)
	if err := rc.WaitHeight(ctx, last.BlockHeight+1); err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Comet.BlockStore().LoadBlock(last.BlockHeight + 1); !bytes.Equal(b.AppHash, want) {
		t.Fatalf("restored node's app hash after block %d: %X, the original's %X", last.BlockHeight, b.AppHash, want)
	}
	if v, h := r.App.CommittedVersion(); v <= last.AppHeight {
		t.Fatalf("restored node at height %d (%X), the backup's %d", v, h, last.AppHeight)
	}
}

// A stopped node is copied as it is, and restored; what a backup and a
// restore refuse, each says why.
func TestBackupRefusals(t *testing.T) {
	n, c := startSingle(t, newKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Send(ctx, newKey(t), identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Backup(ctx, n.Home(), full); !errors.Is(err, node.ErrOutNotEmpty) && !strings.Contains(err.Error(), node.ErrOutNotEmpty.Error()) {
		t.Fatalf("backup into a folder with files: %v", err)
	}
	if _, err := node.Backup(ctx, n.Home(), filepath.Join(n.Home(), "backup")); err == nil || !strings.Contains(err.Error(), "inside the home") {
		t.Fatalf("backup inside the home: %v", err)
	}
	online := filepath.Join(t.TempDir(), "b")
	if _, err := node.Backup(ctx, n.Home(), online); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.Restore(online, n.Home(), true, time.Now()); !errors.Is(err, node.ErrNodeRunning) {
		t.Fatalf("restore over a running node, --force: %v", err)
	}
	height, hash := n.App.CommittedVersion()
	n.Stop()

	stopped := filepath.Join(t.TempDir(), "b")
	m, err := node.Backup(ctx, n.Home(), stopped)
	if err != nil {
		t.Fatal(err)
	}
	if m.Online || m.AppHeight != height || m.AppHash != hex.EncodeToString(hash) {
		t.Fatalf("stopped node's backup: online %v at %d %s, the node was at %d %X", m.Online, m.AppHeight, m.AppHash, height, hash)
	}
	if _, _, err := node.Restore(stopped, n.Home(), false, time.Now()); !errors.Is(err, node.ErrHomeInUse) {
		t.Fatalf("restore over a stopped node without --force: %v", err)
	}
	_, aside, err := node.Restore(stopped, n.Home(), true, time.Now())
	if err != nil || aside == "" {
		t.Fatalf("restore --force: %q %v", aside, err)
	}
	if !node.Initialized(aside) {
		t.Fatalf("the old home was not moved aside to %s", aside)
	}

	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string, m *node.Manifest)
		want   string
	}{
		{"a file altered", func(t *testing.T, dir string, m *node.Manifest) {
			p := filepath.Join(dir, "config", "genesis.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("{"), []byte("{ "), 1), 0o600)
		}, "config/genesis.json is damaged"},
		{"a file missing", func(t *testing.T, dir string, m *node.Manifest) {
			os.Remove(filepath.Join(dir, "data", "priv_validator_state.json"))
		}, "priv_validator_state.json"},
		{"the manifest unreadable", func(t *testing.T, dir string, m *node.Manifest) {
			os.WriteFile(filepath.Join(dir, node.ManifestFile), []byte("{"), 0o600)
		}, "cannot parse"},
		{"no manifest (unfinished)", func(t *testing.T, dir string, m *node.Manifest) {
			os.Remove(filepath.Join(dir, node.ManifestFile))
		}, "unfinished backup"},
		{"a path out of the folder", func(t *testing.T, dir string, m *node.Manifest) {
			m.Files[0].Path = "../../etc/passwd"
			writeManifest(t, dir, m)
		}, "../../etc/passwd"},
		{"heights CometBFT would not start from", func(t *testing.T, dir string, m *node.Manifest) {
			m.BlockHeight = m.StateHeight + 5
			writeManifest(t, dir, m)
		}, "block store at"},
		{"another app hash", func(t *testing.T, dir string, m *node.Manifest) {
			m.AppHash = strings.Repeat("00", 32)
			writeManifest(t, dir, m)
		}, "app hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			copyDirTest(t, stopped, dir)
			m, err := node.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir, m)
			home := filepath.Join(t.TempDir(), "h")
			_, _, err = node.Restore(dir, home, false, time.Now())
			if !errors.Is(err, node.ErrBadBackup) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadBackup saying %q", err, tc.want)
			}
			if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused restore left %s: %v", home, err)
			}
		})
	}
}

func writeManifest(t *testing.T, dir string, m *node.Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, node.ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyDirTest copies a folder's files (a backup, to damage a copy of it).
func copyDirTest(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
