package governance

import (
	"encoding/binary"
	"regexp"
	"strconv"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Software upgrades are decided here and carried out by the app
// (app/upgrade.go): a passed upgrade proposal schedules one plan, a name
// and a height; at that height every node stops unless its binary carries
// the upgrade, and one that does runs the modules' migrations for it and
// records it here as done. Governance never knows what an upgrade does.

// UpgradeTest is the upgrade only a test build carries (go build -tags
// upgradetest: codec_upgradetest.go, app/upgrades_upgradetest.go); a
// consortium's binary does not, and stops at it.
const UpgradeTest = "v2-test"

// Upgrade actions a proposal may take.
const (
	ActionUpgrade       = "upgrade"
	ActionCancelUpgrade = "cancel_upgrade"
)

// Errors of upgrade proposals (codespace "governance"; codes are stable).
var (
	ErrBadUpgrade = ledger.NewError("governance", 10, "bad_upgrade", 400,
		"an upgrade needs a name (1-64 of a-z, 0-9, '.', '-', '_', starting with a letter or digit), a height after the current block, and info of at most 500 characters")
	ErrUpgradeScheduled = ledger.NewError("governance", 11, "upgrade_scheduled", 409,
		"another upgrade is already scheduled: one plan at a time (cancel it first with action cancel_upgrade)")
	ErrNoUpgrade = ledger.NewError("governance", 12, "no_upgrade_scheduled", 404,
		"no upgrade of that name is scheduled (GET /api/v1/governance/upgrade)")
	ErrUpgradeDone = ledger.NewError("governance", 13, "upgrade_done", 409,
		"an upgrade of that name has already taken effect: choose a new name")
)

// UpgradePlan is a software upgrade the members decided: at Height every
// node stops, unless its binary carries Name, which then migrates the
// state and executes the block.
//
//easyjson:json
type UpgradePlan struct {
	Name   string `json:"name"`
	Height int64  `json:"height"`
	// Info tells operators where to find the binary (a release URL, a
	// checksum); the ledger does not read it.
	Info string `json:"info,omitempty"`
	// Proposal is the proposal that scheduled it (0 in a proposal's body).
	Proposal uint64 `json:"proposal,omitempty"`
}

// UpgradeDone is an upgrade that took effect: the first block it executed
// and the app version it moved the ledger to.
//
//easyjson:json
type UpgradeDone struct {
	Name       string `json:"name"`
	Height     int64  `json:"height"`
	AppVersion uint64 `json:"app_version"`
}

// UpgradeStatus is the public answer about upgrades.
type UpgradeStatus struct {
	// Scheduled is the upgrade to come (null: none).
	Scheduled *UpgradePlan `json:"scheduled"`
	// Done are the upgrades that took effect, oldest first.
	Done []UpgradeDone `json:"done"`
}

var (
	keyUpgradePlan    = []byte("gov/upgrade/plan")
	prefixUpgradeDone = []byte("gov/upgrade/done/") // + height, big-endian
)

var upgradeName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ScheduledUpgrade reads the upgrade plan (nil: none is scheduled).
func ScheduledUpgrade(r ledger.Reader) (*UpgradePlan, error) {
	var p UpgradePlan
	found, err := ledger.GetJSON(r, keyUpgradePlan, &p)
	if err != nil || !found {
		return nil, err
	}
	return &p, nil
}

// UpgradesDone lists the upgrades that took effect, oldest first. There
// are as many as the consortium ever upgraded: a handful.
func UpgradesDone(r ledger.Reader) ([]UpgradeDone, error) {
	out := []UpgradeDone{}
	var derr error
	err := r.Iterate(prefixUpgradeDone, func(_, v []byte) bool {
		var d UpgradeDone
		if derr = ledger.DecodeState(v, &d); derr != nil {
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// CompleteUpgrade records the scheduled upgrade as done at height, moving
// the ledger to appVersion, and clears the plan. The app calls it once it
// has run the upgrade's migrations.
func CompleteUpgrade(w ledger.Writer, plan *UpgradePlan, height int64, appVersion uint64) {
	w.Delete(keyUpgradePlan)
	key := binary.BigEndian.AppendUint64(append([]byte{}, prefixUpgradeDone...), uint64(height))
	ledger.SetJSON(w, key, UpgradeDone{Name: plan.Name, Height: height, AppVersion: appVersion})
}

// checkUpgrade checks an upgrade or its cancellation against the state at
// ctx: when proposed, and again when it passes (the state may have moved
// on: another plan scheduled, the height reached).
func checkUpgrade(ctx *ledger.Context, action string, u *UpgradePlan) error {
	if u == nil {
		return ErrBadUpgrade.Wrapf("%s needs upgrade", action)
	}
	if !upgradeName.MatchString(u.Name) {
		return ErrBadUpgrade.Wrapf("name %q", u.Name)
	}
	plan, err := ScheduledUpgrade(ctx.State)
	if err != nil {
		return err
	}
	if action == ActionCancelUpgrade {
		if u.Height != 0 || u.Info != "" {
			return ErrBadUpgrade.Wrapf("cancel_upgrade takes only the name")
		}
		if plan == nil || plan.Name != u.Name {
			return ErrNoUpgrade.Wrapf("%q", u.Name)
		}
		return nil
	}
	if u.Height <= ctx.Height {
		return ErrBadUpgrade.Wrapf("height %d is not after the current block %d", u.Height, ctx.Height)
	}
	if len(u.Info) > 500 {
		return ErrBadUpgrade.Wrapf("info is longer than 500")
	}
	// Every node prints info when it stops for the upgrade: no control or
	// direction-override character may reach an operator's terminal.
	if u.Info != "" {
		if err := identity.CheckName(u.Info, 500); err != nil {
			return ErrBadUpgrade.Wrapf("info must be printable text (%v)", err)
		}
	}
	if u.Proposal != 0 {
		return ErrBadUpgrade.Wrapf("proposal is set by the ledger")
	}
	if plan != nil {
		return ErrUpgradeScheduled.Wrapf("%q at height %d", plan.Name, plan.Height)
	}
	done, err := UpgradesDone(ctx.State)
	if err != nil {
		return err
	}
	for _, d := range done {
		if d.Name == u.Name {
			return ErrUpgradeDone.Wrapf("%q at height %d", d.Name, d.Height)
		}
	}
	return nil
}

// executeUpgrade carries out a passed upgrade proposal: it schedules the
// plan, or cancels it.
func executeUpgrade(ctx *ledger.Context, p *Proposal) error {
	if err := checkUpgrade(ctx, p.Action, p.Upgrade); err != nil {
		return err
	}
	if p.Action == ActionCancelUpgrade {
		ctx.State.Delete(keyUpgradePlan)
		ctx.Emit("governance.upgrade_cancelled", [2]string{"name", p.Upgrade.Name})
		return nil
	}
	plan := *p.Upgrade
	plan.Proposal = p.ID
	ledger.SetJSON(ctx.State, keyUpgradePlan, &plan)
	ctx.Emit("governance.upgrade_scheduled", [2]string{"name", plan.Name}, [2]string{"height", strconv.FormatInt(plan.Height, 10)})
	return nil
}

// upgradeQuery is GET /api/v1/governance/upgrade.
func upgradeQuery() ledger.Query {
	return ledger.Query{Path: "/api/v1/governance/upgrade", Name: "upgrade", Read: ledger.Public, Answer: &UpgradeStatus{},
		Doc: "The software upgrade scheduled (the height at which every node stops unless its binary carries it) and those that took effect.",
		Handle: func(q *ledger.Request) (any, error) {
			plan, err := ScheduledUpgrade(q.State)
			if err != nil {
				return nil, err
			}
			done, err := UpgradesDone(q.State)
			return &UpgradeStatus{Scheduled: plan, Done: done}, err
		}}
}
