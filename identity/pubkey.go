package identity

import (
	"bytes"
	"crypto/ed25519"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// CheckNewKey refuses a public key that must never enter state: one that is
// not a point of the curve, a small-order point, a point with a small-order
// component (not in the prime-order subgroup), or a non-canonical encoding.
//
// Signatures are checked under ZIP-215 (ledger.VerifySignature), which is
// cofactored and accepts any encoding: for a small-order key A, [8]A is the
// identity, so the signature (R = identity, S = 0) verifies for every
// message — alone and in a batch — and anyone can sign as that key. Such a
// "ghost" identity would act with nobody accountable. Non-canonical
// encodings (y ≥ p, or x = 0 with the sign bit set) name the same point as
// another key, so one point could hold two identities; honest keys from
// ed25519.GenerateKey are never either. Verification stays ZIP-215 for
// every node to agree; the line is drawn where a key is admitted.
func CheckNewKey(key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return ErrBadKey.Wrapf("got %d bytes", len(key))
	}
	var enc curve.CompressedEdwardsY
	if _, err := enc.SetBytes(key); err != nil {
		return ErrBadKey.Wrapf("%v", err)
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&enc); err != nil {
		return ErrBadKey.Wrapf("not a point of the Ed25519 curve")
	}
	var canonical curve.CompressedEdwardsY
	if !bytes.Equal(canonical.SetEdwardsPoint(&p)[:], key) {
		return ErrWeakKey.Wrapf("non-canonical encoding of a point")
	}
	if p.IsSmallOrder() {
		return ErrWeakKey.Wrapf("small-order point: anyone can sign as it")
	}
	if !p.IsTorsionFree() {
		// A + T, T of small order: its holder can make signatures that
		// cofactored (ZIP-215) and cofactorless verifiers judge apart, and
		// one secret answers for up to eight keys. Honest keys never are.
		return ErrWeakKey.Wrapf("point with a small-order component")
	}
	return nil
}

// ParseNewKey decodes a hex Ed25519 public key about to enter state and
// refuses it as CheckNewKey does.
func ParseNewKey(s string) (ed25519.PublicKey, error) {
	key, err := ParseKey(s)
	if err != nil {
		return nil, err
	}
	if err := CheckNewKey(key); err != nil {
		return nil, err
	}
	return key, nil
}
