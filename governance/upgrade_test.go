package governance_test

import (
	"strings"
	"testing"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
)

func upgrade(name string, height int64) governance.Propose {
	return governance.Propose{Action: governance.ActionUpgrade, Upgrade: &governance.UpgradePlan{Name: name, Height: height, Info: "release notes"}}
}

func cancelUpgrade(name string) governance.Propose {
	return governance.Propose{Action: governance.ActionCancelUpgrade, Upgrade: &governance.UpgradePlan{Name: name}}
}

func wantScheduled(w *moduletest.World, name string, height int64) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		plan, err := governance.ScheduledUpgrade(w.St.Committed())
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case name == "" && plan != nil:
			t.Fatalf("scheduled: %+v, want none", plan)
		case name != "" && (plan == nil || plan.Name != name || plan.Height != height):
			t.Fatalf("scheduled: %+v, want %s at %d", plan, name, height)
		}
		got, err := w.Query("", "/api/v1/governance/upgrade", nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.(*governance.UpgradeStatus); (s.Scheduled == nil) != (plan == nil) {
			t.Fatalf("GET /api/v1/governance/upgrade: %+v, state %+v", s, plan)
		}
	}
}

// TestGovernanceUpgrades walks upgrade proposals between two members: one
// plan at a time, at a height after the block, cancelled by name; what
// changed when it passed is checked again then.
func TestGovernanceUpgrades(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare(), identity.Declare())
	w.AddValidator("hosp", "hospital", 10)
	w.AddValidator("lab", "lab", 10)
	w.Commit()
	const (
		propose = governance.TypePropose
		vote    = governance.TypeVote
	)
	yes := func(id uint64) governance.Vote { return governance.Vote{ProposalID: id, Vote: "yes"} }
	run(t, w, []step{
		{"an upgrade needs its plan", "hosp", propose, governance.Propose{Action: governance.ActionUpgrade}, governance.ErrBadUpgrade, nil},
		{"a name", "hosp", propose, upgrade("", 100), governance.ErrBadUpgrade, nil},
		{"of lower-case letters, digits, dots, dashes", "hosp", propose, upgrade("V2 final", 100), governance.ErrBadUpgrade, nil},
		{"of at most 64", "hosp", propose, upgrade(strings.Repeat("v", 65), 100), governance.ErrBadUpgrade, nil},
		{"a height after the block", "hosp", propose, upgrade("v2", 1), governance.ErrBadUpgrade, nil},
		{"info of at most 500", "hosp", propose, governance.Propose{Action: governance.ActionUpgrade,
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100, Info: strings.Repeat("i", 501)}}, governance.ErrBadUpgrade, nil},
		{"info without control characters", "hosp", propose, governance.Propose{Action: governance.ActionUpgrade,
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100, Info: "see \x1b[2Jhttps://example.org"}}, governance.ErrBadUpgrade, nil},
		{"not the proposal's number", "hosp", propose, governance.Propose{Action: governance.ActionUpgrade,
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100, Proposal: 7}}, governance.ErrBadUpgrade, nil},
		{"no member with it", "hosp", propose, governance.Propose{Action: governance.ActionUpgrade, Member: member("x", "clinic", 0),
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100}}, governance.ErrBadUpgrade, nil},
		{"nor an upgrade with a member", "hosp", propose, governance.Propose{Action: governance.ActionAddMember, Member: member("x", "clinic", 0),
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100}}, governance.ErrBadMember, nil},
		{"nothing to cancel", "hosp", propose, cancelUpgrade("v2"), governance.ErrNoUpgrade, nil},
		{"an upgrade is proposed: nothing scheduled yet", "hosp", propose, upgrade("v2", 100), nil, wantScheduled(w, "", 0)},
		{"a second one meanwhile", "lab", propose, upgrade("v2b", 50), nil, nil},
		{"the first passes: it is the plan", "lab", vote, yes(1), nil, wantScheduled(w, "v2", 100)},
		{"one plan at a time", "hosp", propose, upgrade("v3", 200), governance.ErrUpgradeScheduled, nil},
		{"the second fails when it passes", "hosp", vote, yes(2), nil, func(t *testing.T) {
			wantProposal(w, 2, governance.StatusFailed, 2, 0)(t)
			wantScheduled(w, "v2", 100)(t)
		}},
		{"a cancellation names the plan", "hosp", propose, cancelUpgrade("v3"), governance.ErrNoUpgrade, nil},
		{"and only its name", "hosp", propose, governance.Propose{Action: governance.ActionCancelUpgrade,
			Upgrade: &governance.UpgradePlan{Name: "v2", Height: 100}}, governance.ErrBadUpgrade, nil},
		{"a cancellation", "hosp", propose, cancelUpgrade("v2"), nil, nil},
		{"passes: no plan", "lab", vote, yes(3), nil, wantScheduled(w, "", 0)},
		{"a new plan after it", "lab", propose, upgrade("v2", 100), nil, nil},
		{"passes", "hosp", vote, yes(4), nil, wantScheduled(w, "v2", 100)},
	})

	// Once it took effect (the app records it), its name is spent.
	w.Begin()
	plan, _ := governance.ScheduledUpgrade(w.St.Staged())
	governance.CompleteUpgrade(w.St.Staged(), plan, 100, 2)
	w.Commit()
	run(t, w, []step{
		{"a done upgrade's name is spent", "hosp", propose, upgrade("v2", 300), governance.ErrUpgradeDone, wantScheduled(w, "", 0)},
		{"a new name is not", "hosp", propose, upgrade("v3", 300), nil, nil},
	})
	done, err := governance.UpgradesDone(w.St.Committed())
	if err != nil || len(done) != 1 || done[0] != (governance.UpgradeDone{Name: "v2", Height: 100, AppVersion: 2}) {
		t.Fatalf("upgrades done: %+v, %v", done, err)
	}
}
