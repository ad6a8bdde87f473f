package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

func newTestnetCmd(g *globals) *cobra.Command {
	var (
		n         int
		outDir    string
		chainID   string
		startPort int
		freePorts bool
		orgTypes  []string
	)
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of an N-validator consortium on this machine",
		Long: `Writes DIR/node0 … DIR/nodeN-1: one genesis naming N founding member organisations,
each with a validator, distinct loopback ports and every node a persistent peer of the
others. Start each with 'primum node --home DIR/nodeI'. Operator keys are written
UNENCRYPTED (DIR/nodeI/keys/operator.json): this is for testing only.

Ports: node I uses P2P START+10*I, RPC START+10*I+1, API START+10*I+2 (START is
--starting-port), or free ports chosen now with --free-ports.`,
		Example: `  primum testnet --validators 4 --output ./testnet
  primum node --home ./testnet/node0 &
  primum node --home ./testnet/node1 & …`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := node.Testnet(outDir, chainID, n, startPort, freePorts, orgTypes)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), list, func(w io.Writer) {
				fmt.Fprintf(w, "Wrote %d node homes for chain %s (operator keys UNENCRYPTED: testing only):\n", n, chainID)
				for _, o := range list {
					fmt.Fprintf(w, "  %s  api %s  rpc %s  p2p %s\n", o.Home, o.API, o.RPC, o.P2P)
				}
				fmt.Fprintf(w, "Start each with: primum node --home %s\n", filepath.Join(outDir, "nodeI"))
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "validators", 4, "number of validator nodes")
	f.StringVar(&outDir, "output", "", "folder to write node0 … nodeN-1 into")
	// --output is this command's folder (as the README has it), which hides
	// the global -o/--output: -o still says the output format here, as it
	// does everywhere, with the long name of a hidden flag.
	f.StringVarP(&g.env().Output, "output-format", "o", "text", "output format: text or json")
	_ = f.MarkHidden("output-format")
	f.StringVar(&chainID, "chain-id", "primum-testnet", "chain id")
	f.IntVar(&startPort, "starting-port", 26600, "first port; node I uses START+10*I … START+10*I+2")
	f.BoolVar(&freePorts, "free-ports", false, "pick free loopback ports now instead of --starting-port")
	f.StringSliceVar(&orgTypes, "org-types", nil, "organisation type of node0, node1, … in turn (default hospital,hospital,pharmacy,regulator,manufacturer,…)")
	return cmd
}
