package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/ledger"
)

// scheduleUpgrade passes an upgrade proposal for name at height: proposed
// by St Luke's, voted yes by three more of the five founding members.
func (h *harness) scheduleUpgrade(name string, height int64) {
	h.t.Helper()
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionUpgrade,
		Upgrade: &governance.UpgradePlan{Name: name, Height: height, Info: "https://example.org/primum/" + name}}))
	p, _, err := governance.ListPage(h.store.Committed(), h.now, 0, 1)
	if err != nil || len(p) != 1 {
		h.t.Fatalf("no proposal: %v", err)
	}
	h.mustOK(h.tx(hospital2Key, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}),
		h.tx(pharmacyKey, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}),
		h.tx(regulatorKey, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}))
	plan, err := governance.ScheduledUpgrade(h.store.Committed())
	if err != nil || plan == nil || plan.Name != name || plan.Height != height {
		h.t.Fatalf("scheduled: %+v, %v; want %s at %d", plan, err, name, height)
	}
}

// carry makes the harness's binary carry an upgrade to appVersion whose
// one migration writes a marker key and counts its runs.
func (h *harness) carry(name string, appVersion uint64, runs *int) {
	h.app.upgrades = []Upgrade{{Name: name, AppVersion: appVersion}}
	h.app.migrations = func(upgrade string) []ledger.Migration {
		if upgrade != name {
			return nil
		}
		return []ledger.Migration{{Upgrade: name, Run: func(w ledger.Writer) error {
			*runs++
			w.Set([]byte("gov/upgrade-test/marker"), []byte(name))
			return nil
		}}}
	}
}

func (h *harness) info() *abci.InfoResponse {
	h.t.Helper()
	info, err := h.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil {
		h.t.Fatal(err)
	}
	return info
}

func upgradeDue(a *App) bool {
	select {
	case <-a.UpgradeDue():
		return true
	default:
		return false
	}
}

// TestUpgradeStopsABinaryWithoutIt: a binary that does not carry the
// scheduled upgrade runs every block before its height, then signals the
// node to stop, refuses the upgrade's block, and refuses to start again on
// that state.
func TestUpgradeStopsABinaryWithoutIt(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, true)
	h.scheduleUpgrade("v2", 6) // passes at height 2
	for h.height < 4 {
		h.block()
		if upgradeDue(h.app) {
			t.Fatalf("the node was told to stop after height %d, before the block before the upgrade", h.height)
		}
	}
	h.block() // 5: the last block before the upgrade
	if !upgradeDue(h.app) {
		t.Fatal("after the block before the upgrade, the node was not told to stop")
	}
	const want = "upgrade v2 is due at height 6: install the Primum that carries it and start it again"
	if err := h.app.UpgradeErr(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("UpgradeErr: %v; want %q", err, want)
	}
	if res, err := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: 6}); err != nil || res.Status != abci.PROCESS_PROPOSAL_STATUS_REJECT {
		t.Fatalf("ProcessProposal at the upgrade's height: %v %v, want a rejection", res, err)
	}
	_, err := h.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: 6, Time: h.now.Add(time.Second)})
	var due *UpgradeDueError
	if !errors.As(err, &due) || due.Name != "v2" || due.Height != 6 {
		t.Fatalf("FinalizeBlock at the upgrade's height: %v; want an UpgradeDueError", err)
	}
	if v := h.info().AppVersion; v != 1 {
		t.Fatalf("app version %d, want 1", v)
	}
	h.store.Close()

	h2 := openHarness(t, dir, false)
	if err := h2.app.CheckUpgrades(); !errors.As(err, &due) || err.Error() != want+" (https://example.org/primum/v2)" {
		t.Fatalf("restart on the block before the upgrade: %v; want %q", err, want)
	}
}

// TestUpgradeMigratesOnce: a binary that carries the upgrade runs its
// migrations at the start of the upgrade's block, once; the app version
// moves in CometBFT's consensus parameters at that block and in Info once
// it is committed, and stays after a restart, which does not migrate
// again. A binary without the upgrade refuses that state.
func TestUpgradeMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, true)
	runs := 0
	h.carry("v2", 2, &runs)
	h.scheduleUpgrade("v2", 5)
	for h.height < 4 {
		if res := h.block(); res.ConsensusParamUpdates != nil {
			t.Fatalf("height %d moved the consensus parameters: %v", h.height, res.ConsensusParamUpdates)
		}
	}
	if upgradeDue(h.app) || runs != 0 {
		t.Fatalf("before the upgrade: stop %v, %d migrations", upgradeDue(h.app), runs)
	}
	if res, err := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: 5}); err != nil || res.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
		t.Fatalf("ProcessProposal at the upgrade's height, by a binary that carries it: %v %v", res, err)
	}
	// The upgrade's block: the migration runs before the transactions,
	// which then see the new version of the state.
	res := h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionUpgrade,
		Upgrade: &governance.UpgradePlan{Name: "v3", Height: 100}}))
	if runs != 1 {
		t.Fatalf("%d migration runs at the upgrade's block, want 1", runs)
	}
	if p := res.ConsensusParamUpdates; p == nil || p.Version == nil || p.Version.App != 2 {
		t.Fatalf("consensus parameter updates at the upgrade: %v, want version.app 2", p)
	}
	if v := h.info().AppVersion; v != 2 {
		t.Fatalf("Info's app version after the upgrade: %d, want 2", v)
	}
	r := h.store.Committed()
	if b, _ := r.Get([]byte("gov/upgrade-test/marker")); string(b) != "v2" {
		t.Fatalf("the migration's write: %q", b)
	}
	done, err := governance.UpgradesDone(r)
	if err != nil || len(done) != 1 || done[0] != (governance.UpgradeDone{Name: "v2", Height: 5, AppVersion: 2}) {
		t.Fatalf("upgrades done: %+v, %v", done, err)
	}
	if plan, _ := governance.ScheduledUpgrade(r); plan != nil {
		t.Fatalf("the plan is still scheduled after it took effect: %+v", plan)
	}
	for range 3 {
		h.block()
	}
	if runs != 1 || upgradeDue(h.app) {
		t.Fatalf("after the upgrade: %d migration runs, stop %v", runs, upgradeDue(h.app))
	}
	height, nonces, now := h.height, h.nonces, h.now
	h.store.Close()

	// Restarted with the same binary: version 2, no second run.
	h2 := openHarness(t, dir, false)
	h2.height, h2.nonces, h2.now = height, nonces, now
	h2.carry("v2", 2, &runs)
	if err := h2.app.CheckUpgrades(); err != nil {
		t.Fatal(err)
	}
	if v := h2.info().AppVersion; v != 2 {
		t.Fatalf("Info's app version after a restart: %d, want 2", v)
	}
	h2.block()
	if runs != 1 {
		t.Fatalf("%d migration runs after a restart, want 1", runs)
	}
	h2.store.Close()

	// The old binary on the upgraded state.
	h3 := openHarness(t, dir, false)
	const want = "upgrade v2 took effect at height 5 and this Primum does not carry it: install the Primum that carries it and start it again"
	if err := h3.app.CheckUpgrades(); err == nil || err.Error() != want {
		t.Fatalf("the old binary on an upgraded state: %v; want %q", err, want)
	}
}

// TestUpgradeCancelled: a cancelled plan stops no one.
func TestUpgradeCancelled(t *testing.T) {
	h := newHarness(t)
	h.scheduleUpgrade("v2", 8)
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionCancelUpgrade,
		Upgrade: &governance.UpgradePlan{Name: "v2"}}))
	p, _, _ := governance.ListPage(h.store.Committed(), h.now, 0, 1)
	h.mustOK(h.tx(hospital2Key, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}),
		h.tx(pharmacyKey, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}),
		h.tx(regulatorKey, governance.TypeVote, governance.Vote{ProposalID: p[0].ID, Vote: "yes"}))
	for h.height < 10 {
		h.block()
	}
	if upgradeDue(h.app) || h.info().AppVersion != 1 {
		t.Fatalf("after a cancelled upgrade: stop %v, app version %d", upgradeDue(h.app), h.info().AppVersion)
	}
}

// TestMigrationsNameCarriedUpgrades: a module's migration for an upgrade
// the app does not declare would never run; the app refuses to open.
func TestMigrationsNameCarriedUpgrades(t *testing.T) {
	if err := checkMigrations(upgrades); err != nil {
		t.Fatal(err)
	}
}
