package store

import (
	"sync"
	"sync/atomic"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/cockroachdb/pebble"
)

// presentKeys answers "certainly absent" for keys the state has not held
// since the store was opened, so that looking up a key that does not exist
// yet — a new patient's identity and nonce, at CheckTx and again in the
// block — costs a few hashes instead of a Pebble lookup through the
// memtables and every level (~6 % of a node's CPU under the bench's mix,
// docs/performance.md).
//
// It holds every key of the flat index as the store opened, loaded in the
// background (until then it answers nothing), and every key a commit
// writes, added before readers can see the commit. Keys are never removed
// (a deleted key stays a "maybe"), so it answers for every version a reader
// can hold. When the newest filter has taken as many keys as it was sized
// for, a new one twice as large takes the next; a key may be present if
// any filter says so, so the false "maybe"s stay near presentFP per filter.
// It never changes what a read returns, only its cost, so it has no bearing
// on determinism. Memory: about 1.2 bytes a key.
type presentKeys struct {
	mu       sync.RWMutex
	filters  []*bloom.BloomFilter
	added    uint // keys added to the newest filter
	capacity uint // keys the newest filter is sized for
	ready    atomic.Bool

	stop chan struct{}
	done chan struct{}
}

// presentFP is each filter's rate of false "maybe"s when full.
const presentFP = 0.01

// presentMinKeys is the smallest filter's size, in keys (~1.2 MB).
const presentMinKeys = 1 << 20

func newPresentKeys(expected, minKeys uint) *presentKeys {
	c := max(minKeys, 2*expected)
	return &presentKeys{filters: []*bloom.BloomFilter{bloom.NewWithEstimates(c, presentFP)}, capacity: c,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// add records keys as present.
func (p *presentKeys) add(keys []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		if p.added >= p.capacity {
			p.capacity *= 2
			p.filters = append(p.filters, bloom.NewWithEstimates(p.capacity, presentFP))
			p.added = 0
		}
		p.filters[len(p.filters)-1].AddString(k)
		p.added++
	}
}

// absent reports whether key is certainly not in the state.
func (p *presentKeys) absent(key []byte) bool {
	if !p.ready.Load() {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, f := range p.filters {
		if f.Test(key) {
			return false
		}
	}
	return true
}

// flatKeys iterates the flat index as it is now: the keys present.
func flatKeys(db *pebble.DB) (*pebble.Iterator, error) {
	return db.NewIter(&pebble.IterOptions{LowerBound: flatPrefix, UpperBound: prefixEnd(flatPrefix)})
}

// load adds the keys it iterates (flatKeys, taken when the store opened, so
// that a key a later commit deletes is still there for readers of the
// version before), then answers. Run once, in its own goroutine; close ends
// it early.
func (p *presentKeys) load(it *pebble.Iterator) {
	defer close(p.done)
	defer it.Close()
	batch := make([]string, 0, 4096)
	for valid := it.First(); ; valid = it.Next() {
		if !valid || len(batch) == cap(batch) {
			p.add(batch)
			batch = batch[:0]
		}
		if !valid {
			break
		}
		select {
		case <-p.stop:
			return
		default:
		}
		batch = append(batch, string(it.Key()[len(flatPrefix):]))
	}
	if it.Error() == nil {
		p.ready.Store(true)
	}
}

// close stops a load still running and waits for it.
func (p *presentKeys) close() {
	close(p.stop)
	<-p.done
}
