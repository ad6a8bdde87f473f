package app

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// The envelope's bytes must never change: blocks already on disk hold them.
// Ed25519 is deterministic, so the whole signed transaction is fixed.
func TestEnvelopeGolden(t *testing.T) {
	tx := &Tx{ChainID: "primum-1", Nonce: 300, Type: "identity.register_patient", Body: []byte(`{}`)}
	tx.Sign(testKey("golden"))
	layout := "01" + "08" + hex.EncodeToString([]byte("primum-1")) + pubHex(testKey("golden")) + "ac02" +
		"19" + hex.EncodeToString([]byte("identity.register_patient")) + "02" + "7b7d"
	const golden = "3a0fd04037e40d084545d3bf4b6e6b684913daeaae290f649eed62c779e728b5c9fa4cd0364db96244fc8c34fee5696001a735a13a468357bc34f50c3e40e807"
	got := hex.EncodeToString(tx.Encode())
	if got != layout+golden {
		t.Fatalf("envelope bytes changed:\n got %s\nwant %s", got, layout+golden)
	}
	if string(tx.SignBytes()[:13]) != "primum/tx/v1\x00" {
		t.Fatal("sign domain changed")
	}
	back, err := Decode(tx.Encode())
	if err != nil || !back.Verify() || back.Nonce != 300 || back.Type != tx.Type || back.ChainID != tx.ChainID {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecode: no input makes the decoder panic, and whatever decodes
// re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	tx := &Tx{ChainID: "primum-1", Nonce: 7, Type: identity.TypeRegisterPatient, Body: []byte(`{}`)}
	tx.Sign(testKey("fuzz"))
	f.Add(tx.Encode())
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, raw []byte) {
		signer, nonce, ok := signerNonce(raw)
		tx, err := Decode(raw)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), raw) {
			t.Fatalf("decode/encode not canonical")
		}
		if !ok || !bytes.Equal(signer[:], tx.Signer) || nonce != tx.Nonce {
			t.Fatalf("signerNonce disagrees with Decode: %x %d %v", signer, nonce, ok)
		}
	})
}

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
		tx := &Tx{ChainID: testChain, Nonce: h.nonces[signer], Type: typ, Body: body}
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
