package main

import (
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
catches up with its peers. SIGINT or SIGTERM stops it cleanly. At the height of a software
upgrade this Primum does not carry ('primum governance upgrade') it stops by itself, and
refuses to start again, with exit status 3: install the Primum that carries the upgrade.`,
		Example: `  primum node --home ~/.primum
  primum node --home ./testnet/node2 --api-addr 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return node.Run(cmd.Context(), node.Options{Home: g.env().Home, APIAddr: apiAddr, TLSCert: tlsCert, TLSKey: tlsKey, CometMetrics: true, Logger: slog.Default()}, pprofAddr)
		},
	}
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "REST API listen address (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve the API over HTTPS with this PEM certificate (chain); with --tls-key (default from config/primum.json)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	cmd.Flags().StringVar(&pprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this loopback address (e.g. 127.0.0.1:6060)")
	return cmd
}
