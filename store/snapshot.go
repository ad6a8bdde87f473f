package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Export is one committed version of the state, read while later blocks
// are executed and committed: a Pebble snapshot taken the moment the
// version was on disk. State-sync snapshots are made from it.
type Export struct {
	Version int64
	Hash    []byte
	Count   uint64 // keys in the state
	snap    *pebble.Snapshot
}

// Export pins the last committed version for reading. It waits for that
// version's write to reach the disk, so it must be called on the consensus
// thread right after Commit, before the next block can commit: then the
// version pinned is the one just committed. Close releases it.
func (s *Store) Export() (*Export, error) {
	if err := s.waitSaved(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.saving != nil {
		return nil, errors.New("store: a commit is being written")
	}
	return &Export{Version: s.version, Hash: bytes.Clone(s.hash), Count: s.count, snap: s.db.NewSnapshot()}, nil
}

// Each calls fn with every key and value of the version, in key order,
// until fn returns an error (which Each returns). k and v are valid only
// during the call.
func (e *Export) Each(fn func(k, v []byte) error) error {
	it, err := e.snap.NewIter(&pebble.IterOptions{LowerBound: flatPrefix, UpperBound: prefixEnd(flatPrefix)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		if err := fn(it.Key()[len(flatPrefix):], it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// Close releases the version.
func (e *Export) Close() error { return e.snap.Close() }

// ErrNotEmpty is returned by BeginImport for a store that holds a state.
var ErrNotEmpty = errors.New("store: the state is not empty; a state can only be restored into an empty store")

// importing is the state of a restore under way.
type importing struct {
	last  []byte // the last key imported: keys must ascend
	count uint64
}

// BeginImport prepares an empty store (no committed version) to receive a
// state by ImportPairs, dropping whatever an earlier restore that did not
// finish had written.
func (s *Store) BeginImport() error {
	if err := s.waitSaved(); err != nil {
		return err
	}
	s.mu.RLock()
	version := s.version
	s.mu.RUnlock()
	if version > 0 || len(s.block) > 0 {
		return ErrNotEmpty
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, p := range [][]byte{flatPrefix, hashPrefix, bucketPrefix} {
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return err
		}
	}
	if err := b.Delete(stateMarker, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.flat.reset(0)
	s.imp = &importing{}
	return nil
}

// ImportPairs writes keys and their values (in ascending order, after
// every key imported before) into the store being restored. Nothing is
// readable as a version until FinishImport.
func (s *Store) ImportPairs(keys, values [][]byte) error {
	if s.imp == nil {
		return errors.New("store: no restore under way (BeginImport)")
	}
	if len(keys) != len(values) {
		return errors.New("store: keys and values differ in number")
	}
	b := s.db.NewBatch()
	defer b.Close()
	added := make([]string, 0, len(keys))
	for i, k := range keys {
		if len(k) == 0 || (s.imp.last != nil && bytes.Compare(k, s.imp.last) <= 0) {
			return fmt.Errorf("%w: key %d is out of order", ErrBadImport, s.imp.count)
		}
		if values[i] == nil {
			return fmt.Errorf("%w: key %d has no value", ErrBadImport, s.imp.count)
		}
		hk := keyHash(k)
		leaf := leafHash(hk[:], values[i])
		if err := errors.Join(batchSet(b, flatPrefix, k, values[i], ""), batchSet(b, hashPrefix, hk[:], leaf[:], string(k))); err != nil {
			return err
		}
		s.imp.last = append(s.imp.last[:0], k...)
		s.imp.count++
		added = append(added, string(k))
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	s.present.add(added)
	return nil
}

// FinishImport makes the state imported the store's version, once its
// keys hash to hash: the Merkle tree is built afresh from the keys
// themselves, so a state that is not the one the app hash commits to is
// refused (ErrImportHash) and left for the next BeginImport to drop.
func (s *Store) FinishImport(version int64, hash []byte) error {
	if s.imp == nil {
		return errors.New("store: no restore under way (BeginImport)")
	}
	if version <= 0 {
		return fmt.Errorf("store: cannot restore version %d", version)
	}
	s.proofMu.Lock()
	defer s.proofMu.Unlock()
	top := newLevels()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: hashPrefix, UpperBound: prefixEnd(hashPrefix)})
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	var leaves [][hashLen]byte
	bucket := uint32(0)
	flush := func() error {
		if len(leaves) == 0 {
			return nil
		}
		root := bucketRoot(leaves)
		copy(top.node(bucketBits, bucket), root[:])
		leaves = leaves[:0]
		return b.Set(bucketKey(bucket), root[:], nil)
	}
	var count uint64
	for valid := it.First(); valid; valid = it.Next() {
		e := hashEntry(it)
		if bk := bucketOf(e.hk[:]); bk != bucket {
			if err := flush(); err != nil {
				it.Close()
				return err
			}
			bucket = bk
		}
		leaves = append(leaves, e.leaf)
		count++
	}
	if err := errors.Join(it.Error(), it.Close(), flush()); err != nil {
		return err
	}
	top.rehashAll()
	if root := top.root(); !bytes.Equal(root, hash) {
		return fmt.Errorf("%w: the %d keys received hash to %X, not to the app hash %X of height %d", ErrImportHash, count, root, hash, version)
	}
	if count != s.imp.count {
		return fmt.Errorf("store: %d keys were imported but the index holds %d", s.imp.count, count)
	}
	if err := b.Set(stateMarker, stateRecord(version, count, hash), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.mu.Lock()
	s.version, s.hash, s.count = version, bytes.Clone(hash), count
	s.cur, s.work = top, top.clone()
	s.mu.Unlock()
	s.flat.reset(version)
	s.imp = nil
	return nil
}

// ErrBadImport is returned by ImportPairs for keys out of order or without
// a value: what a well-formed state never holds.
var ErrBadImport = errors.New("store: the restored state is malformed")

// ErrImportHash is returned by FinishImport for a state that does not hash
// to the app hash it was restored for.
var ErrImportHash = errors.New("store: the restored state does not match its app hash")
