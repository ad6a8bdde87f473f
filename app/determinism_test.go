package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/records"
)

// workload builds a sequence of blocks mixing valid and invalid transactions
// of every module, from a seed.
func workload(t *testing.T, seed uint64, blocks int) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	gen := newHarness(t) // only used to sign with tracked nonces
	orgs := []ed25519.PrivateKey{hospitalKey, hospital2Key, pharmacyKey, regulatorKey, insurerKey}
	var docs, patients []ed25519.PrivateKey
	var recs []string
	var out [][][]byte
	for b := 0; b < blocks; b++ {
		var txs [][]byte
		for i := 0; i < 1+rng.IntN(20); i++ {
			org := orgs[rng.IntN(2)]
			switch rng.IntN(10) {
			case 0, 1:
				doc := testKey(fmt.Sprintf("doc-%d-%d", b, i))
				docs = append(docs, doc)
				txs = append(txs, gen.registerPractitioner(org, doc))
			case 2:
				p := testKey(fmt.Sprintf("patient-%d-%d", b, i))
				patients = append(patients, p)
				txs = append(txs, gen.tx(p, identity.TypeRegisterPatient, struct{}{}))
			case 3:
				if len(docs) > 0 {
					status := []string{"active", "suspended", "revoked"}[rng.IntN(3)]
					txs = append(txs, gen.tx(org, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(docs[rng.IntN(len(docs))]), Status: status}))
				}
			case 4:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
					Member: newMember(fmt.Sprintf("Clinic %d-%d", b, i), "clinic", testKey(fmt.Sprintf("clinic-%d-%d", b, i)), nil, 0)}))
			case 5:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypeVote, governance.Vote{ProposalID: uint64(1 + rng.IntN(5)), Vote: []string{"yes", "no"}[rng.IntN(2)]}))
			case 6: // records indexed by a hospital
				if len(patients) > 0 {
					rec := fmt.Sprintf("obs-%d-%d", b, i)
					recs = append(recs, rec)
					txs = append(txs, gen.tx(org, records.TypeRegister, records.Register{Records: []records.NewRecord{{ID: rec,
						Patient: id(patients[rng.IntN(len(patients))]), Category: []string{"observation", "condition"}[rng.IntN(2)], Commitment: commitment(rec)}}}))
				}
			case 7: // consents, some of which fail (unknown grantee, wrong patient)
				if len(patients) > 0 && len(docs) > 0 {
					txs = append(txs, gen.tx(patients[rng.IntN(len(patients))], consent.TypeGrant, consent.Grant{Grantee: id(docs[rng.IntN(len(docs))]),
						Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: []string{"treatment", "research"}[rng.IntN(2)],
						Expires: gen.now.Add(time.Duration(b+rng.IntN(30)) * time.Second).Format(time.RFC3339)}))
				}
			case 8, 9: // access requests, granted or refused, at either hospital
				if len(recs) > 0 && len(docs) > 0 {
					doc := docs[rng.IntN(len(docs))]
					req := records.AccessRequest{ChainID: testChain, Requester: id(doc), Record: recs[rng.IntN(len(recs))], Purpose: "treatment",
						KeyDigest: commitment("k"), Nonce: fmt.Sprintf("%032x", rng.Uint64()),
						NotAfter: gen.now.Add(time.Duration(b+1)*time.Second + 5*time.Minute).Format(time.RFC3339)}
					if rng.IntN(5) == 0 {
						req.Purpose, req.EmergencyReason = "emergency", "life_threatening"
					}
					txs = append(txs, gen.tx(org, records.TypeAccess, records.AccessLog{Request: req, Signature: req.Sign(doc)}))
				}
			}
		}
		// Erasures (some with nothing to erase) under a retention policy,
		// at fixed blocks: they take nothing from the random sequence.
		if b == 3 {
			txs = append(txs, gen.tx(hospitalKey, records.TypeSetRetention, records.SetRetention{Holds: []records.Hold{
				{Category: "observation", Basis: "legal_obligation", Years: 10}}}),
				gen.tx(hospital2Key, records.TypeSetRetention, records.SetRetention{Holds: []records.Hold{
					{Category: "condition", Basis: "legal_claims", Years: 5}}}))
		}
		if b%10 == 9 && len(patients) > 0 {
			txs = append(txs, gen.tx(patients[b%len(patients)], records.TypeErase, records.Erase{}))
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
	if outcomes[0] < 100 || len(outcomes) < 5 {
		t.Fatalf("workload too uniform to prove anything: %v", outcomes)
	}
	trail, _ := records.Trail(a.store.Committed())
	decided := map[string]int{}
	for _, e := range trail {
		decided[e.Outcome]++
	}
	if decided[records.Granted] == 0 || decided[records.Refused] == 0 {
		t.Fatalf("the workload's access requests were all %v", decided)
	}
	erasures, _ := records.Erasures(a.store.Committed())
	retained := 0
	for _, e := range erasures {
		retained += e.Retained
	}
	if len(erasures) == 0 || retained == 0 {
		t.Fatalf("the workload made %d erasures, retained %d records", len(erasures), retained)
	}
	statetest.NoEmptyValues(t, a.store.Committed())
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

// TestAppHashPinned pins the app hash the determinism workload reaches. A
// change of how the state is encoded or hashed changes it, and nodes of the
// old and new versions would then fork at the first block that differs: such
// a change needs a coordinated upgrade, and this constant changed with it,
// deliberately. Changes outside the state (results, caches, the API) leave
// it as it is.
func TestAppHashPinned(t *testing.T) {
	const want = "CC3F2E22AB575A66B071E28C7FCE7E5A6A023D1F0D98C5AA2207F08251CF689A"
	h := newHarness(t)
	var last []byte
	for _, txs := range workload(t, 42, 60) {
		last = h.block(txs...).AppHash
	}
	if got := fmt.Sprintf("%X", last); got != want {
		t.Fatalf("app hash after the workload is %s, pinned %s: the state's encoding or hashing changed", got, want)
	}
}
