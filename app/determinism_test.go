package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
)

// workload builds a sequence of blocks mixing valid and invalid transactions
// of every module, from a seed.
func workload(t *testing.T, seed uint64, blocks int) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	gen := newHarness(t) // only used to sign with tracked nonces
	orgs := []ed25519.PrivateKey{hospitalKey, hospital2Key, pharmacyKey, regulatorKey, insurerKey}
	var docs []ed25519.PrivateKey
	var out [][][]byte
	for b := 0; b < blocks; b++ {
		var txs [][]byte
		for i := 0; i < 1+rng.IntN(20); i++ {
			org := orgs[rng.IntN(2)]
			switch rng.IntN(6) {
			case 0, 1:
				doc := testKey(fmt.Sprintf("doc-%d-%d", b, i))
				docs = append(docs, doc)
				txs = append(txs, gen.registerPractitioner(org, doc))
			case 2:
				txs = append(txs, gen.tx(testKey(fmt.Sprintf("patient-%d-%d", b, i)), identity.TypeRegisterPatient, struct{}{}))
			case 3:
				if len(docs) > 0 {
					status := []string{"active", "suspended", "revoked"}[rng.IntN(3)]
					txs = append(txs, gen.tx(org, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(docs[rng.IntN(len(docs))]), Status: status}))
				}
			case 4:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
					Member: &governance.NewMember{Name: fmt.Sprintf("Clinic %d-%d", b, i), OrgType: "clinic", Key: pubHex(testKey(fmt.Sprintf("clinic-%d-%d", b, i)))}}))
			case 5:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypeVote, governance.Vote{ProposalID: uint64(1 + rng.IntN(5)), Vote: []string{"yes", "no"}[rng.IntN(2)]}))
			}
		}
		if rng.IntN(4) == 0 { // a replayed transaction
			txs = append(txs, txs[0])
		}
		out = append(out, txs)
	}
	return out
}

// TestDeterminism: two app instances fed the same blocks reach the same app
// hash at every height, and so does one that restarts half-way.
func TestDeterminism(t *testing.T) {
	blocks := workload(t, 42, 60)
	a, b := newHarness(t), newHarness(t)
	restartDir := t.TempDir()
	c := openHarness(t, restartDir, true)
	outcomes := map[uint32]int{}
	for i, txs := range blocks {
		ra, rb := a.block(txs...), b.block(txs...)
		rc := c.block(txs...)
		if !bytes.Equal(ra.AppHash, rb.AppHash) || !bytes.Equal(ra.AppHash, rc.AppHash) {
			t.Fatalf("block %d: app hashes differ: %X %X %X", i+1, ra.AppHash, rb.AppHash, rc.AppHash)
		}
		for j := range ra.TxResults {
			outcomes[ra.TxResults[j].Code]++
			if ra.TxResults[j].Code != rb.TxResults[j].Code || ra.TxResults[j].Code != rc.TxResults[j].Code {
				t.Fatalf("block %d tx %d: results differ", i+1, j)
			}
		}
		if i == len(blocks)/2 {
			c.store.Close()
			h, now := c.height, c.now
			c = openHarness(t, restartDir, false)
			c.height, c.now = h, now
		}
	}
	if outcomes[0] < 100 || len(outcomes) < 3 {
		t.Fatalf("workload too uniform to prove anything: %v", outcomes)
	}
	info, _ := a.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != int64(len(blocks)) {
		t.Fatalf("height %d", info.LastBlockHeight)
	}
}

// TestDifferentBlocksDifferentHash guards against an app hash that ignores state.
func TestDifferentBlocksDifferentHash(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	a.block()
	b.block()
	ra := a.block(a.tx(testKey("p1"), identity.TypeRegisterPatient, struct{}{}))
	rb := b.block(b.tx(testKey("p2"), identity.TypeRegisterPatient, struct{}{}))
	if bytes.Equal(ra.AppHash, rb.AppHash) {
		t.Fatal("different state, same app hash")
	}
}
