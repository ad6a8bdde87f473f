//go:build byzantine

package app

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
)

// This file is compiled only with -tags byzantine: cmd/primum's consortium
// tests build one validator so, to check that the honest ones refuse what it
// proposes (ProcessProposal). No production build contains it, and
// TestProductionBuildHasNoByzantineCode checks the binary for it.

// Misbehaviours a Byzantine proposer knows. Each breaks one rule ProcessProposal
// enforces, in a way that would cost honest transactions if it were committed.
const (
	// MisbehaveReorder swaps a signer's first two transactions in the
	// proposal: the first would be refused in the block (bad_nonce) and, as
	// a committed transaction, dropped from every mempool.
	MisbehaveReorder = "reorder"
	// MisbehaveForge slips in, before a transaction, a copy of it whose
	// signature is corrupted.
	MisbehaveForge = "forge"
)

// Byzantine is the app with a proposer that breaks the rules: when it
// proposes, it takes the honest proposal and applies its misbehaviours in
// turn (one per proposal, the next that the proposal gives a chance to; if
// none does, the proposal stays honest). It votes for every proposal, its
// own included, as a byzantine validator would.
type Byzantine struct {
	*App
	modes []string

	mu   sync.Mutex
	next int
}

// NewByzantine wraps a with the misbehaviours listed in modes, separated
// by commas.
func NewByzantine(a *App, modes string) (*Byzantine, error) {
	b := &Byzantine{App: a}
	for _, m := range strings.Split(modes, ",") {
		switch m = strings.TrimSpace(m); m {
		case MisbehaveReorder, MisbehaveForge:
			b.modes = append(b.modes, m)
		default:
			return nil, fmt.Errorf("unknown misbehaviour %q (want %s or %s)", m, MisbehaveReorder, MisbehaveForge)
		}
	}
	return b, nil
}

// PrepareProposal proposes the honest proposal with one misbehaviour applied.
func (b *Byzantine) PrepareProposal(ctx context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	res, err := b.App.PrepareProposal(ctx, req)
	if err != nil {
		return res, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.modes {
		mode := b.modes[b.next%len(b.modes)]
		b.next++
		if txs, ok := misbehave(mode, res.Txs); ok {
			// At error level so that a node logging only errors still says it.
			b.log.Error("byzantine proposal", "misbehaviour", mode, "height", req.Height, "txs", len(txs))
			res.Txs = txs
			break
		}
	}
	return res, nil
}

// ProcessProposal accepts every proposal.
func (b *Byzantine) ProcessProposal(context.Context, *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// misbehave applies one misbehaviour to a proposal's transactions, if the
// proposal gives it a chance.
func misbehave(mode string, txs [][]byte) ([][]byte, bool) {
	switch mode {
	case MisbehaveReorder:
		first := map[[ed25519.PublicKeySize]byte]int{}
		for i, raw := range txs {
			signer, _, ok := envelope.SignerNonce(raw)
			if !ok {
				continue
			}
			if j, seen := first[signer]; seen {
				out := slices.Clone(txs)
				out[i], out[j] = out[j], out[i]
				return out, true
			}
			first[signer] = i
		}
	case MisbehaveForge:
		for i, raw := range txs {
			if _, err := envelope.Decode(raw); err != nil {
				continue
			}
			forged := slices.Clone(raw)
			forged[len(forged)-ed25519.SignatureSize] ^= 0x01 // the signature's R
			return slices.Insert(slices.Clone(txs), i, forged), true
		}
	}
	return nil, false
}
