package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

// TestStorageErrorStopsTheNode: a read the disk fails inside FinalizeBlock
// (Pebble's answer, through store.Options.ReadFault) panics with a
// ledger.StorageError instead of committing a rejection on
// this node alone; once the disk is mended the same block executes as a
// node with a sound disk executes it.
func TestStorageErrorStopsTheNode(t *testing.T) {
	dir := t.TempDir()
	broken := new(atomic.Bool)
	// Tiny caches: a read of a key not staged in the block goes to disk.
	opts := store.Options{FlatCache: 2, ReadFault: func([]byte) error {
		if broken.Load() {
			return syscall.EIO
		}
		return nil
	}}
	open := func(initChain bool) *harness { return openHarnessWith(t, dir, initChain, opts) }
	h := open(true)
	sound := newHarness(t)
	for _, x := range []*harness{h, sound} {
		x.mustOK(x.tx(testKey("patient-1"), identity.TypeRegisterPatient, struct{}{}))
	}
	// Restart, so nothing the next block reads is in memory.
	h.store.Close()
	height, now := h.height, h.now
	h = open(false)
	h.height, h.now, h.nonces = height, now, sound.nonces
	tx := sound.tx(testKey("patient-1"), identity.TypeRegisterPatient, struct{}{}) // already registered: a rejection on a sound disk
	want := sound.block(tx)

	broken.Store(true)
	func() {
		defer func() {
			p := recover()
			var se *ledger.StorageError
			if err, ok := p.(error); !ok || !errors.As(err, &se) {
				t.Fatalf("FinalizeBlock over a failing disk: panic %v, want a storage error", p)
			}
		}()
		h.height++
		h.now = h.now.Add(time.Second)
		res, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: h.height, Time: h.now, Txs: [][]byte{tx}})
		t.Fatalf("FinalizeBlock over a failing disk returned: %v %v", res.TxResults, err)
	}()
	broken.Store(false)

	// CometBFT would stop here; the restarted node replays the block.
	h.store.Close()
	h = open(false)
	h.height, h.now = height, now
	got := h.block(tx)
	if string(got.AppHash) != string(want.AppHash) || got.TxResults[0].Code != want.TxResults[0].Code {
		t.Fatalf("after the disk is mended: code %d hash %X, a sound node: code %d hash %X",
			got.TxResults[0].Code, got.AppHash, want.TxResults[0].Code, want.AppHash)
	}
}

// TestValidatorUpdatesMerged: a block's power changes reach CometBFT once
// per key, the last change winning, in key order; and a block that would
// leave no validator keeps its removals back.
func TestValidatorUpdatesMerged(t *testing.T) {
	h := newHarness(t)
	h.mustOK() // the genesis committed: one validator, validatorKey
	v0 := []byte(validatorKey.Public().(ed25519.PublicKey))
	k2, k1 := []byte(testKey("v1").Public().(ed25519.PublicKey)), []byte(testKey("v2").Public().(ed25519.PublicKey))
	empty, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	cases := []struct {
		name    string
		state   ledger.Reader
		updates []ledger.ValidatorUpdate
		want    string
	}{
		{"nothing", h.store.Committed(), nil, "[]"},
		{"added then removed in one block: nothing for CometBFT", h.store.Committed(), []ledger.ValidatorUpdate{{PubKey: k2, Power: 5}, {PubKey: k1, Power: 3}, {PubKey: k2, Power: 0}}, fmt.Sprintf("[%X:3]", k1)},
		{"a key twice, last wins", h.store.Committed(), []ledger.ValidatorUpdate{{PubKey: k1, Power: 0}, {PubKey: k1, Power: 7}}, fmt.Sprintf("[%X:7]", k1)},
		{"a validator's power unchanged", h.store.Committed(), []ledger.ValidatorUpdate{{PubKey: v0, Power: 0}, {PubKey: v0, Power: 10}}, "[]"},
		{"the last validator replaced", h.store.Committed(), []ledger.ValidatorUpdate{{PubKey: v0, Power: 0}, {PubKey: k1, Power: 10}}, fmt.Sprintf("%v", sortedUpdates(v0, 0, k1, 10))},
		{"the last validator removed: held back", h.store.Committed(), []ledger.ValidatorUpdate{{PubKey: v0, Power: 0}, {PubKey: k2, Power: 0}}, "[]"},
		{"the removal of a key that is no validator", empty.Committed(), []ledger.ValidatorUpdate{{PubKey: k1, Power: 0}}, "[]"},
	}
	if string(k1) > string(k2) {
		t.Fatal("test keys out of order; pick others")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, u := range h.app.validatorUpdates(c.state, c.updates) {
				got = append(got, fmt.Sprintf("%X:%d", u.PubKeyBytes, u.Power))
			}
			if s := fmt.Sprint(got); s != c.want && !(len(got) == 0 && c.want == "[]") {
				t.Fatalf("got %s, want %s", s, c.want)
			}
		})
	}
}

// sortedUpdates formats two updates in key order, as validatorUpdates gives them.
func sortedUpdates(ka []byte, pa int64, kb []byte, pb int64) []string {
	a, b := fmt.Sprintf("%X:%d", ka, pa), fmt.Sprintf("%X:%d", kb, pb)
	if string(ka) > string(kb) {
		a, b = b, a
	}
	return []string{a, b}
}
