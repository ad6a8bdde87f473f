package app

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// A signer's transactions must execute in nonce order, but in a network
// they can reach a mempool out of it: CheckTx runs concurrently, so two of
// a signer's transactions gossiped by two peers at once can both pass the
// nonce check in order and still be appended to the mempool in the other
// order (CometBFT appends after CheckTx returns). Two things keep such a
// pair: the proposer orders each signer's transactions by nonce in its
// proposal, and the recheck after a block parks a transaction a little
// ahead of its signer's sequence instead of dropping it.

// parkWindow is how far ahead of a signer's next nonce the recheck keeps a
// transaction. New transactions are never parked: a submission with the
// wrong nonce is refused at once, as its sender expects.
const parkWindow = 64

// parkBlocks is how many blocks a parked transaction waits for its
// predecessor. Then the recheck refuses it and CometBFT drops it from the
// mempool: the predecessor is lost (refused in a block, or it never reached
// this node), and without a limit the transaction would stay, rechecked
// after every block, until the signer happened to fill the gap.
const parkBlocks = 100

// MaxPendingPerSigner bounds one signer's transactions in this node's
// mempool (a tenth of it): one key, however it sends (the API's limits
// count only what reaches the API; CometBFT's RPC and peers' gossip do
// not pass there), cannot fill the mempool and keep everyone else's
// transactions out. A new transaction past it is refused
// (signer_queue_full, 429); those already in are rechecked as before.
const MaxPendingPerSigner = 2000

// pendingCap is how many of a signer's transactions may wait: a key the
// ledger does not know may only register, once, so it waits with one at a
// time (fresh keys cost nothing where registration is open).
func pendingCap(s ledger.Signer) uint64 {
	if s.Kind == ledger.KindUnregistered {
		return 1
	}
	return MaxPendingPerSigner
}

// signerNonces is what this node's mempool holds of one signer's nonces.
type signerNonces struct {
	base  uint64            // the committed nonce: next - base are waiting
	next  uint64            // the next nonce in sequence
	ahead map[uint64]string // parked at recheck: nonce -> transaction hash
}

// takeNonce admits nonce n of identity id into the mempool's sequence
// (hash names the transaction), at most limit of them waiting (new ones;
// the recheck keeps those in). The caller holds checkMu.
func (a *App) takeNonce(r ledger.Reader, id string, n uint64, hash []byte, recheck bool, limit uint64) error {
	p, ok := a.checkNonce[id]
	if !ok {
		next, err := identity.Nonce(r, id)
		if err != nil {
			return err
		}
		p = signerNonces{base: next, next: next}
	}
	switch {
	case n == p.next && !recheck && p.next-p.base >= limit:
		return ledger.ErrSignerBusy.Wrapf("%d waiting", p.next-p.base)
	case n == p.next:
		if len(a.parkedSince) > 0 { // almost always empty: spare the hot path
			delete(a.parkedSince, string(hash))
		}
		p.next++
		for h, ok := p.ahead[p.next]; ok; h, ok = p.ahead[p.next] {
			delete(p.ahead, p.next)
			delete(a.parked, h)
			delete(a.parkedSince, h)
			p.next++
		}
	case recheck && n > p.next && n-p.next <= parkWindow && p.ahead[n] == "":
		height, _ := a.store.CommittedVersion()
		since, ok := a.parkedSince[string(hash)]
		if !ok {
			a.parkedSince[string(hash)] = height
		} else if height-since >= parkBlocks {
			delete(a.parkedSince, string(hash))
			return ledger.ErrBadNonce.Wrapf("got %d, expected %d: the transactions before it did not arrive in %d blocks", n, p.next, height-since)
		}
		if p.ahead == nil {
			p.ahead = map[uint64]string{}
		}
		p.ahead[n] = string(hash)
		a.parked[string(hash)] = struct{}{}
	default:
		return ledger.ErrBadNonce.Wrapf("got %d, expected %d", n, p.next)
	}
	a.checkNonce[id] = p
	return nil
}

// PrepareProposal proposes the mempool's transactions in its order, except
// that each signer's transactions take the places its transactions hold in
// nonce order, and a signer's transactions after a gap in its sequence wait
// for a later block (they would fail in this one and be lost).
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	txs := make([][]byte, 0, len(req.Txs))
	var size int64
	for _, raw := range req.Txs {
		if size += int64(len(raw)); size > req.MaxTxBytes {
			break
		}
		txs = append(txs, raw)
	}
	a.checkMu.Lock()
	parked := len(a.parked) > 0
	a.checkMu.Unlock()
	txs = a.inNonceOrder(txs, parked)
	// Leave out what ProcessProposal would refuse, so that every honest
	// validator accepts what an honest proposer proposes.
	kept := txs[:0]
	for i, err := range a.screen(txs) {
		if err == nil {
			kept = append(kept, txs[i])
		}
	}
	return &abci.PrepareProposalResponse{Txs: kept}, nil
}

// ProcessProposal accepts a proposal only if an honest proposer could have
// made it: every transaction decodes, is for this chain and is signed by
// its signer, and each signer's transactions follow its nonce sequence from
// the committed state without a gap or a swap. A byzantine proposer that
// reorders a signer's transactions, or slips in one it forged, would
// otherwise have honest transactions refused in the block (bad_nonce) and
// dropped from every mempool; rejected, its round passes to the next
// proposer. (CometBFT itself checks the block's size against the consensus
// parameters before it asks.)
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	if a.refusesUpgradeBlock(req.Height) {
		return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
	}
	for i, err := range a.screen(req.Txs) {
		if err != nil {
			a.metrics.proposalsRejected.Inc()
			a.log.Warn("proposal rejected: the proposer may be faulty or byzantine", "height", req.Height,
				"proposer", hex.EncodeToString(req.ProposerAddress), "tx", i, "reason", err)
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// screen says, for each transaction of a proposal in order, why an honest
// proposer would not propose it there (nil: it would). Signatures are
// checked in batches on every core, except those this node has already
// checked; the valid ones are remembered for FinalizeBlock.
func (a *App) screen(txs [][]byte) []error {
	errs := make([]error, len(txs))
	decoded := make([]*envelope.Tx, len(txs))
	bodies := make([]any, len(txs)) // decoded by this node's CheckTx, when it was
	hashes := make([][]byte, len(txs))
	var unseen []ledger.Signed
	var at []int
	chainID := a.ChainID()
	for i, raw := range txs {
		hashes[i] = envelope.Hash(raw)
		k, err := parse(a.known.get(hashes[i]), raw)
		if err == nil && k.tx.ChainID != chainID {
			err = ledger.ErrWrongChain.Wrapf("transaction is for %q", k.tx.ChainID)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		tx := k.tx
		decoded[i], bodies[i] = tx, k.body
		if !k.sigOK {
			unseen = append(unseen, tx.Signed())
			at = append(at, i)
		}
	}
	a.metrics.sigChecks.Add(float64(len(unseen)))
	for j, ok := range verifyAll(unseen) {
		if ok {
			a.known.markVerified(hashes[at[j]])
		} else {
			errs[at[j]] = ledger.ErrBadSignature
		}
	}
	committed := a.store.Committed()
	now := a.LastBlockTime()
	next := map[string]uint64{}           // signing key -> the nonce its next transaction must carry
	signers := map[string]ledger.Signer{} // signing key -> who it signs for
	for i, tx := range decoded {
		if tx == nil || errs[i] != nil {
			continue
		}
		want, ok := next[string(tx.Signer)]
		if !ok {
			signer, err := identity.Resolve(committed, tx.Signer, now)
			if err != nil && !errors.As(err, new(*ledger.Error)) {
				panic(&ledger.StorageError{Err: err})
			}
			signers[string(tx.Signer)] = signer
			want = tx.Nonce // a retired key: refused in the block whatever its nonce
			if signer.ID != "" {
				if want, err = identity.Nonce(committed, signer.ID); err != nil {
					panic(&ledger.StorageError{Err: err})
				}
			}
		}
		if tx.Nonce != want {
			errs[i] = ledger.ErrBadNonce.Wrapf("got %d, the signer's sequence is at %d", tx.Nonce, want)
			continue
		}
		if errs[i] = a.admitBody(committed, signers[string(tx.Signer)], tx, bodies[i]); errs[i] != nil {
			continue
		}
		next[string(tx.Signer)] = want + 1
	}
	return errs
}

// admitBody applies the route's Admit check (Route.Admit) to a proposed
// transaction, as CheckTx did when it arrived and again at each recheck,
// against the same committed state: an honest proposer's mempool holds no
// transaction it refuses (a registration without the voucher the
// consortium asks for), so a proposal that carries one is not honest.
func (a *App) admitBody(committed ledger.Reader, signer ledger.Signer, tx *envelope.Tx, body any) error {
	route, ok := a.routes[tx.Type]
	if !ok || route.Admit == nil {
		return nil // an unknown type is refused in the block
	}
	if body == nil {
		var err error
		if body, err = route.Handle.Decode(tx.Body); err != nil {
			return err
		}
	}
	err := route.Admit(committed, signer, body)
	if err != nil && !errors.As(err, new(*ledger.Error)) {
		panic(&ledger.StorageError{Err: err})
	}
	return err
}

// inNonceOrder orders each signer's transactions by nonce within the places
// they hold and leaves out those after a gap, and, if any transaction is
// parked, a signer's first transaction that is (its predecessor is not in
// the mempool). Transactions that do not decode stay where they are:
// FinalizeBlock refuses them.
func (a *App) inNonceOrder(txs [][]byte, parked bool) [][]byte {
	type entry struct {
		signer [ed25519.PublicKeySize]byte
		nonce  uint64
		ok     bool
	}
	entries := make([]entry, len(txs))
	count := make(map[[ed25519.PublicKeySize]byte]int, len(txs))
	repeated := false
	for i, raw := range txs {
		e := &entries[i]
		if e.signer, e.nonce, e.ok = envelope.SignerNonce(raw); !e.ok {
			continue
		}
		count[e.signer]++
		repeated = repeated || count[e.signer] > 1
	}
	if !repeated && !parked {
		return txs
	}
	// The places each signer's transactions hold, in one pass (a signer
	// with one transaction needs no reordering unless it may be parked).
	places := make(map[[ed25519.PublicKeySize]byte][]int)
	var signers [][ed25519.PublicKeySize]byte // in order of first place
	for i, e := range entries {
		if !e.ok || (count[e.signer] == 1 && !parked) {
			continue
		}
		if _, seen := places[e.signer]; !seen {
			signers = append(signers, e.signer)
		}
		places[e.signer] = append(places[e.signer], i)
	}
	out := slices.Clone(txs)
	drop := make([]bool, len(txs))
	for _, signer := range signers {
		at := places[signer]
		order := slices.Clone(at)
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(entries[x].nonce, entries[y].nonce) })
		gap := parked && a.isParked(txs[order[0]])
		for k, p := range at {
			from := order[k]
			if k > 0 && entries[from].nonce != entries[order[k-1]].nonce+1 {
				gap = true
			}
			out[p] = txs[from]
			drop[p] = gap
		}
	}
	kept := out[:0]
	for i, raw := range out {
		if !drop[i] {
			kept = append(kept, raw)
		}
	}
	return kept
}

func (a *App) isParked(raw []byte) bool {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	_, ok := a.parked[string(envelope.Hash(raw))]
	return ok
}
