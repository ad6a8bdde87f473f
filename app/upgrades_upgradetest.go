//go:build upgradetest

package app

import "github.com/primum-health/primum/governance"

// upgrades, in a test build (go build -tags upgradetest), carry the test
// upgrade that re-encodes governance's proposals
// (governance/codec_upgradetest.go), so that real nodes exercise an
// upgrade end to end (cmd/primum's TestUpgradeAtHeight).
var upgrades = []Upgrade{{Name: governance.UpgradeTest, AppVersion: 2}}
