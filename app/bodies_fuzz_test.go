package app

import (
	"bytes"
	"testing"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// FuzzBodies runs every handler on arbitrary bodies from an organisation:
// handlers never panic, and a rejected body changes nothing.
func FuzzBodies(f *testing.F) {
	for _, r := range modules.Txs() {
		f.Add(r.Type, []byte(r.Example))
	}
	f.Add(governance.TypePropose, []byte(`{"action":"add_member","member":{"name":"X","org_type":"clinic","key":"`+pubHex(testKey("k"))+`"}}`))
	f.Add(identity.TypeRotateKey, []byte(`{"new_key":"","proof":""}`))
	h := newHarness(f)
	h.block()
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		h.t = t
		signer := pubHex(hospitalKey)
		tx := &envelope.Tx{ChainID: testChain, Nonce: h.nonces[signer], Type: typ, Body: body}
		tx.Sign(hospitalKey)
		before := h.store.Hash()
		res := h.block(tx.Encode()).TxResults[0]
		switch {
		case res.Code == 0:
			h.nonces[signer]++
		case res.Code == ledger.ErrInternal.Code && res.Codespace == ledger.ErrInternal.Codespace:
			t.Fatalf("internal error on %s %q: %s", typ, body, res.Log)
		default:
			if _, known := h.app.routes[typ]; known {
				h.nonces[signer]++ // the nonce was spent; nothing else may change
				return
			}
			if !bytes.Equal(before, h.store.Hash()) {
				t.Fatalf("rejected %s changed the state", typ)
			}
		}
	})
}
