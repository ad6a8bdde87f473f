// Package stateproof checks the proof of one state entry, or of its absence,
// against an app hash: the ICS23 verification the state's Merkle commitment
// (package store) is laid out for. It imports nothing of the store, so a
// program that only verifies (the Go client's prover) does not link Pebble.
package stateproof

import (
	"crypto/sha256"

	ics23 "github.com/cosmos/ics23/go"
)

// Spec is the ICS23 specification the state's proofs verify against: the
// stock SmtSpec (ABCI proof op type ics23:smt). The app hash's layout follows
// it; never change one without the other.
var Spec = ics23.SmtSpec

// RedactedSpec is the specification of absence proofs. An absence proof
// shows the two entries next to the absent key in the tree's order; in
// clear, they would hand whoever asks about any key two other entries of
// the state (a patient's records, anyone's). So their key and value are
// given as their SHA-256 (Redact), which is all the leaf hash and the order
// need: the same tree as Spec, with the leaf's pre-hashing already done.
var RedactedSpec = &ics23.ProofSpec{
	LeafSpec: &ics23.LeafOp{Hash: ics23.HashOp_SHA256, PrehashKey: ics23.HashOp_NO_HASH, PrehashValue: ics23.HashOp_NO_HASH,
		Length: ics23.LengthOp_NO_PREFIX, Prefix: []byte{0}},
	InnerSpec:                  ics23.SmtSpec.InnerSpec,
	MaxDepth:                   ics23.SmtSpec.MaxDepth,
	PrehashKeyBeforeComparison: false, // the keys are their hashes already
}

// Redact rewrites an absence proof made under Spec so that it names no key
// and shows no value in clear: the absent key and the neighbours' keys
// and values become their SHA-256, the neighbours' leaves RedactedSpec's.
func Redact(non *ics23.NonExistenceProof) {
	non.Key = hash(non.Key)
	for _, n := range []*ics23.ExistenceProof{non.Left, non.Right} {
		if n == nil {
			continue
		}
		n.Key, n.Value = hash(n.Key), hash(n.Value)
		leaf := *RedactedSpec.LeafSpec
		leaf.Prefix = append([]byte{}, n.Leaf.GetPrefix()...)
		n.Leaf = &leaf
	}
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// Verify reports whether proof shows, under the app hash root, that key
// holds value (exists) or that key is absent (!exists; value is ignored;
// the proof is a redacted one, see RedactedSpec). Only the plain forms the
// store makes are taken: ICS23's compressed and batch forms are refused
// before the library sees them (its decompression panics on crafted
// input: a lying node must not crash the client that checks it), and a
// panic in the library is a refusal too.
func Verify(proof *ics23.CommitmentProof, root, key, value []byte, exists bool) (ok bool) {
	switch {
	case proof == nil:
		return false
	case exists && proof.GetExist() == nil, !exists && proof.GetNonexist() == nil:
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if exists {
		return ics23.VerifyMembership(Spec, root, proof, key, value)
	}
	return ics23.VerifyNonMembership(RedactedSpec, root, proof, hash(key))
}
