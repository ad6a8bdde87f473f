package store

import (
	"errors"
	"sync"

	"github.com/cockroachdb/pebble"
)

// flatCache keeps recently read or written values of the committed state by
// key, so that a read is one map lookup instead of a Pebble lookup (most
// reads are CheckTx's lookups of signers and nonces).
//
// Each entry records the version from which its value holds; a reader of an
// older version ignores it and reads the flat index (which holds only the
// newest version: committedReader). Entries only ever become newer: Commit
// writes the block's keys at the new version, and a value read from the flat
// index is kept only if it was read at the newest version. Absent keys are
// cached too (most lookups of a registration are for keys that do not exist
// yet).
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

// reset forgets every entry: the state under the cache was replaced (a
// restore), and version is the new one's.
func (c *flatCache) reset(version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version, c.cur, c.old, c.curBytes = version, make(map[string]flatEntry, c.half), nil, 0
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

// remember keeps a value read from the flat index at version v, unless a newer
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

// The flat index holds every key's newest committed value under prefix "f":
// the state itself, beside the hash index that commits to it
// (commitment.go). A read the cache misses is one Pebble lookup
// (presentKeys answers most lookups of absent keys).
var flatPrefix = []byte("f")

func flatKey(k []byte) []byte {
	out := make([]byte, 0, len(flatPrefix)+len(k))
	return append(append(out, flatPrefix...), k...)
}

// flatGet reads key from the flat index: the newest version on disk.
func (s *Store) flatGet(key []byte) ([]byte, error) {
	if s.readFault != nil {
		if err := s.readFault(key); err != nil {
			return nil, err
		}
	}
	val, closer, err := s.db.Get(flatKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	value := append(make([]byte, 0, len(val)), val...) // never nil: present
	return value, closer.Close()
}
