package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/records"
)

func BenchmarkDecodeVerify(b *testing.B) {
	tx := &envelope.Tx{ChainID: testChain, Nonce: 1, Type: identity.TypeRegisterPatient, Body: []byte(`{}`)}
	tx.Sign(testKey("bench"))
	raw := tx.Encode()
	b.ReportAllocs()
	for b.Loop() {
		t, err := envelope.Decode(raw)
		if err != nil || !t.Verify() {
			b.Fatal("bad")
		}
	}
}

// BenchmarkFinalizeBlock executes and commits blocks of patient
// registrations (the most common identity transaction), signatures already
// verified by CheckTx as in a running node; in the replay case, never
// admitted by this node (catching up, or replaying after a restart), so
// that every signature is checked during the block.
func BenchmarkFinalizeBlock(b *testing.B) {
	for _, c := range []struct {
		size   int
		replay bool
	}{{100, false}, {1000, false}, {1000, true}} {
		name := fmt.Sprintf("txs=%d", c.size)
		if c.replay {
			name += "/replay"
		}
		b.Run(name, func(b *testing.B) {
			h := newHarness(b)
			h.block()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				txs := make([][]byte, c.size)
				for i := range txs {
					txs[i] = h.tx(testKey(fmt.Sprintf("p%d", n)), identity.TypeRegisterPatient, struct{}{})
					n++
					if !c.replay {
						h.check(txs[i])
					}
				}
				b.StartTimer()
				res := h.block(txs...)
				if res.TxResults[0].Code != 0 {
					b.Fatal(res.TxResults[0].Log)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.size)/1000, "µs/tx")
		})
	}
}

// BenchmarkCheckTx admits new patients' registrations from many concurrent
// callers, as CometBFT's RPC does under load: decoding, the signature
// check and the signer's lookups.
func BenchmarkCheckTx(b *testing.B) {
	h := newHarness(b)
	h.block()
	txs := make([][]byte, b.N)
	for i := range txs {
		txs[i] = h.tx(testKey(fmt.Sprintf("c%d", i)), identity.TypeRegisterPatient, struct{}{})
	}
	var next atomic.Int64
	b.SetParallelism(32) // 32 callers per core
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := h.check(txs[next.Add(1)-1]); res.Code != 0 {
				b.Error(res.Log)
			}
		}
	})
}

// BenchmarkRecheck is CometBFT's recheck of a transaction still in the
// mempool after a block: every node does it for its whole mempool.
// BenchmarkPrepareProposal proposes a block of 3,000 patients'
// registrations with eight signers' streams of 50 transactions among them,
// two of each stream's swapped (what the proposer adds to the block path).
func BenchmarkPrepareProposal(b *testing.B) {
	h := newHarness(b)
	var txs [][]byte
	for i := range 3000 {
		txs = append(txs, h.nonceTx(testKey(fmt.Sprint("prop-", i)), 0))
	}
	for s := range 8 {
		for n := range 50 {
			at := (s*50 + n) * 7
			txs = append(txs[:at+1], txs[at:]...)
			txs[at] = h.nonceTx(testKey(fmt.Sprint("stream-", s)), uint64(n^1))
		}
	}
	req := &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: 4 << 20}
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := h.app.PrepareProposal(context.Background(), req); len(res.Txs) != len(txs) {
			b.Fatalf("proposal of %d, want %d", len(res.Txs), len(txs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(txs)), "ns/tx")
}

func BenchmarkRecheck(b *testing.B) {
	h := newHarness(b)
	h.block()
	org := hospitalKey
	raw := h.registerPractitioner(org, testKey("doc"))
	if res := h.check(raw); res.Code != 0 {
		b.Fatal(res.Log)
	}
	req := &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_RECHECK}
	b.ReportAllocs()
	for b.Loop() {
		h.app.checkMu.Lock()
		clear(h.app.checkNonce) // as after a commit
		clear(h.app.parked)
		h.app.checkMu.Unlock()
		if res, _ := h.app.CheckTx(context.Background(), req); res.Code != 0 {
			b.Fatal(res.Log)
		}
	}
}

// BenchmarkModuleTx executes and commits blocks of 100 of each health
// module's most common transaction, signatures already verified by CheckTx
// as in a running node: a patient granting a consent, and a hospital logging
// a practitioner's access request (which verifies the request's signature
// and reads the record and the patient's consents).
func BenchmarkModuleTx(b *testing.B) {
	const size = 100
	cases := []struct {
		name  string
		build func(w *recordsWorld, expires string) []byte
	}{
		{"consent.grant", func(w *recordsWorld, expires string) []byte {
			return w.tx(w.patient, consent.TypeGrant, consent.Grant{Grantee: id(w.remote),
				Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment", Expires: expires})
		}},
		{"records.access", func(w *recordsWorld, _ string) []byte {
			return w.tx(hospitalKey, records.TypeAccess, w.request(w.remote, "obs-1", "treatment", ""))
		}},
		{"identity.register_practitioner", func(w *recordsWorld, _ string) []byte {
			w.nonce++
			return w.registerPractitioner(hospitalKey, testKey(fmt.Sprintf("bench-doc-%d", w.nonce)))
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := newRecordsWorld(b)
			expires := w.now.AddDate(1, 0, 0).Format(time.RFC3339)
			w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment", Expires: expires})
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				txs := make([][]byte, size)
				for i := range txs {
					txs[i] = c.build(w, expires)
					if res := w.check(txs[i]); res.Code != 0 {
						b.Fatal(res.Log)
					}
				}
				b.StartTimer()
				for _, r := range w.block(txs...).TxResults {
					if r.Code != 0 {
						b.Fatal(r.Log)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size)/1000, "µs/tx")
		})
	}
}
