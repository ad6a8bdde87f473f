package records

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestCommitmentGolden(t *testing.T) {
	got := Commitment(bytes.Repeat([]byte{0x11}, 32), []byte(`{"resourceType":"Patient"}`))
	// This value must never change: commitments on every ledger depend on it.
	const want = "60c7189b582ee08240e08cc4059bc19dcb8510b788afd2ddc2d765744c14cadb"
	if hex.EncodeToString(got) != want {
		t.Fatalf("commitment format changed: %x", got)
	}
}
