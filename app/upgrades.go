//go:build !upgradetest

package app

// upgrades are the software upgrades this binary carries, oldest first
// (upgrade.go): none yet. Each module's migrations for one are declared
// with the module (ledger.Module.Migrations).
var upgrades []Upgrade
