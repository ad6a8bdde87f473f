package app

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// registrations signs n patients' self-registrations; every fifth carries a
// signature with one bit flipped.
func registrations(h *harness, n int) (txs [][]byte, forged []bool) {
	for i := range n {
		raw := h.tx(testKey(fmt.Sprintf("batch patient %d", i)), identity.TypeRegisterPatient, struct{}{})
		bad := i%5 == 3
		if bad {
			raw = bytes.Clone(raw)
			raw[len(raw)-1-i%64] ^= 1
		}
		txs, forged = append(txs, raw), append(forged, bad)
	}
	return txs, forged
}

// TestConcurrentCheckTxSignatures: CheckTx calls that arrive together have
// their signatures checked in shared batches; each still gets its own
// answer, a forged one among valid ones included.
func TestConcurrentCheckTxSignatures(t *testing.T) {
	h := newHarness(t)
	h.block()
	txs, forged := registrations(h, 200)
	codes := make([]uint32, len(txs))
	var wg sync.WaitGroup
	for i, raw := range txs {
		wg.Go(func() {
			res, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = res.Code
		})
	}
	wg.Wait()
	for i, code := range codes {
		want := abci.CodeTypeOK
		if forged[i] {
			want = ledger.ErrBadSignature.Code
		}
		if code != want {
			t.Errorf("transaction %d (forged %v): code %d, want %d", i, forged[i], code, want)
		}
	}
}

// TestBlockOfUnseenTransactions: a node that never saw a block's
// transactions in its mempool (it catches up, or replays) checks their
// signatures in batches and reaches the same results and app hash as a
// node that admitted each through CheckTx.
func TestBlockOfUnseenTransactions(t *testing.T) {
	seen, unseen := newHarness(t), newHarness(t)
	seen.block()
	unseen.block()
	txs, forged := registrations(seen, 150)
	for _, raw := range txs {
		seen.check(raw)
	}
	a, b := seen.block(txs...), unseen.block(txs...)
	if !bytes.Equal(a.AppHash, b.AppHash) {
		t.Fatalf("app hash %X after CheckTx, %X without", a.AppHash, b.AppHash)
	}
	for i, r := range b.TxResults {
		if forged[i] {
			wantCode(t, r.Code, r.Codespace, r.Log, ledger.ErrBadSignature)
		} else if r.Code != 0 || a.TxResults[i].Code != 0 {
			t.Fatalf("transaction %d refused: %s / %s", i, r.Log, a.TxResults[i].Log)
		}
	}
}

// TestPreverifiedBatch: signatures checked together before CheckTx (a batch
// submitted through the API) are not checked again, and a forged one among
// them is still refused by CheckTx.
func TestPreverifiedBatch(t *testing.T) {
	h := newHarness(t)
	h.block()
	txs, forged := registrations(h, 100)
	h.app.Preverify(txs)
	for i, raw := range txs {
		if got := h.app.known.verified(envelope.Hash(raw)); got == forged[i] {
			t.Fatalf("transaction %d (forged %v): remembered as verified %v", i, forged[i], got)
		}
		res := h.check(raw)
		want := abci.CodeTypeOK
		if forged[i] {
			want = ledger.ErrBadSignature.Code
		}
		if res.Code != want {
			t.Errorf("transaction %d (forged %v): code %d, want %d", i, forged[i], res.Code, want)
		}
	}
}
