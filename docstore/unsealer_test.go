package docstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// dirUnsealer keeps unseal keys as raw files in a folder outside the store,
// as the node keeps its unseal key in HOME/config: "current" and, between
// Prepare and Commit, "next". Raw keys are fine for tests only.
type dirUnsealer string

func mustUnsealer(tb testing.TB, dir string) dirUnsealer {
	tb.Helper()
	u := dirUnsealer(dir)
	if _, err := os.Stat(u.path("current")); errors.Is(err, os.ErrNotExist) {
		if err := WriteFileDurably(u.path("current"), newKey()); err != nil {
			tb.Fatal(err)
		}
	}
	return u
}

func (u dirUnsealer) path(name string) string { return filepath.Join(string(u), name) }

func (u dirUnsealer) Keys() (current, next []byte, err error) {
	if current, err = os.ReadFile(u.path("current")); err != nil {
		return nil, nil, err
	}
	next, err = os.ReadFile(u.path("next"))
	if errors.Is(err, os.ErrNotExist) {
		return current, nil, nil
	}
	return current, next, err
}

func (u dirUnsealer) Prepare() ([]byte, error) {
	k := newKey()
	return k, WriteFileDurably(u.path("next"), k)
}

func (u dirUnsealer) Commit() error {
	if err := os.Rename(u.path("next"), u.path("current")); err != nil {
		return err
	}
	return SyncDir(string(u))
}

// copyDir copies a closed store (or any folder) file by file, as a backup
// would.
func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		tb.Fatal(err)
	}
}
