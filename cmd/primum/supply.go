package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/supply"
)

func newSupplyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "supply",
		Short: "Medicine supply chain: products, packs, hand-overs, dispensing, recalls",
		Long: `Signs supply-chain transactions with --from and submits them to --node. Identifiers may be
GS1 element strings, Digital Link URIs or EPC URNs. For EPCIS documents use the node's
/epcis/capture interface or 'primum supply import'.`,
	}
	tf := &txFlags{}
	cmd.PersistentFlags().StringVar(&tf.from, "from", "", "signing key: a name in HOME/keys or a key file path")
	cmd.PersistentFlags().BoolVar(&tf.wait, "wait", true, "wait until committed")
	send := func(cmd *cobra.Command, typ string, body any) error { return g.send(cmd, tf, typ, body) }
	var prod supply.RegisterProduct
	regProduct := &cobra.Command{
		Use:     "register-product",
		Short:   "Register a product by GTIN (manufacturers)",
		Example: `  primum supply register-product --gtin 09506000134352 --name Amoxicillin --form capsule --strength "500 mg" --from acme`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return send(cmd, supply.TypeRegisterProduct, prod) },
	}
	regProduct.Flags().StringVar(&prod.GTIN, "gtin", "", "GTIN-14")
	regProduct.Flags().StringVar(&prod.Name, "name", "", "product name")
	regProduct.Flags().StringVar(&prod.Form, "form", "", "dosage form")
	regProduct.Flags().StringVar(&prod.Strength, "strength", "", "strength")

	var com supply.Commission
	commission := &cobra.Command{
		Use:     "commission SERIAL...",
		Short:   "Commission serialised packs of one lot (the product's manufacturer)",
		Example: `  primum supply commission S1 S2 S3 --gtin 09506000134352 --lot L1 --expiry 2028-06-30 --from acme`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			com.Serials = args
			return send(cmd, supply.TypeCommission, com)
		},
	}
	commission.Flags().StringVar(&com.GTIN, "gtin", "", "GTIN-14")
	commission.Flags().StringVar(&com.Lot, "lot", "", "lot number")
	commission.Flags().StringVar(&com.Expiry, "expiry", "", "expiry date YYYY-MM-DD")

	var to string
	ship := &cobra.Command{
		Use:     "ship CODE...",
		Short:   "Ship packs or cases (with their contents) to another member",
		Example: `  primum supply ship '(00)106141412345678908' --to 139ba7bd… --from acme`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeShip, supply.Ship{Codes: args, To: to})
		},
	}
	ship.Flags().StringVar(&to, "to", "", "receiving organisation id")
	receive := &cobra.Command{
		Use:     "receive CODE...",
		Short:   "Receive what was shipped to you",
		Example: `  primum supply receive '(00)106141412345678908' --from medlogistics`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeReceive, supply.Receive{Codes: args})
		},
	}
	var parent string
	pack := &cobra.Command{
		Use:     "pack CHILD...",
		Short:   "Pack objects into a case or pallet (SSCC)",
		Example: `  primum supply pack '(01)09506000134352(21)S1' '(01)09506000134352(21)S2' --parent '(00)106141412345678908' --from acme`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypePack, supply.Pack{Parent: parent, Children: args})
		},
	}
	pack.Flags().StringVar(&parent, "parent", "", "the case or pallet (SSCC)")
	unpack := &cobra.Command{
		Use:     "unpack PARENT [CHILD...]",
		Short:   "Unpack a case or pallet (everything when no child is named)",
		Example: `  primum supply unpack '(00)106141412345678908' --from central-pharmacy`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeUnpack, supply.Pack{Parent: args[0], Children: args[1:]})
		},
	}
	dispense := &cobra.Command{
		Use:     "dispense CODE",
		Short:   "Dispense a pack (pharmacies, hospitals, their pharmacists); nothing about the patient is recorded",
		Example: `  primum supply dispense '(01)09506000134352(21)S1' --from central-pharmacy`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeDispense, supply.Dispense{Code: args[0]})
		},
	}
	var reason string
	decommission := &cobra.Command{
		Use:     "decommission CODE...",
		Short:   "Take objects out of the supply chain (destroyed, stolen, damaged, expired, sample)",
		Example: `  primum supply decommission '(01)09506000134352(21)S3' --reason destroyed --from acme`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeDecommission, supply.Decommission{Codes: args, Reason: reason})
		},
	}
	decommission.Flags().StringVar(&reason, "reason", "", "destroyed, stolen, damaged, expired or sample")
	var rc supply.RecallLot
	recall := &cobra.Command{
		Use:     "recall",
		Short:   "Recall a lot (the manufacturer or the regulator)",
		Example: `  primum supply recall --gtin 09506000134352 --lot L1 --reason "sterility failure" --from national-medicines-agency`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return send(cmd, supply.TypeRecall, rc) },
	}
	recall.Flags().StringVar(&rc.GTIN, "gtin", "", "GTIN-14")
	recall.Flags().StringVar(&rc.Lot, "lot", "", "lot number")
	recall.Flags().StringVar(&rc.Reason, "reason", "", "why")
	suspect := &cobra.Command{
		Use:     "report-suspect CODE REASON...",
		Short:   "Report a suspect pack (quarantined when you hold it, or when the regulator reports it)",
		Example: `  primum supply report-suspect '(01)09506000134352(21)S2' broken seal --from central-pharmacy`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, supply.TypeReportSuspect, supply.ReportSuspect{Code: args[0], Reason: strings.Join(args[1:], " ")})
		},
	}
	cmd.AddCommand(regProduct, commission, ship, receive, pack, unpack, dispense, decommission, recall, suspect, newSupplyImportCmd(g))
	return cmd
}
