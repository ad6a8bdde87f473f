package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

const testChain = "primum-test"

// testKey derives a fixed key from a name, so runs are reproducible.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("primum test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubHex(k ed25519.PrivateKey) string { return hex.EncodeToString(k.Public().(ed25519.PublicKey)) }

func id(k ed25519.PrivateKey) string { return ledger.Address(k.Public().(ed25519.PublicKey)) }

// harness drives a real App over a real Pebble store through ABCI calls,
// as CometBFT would.
type harness struct {
	t      testing.TB
	app    *App
	store  *store.Store
	height int64
	now    time.Time
	nonces map[string]uint64
}

// founding members of every test chain.
var (
	hospitalKey  = testKey("hospital")
	hospital2Key = testKey("hospital2")
	pharmacyKey  = testKey("pharmacy")
	regulatorKey = testKey("regulator")
	insurerKey   = testKey("insurer")
	validatorKey = testKey("validator")
)

func testGenesis() *Genesis {
	return &Genesis{Members: []governance.NewMember{
		{Name: "St Luke's", OrgType: "hospital", Key: pubHex(hospitalKey), ValidatorKey: pubHex(validatorKey), Power: 10},
		{Name: "Riverside", OrgType: "hospital", Key: pubHex(hospital2Key)},
		{Name: "Central Pharmacy", OrgType: "pharmacy", Key: pubHex(pharmacyKey)},
		{Name: "Agency", OrgType: "regulator", Key: pubHex(regulatorKey)},
		{Name: "CareShield", OrgType: "insurer", Key: pubHex(insurerKey)},
	}}
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return openHarness(t, t.TempDir(), true)
}

func openHarness(t testing.TB, dir string, initChain bool) *harness {
	t.Helper()
	return openHarnessWith(t, dir, initChain, store.Options{})
}

// openHarnessWith is openHarness over a store opened with opts.
func openHarnessWith(t testing.TB, dir string, initChain bool, opts store.Options) *harness {
	t.Helper()
	st, err := store.OpenWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, app: a, store: st, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nonces: map[string]uint64{}}
	if initChain {
		gen, _ := json.Marshal(testGenesis())
		_, err := a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, InitialHeight: 1, AppStateBytes: gen,
			Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: validatorKey.Public().(ed25519.PublicKey)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// tx signs a transaction with the harness's idea of the signer's next nonce.
func (h *harness) tx(key ed25519.PrivateKey, typ string, body any) []byte {
	h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		h.t.Fatal(err)
	}
	who := pubHex(key)
	t := &envelope.Tx{ChainID: testChain, Nonce: h.nonces[who], Type: typ, Body: b}
	h.nonces[who]++
	t.Sign(key)
	return t.Encode()
}

// block executes and commits one block.
func (h *harness) block(txs ...[]byte) *abci.FinalizeBlockResponse {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: h.height, Time: h.now, Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// mustOK executes txs in one block and fails on any rejection.
func (h *harness) mustOK(txs ...[]byte) *abci.FinalizeBlockResponse {
	h.t.Helper()
	res := h.block(txs...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			h.t.Fatalf("tx %d rejected: %s (%s)", i, r.Log, r.Info)
		}
	}
	return res
}

// check runs CheckTx.
func (h *harness) check(raw []byte) *abci.CheckTxResponse {
	h.t.Helper()
	return h.checkAs(raw, abci.CHECK_TX_TYPE_CHECK)
}

// recheck runs CheckTx as CometBFT's recheck after a block.
func (h *harness) recheck(raw []byte) *abci.CheckTxResponse {
	h.t.Helper()
	return h.checkAs(raw, abci.CHECK_TX_TYPE_RECHECK)
}

func (h *harness) checkAs(raw []byte, typ abci.CheckTxType) *abci.CheckTxResponse {
	h.t.Helper()
	res, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: typ})
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) identity(key ed25519.PrivateKey) *identity.Identity {
	h.t.Helper()
	ident, err := identity.Get(h.store.Committed(), id(key))
	if err != nil {
		h.t.Fatal(err)
	}
	return ident
}

// wantCode asserts a result carries the given error.
func wantCode(t testing.TB, code uint32, codespace, log string, want *ledger.Error) {
	t.Helper()
	if code != want.Code || codespace != want.Codespace {
		t.Fatalf("got %s/%d (%s), want %s/%d %s", codespace, code, log, want.Codespace, want.Code, want.Name)
	}
}

// registerPractitioner credentials key at org, valid for a year of block time.
func (h *harness) registerPractitioner(org, key ed25519.PrivateKey) []byte {
	return h.tx(org, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(key), Licence: "MD-" + id(key)[:6],
		Proof:      identity.ProvePossession(key, testChain, identity.ProofPractitioner, id(org)),
		Profession: "doctor", Specialty: "cardiology", ValidUntil: h.now.AddDate(1, 0, 0).Format(time.RFC3339)})
}

// device is the body registering key as a device of owner, with the device
// key's proof of possession.
func device(owner, key ed25519.PrivateKey, deviceType string) identity.RegisterDevice {
	return identity.RegisterDevice{Key: pubHex(key), DeviceType: deviceType,
		Proof: identity.ProvePossession(key, testChain, identity.ProofDevice, id(owner))}
}

// newMember is an organisation to propose, with its keys' proofs of
// possession; validator may be nil (a member without power).
func newMember(name, orgType string, key, validator ed25519.PrivateKey, power int64) *governance.NewMember {
	m := governance.ProvedMember(testChain, name, orgType, key, validator)
	m.Power = power
	return m
}
