package app

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

func TestResultFormat(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, r := range []wire.TxResult{
		{Hash: hash, Height: 1},
		{Hash: hash, Height: 123456, Index: 9999, Type: identity.TypeRegisterPatient, Signer: "pat1qqqq"},
		{Hash: hash, Height: 1 << 40, Index: 1 << 20, Code: 7, Codespace: "identity", Error: "bad_nonce",
			Log: "bad nonce: got 3, expected 2", Type: "supply.ship", Signer: "org1ü"},
	} {
		b := appendResult(nil, &r)
		got, err := decodeResult(hash, b)
		if err != nil || !reflect.DeepEqual(*got, r) {
			t.Errorf("%+v: read back %+v, %v", r, got, err)
		}
		// Every shorter prefix, and a trailing byte, is refused.
		for n := range len(b) {
			if _, err := decodeResult(hash, b[:n]); !errors.Is(err, errBadResult) {
				t.Errorf("%+v cut to %d bytes: %v", r, n, err)
			}
		}
		if _, err := decodeResult(hash, append(b, 0)); !errors.Is(err, errBadResult) {
			t.Errorf("%+v with a trailing byte: %v", r, err)
		}
	}
	if _, err := decodeResult(hash, []byte{9}); !errors.Is(err, errBadResult) {
		t.Errorf("unknown format: %v", err)
	}
}

// A node's results from before the binary format (JSON under the hex hash)
// are still served, beside the new ones.
func TestResultsOfBothFormats(t *testing.T) {
	h := newHarness(t)
	h.block()
	legacy := wire.TxResult{Hash: strings.Repeat("0f", 32), Height: 1, Index: 3, Type: identity.TypeRegisterPatient, Signer: "pat1legacy"}
	raw, _ := json.Marshal(legacy)
	b := h.store.SideBatch()
	if err := b.Set(h.store.SideKey(legacyResultKey(legacy.Hash)), raw, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	tx := h.tx(testKey("new patient"), identity.TypeRegisterPatient, struct{}{})
	res := h.block(tx)
	if res.TxResults[0].Code != 0 {
		t.Fatal(res.TxResults[0].Log)
	}
	current := hex.EncodeToString(envelope.Hash(tx))
	for _, c := range []struct {
		hash string
		want func(*wire.TxResult) bool
	}{
		{legacy.Hash, func(r *wire.TxResult) bool { return reflect.DeepEqual(*r, legacy) }},
		{current, func(r *wire.TxResult) bool {
			return r.Hash == current && r.Height == h.height && r.Index == 0 && r.Type == identity.TypeRegisterPatient && r.Signer != ""
		}},
	} {
		r, err := h.app.TxResultByHash(c.hash)
		if err != nil || !c.want(r) {
			t.Errorf("%s: %+v, %v", c.hash, r, err)
		}
	}
	for _, missing := range []string{strings.Repeat("11", 32), "not hex", ""} {
		if _, err := h.app.TxResultByHash(missing); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("%q: %v, want not found", missing, err)
		}
	}
}
