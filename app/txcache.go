package app

import (
	"sync"

	"github.com/primum-health/primum/envelope"
)

// known is what this node has learnt about one transaction on its way from
// the mempool to a block: its envelope, whether its signature verified, and
// its body decoded for its handler. CheckTx learns all three when the
// transaction arrives; the proposal checks and the block's execution then
// use them instead of parsing, verifying and decoding the same bytes again.
// An entry is never changed once stored (put replaces it), so readers on
// other cores may keep what get returned.
type known struct {
	tx    *envelope.Tx // nil: not kept (only the signature's verdict is)
	sigOK bool
	body  any // nil until decoded
}

// parse completes what is known of raw with its envelope: k's own when it
// kept it, else decoded from raw (k may be nil: nothing known).
func parse(k *known, raw []byte) (*known, error) {
	if k != nil && k.tx != nil {
		return k, nil
	}
	tx, err := envelope.Decode(raw)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return &known{tx: tx}, nil
	}
	return &known{tx: tx, sigOK: k.sigOK, body: k.body}, nil
}

// txCache holds known transactions by hash, in two generations: when the
// current one is full it becomes the previous one and the oldest is
// forgotten. A miss only costs the work again; the bound is a few times
// the mempool's capacity (node/home.go), so that what waits there is
// normally known when its block comes.
type txCache struct {
	mu        sync.Mutex
	max       int // per generation
	cur, prev map[[32]byte]*known
}

func newTxCache(max int) *txCache {
	return &txCache{max: max, cur: make(map[[32]byte]*known)}
}

func (c *txCache) get(hash []byte) *known {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.cur[[32]byte(hash)]; ok {
		return k
	}
	return c.prev[[32]byte(hash)]
}

func (c *txCache) put(hash []byte, k *known) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.max {
		c.prev, c.cur = c.cur, make(map[[32]byte]*known, c.max/4)
	}
	c.cur[[32]byte(hash)] = k
}

// take removes and returns what is known of a transaction (nil if
// nothing): a block executes it once.
func (c *txCache) take(hash []byte) *known {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.cur[[32]byte(hash)]
	if ok {
		delete(c.cur, [32]byte(hash))
		return k
	}
	if k, ok = c.prev[[32]byte(hash)]; ok {
		delete(c.prev, [32]byte(hash))
	}
	return k
}

// verified reports whether a transaction's signature is known to verify.
func (c *txCache) verified(hash []byte) bool {
	k := c.get(hash)
	return k != nil && k.sigOK
}

// markVerified records that a transaction's signature verified. Only the
// verdict is kept for a transaction CheckTx has not admitted (a block's,
// or a batch's before CheckTx): what anyone may send costs this cache a
// few bytes, never the transaction.
func (c *txCache) markVerified(hash []byte) {
	k := c.get(hash)
	if k != nil && k.sigOK {
		return
	}
	n := &known{sigOK: true}
	if k != nil {
		n.tx, n.body = k.tx, k.body
	}
	c.put(hash, n)
}
