//go:build byzantine

package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/ledger"
)

// TestByzantineProposalsAreRefused: each misbehaviour turns an honest
// proposal into one that an honest validator refuses and the byzantine one
// accepts; committed as proposed, it would have cost an honest transaction
// (reorder) or carried a forgery (forge). A proposal that gives a
// misbehaviour no chance stays honest. (go test -tags byzantine ./app)
func TestByzantineProposalsAreRefused(t *testing.T) {
	for _, c := range []struct {
		mode      string
		wantCodes []uint32 // the altered proposal's results, executed as it is
	}{
		{MisbehaveReorder, []uint32{ledger.ErrBadNonce.Code, 0, 0}},
		{MisbehaveForge, []uint32{ledger.ErrBadSignature.Code, 0, 0, 0}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			h := newHarness(t)
			b, err := NewByzantine(h.app, c.mode)
			if err != nil {
				t.Fatal(err)
			}
			org, n := hospitalKey, h.nonces[pubHex(hospitalKey)]
			mempool := [][]byte{h.deviceTx(org, n), h.nonceTx(testKey("byz-patient"), 0), h.deviceTx(org, n+1)}
			ctx := context.Background()
			prep, err := b.PrepareProposal(ctx, &abci.PrepareProposalRequest{Height: h.height + 1, Txs: mempool, MaxTxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(prep.Txs) != len(c.wantCodes) {
				t.Fatalf("byzantine proposal has %d transactions, want %d", len(prep.Txs), len(c.wantCodes))
			}
			req := &abci.ProcessProposalRequest{Height: h.height + 1, Txs: prep.Txs}
			if res, _ := h.app.ProcessProposal(ctx, req); res.Status != abci.PROCESS_PROPOSAL_STATUS_REJECT {
				t.Fatal("an honest validator accepted a byzantine proposal")
			}
			if res, _ := b.ProcessProposal(ctx, req); res.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
				t.Fatal("the byzantine validator refused its own proposal")
			}
			res := h.block(prep.Txs...)
			for i, r := range res.TxResults {
				if r.Code != c.wantCodes[i] {
					t.Fatalf("executed as proposed, transaction %d: code %d (%s), want %d", i, r.Code, r.Log, c.wantCodes[i])
				}
			}
		})
	}
	t.Run("no chance stays honest", func(t *testing.T) {
		h := newHarness(t)
		b, err := NewByzantine(h.app, "reorder")
		if err != nil {
			t.Fatal(err)
		}
		mempool := [][]byte{h.nonceTx(testKey("byz-c"), 0), h.nonceTx(testKey("byz-d"), 0)}
		prep, _ := b.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: mempool, MaxTxBytes: 1 << 20})
		res, _ := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: h.height + 1, Txs: prep.Txs})
		if len(prep.Txs) != 2 || res.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
			t.Fatalf("a proposal with nothing to reorder: %d transactions, %v", len(prep.Txs), res.Status)
		}
	})
	if _, err := NewByzantine(newHarness(t).app, "reorder,lie"); err == nil {
		t.Fatal("an unknown misbehaviour was accepted")
	}
}
