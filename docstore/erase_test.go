package docstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// erasureFixture is a store holding three records to erase and three to
// keep, and a backup of it and of its unseal key taken before the erasure.
type erasureFixture struct {
	dir, unsealDir, bak string
	unseal              dirUnsealer
	oldUnseal           []byte
	erased, kept        []string
}

func newErasureFixture(t *testing.T) *erasureFixture {
	t.Helper()
	f := &erasureFixture{dir: t.TempDir(), unsealDir: t.TempDir()}
	f.unseal = mustUnsealer(t, f.unsealDir)
	s := mustOpen(t, f.dir, f.unseal)
	f.erased = putRecords(t, s, "erased", "p1", 3)
	f.kept = putRecords(t, s, "kept", "p2", 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f.bak = backupOf(t, f.dir, f.unsealDir)
	f.oldUnseal, _, _ = f.unseal.Keys()
	return f
}

// assertErasureDone checks an open store after the erasure: the erased
// records read erased, the kept ones read, the rotation the erasure owed
// is finished at term (and stays so when the store is reopened: nothing
// more is owed), and the backup does not open with the current keys.
func (f *erasureFixture) assertErasureDone(t *testing.T, s *Store, term uint32) {
	t.Helper()
	func() {
		defer s.Close()
		for _, id := range f.erased {
			if _, err := s.Get(id); !errors.Is(err, ErrErased) {
				t.Fatalf("%s: got %v, want ErrErased", id, err)
			}
		}
		mustRead(t, s, f.kept)
		assertRotated(t, s, f.dir, f.unseal, f.oldUnseal, term)
	}()
	func() {
		s := mustOpen(t, f.dir, f.unseal)
		defer s.Close()
		if s.Term() != term {
			t.Fatalf("reopened, the store rotated again: term %d, want %d", s.Term(), term)
		}
		mustRead(t, s, f.kept)
	}()
	assertBackupUnreadable(t, f.bak, f.dir, f.unseal, f.erased[0], f.kept[0])
}

// TestErasureRotatesAfterCrash stops an erasure as a crash would: after its
// deletions are committed and before the KEK rotation begins, or at a step
// of that rotation. Reopened, and erasing again as the node's start-up
// sweep does, the store finishes the rotation the erasure owed, and a
// backup taken before the erasure does not open with the current keys. On
// the code before this test, a crash before the rotation began left the KEK
// at term 1 and the unseal key unchanged for good: the sweep found every
// record erased and did nothing, and the backup opened with the current
// unseal key and decrypted the erased records.
func TestErasureRotatesAfterCrash(t *testing.T) {
	for _, step := range []string{"erasure-committed", "term-added", "rewrapped", "resealed", "unseal-committed"} {
		t.Run(step, func(t *testing.T) {
			f := newErasureFixture(t)
			s := mustOpen(t, f.dir, f.unseal)
			stopAt(t, step, func() error { return errCrash })
			if _, err := s.Erase(f.erased, time.Unix(0, 0)); !errors.Is(err, errCrash) {
				s.Close()
				t.Fatalf("the erasure did not stop at %s: %v", step, err)
			}
			s.Close()
			rotationStep = func(string) error { return nil }

			s = mustOpen(t, f.dir, f.unseal)
			if n, err := s.Erase(f.erased, time.Unix(0, 0)); err != nil || n != 0 {
				s.Close()
				t.Fatalf("erasing again after the restart: %d, %v", n, err)
			}
			f.assertErasureDone(t, s, 2)
		})
	}
}

// TestErasureRotatesAfterKill erases in a child process killed with
// SIGKILL after the erasure's deletions are committed and before the KEK
// rotation begins, then opens the store here.
func TestErasureRotatesAfterKill(t *testing.T) {
	if dir := os.Getenv("DOCSTORE_ERASE_STORE"); dir != "" {
		eraseUntilKilled(dir, os.Getenv("DOCSTORE_ERASE_UNSEAL"), strings.Split(os.Getenv("DOCSTORE_ERASE_IDS"), ","))
		return
	}
	f := newErasureFixture(t)
	killChildAt(t, "TestErasureRotatesAfterKill", "erasure committed", "DOCSTORE_ERASE_STORE="+f.dir, "DOCSTORE_ERASE_UNSEAL="+f.unsealDir,
		"DOCSTORE_ERASE_IDS="+strings.Join(f.erased, ","))

	// The kill left the erasure committed and the keyring untouched.
	current, next, _ := f.unseal.Keys()
	ring, _, err := openKeyring(filepath.Join(f.dir, keyringFile), current, next)
	if err != nil || ring.Active != 1 || len(ring.Terms) != 1 {
		t.Fatalf("the child did not stop before the rotation (%v)", err)
	}
	s := mustOpen(t, f.dir, f.unseal)
	if n, err := s.Erase(f.erased, time.Unix(0, 0)); err != nil || n != 0 {
		s.Close()
		t.Fatalf("erasing again after the restart: %d, %v", n, err)
	}
	f.assertErasureDone(t, s, 2)
}

// eraseUntilKilled is the child's side: erase, and once the deletions are
// committed say so and wait for the kill.
func eraseUntilKilled(dir, unsealDir string, ids []string) {
	s, err := Open(dir, dirUnsealer(unsealDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rotationStep = func(step string) error {
		if step == "erasure-committed" {
			fmt.Println("erasure committed")
			select {}
		}
		return nil
	}
	_, _ = s.Erase(ids, time.Unix(0, 0))
	os.Exit(3) // not reached: the parent kills this process first
}

// TestErasureRetriesRotationInProcess makes the KEK rotation after an
// erasure fail without a crash — the first keyring save, or a later step —
// and checks that the next erasure the running node makes (the sweep of its
// next block erases an empty list) finishes the rotation, with no restart.
// On the code before this test, the rotation stayed owed until a restart,
// or for good when the first save failed.
func TestErasureRetriesRotationInProcess(t *testing.T) {
	errFailed := errors.New("simulated failure")
	tests := []struct {
		name string
		step string
		fail func(f *erasureFixture) error
	}{
		{"first keyring save fails", "erasure-committed", func(f *erasureFixture) error {
			// A folder where the keyring file was: the save's rename fails,
			// as it would on a full or read-only disk (also for root).
			path := filepath.Join(f.dir, keyringFile)
			if err := os.Rename(path, path+".aside"); err != nil {
				return err
			}
			return os.Mkdir(path, 0o700)
		}},
		{"fails after the term is added", "term-added", func(*erasureFixture) error { return errFailed }},
		{"fails half-way through rewrapping", "rewrapped-chunk", func(*erasureFixture) error { return errFailed }},
		{"fails before the unseal key is prepared", "rewrapped", func(*erasureFixture) error { return errFailed }},
		{"fails before the new unseal key is committed", "resealed", func(*erasureFixture) error { return errFailed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newErasureFixture(t)
			s := mustOpen(t, f.dir, f.unseal)
			stopAt(t, tt.step, func() error { return tt.fail(f) })
			n, err := s.Erase(f.erased, time.Unix(0, 0))
			if err == nil || n != len(f.erased) {
				s.Close()
				t.Fatalf("the erasure's rotation did not fail: erased %d, %v", n, err)
			}
			path := filepath.Join(f.dir, keyringFile)
			if _, err := os.Stat(path + ".aside"); err == nil {
				// The disk is writable again.
				if err := errors.Join(os.Remove(path), os.Rename(path+".aside", path)); err != nil {
					s.Close()
					t.Fatal(err)
				}
			}

			if n, err := s.Erase(nil, time.Unix(0, 0)); err != nil || n != 0 {
				s.Close()
				t.Fatalf("the next erasure: %d, %v", n, err)
			}
			f.assertErasureDone(t, s, 2)
		})
	}
}
