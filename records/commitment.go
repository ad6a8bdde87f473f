package records

import "github.com/primum-health/primum/release/sealed"

// Commitment is the on-ledger commitment of a record (Record.Commitment, in
// hex): sealed.Commitment, whose byte format must never change
// (TestCommitmentGolden).
func Commitment(salt, content []byte) []byte { return sealed.Commitment(salt, content) }
