//go:build byzantine

package node

import (
	"os"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/app"
)

// consensusApp is what CometBFT drives. In this build (-tags byzantine,
// tests only) PRIMUM_BYZANTINE names the misbehaviours of a byzantine
// proposer (app.NewByzantine); unset, the node is honest.
func consensusApp(a *app.App) (abci.Application, error) {
	modes := os.Getenv("PRIMUM_BYZANTINE")
	if modes == "" {
		return a, nil
	}
	return app.NewByzantine(a, modes)
}
