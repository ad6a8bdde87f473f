package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"
)

// flatCache keeps recently read or written values of the committed state by
// key, so that a read is one map lookup instead of a walk down the tree's
// twenty-odd levels through IAVL's node cache (a fifth of a node's CPU under
// load, mostly in CheckTx looking up signers and nonces).
//
// Each entry records the version from which its value holds; a reader of an
// older version ignores it and reads its own tree. Entries only ever become
// newer: Commit writes the block's keys at the new version, and a value read
// from the tree is kept only if it was read at the newest version. Absent
// keys are cached too (most lookups of a registration are for keys that do
// not exist yet).
//
// It is bounded by two generations of at most half the capacity each, and
// of at most flatGenerationBytes of keys and values each: when the current
// one fills, the previous one is dropped. Hot keys are read back from the
// flat index below once per generation. The cache never changes what a read
// returns, only its cost, so it has no bearing on determinism.
type flatCache struct {
	mu       sync.RWMutex
	half     int
	version  int64 // newest committed version the cache has seen
	cur, old map[string]flatEntry
	curBytes int
}

// flatGenerationBytes bounds each generation's keys and values (so the
// cache stays under about 128 MB however large the values).
const flatGenerationBytes = 64 << 20

type flatEntry struct {
	value []byte // nil: absent
	since int64
}

func newFlatCache(capacity int, version int64) *flatCache {
	half := max(capacity/2, 1)
	return &flatCache{half: half, version: version, cur: make(map[string]flatEntry, half)}
}

// get returns the value of key at version v, if the cache knows it.
func (c *flatCache) get(key []byte, v int64) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.cur[string(key)]
	if !ok {
		e, ok = c.old[string(key)]
	}
	c.mu.RUnlock()
	if !ok || e.since > v {
		return nil, false
	}
	return e.value, true
}

// remember keeps a value read from the tree at version v, unless a newer
// version has been committed since (the value may have changed in it).
func (c *flatCache) remember(key, value []byte, v int64) {
	c.mu.Lock()
	if v == c.version {
		c.put(string(key), flatEntry{value: value, since: v})
	}
	c.mu.Unlock()
}

// commit records a block's writes as the values from version v on.
func (c *flatCache) commit(writes map[string][]byte, v int64) {
	c.mu.Lock()
	for k, val := range writes {
		c.put(k, flatEntry{value: val, since: v})
	}
	c.version = v
	c.mu.Unlock()
}

func (c *flatCache) put(k string, e flatEntry) {
	if _, ok := c.cur[k]; !ok && (len(c.cur) >= c.half || c.curBytes >= flatGenerationBytes) {
		c.old, c.cur, c.curBytes = c.cur, make(map[string]flatEntry, c.half), 0
	}
	c.cur[k] = e
	c.curBytes += len(k) + len(e.value)
}

// The flat index is the same idea on disk: every key's latest committed
// value under prefix "f", beside the tree, so that a read the cache misses is
// one Pebble lookup (presentKeys answers most lookups of absent keys)
// instead of a walk down the tree. It is written after the tree at each
// Commit, with a marker of its version; if a crash leaves the marker behind
// the tree (or a store from before the index is opened), Open rebuilds it
// from the tree.

var (
	flatPrefix = []byte("f")
	flatMarker = []byte("m/flat-version")
)

func flatKey(k []byte) []byte {
	out := make([]byte, 0, len(flatPrefix)+len(k))
	return append(append(out, flatPrefix...), k...)
}

// flatGet reads key from the flat index if the index is at version v.
func (s *Store) flatGet(key []byte, v int64) (value []byte, ok bool, err error) {
	s.flatMu.RLock()
	defer s.flatMu.RUnlock()
	if s.flatVersion != v {
		return nil, false, nil
	}
	val, closer, err := s.db.Get(flatKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	value = append(make([]byte, 0, len(val)), val...) // never nil: present
	return value, true, closer.Close()
}

// writeFlat records the block's writes as version v of the flat index.
func (s *Store) writeFlat(writes map[string][]byte, v int64) error {
	b := s.db.NewBatch()
	for k, val := range writes {
		var err error
		if val == nil {
			err = b.Delete(flatKey([]byte(k)), nil)
		} else {
			err = b.Set(flatKey([]byte(k)), val, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := b.Set(flatMarker, binary.BigEndian.AppendUint64(nil, uint64(v)), nil); err != nil {
		return err
	}
	s.flatMu.Lock()
	defer s.flatMu.Unlock()
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	s.flatVersion = v
	return nil
}

// openFlat checks the flat index against the tree and rebuilds it if it is
// missing or behind.
func (s *Store) openFlat() error {
	v := s.tree.Version()
	val, closer, err := s.db.Get(flatMarker)
	switch {
	case err == nil:
		at := int64(-1)
		if len(val) == 8 {
			at = int64(binary.BigEndian.Uint64(val))
		}
		closer.Close()
		if at == v {
			s.flatVersion = v
			return nil
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	case v == 0:
		return s.writeFlat(nil, 0)
	}
	return s.rebuildFlat(v)
}

func (s *Store) rebuildFlat(v int64) error {
	b := s.db.NewBatch()
	if err := b.DeleteRange(flatPrefix, prefixEnd(flatPrefix), nil); err != nil {
		return err
	}
	if err := b.Delete(flatMarker, nil); err != nil {
		return err
	}
	if v > 0 {
		imm, err := s.tree.GetImmutable(v)
		if err != nil {
			return fmt.Errorf("cannot read state version %d: %w", v, err)
		}
		var werr error
		if _, err := imm.Iterate(func(k, val []byte) bool {
			if werr = b.Set(flatKey(k), val, nil); werr != nil {
				return true
			}
			if b.Len() > 32<<20 {
				if werr = b.Commit(pebble.NoSync); werr != nil {
					return true
				}
				b = s.db.NewBatch()
			}
			return false
		}); err != nil {
			return fmt.Errorf("cannot rebuild the flat index: %w", err)
		}
		if werr != nil {
			return fmt.Errorf("cannot rebuild the flat index: %w", werr)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	return s.writeFlat(nil, v)
}
