package docstore

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"

	"github.com/primum-health/primum/store"
)

// Checkpoint writes a consistent copy of the open store to dir (which must
// not exist): its Pebble database and its sealed keyring, taken while no
// KEK rotation runs, so that the keyring opens every data key the copy
// holds. keys, called at the same moment, copies the unseal key files the
// keyring is sealed under (they live outside the store, see Unsealer): a
// copy of the store is readable only with those. Records keep being
// written and read meanwhile.
func (s *Store) Checkpoint(dir string, keys func() error) error {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	// rotateMu held, the keyring (and its path) do not change.
	return checkpoint(s.db, filepath.Dir(s.ring.path), dir, keys)
}

// CheckpointClosed is Checkpoint for the store in from while no process
// has it open: it takes the database's lock, so it fails while a node runs
// on it. The unseal key files do not change while it runs (only an open
// store rotates them): the caller copies them.
func CheckpointClosed(from, dir string) error {
	db, err := pebble.Open(filepath.Join(from, "db"), &pebble.Options{Logger: store.QuietLogger{}, ErrorIfNotExists: true})
	if err != nil {
		return fmt.Errorf("cannot open record store %q (is its node running?): %w", from, err)
	}
	defer db.Close()
	return checkpoint(db, from, dir, func() error { return nil })
}

func checkpoint(db *pebble.DB, from, dir string, keys func() error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(from, keyringFile))
	if err != nil {
		return fmt.Errorf("cannot copy the record store's keyring: %w", err)
	}
	if err := WriteFileDurably(filepath.Join(dir, keyringFile), b); err != nil {
		return err
	}
	if err := db.Checkpoint(filepath.Join(dir, "db"), pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("cannot copy the record store's database: %w", err)
	}
	return keys()
}
