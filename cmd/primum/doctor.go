package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

// newDoctorCmd: 'primum doctor' checks a node's setup (node.Doctor).
func newDoctorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check a node's setup: configuration, genesis, keys' permissions, disk, ports, clock, peers",
		Long: `Checks the node in --home as its operator would, before it starts and while it runs:
its configuration and genesis, that its keys are readable by their owner only (and member
keys encrypted), the free space of its disk, and that the addresses it listens on are
free or taken by this node. When the node answers on its API, also that it runs this
home's chain, how recent its latest block is against this machine's clock (a clock
behind the chain's, a node behind, a halted chain) and that it has peers.

Each check is ok, warn or fail, with what to do; the command exits 1 when one fails.`,
		Example: `  primum doctor --home ~/.primum
  primum doctor -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := node.Doctor(cmd.Context(), g.env().Home, time.Now())
			failed := 0
			for _, c := range checks {
				if c.Status == node.CheckFail {
					failed++
				}
			}
			if err := g.env().Print(cmd.OutOrStdout(), checks, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				for _, c := range checks {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
				}
				tw.Flush()
			}); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
}
