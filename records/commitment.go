package records

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Commitment is the on-ledger commitment of a record (Record.Commitment, in
// hex): HMAC-SHA256 keyed by the record's salt. Without the salt it reveals
// nothing, even about guessable content. The custodian's record store makes
// it and a requester checks what a custodian released against it. This byte
// format must never change: commitments on every ledger depend on it
// (TestCommitmentGolden).
func Commitment(salt, content []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("primum/record/v1\x00"))
	m.Write(content)
	return m.Sum(nil)
}
