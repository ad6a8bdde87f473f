//go:build upgradetest

package governance_test

import (
	"encoding/binary"
	"testing"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
)

// TestUpgradeTestReencodesProposals (go test -tags upgradetest): the test
// build's upgrade rewrites every proposal once in the new encoding, which
// the queries then read, and proposals written after it use it too.
func TestUpgradeTestReencodesProposals(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare(), identity.Declare())
	w.AddValidator("hosp", "hospital", 10)
	w.AddValidator("lab", "lab", 10)
	w.Commit()
	w.Try(t, "hosp", governance.TypePropose, upgrade(governance.UpgradeTest, 100), nil)
	raw := func(id uint64) []byte {
		b, err := w.St.Committed().Get(binary.BigEndian.AppendUint64([]byte("gov/p/"), id))
		if err != nil || b == nil {
			t.Fatalf("proposal %d: %q, %v", id, b, err)
		}
		return b
	}
	if b := raw(1); b[0] != '{' {
		t.Fatalf("before the upgrade: %q, want JSON", b)
	}
	migrations := governance.New().Declare().Migrations
	if len(migrations) != 1 || migrations[0].Upgrade != governance.UpgradeTest {
		t.Fatalf("migrations: %+v", migrations)
	}
	w.Begin()
	if err := migrations[0].Run(w.St.Staged()); err != nil {
		t.Fatal(err)
	}
	governance.CompleteUpgrade(w.St.Staged(), &governance.UpgradePlan{Name: governance.UpgradeTest}, w.Height, 2)
	w.Commit()
	if b := raw(1); b[0] != 0x02 || b[1] != '{' {
		t.Fatalf("after the upgrade: %q, want 0x02 and JSON", b)
	}
	w.Try(t, "lab", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "no"}, nil)
	w.Try(t, "lab", governance.TypePropose, upgrade("v3", 200), nil)
	for id := uint64(1); id <= 2; id++ {
		if b := raw(id); b[0] != 0x02 || b[1] != '{' {
			t.Fatalf("proposal %d written after the upgrade: %q, want 0x02 and JSON", id, b)
		}
		if p := proposal(t, w, id); p.Upgrade == nil {
			t.Fatalf("proposal %d read back: %+v", id, p)
		}
	}
}
