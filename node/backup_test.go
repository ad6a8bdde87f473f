package node_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

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
	if _, err := node.Restore(lastDir, home, false, time.Now()); err != nil {
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
// restore refuse, each says why. Both a running node's backup and a
// stopped node's are owner-only, file by file.
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
	checkOwnerOnly(t, online)
	if _, err := node.Restore(online, n.Home(), true, time.Now()); !errors.Is(err, node.ErrNodeRunning) {
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
	checkOwnerOnly(t, stopped)
	if _, err := node.Restore(stopped, n.Home(), false, time.Now()); !errors.Is(err, node.ErrHomeInUse) {
		t.Fatalf("restore over a stopped node without --force: %v", err)
	}
	r, err := node.Restore(stopped, n.Home(), true, time.Now())
	if err != nil || r.MovedAside == "" {
		t.Fatalf("restore --force: %+v %v", r, err)
	}
	if !node.Initialized(r.MovedAside) {
		t.Fatalf("the old home was not moved aside to %s", r.MovedAside)
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
			_, err = node.Restore(dir, home, false, time.Now())
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

// checkOwnerOnly fails unless every folder of a backup is 0700 and every
// file 0600 (the databases' checkpoints included: Pebble makes them 0755
// and 0644).
func checkOwnerOnly(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = os.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s in the backup: %v, want %v", p, fi.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"data/state.db", "data/blockstore.db", "data/primum"} {
		if _, err := os.Stat(filepath.Join(dir, db)); err != nil {
			t.Errorf("the backup has no %s to check: %v", db, err)
		}
	}
	t.Logf("%d files and folders of %s, owner-only", n, dir)
}

// A home whose keys are symbolic links (a Kubernetes secret mounted as
// config/priv_validator_key.json, keys/ a link to a mounted folder with
// its ..data links) is backed up with their contents as regular files,
// leaving out the secret's ..-named internals and a socket; the backup
// restores and the node starts from it. A link to nothing, or a home
// without a file restore needs, fails the backup, with no manifest
// written. The staging folder of a backup that crashed is removed by the
// next stopped-node backup and by the node's start.
func TestBackupSymlinksAndLeftovers(t *testing.T) {
	n, _ := startSingle(t, newKey(t))
	home := n.Home()
	n.Stop()
	ext := t.TempDir()

	// config/priv_validator_key.json: a link to a file out of the home.
	pvKey := filepath.Join(home, "config", "priv_validator_key.json")
	secret := filepath.Join(ext, "secret", "priv_validator_key.json")
	wantKey, err := os.ReadFile(pvKey)
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, os.MkdirAll(filepath.Dir(secret), 0o700), os.Rename(pvKey, secret), os.Symlink(secret, pvKey))
	// keys/: a link to a folder laid out as Kubernetes mounts a secret.
	keys := filepath.Join(ext, "keys")
	mustDo(t, os.Rename(filepath.Join(home, "keys"), keys),
		os.Mkdir(filepath.Join(keys, "..2025_01_02_03_04_05.1"), 0o700),
		os.WriteFile(filepath.Join(keys, "..2025_01_02_03_04_05.1", "member.json"), []byte(`{"k":1}`), 0o600),
		os.Symlink("..2025_01_02_03_04_05.1", filepath.Join(keys, "..data")),
		os.Symlink(filepath.Join("..data", "member.json"), filepath.Join(keys, "member.json")),
		os.Symlink(keys, filepath.Join(home, "keys")))
	ln, err := net.Listen("unix", filepath.Join(home, "config", "t.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	leftover := filepath.Join(home, "data", ".backup-123456")
	mustDo(t, os.MkdirAll(filepath.Join(leftover, "config"), 0o700), os.WriteFile(filepath.Join(leftover, "config", "record-store-unseal.json"), []byte("{}"), 0o600))

	for _, tc := range []struct {
		name        string
		break_, fix func() error
		want        string
	}{
		{"a link to nothing", func() error { return os.Symlink(filepath.Join(ext, "gone"), filepath.Join(home, "config", "old.json")) },
			func() error { return os.Remove(filepath.Join(home, "config", "old.json")) }, "symbolic link to " + filepath.Join(ext, "gone")},
		{"a link that loops", func() error { return os.Symlink(home, filepath.Join(home, "config", "loop")) },
			func() error { return os.Remove(filepath.Join(home, "config", "loop")) }, "loops back"},
		{"no validator key", func() error { return os.Rename(pvKey, pvKey+".moved") },
			func() error { return os.Rename(pvKey+".moved", pvKey) }, "holds no config/priv_validator_key.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustDo(t, tc.break_())
			defer func() { mustDo(t, tc.fix()) }()
			out := filepath.Join(t.TempDir(), "b")
			if _, err := node.BackupStopped(home, out); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(out, node.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed backup wrote its manifest: %v", err)
			}
		})
	}

	out := filepath.Join(t.TempDir(), "b")
	if _, err := node.BackupStopped(home, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stopped node's backup left %s: %v", leftover, err)
	}
	for f, want := range map[string]string{"config/priv_validator_key.json": string(wantKey), "keys/member.json": `{"k":1}`} {
		fi, err := os.Lstat(filepath.Join(out, f))
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("%s in the backup: %v %v, want a regular file", f, fi, err)
		}
		if b, _ := os.ReadFile(filepath.Join(out, f)); string(b) != want {
			t.Fatalf("%s in the backup: %q, want %q", f, b, want)
		}
	}
	for _, f := range []string{"keys/..data", "keys/..2025_01_02_03_04_05.1", "config/t.sock"} {
		if _, err := os.Lstat(filepath.Join(out, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s in the backup: %v, want it left out", f, err)
		}
	}
	checkOwnerOnly(t, out)

	restored := filepath.Join(t.TempDir(), "restored")
	if _, err := node.Restore(out, restored, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	leftover = filepath.Join(restored, "data", ".backup-654321")
	mustDo(t, os.MkdirAll(leftover, 0o700))
	startHome(t, restored)
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the node started with %s left: %v", leftover, err)
	}
}

func mustDo(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A restore over a home of the same validator keeps that home's signing
// state where it is further than the backup's (the node may have signed
// after the backup; signing again there is double signing), and the
// backup's otherwise; another validator's state is never taken.
func TestBackupRestoreKeepsSigningState(t *testing.T) {
	n, c := startSingle(t, newKey(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitHeight(ctx, 3); err != nil {
		t.Fatal(err)
	}
	n.Stop()
	bk := filepath.Join(t.TempDir(), "b")
	if _, err := node.BackupStopped(n.Home(), bk); err != nil {
		t.Fatal(err)
	}
	b := readSignStateTest(t, filepath.Join(bk, "data", "priv_validator_state.json"))
	if b.Height < 2 {
		t.Fatalf("the backup's signing state is at %v: want a validator that signed", b)
	}
	other := filepath.Join(t.TempDir(), "other_key.json")
	pv, err := privval.GenFilePV(other, filepath.Join(t.TempDir(), "s.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pv.Key.Save()

	for _, tc := range []struct {
		name     string
		old      *node.SignState // the replaced home's; nil: none
		otherKey bool
		kept     bool
	}{
		{"older", &node.SignState{Height: b.Height - 1, Round: 0, Step: 3}, false, false},
		{"newer height", &node.SignState{Height: b.Height + 5, Round: 0, Step: 1}, false, true},
		{"same height, later round", &node.SignState{Height: b.Height, Round: b.Round + 1, Step: 1}, false, true},
		{"same height and round, later step", &node.SignState{Height: b.Height, Round: b.Round, Step: b.Step + 1}, false, true},
		{"equal", &b, false, false},
		{"missing", nil, false, false},
		{"newer, another validator's home", &node.SignState{Height: b.Height + 5, Step: 3}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "h")
			copyDirTest(t, bk, home)
			state := filepath.Join(home, "data", "priv_validator_state.json")
			if tc.old == nil {
				mustDo(t, os.Remove(state))
			} else {
				mustDo(t, os.WriteFile(state, []byte(fmt.Sprintf(`{"height":"%d","round":%d,"step":%d}`, tc.old.Height, tc.old.Round, tc.old.Step)), 0o600))
			}
			if tc.otherKey {
				k, err := os.ReadFile(other)
				mustDo(t, err, os.WriteFile(filepath.Join(home, "config", "priv_validator_key.json"), k, 0o600))
			}
			r, err := node.Restore(bk, home, true, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := b
			if tc.kept {
				want = *tc.old
			}
			got := readSignStateTest(t, state)
			if r.SigningKept != tc.kept || r.Signing != want || got != want || r.BackupSigning != b {
				t.Fatalf("kept %v, signing %v, file %v, backup's %v: want kept %v at %v", r.SigningKept, r.Signing, got, r.BackupSigning, tc.kept, want)
			}
			if old := readSignStateTest(t, filepath.Join(r.MovedAside, "data", "priv_validator_state.json")); tc.old != nil && old != *tc.old {
				t.Fatalf("the home moved aside has signing state %v, it had %v", old, *tc.old)
			}
		})
	}
}

func readSignStateTest(t *testing.T, path string) node.SignState {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return node.SignState{}
	}
	var s privval.FilePVLastSignState
	if err != nil || cmtjson.Unmarshal(b, &s) != nil {
		t.Fatalf("%s: %v %s", path, err, b)
	}
	return node.SignState{Height: s.Height, Round: s.Round, Step: s.Step}
}
