package records_test

import (
	"errors"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestAdmitKeepsCodedErrorsCoded: the mempool's standing check (Route.Admit,
// which ProcessProposal applies too) answers a state value that does not
// decode with its coded error, the same on every node, so that a proposal
// carrying such a request is refused; an uncoded error there means a disk
// fault and stops the node.
func TestAdmitKeepsCodedErrorsCoded(t *testing.T) {
	w := setup(t)
	// drB's organisation, read to see whether it may break the glass, no
	// longer decodes (a bug would do this, the same on every node).
	w.Begin()
	w.St.Staged().Set([]byte("id/"+w.ID("clinic")), []byte(`{"kind":`))
	w.Commit()
	var admit func(ledger.Reader, ledger.Signer, any) error
	for _, r := range records.New().Declare().Txs {
		if r.Type == records.TypeAccess {
			admit = r.Admit
		}
	}
	rq := &requests{w: w}
	body := rq.make("drB", "obs-1", "treatment", nil)
	err := admit(w.St.Committed(), ledger.Signer{}, &body)
	var coded *ledger.Error
	if !errors.As(err, &coded) {
		t.Fatalf("got %v, want a coded error", err)
	}
}
