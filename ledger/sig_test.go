package ledger

import (
	"crypto/ed25519"
	"fmt"
	"math/big"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
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
		if plain := len(pub) == ed25519.PublicKeySize && voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, zip215); got != plain {
			t.Fatalf("with the key from the cache %v, from its bytes %v: pub %x msg %x sig %x", got, plain, pub, msg, sig)
		}
		if len(pub) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig) && !got {
			t.Fatalf("crypto/ed25519 accepts pub %x msg %x sig %x, VerifySignature refuses", pub, msg, sig)
		}
		batch := VerifyBatch(append([]Signed{{Pub: pub, Msg: msg, Sig: sig}}, others...))
		if batch[0] != got || !batch[1] || !batch[2] || !batch[3] {
			t.Fatalf("batch %v disagrees with single check %v on pub %x msg %x sig %x", batch, got, pub, msg, sig)
		}
	})
}

// TestExpandedKeysKeepAnswers: a key taken from the cache of expanded keys
// gives every answer the key's own bytes give, the first time it is seen
// and after, in a batch and alone.
func TestExpandedKeysKeepAnswers(t *testing.T) {
	shared := expandedKeys
	expandedKeys = newKeyCache(4096) // every key unseen at first (the package's tests run one at a time)
	t.Cleanup(func() { expandedKeys = shared })
	for i := 0; i < 8; i++ {
		for _, c := range sigCases(i) {
			plain := len(c.pub) == ed25519.PublicKeySize && len(c.sig) == ed25519.SignatureSize &&
				voi.VerifyWithOptions(voi.PublicKey(c.pub), c.msg, c.sig, zip215)
			if plain != c.valid {
				t.Fatalf("key %d, %s: the uncached check says %v, the case %v", i, c.name, plain, c.valid)
			}
			for _, when := range []string{"first", "again"} {
				if got := VerifySignature(c.pub, c.msg, c.sig); got != plain {
					t.Errorf("key %d, %s, %s: %v, without the cache %v", i, c.name, when, got, plain)
				}
				batch := make([]Signed, minBatch)
				for j := range batch {
					batch[j] = Signed{Pub: c.pub, Msg: c.msg, Sig: c.sig}
				}
				for j, got := range VerifyBatch(batch) {
					if got != plain {
						t.Errorf("key %d, %s, %s: batch entry %d %v, without the cache %v", i, c.name, when, j, got, plain)
					}
				}
			}
		}
	}
}

// TestKeyCacheBounded: the cache holds at most two generations, and a key in
// use is kept while others come and go.
func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache(4)
	key := func(i int) []byte {
		return ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(i))).Public().(ed25519.PublicKey)
	}
	kept := c.get(key(0))
	for i := 1; i <= 100; i++ {
		if c.get(key(i)) == nil {
			t.Fatalf("key %d not expanded", i)
		}
		if got := c.get(key(0)); got != kept {
			t.Fatalf("after %d other keys the key in use was expanded again", i)
		}
		if n := len(c.cur) + len(c.prev); n > 2*c.size {
			t.Fatalf("%d keys held, at most %d wanted", n, 2*c.size)
		}
	}
	for y := byte(2); y < 100; y++ { // some small y are on no point
		notPoint := make([]byte, ed25519.PublicKeySize)
		notPoint[0] = y
		if _, err := voi.NewExpandedPublicKey(notPoint); err == nil {
			continue
		}
		if c.get(notPoint) != nil {
			t.Fatalf("y = %d is on no point, yet the cache expanded it", y)
		}
		return
	}
	t.Fatal("no small y off the curve found")
}

// BenchmarkVerifyBatch checks batches of signatures by keys seen before
// (an organisation's, a practitioner's: their expanded form is cached) and
// by keys never seen (new patients registering), per signature.
func BenchmarkVerifyBatch(b *testing.B) {
	pool := func(keys, n int) []Signed {
		out := make([]Signed, n)
		for i := range out {
			k := ed25519.NewKeyFromSeed(append(make([]byte, 28), byte(i%keys>>16), byte(i%keys>>8), byte(i%keys), 1))
			msg := append([]byte("a transaction's sign bytes, about as long as a small one's ......."), byte(i), byte(i>>8))
			out[i] = Signed{Pub: k.Public().(ed25519.PublicKey), Msg: msg, Sig: ed25519.Sign(k, msg)}
		}
		return out
	}
	seen := pool(64, 64)
	fresh := pool(20_000, 20_000) // more than the cache holds: every key is new to it
	for _, keys := range []struct {
		name  string
		items []Signed
	}{{"seen", seen}, {"new", fresh}} {
		for _, size := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("keys=%s/size=%d", keys.name, size), func(b *testing.B) {
				at := 0
				for b.Loop() {
					if at+size > len(keys.items) {
						at = 0
					}
					if ok := VerifyBatch(keys.items[at : at+size]); !ok[0] {
						b.Fatal("refused")
					}
					at += size
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size)/1000, "µs/sig")
			})
		}
	}
}
