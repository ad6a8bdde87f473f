// Package stateproof checks the proof of one state entry, or of its absence,
// against an app hash: the ICS23 verification the state's Merkle commitment
// (package store) is laid out for. It imports nothing of the store, so a
// program that only verifies (the Go client's prover) does not link Pebble.
package stateproof

import ics23 "github.com/cosmos/ics23/go"

// Spec is the ICS23 specification the state's proofs verify against: the
// stock SmtSpec (ABCI proof op type ics23:smt). The app hash's layout follows
// it; never change one without the other.
var Spec = ics23.SmtSpec

// Verify reports whether proof shows, under the app hash root, that key
// holds value (exists) or that key is absent (!exists; value is ignored).
func Verify(proof *ics23.CommitmentProof, root, key, value []byte, exists bool) bool {
	if exists {
		return ics23.VerifyMembership(Spec, root, proof, key, value)
	}
	return ics23.VerifyNonMembership(Spec, root, proof, key)
}
