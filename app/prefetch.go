package app

import (
	"sync"
	"sync/atomic"
)

// prefetch reads ahead, on another core, what a block's transactions will
// read that is likely on disk rather than in memory (the keys their routes
// name: ledger.Route.Reads, such as the packs a pharmacy dispenses), so
// that execution, one transaction after another, finds it in the store's
// cache. It only warms the cache, which never changes what a read returns:
// execution does not depend on it. stop ends it and waits; it must be
// called before the block is committed.
func (a *App) prefetch(txs, hashes [][]byte) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	r := a.store.Committed()
	wg.Go(func() {
		for i, raw := range txs {
			if done.Load() {
				return
			}
			// The body CheckTx decoded, read on this core while the
			// block's execution may read it on another (handlers never
			// modify their bodies); a transaction this node's mempool did
			// not see is decoded here, off the execution's path.
			k, err := parse(a.known.get(hashes[i]), raw)
			if err != nil {
				continue
			}
			route, ok := a.routes[k.tx.Type]
			if !ok || route.Reads == nil {
				continue
			}
			body := k.body
			if body == nil {
				if body, err = route.Handle.Decode(k.tx.Body); err != nil {
					continue
				}
			}
			for _, key := range route.Reads(body) {
				_, _ = r.Get(key)
			}
		}
	})
	return func() {
		done.Store(true)
		wg.Wait()
	}
}
