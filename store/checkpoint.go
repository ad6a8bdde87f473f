package store

import "fmt"

// Checkpoint writes a consistent copy of the state on disk to dir (which
// must not exist): the last committed version, once its background write
// has finished, with the version and app hash it has. Pebble hard-links
// its immutable table files when dir is on the same file system, so this
// takes milliseconds whatever the state's size; the caller keeps Commit
// from running meanwhile (app.PauseBeforeBlock), or the copy may hold the
// next version instead.
func (s *Store) Checkpoint(dir string) (version int64, hash []byte, err error) {
	if err := s.waitSaved(); err != nil {
		return 0, nil, err
	}
	s.mu.RLock()
	version, hash = s.version, append([]byte(nil), s.hash...)
	s.mu.RUnlock()
	// The side batch (transaction results, block time) written without a
	// sync before each version went to the log ahead of the version's
	// synced batch: nothing is left to flush.
	if err := s.db.Checkpoint(dir); err != nil {
		return 0, nil, fmt.Errorf("cannot copy state store to %q: %w", dir, err)
	}
	return version, hash, nil
}
