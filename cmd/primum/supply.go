package main

import (
	"github.com/spf13/cobra"
)

// newSupplyCmd is the supply noun: its verbs are generated from the
// module's declarations (modules.go), but for import.
func newSupplyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "supply",
		Short: "Medicine supply chain: products, packs, hand-overs, dispensing, recalls",
		Long: `Signs supply-chain transactions with --from and submits them to --node. Identifiers may be
GS1 element strings, Digital Link URIs or EPC URNs. For EPCIS documents use the node's
/epcis/capture interface or 'primum supply import'.`,
	}
	cmd.AddCommand(newSupplyImportCmd(g))
	return cmd
}
