package app

import "sync"

// sigCache remembers transactions whose signature CheckTx verified, so
// FinalizeBlock need not verify them again. Bounded: when full it forgets
// everything (a miss only costs a second verification).
type sigCache struct {
	mu   sync.Mutex
	max  int
	seen map[[32]byte]struct{}
}

func newSigCache(max int) *sigCache { return &sigCache{max: max, seen: make(map[[32]byte]struct{})} }

func (c *sigCache) has(hash []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[[32]byte(hash)]
	return ok
}

func (c *sigCache) add(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= c.max {
		clear(c.seen)
	}
	c.seen[[32]byte(hash)] = struct{}{}
}

func (c *sigCache) remove(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, [32]byte(hash))
}
