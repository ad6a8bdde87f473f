package app

import (
	"runtime"
	"sync"

	"github.com/primum-health/primum/ledger"
)

// maxSigBatch bounds a batch: larger ones save little more per signature
// and keep the first caller waiting longer.
const maxSigBatch = 64

// gatherYields is how often a small batch yields the processor before it
// is checked; when the node is idle, yielding returns at once.
const gatherYields = 4

// sigBatcher checks the signatures of concurrent CheckTx calls together.
// A call that finds a core free starts a batch; calls that arrive while
// every core is busy checking wait and go into the next one. When the node
// is idle a call is checked alone, without delay; under load batches of
// 16-20 form, and a batch of 16 or more costs about 0.6 of as many single
// checks (ledger.VerifyBatch).
type sigBatcher struct {
	mu      sync.Mutex
	queue   []*sigRequest
	running int // batches being checked
	cores   int // at most this many at once
}

type sigRequest struct {
	ledger.Signed
	ok   bool
	done chan struct{}
}

func newSigBatcher() *sigBatcher { return &sigBatcher{cores: runtime.GOMAXPROCS(0)} }

// verify reports whether s is valid, as ledger.VerifySignature would.
func (b *sigBatcher) verify(s ledger.Signed) bool {
	r := &sigRequest{Signed: s, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	b.startLocked()
	b.mu.Unlock()
	<-r.done
	return r.ok
}

// startLocked starts checking the waiting signatures if a core is free.
func (b *sigBatcher) startLocked() {
	if b.running >= b.cores || len(b.queue) == 0 {
		return
	}
	b.running++
	go b.check(b.takeLocked(nil))
}

// takeLocked moves waiting requests into batch, up to maxSigBatch.
func (b *sigBatcher) takeLocked(batch []*sigRequest) []*sigRequest {
	n := min(len(b.queue), maxSigBatch-len(batch))
	batch = append(batch, b.queue[:n]...)
	b.queue = append([]*sigRequest(nil), b.queue[n:]...)
	return batch
}

func (b *sigBatcher) check(batch []*sigRequest) {
	// A small batch: first let run the callers that are about to queue
	// (under load, those the previous batch just answered). Measured with
	// BenchmarkCheckTx: without this pause batches stay near one signature
	// and save nothing; with it they hold 16-20.
	if len(batch) < maxSigBatch/4 {
		for range gatherYields {
			runtime.Gosched()
		}
		b.mu.Lock()
		batch = b.takeLocked(batch)
		b.mu.Unlock()
	}
	items := make([]ledger.Signed, len(batch))
	for i, r := range batch {
		items[i] = r.Signed
	}
	for i, ok := range ledger.VerifyBatch(items) {
		batch[i].ok = ok
		close(batch[i].done)
	}
	b.mu.Lock()
	b.running--
	b.startLocked()
	b.mu.Unlock()
}

// verifyAll checks many signatures using every core, each core a batch.
func verifyAll(items []ledger.Signed) []bool {
	ok := make([]bool, len(items))
	per := max(maxSigBatch, (len(items)+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for from := 0; from < len(items); from += per {
		to := min(from+per, len(items))
		wg.Go(func() { copy(ok[from:to], ledger.VerifyBatch(items[from:to])) })
	}
	wg.Wait()
	return ok
}
