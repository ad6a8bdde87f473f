package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Run is 'primum node': it runs the node of an initialised home (o.Home)
// until ctx ends, then stops it; pprofAddr, if set, serves Go's profiles
// on that loopback address.
func Run(ctx context.Context, o Options, pprofAddr string) error {
	if AwaitingGenesis(o.Home) {
		return errAwaitingGenesis(o.Home)
	}
	if !Initialized(o.Home) {
		return fmt.Errorf("%s holds no node: run 'primum init' (or 'primum testnet') first", o.Home)
	}
	if pprofAddr != "" {
		if _, err := ServePprof(pprofAddr); errors.Is(err, ErrNotLoopback) {
			return fmt.Errorf("--pprof-addr %w", err)
		} else if err != nil {
			return err
		}
	}
	TuneGC()
	n, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer n.Stop()
	log := cmp.Or(o.Logger, slog.Default())
	log.Info("node running", "home", o.Home, "api", n.APIURL(), "cometbft_rpc", n.RPCAddr())
	select {
	case <-ctx.Done():
		log.Info("stopping")
		return nil
	case <-n.App.UpgradeDue():
		// The last block before an upgrade this binary does not carry is
		// committed: stop cleanly and say which binary to start.
		err := n.App.UpgradeErr()
		log.Error("stopping for a software upgrade", "err", err, "in", upgradeLinger)
		// Not at once: the others may not have this node's precommit of
		// the block yet (with three validators, they need it). Meanwhile
		// the node prevotes nil on the upgrade's block (app.ProcessProposal).
		select {
		case <-ctx.Done():
		case <-time.After(upgradeLinger):
		}
		n.Stop()
		return err
	}
}

// upgradeLinger is how long a node that stops for a software upgrade goes
// on gossiping its votes of the last block before it stops.
const upgradeLinger = 5 * time.Second

// RunKVStore runs CometBFT's kvstore example application on home (the
// benchmark's ceiling) until ctx ends, then stops it.
func RunKVStore(ctx context.Context, home string, logger *slog.Logger) error {
	n, err := StartKVStore(ctx, home, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	if err := n.Stop(); err != nil {
		return err
	}
	n.Wait()
	return nil
}
