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

// nonCanonicalIdentity encodes the identity point as y = p+1, an encoding
// ZIP-215 reads (as the identity) and Go's crypto/ed25519 does not.
func nonCanonicalIdentity() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0xff
	}
	b[0], b[31] = 0xee, 0x7f
	return b
}

// sigCases are signatures that must be refused, and one that must pass,
// built from key number i.
func sigCases(i int) []struct {
	name          string
	pub, msg, sig []byte
	valid         bool
} {
	seed := make([]byte, 32)
	seed[0], seed[1] = byte(i), byte(i>>8)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte{byte(i), 1, 2, 3}
	sig := ed25519.Sign(priv, msg)
	flipped := append([]byte{}, sig...)
	flipped[i%64] ^= 1 << (i % 8)
	identity := make([]byte, 32) // the identity point's encoding is 0x01 00…
	identity[0] = 1
	// With a small-order key, R the identity and S = 0, the cofactored
	// equation holds for any message: ZIP-215 accepts it (Go accepts it
	// only with R encoded canonically).
	torsion := append(nonCanonicalIdentity(), make([]byte, 32)...)
	return []struct {
		name          string
		pub, msg, sig []byte
		valid         bool
	}{
		{"genuine", pub, msg, sig, true},
		{"flipped bit", pub, msg, flipped, false},
		{"other message", pub, append(msg, 0), sig, false},
		{"non-canonical S", pub, msg, addOrder(sig), false},
		{"small-order key", identity, msg, sig, false},
		{"small-order key, R non-canonical", identity, msg, torsion, true},
		{"short signature", pub, msg, sig[:63], false},
		{"short key", pub[:31], msg, sig, false},
	}
}

func TestVerifySignatureFollowsZIP215(t *testing.T) {
	for i := 0; i < 200; i++ {
		for _, c := range sigCases(i) {
			got := VerifySignature(c.pub, c.msg, c.sig)
			if got != c.valid {
				t.Fatalf("key %d, %s: VerifySignature %v, want %v", i, c.name, got, c.valid)
			}
			// Everything Go's crypto/ed25519 accepts is accepted.
			if len(c.pub) == ed25519.PublicKeySize && len(c.sig) == ed25519.SignatureSize &&
				ed25519.Verify(c.pub, c.msg, c.sig) && !got {
				t.Fatalf("key %d, %s: crypto/ed25519 accepts, VerifySignature refuses", i, c.name)
			}
		}
	}
}

// TestVerifyBatchAgreesWithVerifySignature: a batch says of each signature
// what a single check says, whatever its size and wherever the bad ones
// are. Nodes that check a block's signatures in batches and nodes that
// check them one by one must never disagree.
func TestVerifyBatchAgreesWithVerifySignature(t *testing.T) {
	var all []Signed
	for i := 0; i < 40; i++ {
		for _, c := range sigCases(i) {
			all = append(all, Signed{Pub: c.pub, Msg: c.msg, Sig: c.sig})
		}
	}
	genuine := func(from, n int) []Signed {
		var out []Signed
		for i := from; len(out) < n; i++ {
			c := sigCases(i)[0]
			out = append(out, Signed{Pub: c.pub, Msg: c.msg, Sig: c.sig})
		}
		return out
	}
	tests := []struct {
		name  string
		items []Signed
	}{
		{"empty", nil},
		{"one genuine", genuine(0, 1)},
		{"three genuine", genuine(0, 3)},
		{"sixty-four genuine", genuine(0, 64)},
		{"one bad among sixteen", append(genuine(0, 15), all[1])},
		{"bad first", append([]Signed{all[3]}, genuine(0, 7)...)},
		{"only bad", []Signed{all[1], all[2], all[3], all[4], all[6], all[7]}},
		{"every case of forty keys", all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VerifyBatch(tt.items)
			if len(got) != len(tt.items) {
				t.Fatalf("%d answers for %d signatures", len(got), len(tt.items))
			}
			for i, it := range tt.items {
				if want := VerifySignature(it.Pub, it.Msg, it.Sig); got[i] != want {
					t.Errorf("signature %d: batch %v, alone %v", i, got[i], want)
				}
			}
		})
	}
}

// FuzzVerifySignature: on any input, whatever Go's crypto/ed25519 accepts
// is accepted, and a batch agrees with the single check.
func FuzzVerifySignature(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := []byte("primum")
	sig := ed25519.Sign(priv, msg)
	pub := []byte(priv.Public().(ed25519.PublicKey))
	f.Add(pub, msg, sig)
	f.Add(pub, msg, addOrder(sig))
	identity := make([]byte, 32)
	identity[0] = 1
	f.Add(identity, msg, append(nonCanonicalIdentity(), make([]byte, 32)...))
	others := make([]Signed, minBatch-1)
	for i := range others {
		k := ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(i+1)))
		others[i] = Signed{Pub: k.Public().(ed25519.PublicKey), Msg: msg, Sig: ed25519.Sign(k, msg)}
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		got := VerifySignature(pub, msg, sig)
		if len(pub) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig) && !got {
			t.Fatalf("crypto/ed25519 accepts pub %x msg %x sig %x, VerifySignature refuses", pub, msg, sig)
		}
		batch := VerifyBatch(append([]Signed{{Pub: pub, Msg: msg, Sig: sig}}, others...))
		if batch[0] != got || !batch[1] || !batch[2] || !batch[3] {
			t.Fatalf("batch %v disagrees with single check %v on pub %x msg %x sig %x", batch, got, pub, msg, sig)
		}
	})
}
