package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

func newNodeCmd(g *globals) *cobra.Command {
	var apiAddr, pprofAddr, tlsCert, tlsKey string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node from an initialised home",
		Long: `Runs the node in --home: CometBFT in-process with the Primum application, the REST API,
the web interface and /metrics. After a crash it replays what it had not committed and
catches up with its peers. SIGINT or SIGTERM stops it cleanly.`,
		Example: `  primum node --home ~/.primum
  primum node --home ./testnet/node2 --api-addr 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !node.Initialized(g.home) {
				return fmt.Errorf("%s holds no node: run 'primum init' (or 'primum testnet') first", g.home)
			}
			if pprofAddr != "" {
				if _, err := node.ServePprof(pprofAddr); errors.Is(err, node.ErrNotLoopback) {
					return fmt.Errorf("--pprof-addr %w", err)
				} else if err != nil {
					return err
				}
			}
			node.TuneGC()
			n, err := node.Start(cmd.Context(), node.Options{Home: g.home, APIAddr: apiAddr, TLSCert: tlsCert, TLSKey: tlsKey, CometMetrics: true, Logger: slog.Default()})
			if err != nil {
				return err
			}
			defer n.Stop()
			slog.Info("node running", "home", g.home, "api", n.APIURL(), "cometbft_rpc", n.RPCAddr())
			<-cmd.Context().Done()
			slog.Info("stopping")
			return nil
		},
	}
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "REST API listen address (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve the API over HTTPS with this PEM certificate (chain); with --tls-key (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	cmd.Flags().StringVar(&pprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this loopback address (e.g. 127.0.0.1:6060)")
	return cmd
}
