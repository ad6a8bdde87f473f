package app

import (
	"sync"
	"sync/atomic"

	"github.com/primum-health/primum/envelope"
)

// prefetch reads ahead, on another core, what a block's transactions will
// read that is likely on disk rather than in memory (the keys their routes
// name: ledger.Route.Reads, such as the packs a pharmacy dispenses), so
// that execution, one transaction after another, finds it in the store's
// cache. It only warms the cache, which never changes what a read returns:
// execution does not depend on it. stop ends it and waits; it must be
// called before the block is committed.
func (a *App) prefetch(txs [][]byte) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	r := a.store.Committed()
	wg.Go(func() {
		for _, raw := range txs {
			if done.Load() {
				return
			}
			tx, err := envelope.Decode(raw)
			if err != nil {
				continue
			}
			route, ok := a.routes[tx.Type]
			if !ok || route.Reads == nil {
				continue
			}
			for _, key := range route.Reads(tx.Body) {
				_, _ = r.Get(key)
			}
		}
	})
	return func() {
		done.Store(true)
		wg.Wait()
	}
}
