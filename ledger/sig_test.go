package ledger

import (
	"crypto/ed25519"
	"math/big"
	"testing"
)

// order is the order L of the Ed25519 base point.
var order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// addOrder returns sig with S replaced by S+L: the same point equation, a
// non-canonical encoding that Go's crypto/ed25519 refuses.
func addOrder(sig []byte) []byte {
	le := func(b []byte) []byte {
		out := make([]byte, len(b))
		for i := range b {
			out[len(b)-1-i] = b[i]
		}
		return out
	}
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, order)
	buf := make([]byte, 32)
	s.FillBytes(buf)
	return append(append([]byte{}, sig[:32]...), le(buf)...)
}

func TestVerifySignatureAgreesWithStdlib(t *testing.T) {
	seed := make([]byte, 32)
	for i := 0; i < 200; i++ {
		seed[0], seed[1] = byte(i), byte(i>>8)
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		msg := []byte{byte(i), 1, 2, 3}
		sig := ed25519.Sign(priv, msg)
		flipped := append([]byte{}, sig...)
		flipped[i%64] ^= 1 << (i % 8)
		smallOrder := make([]byte, 32) // the identity point's encoding is 0x01 00…
		smallOrder[0] = 1
		cases := []struct {
			name          string
			pub, msg, sig []byte
		}{
			{"genuine", pub, msg, sig},
			{"flipped bit", pub, msg, flipped},
			{"other message", pub, append(msg, 0), sig},
			{"non-canonical S", pub, msg, addOrder(sig)},
			{"small-order key", smallOrder, msg, sig},
			{"short signature", pub, msg, sig[:63]},
		}
		for _, c := range cases {
			want := len(c.sig) == ed25519.SignatureSize && ed25519.Verify(c.pub, c.msg, c.sig)
			if got := VerifySignature(c.pub, c.msg, c.sig); got != want {
				t.Fatalf("key %d, %s: VerifySignature %v, crypto/ed25519 %v", i, c.name, got, want)
			}
		}
	}
}

// FuzzVerifySignature: on any input, the fast check and Go's own agree.
func FuzzVerifySignature(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := []byte("primum")
	sig := ed25519.Sign(priv, msg)
	f.Add([]byte(priv.Public().(ed25519.PublicKey)), msg, sig)
	f.Add([]byte(priv.Public().(ed25519.PublicKey)), msg, addOrder(sig))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return
		}
		want := len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig)
		if got := VerifySignature(pub, msg, sig); got != want {
			t.Fatalf("disagree on pub %x msg %x sig %x: fast %v, stdlib %v", pub, msg, sig, got, want)
		}
	})
}
