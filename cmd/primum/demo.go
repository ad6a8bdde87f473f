package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/node"
)

func newDemoCmd(g *globals) *cobra.Command {
	var listen node.Listen
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a one-validator consortium with demo members",
		Long: `Runs a one-validator Primum consortium in --home with demo members: two hospitals, a
pharmacy, a manufacturer, a distributor, an insurer, a regulator, credentialed
practitioners and three pseudonymous patients. It serves the REST API and web interface
on 127.0.0.1:8080 and CometBFT's RPC on 127.0.0.1:26657, and writes
HOME/demo-members.json so scripts can act as any member. --api-addr, --rpc-addr and
--p2p-addr move it off those ports (to run beside another node) and are kept in HOME's
configuration, so the CLI with --home and later runs find it there. Running it again
resumes the same chain. Ctrl-C stops it cleanly.`,
		Example: `  primum demo
  primum demo --home /tmp/primum-demo --api-addr 127.0.0.1:8081 --rpc-addr 127.0.0.1:26757 --p2p-addr 127.0.0.1:26756
  primum identity list --kind practitioner --home /tmp/primum-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), g.env().Home, listen, os.Stdout, slog.Default())
		},
	}
	cmd.Flags().StringVar(&listen.API, "api-addr", "", "REST API and web listen address, kept in HOME (default 127.0.0.1:8080)")
	cmd.Flags().StringVar(&listen.RPC, "rpc-addr", "", "CometBFT RPC listen address, kept in HOME (default 127.0.0.1:26657)")
	cmd.Flags().StringVar(&listen.P2P, "p2p-addr", "", "CometBFT P2P listen address, kept in HOME (default 127.0.0.1:26656)")
	return cmd
}
