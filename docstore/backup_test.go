package docstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestErasureAndBackups copies the store and its unseal key before an
// erasure, as a backup would, and checks each claim of docs/records.md
// ("Erasure and backups") against the copy.
func TestErasureAndBackups(t *testing.T) {
	dir, unsealDir := t.TempDir(), t.TempDir()
	unseal := mustUnsealer(t, unsealDir)
	s := mustOpen(t, dir, unseal)
	erased := putRecords(t, s, "erased", "p1", 3)
	putRecords(t, s, "kept", "p2", 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bak := backupOf(t, dir, unsealDir)

	s = mustOpen(t, dir, unseal)
	if n, err := s.Erase(erased, time.Unix(0, 0)); err != nil || n != 3 {
		t.Fatalf("erased %d: %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	assertBackupUnreadable(t, bak, dir, unseal, "erased-0", "kept-0")
	t.Run("the backup with its own unseal key still decrypts what it held", func(t *testing.T) {
		// The limit docs/records.md states: erasure cannot reach a copy of
		// the old unseal key.
		oldUnseal := dirUnsealer(filepath.Join(t.TempDir(), "unseal"))
		copyDir(t, filepath.Join(bak, "unseal"), string(oldUnseal))
		old := mustOpen(t, restoreBackup(t, bak, dir, false), oldUnseal)
		defer old.Close()
		if rec, err := old.Get("erased-0"); err != nil || !bytes.Equal(rec.Content, sentinel) {
			t.Fatalf("got %v", err)
		}
		// Restored and started, a node erases again what the ledger says
		// was erased (node.sweepErasures), and the copied unseal key is
		// replaced with it.
		if _, err := old.Erase(erased, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Get("erased-0"); !errors.Is(err, ErrErased) {
			t.Fatalf("after erasing again: %v", err)
		}
		mustRead(t, old, []string{"kept-0", "kept-1", "kept-2"})
	})
}

// backupOf copies a closed store and its unseal key folder, as a backup
// would, and returns the backup's folder.
func backupOf(tb testing.TB, dir, unsealDir string) string {
	tb.Helper()
	bak := tb.TempDir()
	copyDir(tb, dir, filepath.Join(bak, "store"))
	copyDir(tb, unsealDir, filepath.Join(bak, "unseal"))
	return bak
}

// restoreBackup gives a fresh copy of the backup's store, with the current
// keyring file of the store in dir in place of its own when asked.
func restoreBackup(tb testing.TB, bak, dir string, currentKeyring bool) string {
	tb.Helper()
	to := filepath.Join(tb.TempDir(), "store")
	copyDir(tb, filepath.Join(bak, "store"), to)
	if currentKeyring {
		b, err := os.ReadFile(filepath.Join(dir, keyringFile))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, keyringFile), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return to
}

// assertBackupUnreadable checks the first two claims of docs/records.md
// ("Erasure and backups") against a backup taken before an erasure: the
// current unseal key does not open it, and with the current keyring in its
// place none of the records named decrypts.
func assertBackupUnreadable(t *testing.T, bak, dir string, current Unsealer, ids ...string) {
	t.Helper()
	t.Run("the backup does not open with the current unseal key", func(t *testing.T) {
		old, err := Open(restoreBackup(t, bak, dir, false), current)
		if err == nil {
			defer old.Close()
			rec, err := old.Get(ids[0])
			t.Fatalf("the backup opens, and %s reads: %v (decrypted: %t)", ids[0], err, err == nil && bytes.Equal(rec.Content, sentinel))
		}
		if !errors.Is(err, ErrSealed) {
			t.Fatalf("got %v, want ErrSealed", err)
		}
	})
	t.Run("the backup's wrapped keys name a KEK term the current keyring lacks", func(t *testing.T) {
		old := mustOpen(t, restoreBackup(t, bak, dir, true), current)
		defer old.Close()
		for _, id := range ids {
			if _, err := old.Get(id); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: got %v, want ErrCorrupt", id, err)
			}
		}
	})
}
