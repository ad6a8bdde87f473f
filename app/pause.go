package app

import (
	"context"
	"errors"
	"sync"
)

// ErrPauseBusy is returned by PauseBeforeBlock while another pause is
// asked for or held.
var ErrPauseBusy = errors.New("block execution is already paused (another backup is running)")

// pause is one PauseBeforeBlock: FinalizeBlock closes paused when it stops
// for it, and waits for release.
type pause struct {
	paused, release chan struct{}
	once            sync.Once
}

// PauseBeforeBlock stops block execution at the start of the next
// FinalizeBlock and returns once it has stopped there; resume lets it go
// on. While it is stopped CometBFT writes neither its block store nor its
// state store (it saved the block before executing it, and saves its state
// only after Commit), and the app's state is the last committed block's
// (on disk once Store().Version() returns): the node's databases then
// agree with one another as after a crash at that point, which is what a
// backup copies. It waits for the next block, so ctx bounds the wait on a
// chain that makes none.
func (a *App) PauseBeforeBlock(ctx context.Context) (resume func(), err error) {
	p := &pause{paused: make(chan struct{}), release: make(chan struct{})}
	if !a.pauseNext.CompareAndSwap(nil, p) {
		return nil, ErrPauseBusy
	}
	resume = func() { p.once.Do(func() { close(p.release) }) }
	select {
	case <-p.paused:
		return resume, nil
	case <-ctx.Done():
		if a.pauseNext.CompareAndSwap(p, nil) {
			return nil, ctx.Err()
		}
		// FinalizeBlock took it just now: let the block go on.
		<-p.paused
		resume()
		return nil, ctx.Err()
	}
}

// waitIfPaused is FinalizeBlock's side of PauseBeforeBlock: one atomic
// load per block when no backup runs.
func (a *App) waitIfPaused() {
	if a.pauseNext.Load() == nil {
		return
	}
	if p := a.pauseNext.Swap(nil); p != nil {
		close(p.paused)
		<-p.release
	}
}
