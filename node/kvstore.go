package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
)

// StartKVStore runs CometBFT with CometBFT's own kvstore example application
// instead of Primum's, on the same home layout and configuration. It is the
// engine's ceiling that 'primum bench' measures Primum against.
func StartKVStore(ctx context.Context, home string, logger *slog.Logger) (*cmtnode.Node, error) {
	cfg, err := CometConfig(home)
	if err != nil {
		return nil, err
	}
	// CometBFT's metrics stay on as Primum's nodes run them (recorded, served
	// by no one here): the ceiling is the same engine doing the same work.
	nodeKey, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("cannot load node key: %w", err)
	}
	app := kvstore.NewPersistentApplication(filepath.Join(home, "data", "kvstore"))
	n, err := cmtnode.NewNode(ctx, cfg, privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()), nodeKey,
		proxy.NewLocalClientCreator(app), cmtnode.DefaultGenesisDocProviderFunc(cfg), cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(cfg.Instrumentation), cometLogger{logger.With("module", "cometbft"), cfg.LogLevel})
	if err != nil {
		return nil, err
	}
	return n, n.Start()
}
