package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

// newStateSyncCmd: 'primum statesync' sets a new node to start from a
// member's snapshot (node.SetStateSync).
func newStateSyncCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "statesync RPC_ADDR RPC_ADDR...",
		Short: "Set a new node to start from a member's snapshot instead of replaying every block",
		Long: `Sets the node in --home (stopped, with the consortium's genesis and no ledger yet) to
restore the consortium's state from a snapshot on its first start, then follow the chain
from there: the way a new member's node joins a ledger that is months old.

Give the CometBFT RPC addresses of at least two members' nodes (host:port or
http://host:port). The command reads the latest block from the first, checks the others
have the same block, and writes them and that block as the trust point into
config/config.toml: on start, CometBFT's light client verifies every header from there to
the snapshot's by the validators' signatures, and the node refuses a snapshot whose state
does not hash to the verified app hash. Compare the trust hash it prints with a member
out of band if you do not run those nodes' members yourself.

The node has the ledger's state from the snapshot on, not the transactions' results
from before it, nor any other member's records (docs/operations.md, "Joining with state
sync").`,
		Example: `  primum statesync --home ./riverside 10.0.0.1:26657 10.0.0.2:26657
  primum node --home ./riverside`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := node.SetStateSync(cmd.Context(), g.env().Home, args)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), t, func(w io.Writer) {
				fmt.Fprintf(w, "State sync set for chain %s:\n  trust height  %d\n  trust hash    %s\n  from          %v\nStart the node: primum node --home %s\n",
					t.ChainID, t.Height, t.Hash, t.Servers, g.env().Home)
			})
		},
	}
}
