package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/supply"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var as string
	var withProofs bool
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "verify CODE",
		Short: "Verify a scanned medicine pack: one verdict and its chain of custody",
		Long: `Asks the node whether the pack may be dispensed. CODE is what the scanner read from the
DataMatrix (a GS1 element string, with or without parentheses and FNC1/GS separators), a GS1
Digital Link URI, or an EPC URN. --as names the scanning organisation so a pack held by
someone else is reported as in the wrong hands. Exit status 0 only when the pack is genuine
and dispensable.

--prove does not trust the node: the verdict is computed here from the pack's, its
product's and its lot's recall entries, each proven against a header the validators
signed (see "primum query proof" for the trust root), and must be the node's verdict.
The custody trail is shown as the node gives it, unproven.`,
		Example: `  primum verify '(01)09506000134352(17)271231(10)L1(21)S1' --as 8b22ff84…
  primum verify https://id.gs1.org/01/09506000134352/21/S1 -o json
  primum verify '(01)09506000134352(21)S1' --prove --genesis consortium-genesis.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var trust *clienv.Trust
			if withProofs {
				trust = &tf.Trust
			}
			v, proofs, note, err := g.env().Verify(cmd.Context(), args[0], as, trust)
			if err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", note)
			}
			names := g.env().Names(cmd.Context())
			var out any = *v
			if withProofs {
				out = struct {
					supply.Verdict
					Proofs []*prove.Proven `json:"proofs"`
				}{*v, proofs}
			}
			if err := g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				clienv.WriteVerdict(w, v, names)
				for _, p := range proofs {
					state := "absent"
					if p.Exists {
						state = "present"
					}
					fmt.Fprintf(w, "  proven   %s (%s), state after block %d: header %d signed by %d of %d validators\n", p.Key, state, p.Height, p.Header, p.Signers, p.Of)
				}
				if withProofs {
					fmt.Fprintln(w, "  (the custody trail above is the node's, not proven)")
				}
			}); err != nil {
				return err
			}
			if !v.Dispensable {
				return fmt.Errorf("not dispensable: %s", v.Verdict)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "id of the scanning organisation")
	cmd.Flags().BoolVar(&withProofs, "prove", false, "compute the verdict here from entries proven against the validators' signed header")
	tf.add(cmd)
	return cmd
}
