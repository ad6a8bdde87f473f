package store

import "sync"

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
// It is bounded by two generations of at most half the capacity each: when
// the current one fills, the previous one is dropped. Hot keys are read back
// from the tree once per generation. The cache never changes what a read
// returns, only its cost, so it has no bearing on determinism.
type flatCache struct {
	mu       sync.RWMutex
	half     int
	version  int64 // newest committed version the cache has seen
	cur, old map[string]flatEntry
}

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
	if _, ok := c.cur[k]; !ok && len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[string]flatEntry, c.half)
	}
	c.cur[k] = e
}
