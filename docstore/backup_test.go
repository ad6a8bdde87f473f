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
	bak := t.TempDir()
	copyDir(t, dir, filepath.Join(bak, "store"))
	copyDir(t, unsealDir, filepath.Join(bak, "unseal"))

	s = mustOpen(t, dir, unseal)
	if n, err := s.Erase(erased, time.Unix(0, 0)); err != nil || n != 3 {
		t.Fatalf("erased %d: %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// restore gives a fresh copy of the backup's store, with the current
	// keyring file in place of its own when asked.
	restore := func(t *testing.T, currentKeyring bool) string {
		to := filepath.Join(t.TempDir(), "store")
		copyDir(t, filepath.Join(bak, "store"), to)
		if currentKeyring {
			b, err := os.ReadFile(filepath.Join(dir, keyringFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, keyringFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return to
	}
	t.Run("the backup does not open with the current unseal key", func(t *testing.T) {
		if _, err := Open(restore(t, false), unseal); !errors.Is(err, ErrSealed) {
			t.Fatalf("got %v, want ErrSealed", err)
		}
	})
	t.Run("the backup's wrapped keys name a KEK term the current keyring lacks", func(t *testing.T) {
		old := mustOpen(t, restore(t, true), unseal)
		defer old.Close()
		for _, id := range []string{"erased-0", "kept-0"} {
			if _, err := old.Get(id); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: got %v, want ErrCorrupt", id, err)
			}
		}
	})
	t.Run("the backup with its own unseal key still decrypts what it held", func(t *testing.T) {
		// The limit docs/records.md states: erasure cannot reach a copy of
		// the old unseal key.
		oldUnseal := dirUnsealer(filepath.Join(t.TempDir(), "unseal"))
		copyDir(t, filepath.Join(bak, "unseal"), string(oldUnseal))
		old := mustOpen(t, restore(t, false), oldUnseal)
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
