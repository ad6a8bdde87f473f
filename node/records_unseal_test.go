package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/primum-health/primum/docstore"
)

// TestRotateKEKReplacesUnsealKey copies a home as a backup would, rotates
// the KEK, and checks what the docs promise: the copy's record store does
// not open with the home's keys, while the copy together with its own unseal
// key file (the old unseal material) still reads, so that file must be
// handled like the backup itself.
func TestRotateKEKReplacesUnsealKey(t *testing.T) {
	for _, passphrase := range []string{"", "correct horse battery staple"} {
		t.Run("passphrase="+map[bool]string{true: "set", false: "none"}[passphrase != ""], func(t *testing.T) {
			t.Setenv("PRIMUM_PASSPHRASE", passphrase)
			home := t.TempDir()
			docs, err := docstore.Open(filepath.Join(home, docstoreDir), newUnsealFiles(home))
			if err != nil {
				t.Fatal(err)
			}
			content := []byte(`{"resourceType":"Observation","valueString":"SENTINEL-PHI-Qx81vTz"}`)
			if _, err := docs.Put(docstore.Meta{ID: "r1", Patient: "p1"}, content); err != nil {
				t.Fatal(err)
			}
			docs.Close()
			backup := filepath.Join(t.TempDir(), "home")
			if err := os.CopyFS(backup, os.DirFS(home)); err != nil {
				t.Fatal(err)
			}
			oldUnseal, _ := os.ReadFile(filepath.Join(home, unsealFile))

			if term, err := RotateKEK(home); err != nil || term != 2 {
				t.Fatalf("rotate: term %d, %v", term, err)
			}
			if now, _ := os.ReadFile(filepath.Join(home, unsealFile)); bytes.Equal(now, oldUnseal) {
				t.Fatal("the unseal key file was not replaced")
			}
			if _, err := os.Stat(filepath.Join(home, unsealNextFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a prepared unseal key was left behind: %v", err)
			}
			if passphrase == "" && !strings.Contains(string(oldUnseal), "UNENCRYPTED") {
				t.Fatal("an unencrypted unseal key file does not say so")
			}
			// The backup's store with the home's current keys: sealed.
			if _, err := docstore.Open(filepath.Join(backup, docstoreDir), newUnsealFiles(home)); !errors.Is(err, docstore.ErrSealed) {
				t.Fatalf("the backup opened with the current unseal key: %v", err)
			}
			// The backup with its own, older unseal key file: readable.
			old, err := docstore.Open(filepath.Join(backup, docstoreDir), newUnsealFiles(backup))
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			if rec, err := old.Get("r1"); err != nil || !bytes.Equal(rec.Content, content) {
				t.Fatalf("the backup with its own unseal key: %v", err)
			}
			// The home still reads under the new keys.
			docs, err = docstore.Open(filepath.Join(home, docstoreDir), newUnsealFiles(home))
			if err != nil {
				t.Fatal(err)
			}
			defer docs.Close()
			if rec, err := docs.Get("r1"); err != nil || !bytes.Equal(rec.Content, content) {
				t.Fatalf("after rotation: %v", err)
			}
		})
	}
}

// TestUnsealFilesPrepareCommit: a prepared key is offered beside the current
// one until Commit makes it current.
func TestUnsealFilesPrepareCommit(t *testing.T) {
	t.Setenv("PRIMUM_PASSPHRASE", "")
	u := newUnsealFiles(t.TempDir())
	current, next, err := u.Keys()
	if err != nil || len(current) != 32 || next != nil {
		t.Fatalf("first start: %d-byte key, next %v, %v", len(current), next, err)
	}
	prepared, err := u.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	if c, n, err := u.Keys(); err != nil || !bytes.Equal(c, current) || !bytes.Equal(n, prepared) {
		t.Fatalf("after Prepare: current kept %v, next offered %v, %v", bytes.Equal(c, current), bytes.Equal(n, prepared), err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if c, n, err := u.Keys(); err != nil || !bytes.Equal(c, prepared) || n != nil {
		t.Fatalf("after Commit: %v", err)
	}
}
