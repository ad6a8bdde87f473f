package app

import (
	"errors"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// Software upgrades at a height. The members schedule one by a governance
// proposal (governance/upgrade.go: a name and a height). Every node then
// runs the same blocks up to the height; what happens there depends on the
// binary, not on a vote:
//
//   - a binary that does not carry the upgrade stops after committing the
//     block before the height (UpgradeDue: node.Run stops the node and the
//     process exits with a message), refuses to execute the block at the
//     height should CometBFT still ask (FinalizeBlock returns an error:
//     consensus halts instead of forking), and refuses to start on a state
//     at which the upgrade is due or which it already changed (CheckUpgrades);
//   - a binary that carries it runs, at the start of the block at the
//     height and before its transactions, every module's migration for it
//     (in module order), records it as done, and moves the app version
//     (state, ABCI Info, and CometBFT's consensus parameters, so that the
//     next block's header carries it). The record makes it run once: the
//     plan is gone from the state the next block sees.

// Upgrade is a software upgrade a binary carries: the name a proposal
// schedules, and the app version the ledger runs at once it took effect.
type Upgrade struct {
	Name       string
	AppVersion uint64
}

// baseAppVersion is the app version of a ledger no upgrade has changed.
const baseAppVersion = 1

// UpgradeDueError says the ledger needs an upgrade this binary does not
// carry: at Height (the next block) or, Past, since Height.
type UpgradeDueError struct {
	Name   string
	Height int64
	Info   string
	Past   bool
}

func (e *UpgradeDueError) Error() string {
	msg := fmt.Sprintf("upgrade %s is due at height %d: install the Primum that carries it and start it again", e.Name, e.Height)
	if e.Past {
		msg = fmt.Sprintf("upgrade %s took effect at height %d and this Primum does not carry it: install the Primum that carries it and start it again", e.Name, e.Height)
	}
	if e.Info != "" {
		msg += " (" + e.Info + ")"
	}
	return msg
}

// carried finds an upgrade this binary carries.
func (a *App) carried(name string) (Upgrade, bool) {
	for _, u := range a.upgrades {
		if u.Name == name {
			return u, true
		}
	}
	return Upgrade{}, false
}

// moduleMigrations are the modules' migrations for an upgrade, in module
// order (modules.All).
func moduleMigrations(name string) []ledger.Migration {
	var out []ledger.Migration
	for _, m := range modules.All() {
		for _, mg := range m.Migrations {
			if mg.Upgrade == name {
				out = append(out, mg)
			}
		}
	}
	return out
}

// checkMigrations refuses a binary whose modules migrate for an upgrade it
// does not declare (upgrades): that migration would never run.
func checkMigrations(carried []Upgrade) error {
	for _, m := range modules.All() {
		for _, mg := range m.Migrations {
			known := false
			for _, u := range carried {
				known = known || u.Name == mg.Upgrade
			}
			if !known {
				return fmt.Errorf("module %s has a migration for upgrade %q, which the app does not declare (app.upgrades)", m.Name, mg.Upgrade)
			}
		}
	}
	return nil
}

// AppVersion is the ledger's app version: that of the last upgrade that
// took effect (1 before any).
func (a *App) AppVersion() uint64 { return a.appVersion.Load() }

// loadAppVersion reads the app version from the committed state.
func (a *App) loadAppVersion() error {
	done, err := governance.UpgradesDone(a.store.Committed())
	if err != nil {
		return err
	}
	v := uint64(baseAppVersion)
	for _, d := range done {
		v = max(v, d.AppVersion)
	}
	a.appVersion.Store(v)
	return nil
}

// CheckUpgrades refuses to run this binary on a state it cannot carry on:
// one changed by an upgrade it does not carry, or one at which an upgrade
// it does not carry is due (the next block is the upgrade's). The node
// calls it before it starts CometBFT.
func (a *App) CheckUpgrades() error {
	r := a.store.Committed()
	done, err := governance.UpgradesDone(r)
	if err != nil {
		return err
	}
	for _, d := range done {
		if _, ok := a.carried(d.Name); !ok {
			return &UpgradeDueError{Name: d.Name, Height: d.Height, Past: true}
		}
	}
	return a.dueAfter(a.store.Version())
}

// dueAfter says whether the block after height is an upgrade's that this
// binary does not carry (*UpgradeDueError), as the committed state at
// height has it.
func (a *App) dueAfter(height int64) error {
	plan, err := governance.ScheduledUpgrade(a.store.Committed())
	if err != nil {
		return err
	}
	if plan == nil || plan.Height != height+1 {
		return nil
	}
	if _, ok := a.carried(plan.Name); ok {
		return nil
	}
	return &UpgradeDueError{Name: plan.Name, Height: plan.Height, Info: plan.Info}
}

// UpgradeDue is closed once the app has committed the block before an
// upgrade this binary does not carry: the node must stop (UpgradeErr says
// why). CometBFT would otherwise go on to the upgrade's block, which
// FinalizeBlock refuses.
func (a *App) UpgradeDue() <-chan struct{} { return a.upgradeDue }

// UpgradeErr is the upgrade that closed UpgradeDue (nil before).
func (a *App) UpgradeErr() error {
	if e := a.upgradeErr.Load(); e != nil {
		return e
	}
	return nil
}

// signalUpgrade closes UpgradeDue if the block after height is an
// upgrade's this binary does not carry (Commit).
func (a *App) signalUpgrade(height int64) {
	err := a.dueAfter(height)
	var due *UpgradeDueError
	if err != nil && !errors.As(err, &due) {
		panic(&ledger.StorageError{Err: err})
	}
	if due == nil || !a.upgradeErr.CompareAndSwap(nil, due) {
		return
	}
	close(a.upgradeDue)
}

// refusesUpgradeBlock says whether this binary refuses every proposal of
// the block at height, an upgrade's it does not carry: it prevotes nil, so
// that nodes without the upgrade never decide that block among themselves
// (which FinalizeBlock would refuse, halting their consensus) while they
// wait to stop, and the block is decided once nodes with more than 2/3 of
// the power carry the upgrade.
func (a *App) refusesUpgradeBlock(height int64) bool {
	due := a.upgradeErr.Load()
	return due != nil && height >= due.Height
}

// upgradeAt carries out the upgrade scheduled for the block at height, if
// any, before the block's transactions: it answers the consensus parameter
// change that moves CometBFT to the new app version (nil: no upgrade now),
// or an *UpgradeDueError when this binary does not carry it.
func (a *App) upgradeAt(w ledger.Writer, height int64) (*cmtproto.ConsensusParams, error) {
	plan, err := governance.ScheduledUpgrade(w)
	if err != nil {
		panic(&ledger.StorageError{Err: err})
	}
	if plan == nil || plan.Height != height {
		return nil, nil
	}
	u, ok := a.carried(plan.Name)
	if !ok {
		err := &UpgradeDueError{Name: plan.Name, Height: plan.Height, Info: plan.Info}
		a.log.Error("refusing the block of an upgrade this binary does not carry", "err", err.Error())
		return nil, err
	}
	migrations := a.migrations(plan.Name)
	a.log.Info("running a software upgrade", "upgrade", plan.Name, "height", height, "app_version", u.AppVersion, "migrations", len(migrations))
	for i, mg := range migrations {
		if err := mg.Run(w); err != nil {
			// The same state and code on every node: a failure is a bug
			// (or this node's storage), and committing half a migration
			// would fork. Stop; a fixed binary runs the block again.
			panic(fmt.Sprintf("upgrade %s at height %d: migration %d of %d failed: %v", plan.Name, height, i+1, len(migrations), err))
		}
	}
	governance.CompleteUpgrade(w, plan, height, u.AppVersion)
	a.upgraded = u.AppVersion // the version Info answers once the block is committed
	return &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: u.AppVersion}}, nil
}

// CarriedUpgrades are the software upgrades this binary carries, oldest
// first ('primum version' lists them: an operator checks that the binary
// they install carries the upgrade the members scheduled).
func CarriedUpgrades() []Upgrade { return append([]Upgrade(nil), upgrades...) }

// AppVersionCarried is the highest app version this binary runs: the base
// one, or the last carried upgrade's.
func AppVersionCarried() uint64 {
	v := uint64(baseAppVersion)
	for _, u := range upgrades {
		v = max(v, u.AppVersion)
	}
	return v
}
