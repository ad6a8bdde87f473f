package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// testKey derives a fixed key from a name, as the app's tests do, so the
// golden vector below is the one signed there before the envelope moved.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("primum test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// The envelope's bytes must never change: blocks already on disk hold them.
// Ed25519 is deterministic, so the whole signed transaction is fixed.
func TestEnvelopeGolden(t *testing.T) {
	tx := &Tx{ChainID: "primum-1", Nonce: 300, Type: "identity.register_patient", Body: []byte(`{}`)}
	tx.Sign(testKey("golden"))
	layout := "01" + "08" + hex.EncodeToString([]byte("primum-1")) + hex.EncodeToString(testKey("golden").Public().(ed25519.PublicKey)) + "ac02" +
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
	built, err := Build("primum-1", testKey("golden"), 300, "identity.register_patient", struct{}{})
	if err != nil || !bytes.Equal(built, tx.Encode()) {
		t.Fatalf("Build signs other bytes: %x %v", built, err)
	}
}

// FuzzDecode: no input makes the decoder panic, and whatever decodes
// re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	tx := &Tx{ChainID: "primum-1", Nonce: 7, Type: "identity.register_patient", Body: []byte(`{}`)}
	tx.Sign(testKey("fuzz"))
	f.Add(tx.Encode())
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, raw []byte) {
		signer, nonce, ok := SignerNonce(raw)
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
