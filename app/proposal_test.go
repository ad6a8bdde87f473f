package app

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// nonceTx signs a patient registration of key with the given nonce (the
// body does not matter to ordering).
func (h *harness) nonceTx(key ed25519.PrivateKey, nonce uint64) []byte {
	h.t.Helper()
	raw, err := envelope.Build(testChain, key, nonce, identity.TypeRegisterPatient, struct{}{})
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

// deviceTx signs an organisation's device registration with the given nonce.
func (h *harness) deviceTx(org ed25519.PrivateKey, nonce uint64) []byte {
	h.t.Helper()
	raw, err := envelope.Build(testChain, org, nonce, identity.TypeRegisterDevice,
		device(org, testKey(fmt.Sprint("device-", nonce)), "infusion-pump"))
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

func TestProposalOrdersEachSignersTransactionsByNonce(t *testing.T) {
	const a, b, c = "order-a", "order-b", "order-c"
	type tx struct {
		key   string // testKey's name
		nonce uint64
	}
	tests := []struct {
		name string
		in   []tx
		want []tx
	}{
		{"in order stays", []tx{{a, 0}, {b, 0}, {a, 1}}, []tx{{a, 0}, {b, 0}, {a, 1}}},
		{"swapped pair", []tx{{a, 1}, {a, 0}}, []tx{{a, 0}, {a, 1}}},
		{"swap keeps the others' places", []tx{{a, 2}, {b, 0}, {a, 0}, {c, 0}, {a, 1}}, []tx{{a, 0}, {b, 0}, {a, 1}, {c, 0}, {a, 2}}},
		{"after a gap waits", []tx{{a, 0}, {b, 0}, {a, 2}, {a, 3}}, []tx{{a, 0}, {b, 0}}},
		{"duplicate nonce waits", []tx{{a, 0}, {a, 1}, {a, 1}}, []tx{{a, 0}, {a, 1}}},
		{"gap at the end of a swap", []tx{{a, 3}, {a, 0}, {a, 1}}, []tx{{a, 0}, {a, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			raw := map[tx][]byte{}
			var in [][]byte
			for _, x := range tt.in {
				if raw[x] == nil {
					raw[x] = h.nonceTx(testKey(x.key), x.nonce)
				} else {
					// A second transaction with the same nonce: other bytes.
					r, _ := envelope.Build(testChain, testKey(x.key), x.nonce, identity.TypeRegisterPatient, map[string]string{})
					in = append(in, r)
					continue
				}
				in = append(in, raw[x])
			}
			res, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: in, MaxTxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Txs) != len(tt.want) {
				t.Fatalf("proposal has %d transactions, want %d", len(res.Txs), len(tt.want))
			}
			for i, w := range tt.want {
				if string(res.Txs[i]) != string(raw[w]) {
					got, _ := envelope.Decode(res.Txs[i])
					t.Fatalf("place %d holds nonce %d of %s, want nonce %d of %s", i, got.Nonce,
						ledger.Address(got.Signer)[:8], w.nonce, id(testKey(w.key))[:8])
				}
			}
		})
	}
}

func TestProposalKeepsTheMempoolsSizeLimit(t *testing.T) {
	h := newHarness(t)
	k := testKey("size")
	first, second := h.nonceTx(k, 0), h.nonceTx(k, 1)
	res, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: [][]byte{first, second},
		MaxTxBytes: int64(len(first) + len(second) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Txs) != 1 || string(res.Txs[0]) != string(first) {
		t.Fatalf("proposal of %d transactions, want only the first", len(res.Txs))
	}
}

// A signer's transactions that reached the mempool out of order (two peers
// gossiping them at once) survive the recheck after a block and execute
// in nonce order in the next one.
func TestTransactionsOutOfOrderInTheMempoolAllCommit(t *testing.T) {
	h := newHarness(t)
	h.block()
	org := hospitalKey
	var txs [][]byte
	for i := range 4 {
		txs = append(txs, h.registerPractitioner(org, testKey("ooo-doc-"+string(rune('a'+i)))))
	}
	for _, raw := range txs {
		if res := h.check(raw); res.Code != 0 {
			t.Fatalf("check: %s", res.Log)
		}
	}
	// A submission out of sequence is still refused at once.
	if res := h.check(h.deviceTx(org, 9)); res.Code != ledger.ErrBadNonce.Code {
		t.Fatalf("a new transaction ahead of its sequence: code %d (%s), want bad nonce", res.Code, res.Log)
	}
	// An empty block commits; the mempool holds the four with the middle
	// two swapped, and the recheck goes through them in that order.
	h.block()
	mempool := [][]byte{txs[0], txs[2], txs[1], txs[3]}
	for _, raw := range mempool {
		if res := h.recheck(raw); res.Code != 0 {
			t.Fatalf("recheck refused a transaction that arrived out of order: %s", res.Log)
		}
	}
	if next, _ := h.app.NextNonce(id(org)); next != h.nonces[pubHex(org)] {
		t.Fatalf("next nonce after the recheck %d, want %d", next, h.nonces[pubHex(org)])
	}
	prop, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: mempool, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	h.mustOK(prop.Txs...)
	for i := range 4 {
		h.identity(testKey("ooo-doc-" + string(rune('a'+i))))
	}
}

// A transaction parked at recheck whose predecessor is not in the mempool
// is not proposed (it would fail and be dropped); it goes in once the
// predecessor arrives.
func TestParkedTransactionWaitsForItsPredecessor(t *testing.T) {
	h := newHarness(t)
	h.block()
	org := hospitalKey
	first := h.registerPractitioner(org, testKey("park-1"))
	second := h.registerPractitioner(org, testKey("park-2"))
	if res := h.recheck(second); res.Code != 0 {
		t.Fatalf("recheck of a transaction one ahead: %s", res.Log)
	}
	prop, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: [][]byte{second}, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(prop.Txs) != 0 {
		t.Fatalf("a parked transaction without its predecessor was proposed")
	}
	if res := h.check(first); res.Code != 0 {
		t.Fatalf("the predecessor: %s", res.Log)
	}
	prop, err = h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: [][]byte{second, first}, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	h.mustOK(prop.Txs...)
	if len(prop.Txs) != 2 {
		t.Fatalf("proposal of %d, want both", len(prop.Txs))
	}
	// Far ahead is refused even at recheck.
	h.block()
	if res := h.recheck(h.deviceTx(org, h.nonces[pubHex(org)]+parkWindow+1)); res.Code != ledger.ErrBadNonce.Code {
		t.Fatalf("recheck far ahead: code %d, want bad nonce", res.Code)
	}
}

// A parked transaction whose predecessor never arrives is refused at the
// recheck parkBlocks blocks after it was parked (and CometBFT drops it),
// not kept in the mempool for good.
func TestParkedTransactionExpires(t *testing.T) {
	h := newHarness(t)
	h.block()
	org := hospitalKey
	h.registerPractitioner(org, testKey("lost-1")) // never reaches the mempool
	second := h.registerPractitioner(org, testKey("lost-2"))
	for i := range parkBlocks {
		if res := h.recheck(second); res.Code != 0 {
			t.Fatalf("refused at the recheck after %d blocks: %s", i, res.Log)
		}
		h.block()
	}
	res := h.recheck(second)
	if res.Code != ledger.ErrBadNonce.Code || !strings.Contains(res.Log, "did not arrive") {
		t.Fatalf("after %d blocks: code %d %q, want bad nonce", parkBlocks, res.Code, res.Log)
	}
	if len(h.app.parkedSince) != 0 {
		t.Fatalf("%d parked transactions still remembered", len(h.app.parkedSince))
	}
}

// Between Commit and the end of the recheck that follows it, NextNonce
// still counts the signer's transactions waiting in the mempool: the API
// signs with it, and the committed nonce would be refused (the flaky
// bad_nonce of TestSupplyImport under load).
func TestNextNonceCountsTheMempoolUntilTheRecheck(t *testing.T) {
	h := newHarness(t)
	h.block()
	org := hospitalKey
	var txs [][]byte
	for range 5 {
		raw := h.registerPractitioner(org, testKey(fmt.Sprint("wait-", len(txs))))
		if res := h.check(raw); res.Code != 0 {
			t.Fatalf("CheckTx: %s", res.Log)
		}
		txs = append(txs, raw)
	}
	first, err := h.app.NextNonce(id(org))
	if err != nil {
		t.Fatal(err)
	}
	h.mustOK(txs[:2]...) // the block takes two; three wait, not yet rechecked
	for _, c := range []struct {
		name      string
		rechecked [][]byte
	}{
		{"before the recheck", nil},
		{"half-way through it", txs[2:3]},
		{"after it", txs[3:]},
	} {
		for _, raw := range c.rechecked {
			if res := h.recheck(raw); res.Code != 0 {
				t.Fatalf("%s: recheck refused a waiting transaction: %s", c.name, res.Log)
			}
		}
		if n, err := h.app.NextNonce(id(org)); err != nil || n != first {
			t.Fatalf("%s: next nonce %d (%v), want %d", c.name, n, err, first)
		}
	}
}

// TestProcessProposalRefusesWhatNoHonestProposerMakes: a proposal that
// swaps or skips a signer's nonces, repeats a spent one, or carries a
// transaction badly signed, for another chain or not decodable is refused;
// an honest one is accepted.
func TestProcessProposalRefusesWhatNoHonestProposerMakes(t *testing.T) {
	h := newHarness(t)
	spent := testKey("spent")
	h.mustOK(h.nonceTx(spent, 0))
	a, b := testKey("pp-a"), testKey("pp-b")
	forged := h.nonceTx(b, 0)
	forged[len(forged)-1] ^= 1
	other, _ := envelope.Build("another-chain", a, 0, identity.TypeRegisterPatient, struct{}{})
	cases := []struct {
		name string
		txs  [][]byte
		ok   bool
	}{
		{"empty", nil, true},
		{"in order", [][]byte{h.nonceTx(a, 0), h.nonceTx(b, 0), h.nonceTx(a, 1), h.nonceTx(spent, 1)}, true},
		{"swapped", [][]byte{h.nonceTx(a, 1), h.nonceTx(a, 0)}, false},
		{"a gap", [][]byte{h.nonceTx(a, 0), h.nonceTx(a, 2)}, false},
		{"starts ahead of the signer", [][]byte{h.nonceTx(a, 1)}, false},
		{"a spent nonce", [][]byte{h.nonceTx(spent, 0)}, false},
		{"badly signed", [][]byte{h.nonceTx(a, 0), forged}, false},
		{"for another chain", [][]byte{other}, false},
		{"not a transaction", [][]byte{[]byte("garbage")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: h.height + 1, Txs: c.txs})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Status == abci.PROCESS_PROPOSAL_STATUS_ACCEPT; got != c.ok {
				t.Fatalf("accepted: %v, want %v", got, c.ok)
			}
		})
	}
}

// TestHonestProposalsAreAccepted: whatever a mempool holds — signers'
// streams in any order, gaps, repeats, forgeries, garbage — what
// PrepareProposal makes of it ProcessProposal accepts, and it keeps every
// signer's run that starts at its sequence.
func TestHonestProposalsAreAccepted(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(3, 3))
	kept := 0
	for round := range 30 {
		var txs [][]byte
		for range 40 {
			key := testKey(fmt.Sprint("hp-", rng.IntN(6)))
			raw := h.nonceTx(key, uint64(rng.IntN(4)))
			switch rng.IntN(12) {
			case 0:
				raw[len(raw)-1] ^= 1
			case 1:
				raw = []byte("garbage")
			}
			txs = append(txs, raw)
		}
		prep, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Txs: prep.Txs})
		if err != nil || res.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
			t.Fatalf("round %d: an honest proposal of %d transactions refused: %v", round, len(prep.Txs), err)
		}
		kept += len(prep.Txs)
	}
	if kept < 100 {
		t.Fatalf("proposals kept only %d transactions in all", kept)
	}
}

// TestOneSignerHoldsAShareOfTheMempool: a signer's new transactions past
// MaxPendingPerSigner (an unregistered key's past one) waiting in this
// node's mempool are refused
// (signer_queue_full) whatever way they came, another signer's are not,
// those waiting are rechecked as before, and once a block takes some the
// signer may send again.
func TestOneSignerHoldsAShareOfTheMempool(t *testing.T) {
	h := newHarness(t)
	h.block()
	org := hospitalKey
	var txs [][]byte
	for i := range MaxPendingPerSigner {
		raw := h.registerPractitioner(org, testKey(fmt.Sprint("queue-", i)))
		if res := h.check(raw); res.Code != 0 {
			t.Fatalf("transaction %d within the share: %s", i, res.Log)
		}
		txs = append(txs, raw)
	}
	over := h.registerPractitioner(org, testKey("queue-over"))
	if res := h.check(over); res.Codespace != "primum" || res.Code != ledger.ErrSignerBusy.Code {
		t.Fatalf("past the share: code %d %s", res.Code, res.Log)
	}
	if res := h.check(h.nonceTx(testKey("queue-other"), 0)); res.Code != 0 {
		t.Fatalf("another signer: %s", res.Log)
	}
	// A key the ledger does not know may only register, once: one waits.
	if res := h.check(h.nonceTx(testKey("queue-other"), 1)); res.Code != ledger.ErrSignerBusy.Code {
		t.Fatalf("an unregistered key's second transaction: code %d %s", res.Code, res.Log)
	}
	h.mustOK(txs[:500]...)
	for i, raw := range txs[500:] {
		if res := h.recheck(raw); res.Code != 0 {
			t.Fatalf("recheck of waiting transaction %d: %s", i, res.Log)
		}
	}
	if res := h.check(over); res.Code != 0 {
		t.Fatalf("after a block took 500: %s", res.Log)
	}
}
