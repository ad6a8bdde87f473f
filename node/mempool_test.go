package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
)

// sequenceChecker stands in for the app's nonce sequencing: it accepts a
// signer's transactions only in nonce order, and takes a little time.
type sequenceChecker struct {
	mu         sync.Mutex
	next       map[string]uint64
	preverfied atomic.Int64
	running    atomic.Int64 // CheckTx calls in progress
	overlapped atomic.Bool  // two ran at once
}

func (s *sequenceChecker) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	if s.running.Add(1) > 1 {
		s.overlapped.Store(true)
	}
	defer s.running.Add(-1)
	time.Sleep(time.Duration(rand.IntN(20)) * time.Microsecond)
	tx, err := envelope.Decode(req.Tx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next[string(tx.Signer)] != tx.Nonce {
		return &abci.CheckTxResponse{Code: 9, Log: fmt.Sprintf("nonce %d, expected %d", tx.Nonce, s.next[string(tx.Signer)])}, nil
	}
	s.next[string(tx.Signer)]++
	return &abci.CheckTxResponse{Code: abci.CodeTypeOK}, nil
}

func (s *sequenceChecker) Preverify(txs [][]byte) { s.preverfied.Add(int64(len(txs))) }

// TestMempoolClientAnswersInOrder: calls from many signers, queued faster
// than they are checked, are checked on several lanes (a signer's in its
// nonce order), answered in the order of the calls with callbacks run
// before their waiters are released, and Flush returns only once every
// call is answered.
func TestMempoolClientAnswersInOrder(t *testing.T) {
	checker := &sequenceChecker{next: map[string]uint64{}}
	c := newMempoolClient(nil, checker, 4)
	const signers, each = 25, 80
	var calls []*abci.CheckTxRequest
	for n := range each {
		for s := range signers {
			seed := sha256.Sum256(fmt.Appendf(nil, "signer %d", s))
			raw, err := envelope.Build("chain", ed25519.NewKeyFromSeed(seed[:]), uint64(n), "identity.register_patient", struct{}{})
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
		}
	}
	var (
		mu       sync.Mutex
		answered []int
	)
	rrs := make([]*abcicli.ReqRes, len(calls))
	for i, req := range calls {
		rr, err := c.CheckTxAsync(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		rr.SetCallback(func(res *abci.Response) error {
			mu.Lock()
			answered = append(answered, i)
			mu.Unlock()
			if code := res.GetCheckTx().Code; code != abci.CodeTypeOK {
				return fmt.Errorf("call %d refused: %s", i, res.GetCheckTx().Log)
			}
			return nil
		})
		rrs[i] = rr
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(answered) != len(calls) {
		t.Fatalf("Flush returned with %d of %d calls answered", len(answered), len(calls))
	}
	for i, got := range answered {
		if got != i {
			t.Fatalf("answer %d was call %d's: answers out of call order", i, got)
		}
		rrs[i].Wait()
		if err := rrs[i].Error(); err != nil {
			t.Fatal(err)
		}
	}
	if !checker.overlapped.Load() {
		t.Error("every check ran alone: no lanes")
	}
	if checker.preverfied.Load() == 0 {
		t.Error("no signatures were checked together")
	}
}
