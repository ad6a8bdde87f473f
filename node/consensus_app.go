//go:build !byzantine

package node

import (
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/app"
)

// consensusApp is what CometBFT drives: the app itself. (A test build with
// -tags byzantine has a misbehaving one instead: byzantine.go.)
func consensusApp(a *app.App) (abci.Application, error) { return a, nil }
