package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"
)

// The derivation is pinned: a wallet made today finds its pseudonyms in
// every later release, and the browser derives the same (its test uses
// this vector).
func TestPairwiseKey(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	patient := ed25519.NewKeyFromSeed(seed)
	a := PairwiseKey(patient, "primum-demo", "017c6718c2f9caed5ad0d6462f4b16eddc25793e")
	b := PairwiseKey(patient, "primum-demo", "a0da00c49d317693ca887044153e6306cfbf6126")
	other := PairwiseKey(patient, "another-chain", "017c6718c2f9caed5ad0d6462f4b16eddc25793e")
	if a.Equal(b) || a.Equal(other) || a.Equal(patient) {
		t.Fatal("two custodians, or two chains, share a pseudonym")
	}
	if !a.Equal(PairwiseKey(patient, "primum-demo", "017c6718c2f9caed5ad0d6462f4b16eddc25793e")) {
		t.Fatal("the derivation is not deterministic")
	}
	if got := hex.EncodeToString(a.Public().(ed25519.PublicKey)); got != pairwiseVector {
		t.Fatalf("the derivation changed: %s, pinned %s", got, pairwiseVector)
	}
}

// pairwiseVector is the public key PairwiseKey derives from the seed 00 01 … 1f
// for custodian 017c6718… on chain primum-demo.
const pairwiseVector = "389fbe60d6b03bbac3e0e3022dfbb9808034696729261dacf7b5cc07db1d81f6"

// A name people read carries no control or direction-override character,
// by a fixed list (block execution must not depend on Go's Unicode tables).
func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Dr Lena Fischer", true},
		{"Dr Zoë Ødegård-Núñez", true},
		{"د. ليلى", true},
		{"", false},
		{string(make([]byte, 101)), false},
		{"Dr\x1b]52;c;aGk=\x07", false},
		{"Dr\u009bX", false},
		{"Dr \u202egnipaS", false},
		{"bad \xff utf-8", false},
	} {
		if err := CheckName(tc.name, 100); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
