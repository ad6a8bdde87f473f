package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/store"
)

// chain drives a real app over a real Pebble store block by block, with
// block times of the test's choosing (a retention hold ends years later).
type chain struct {
	t      *testing.T
	app    *app.App
	height int64
	now    time.Time
	nonces map[string]uint64
}

func newChain(t *testing.T, home string, founders ...ed25519.PrivateKey) *chain {
	t.Helper()
	st, err := store.Open(filepath.Join(home, "data", "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := app.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	validator := seededKey("validator").Public().(ed25519.PublicKey)
	var g app.Genesis
	for i, k := range founders {
		m := governance.NewMember{Name: "Hospital " + string(rune('A'+i)), OrgType: "hospital", Key: hex.EncodeToString(k.Public().(ed25519.PublicKey))}
		if i == 0 {
			m.ValidatorKey, m.Power = hex.EncodeToString(validator), 10
		}
		g.Members = append(g.Members, m)
	}
	gen, _ := json.Marshal(g)
	if _, err := a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: "primum-erasure", InitialHeight: 1, AppStateBytes: gen,
		Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: validator}}}); err != nil {
		t.Fatal(err)
	}
	return &chain{t: t, app: a, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nonces: map[string]uint64{}}
}

func (c *chain) tx(key ed25519.PrivateKey, typ string, body any) []byte {
	c.t.Helper()
	who := string(key.Public().(ed25519.PublicKey))
	raw, err := envelope.Build("primum-erasure", key, c.nonces[who], typ, body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nonces[who]++
	return raw
}

// block commits txs at the chain's next second, or at the time given.
func (c *chain) block(at time.Time, txs ...[]byte) {
	c.t.Helper()
	c.height++
	c.now = c.now.Add(time.Second)
	if at.After(c.now) {
		c.now = at
	}
	res, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: c.now, Txs: txs})
	if err != nil {
		c.t.Fatal(err)
	}
	for i, r := range res.TxResults {
		if r.Code != 0 {
			c.t.Fatalf("block %d tx %d: %s", c.height, i, r.Log)
		}
	}
	if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		c.t.Fatal(err)
	}
}

func seededKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("erasure test " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// TestErasureFollowsTheLedger: the node destroys exactly the records the
// ledger marks erased — not one retained under its custodian's hold, not
// another patient's — and the retained one when the ledger's block time
// passes the end of its hold; a restart finishes what was missed.
func TestErasureFollowsTheLedger(t *testing.T) {
	home := t.TempDir()
	hospital, patient, other := seededKey("hospital"), seededKey("patient"), seededKey("other")
	c := newChain(t, home, hospital)
	rs, err := openRecords(home, c.app, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rs.close() }()
	pid, oid := ledger.Address(patient.Public().(ed25519.PublicKey)), ledger.Address(other.Public().(ed25519.PublicKey))
	stored := []struct{ id, patient, category string }{
		{"obs-1", pid, "observation"}, {"med-1", pid, "medication"}, {"fin-1", pid, "financial"}, {"obs-9", oid, "observation"}}
	var reg records.Register
	for _, r := range stored {
		commitment, err := rs.Put(docstore.Meta{ID: r.id, Patient: r.patient, Category: r.category}, []byte(`{"resourceType":"Observation"}`))
		if err != nil {
			t.Fatal(err)
		}
		reg.Records = append(reg.Records, records.NewRecord{ID: r.id, Patient: r.patient, Category: r.category, Commitment: hex.EncodeToString(commitment)})
	}
	c.block(time.Time{}, c.tx(patient, identity.TypeRegisterPatient, struct{}{}), c.tx(other, identity.TypeRegisterPatient, struct{}{}))
	c.block(time.Time{}, c.tx(hospital, records.TypeRegister, reg),
		c.tx(hospital, records.TypeSetRetention, records.SetRetention{Holds: []records.Hold{
			{Category: "medication", Basis: "legal_obligation", Years: 1}, {Category: "financial", Basis: "legal_claims", Years: 2}}}))
	registered := c.now
	term := rs.Term()
	c.block(time.Time{}, c.tx(patient, records.TypeErase, records.Erase{}))

	erasedSoon := func(id string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := rs.Get(id); errors.Is(err, docstore.ErrErased) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s not erased: %v", id, err)
			}
		}
	}
	readable := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			if _, err := rs.Get(id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
	}
	erasedSoon("obs-1")
	readable("med-1", "fin-1", "obs-9")
	// The rotation follows the erasure's own commit (which records that it
	// is owed): it may land a moment after the record reads as erased.
	for deadline := time.Now().Add(10 * time.Second); rs.Term() == term; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the erasure did not rotate the KEK")
		}
	}

	// Blocks go on; a hold ends with the first block at or after its end.
	c.block(registered.AddDate(1, 0, 0).Add(-time.Minute))
	time.Sleep(200 * time.Millisecond)
	readable("med-1", "fin-1", "obs-9")
	c.block(registered.AddDate(1, 0, 0))
	erasedSoon("med-1")
	readable("fin-1", "obs-9")

	// A hold that ends while the node is down is carried out when it starts.
	if err := rs.close(); err != nil {
		t.Fatal(err)
	}
	c.block(registered.AddDate(2, 0, 0))
	if rs, err = openRecords(home, c.app, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Get("fin-1"); !errors.Is(err, docstore.ErrErased) {
		t.Fatalf("fin-1 after a restart: %v", err)
	}
	readable("obs-9")
}
