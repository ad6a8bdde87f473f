package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

// PauseBeforeBlock holds the next block at its start until resumed, one
// pause at a time; a pause no block came for gives up and leaves the next
// block alone.
func TestPauseBeforeBlock(t *testing.T) {
	h := newHarness(t)
	h.block()

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.app.PauseBeforeBlock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no block came: %v", err)
	}
	h.block() // not held by the pause that gave up

	done := make(chan struct{})
	paused := make(chan func())
	go func() {
		resume, err := h.app.PauseBeforeBlock(context.Background())
		if err != nil {
			t.Error(err)
		}
		paused <- resume
	}()
	for h.app.pauseNext.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	if _, err := h.app.PauseBeforeBlock(context.Background()); !errors.Is(err, ErrPauseBusy) {
		t.Fatalf("a second pause: %v", err)
	}
	go func() { h.block(); close(done) }()
	resume := <-paused
	v, _ := h.app.CommittedVersion()
	select {
	case <-done:
		t.Fatal("the block ran during the pause")
	case <-time.After(100 * time.Millisecond):
	}
	if now, _ := h.app.CommittedVersion(); now != v || v != 2 {
		t.Fatalf("committed %d during the pause, from %d", now, v)
	}
	resume()
	resume() // harmless
	<-done
	if v, _ := h.app.CommittedVersion(); v != 3 {
		t.Fatalf("after the pause: height %d, want 3", v)
	}
}
