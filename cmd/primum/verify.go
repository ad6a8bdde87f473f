package main

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/internal/autocli"
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
			var v supply.Verdict
			q := url.Values{"code": {args[0]}}
			if as != "" {
				q.Set("as", as)
			}
			if err := g.client().Get(cmd.Context(), "/api/v1/verify?"+q.Encode(), &v); err != nil {
				return err
			}
			var proofs []*prove.Proven
			if withProofs {
				p, err := tf.prover(cmd.Context(), g, g.client())
				if err != nil {
					return err
				}
				pv, got, note, err := p.CheckVerdict(cmd.Context(), args[0], as, v.Verdict, time.Now().UTC())
				if err != nil {
					return err
				}
				if note != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "note:", note)
				}
				pv.Trail, pv.TrailSteps, proofs = v.Trail, v.TrailSteps, got
				v = *pv
			}
			names := g.Names(cmd.Context())
			var out any = v
			if withProofs {
				out = struct {
					supply.Verdict
					Proofs []*prove.Proven `json:"proofs"`
				}{v, proofs}
			}
			if err := g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
				printVerdict(w, &v, names)
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

func printVerdict(w io.Writer, v *supply.Verdict, names autocli.Names) {
	who := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	// The mark says what to do: dispense, stop, look again (a scan to
	// repeat, a pack still on its way), or what it is (a case, an asset:
	// no alarm, and no pack to dispense).
	mark := "✗"
	switch v.Verdict {
	case supply.VerdictDispensable:
		mark = "✓"
	case supply.VerdictBadCode, supply.VerdictMissingSeparator, supply.VerdictInTransit:
		mark = "↻"
	case supply.VerdictLogisticUnit, supply.VerdictAsset:
		mark = "▣"
	}
	fmt.Fprintf(w, "%s %s — %s\n", mark, v.Verdict, names.In(v.Message))
	if v.Reading != "" {
		fmt.Fprintf(w, "  read as  %s\n", v.Reading)
	}
	if v.Product != nil {
		fmt.Fprintf(w, "  product  %s %s %s (GTIN %s)\n", v.Product.Name, v.Product.Strength, v.Product.Form, v.GTIN)
	}
	if v.Serial != "" {
		line := "  serial   " + v.Serial
		if v.Lot != "" {
			line += "  lot " + v.Lot
		}
		if v.Expiry != "" {
			line += "  expiry " + v.Expiry
		}
		fmt.Fprintln(w, line)
	}
	if v.Custodian != "" {
		// A recalled or quarantined pack is not simply "active".
		state := v.Status
		switch v.Verdict {
		case supply.VerdictRecalled:
			state = "lot recalled"
		case supply.VerdictQuarantined:
			state = "quarantined as suspect"
		}
		fmt.Fprintf(w, "  held by  %s (%s)\n", who(v.Custodian), state)
	}
	if v.Recall != nil {
		fmt.Fprintf(w, "  recall   %s (%s)\n", v.Recall.Reason, who(v.Recall.By))
	}
	if v.Suspect != "" {
		fmt.Fprintf(w, "  suspect  %s\n", v.Suspect)
	}
	if shown := uint64(len(v.Trail)); shown < v.TrailSteps {
		fmt.Fprintf(w, "  trail    the latest %d of %d steps (all of them: primum supply object %s --after N)\n", shown, v.TrailSteps, v.Key)
	}
	for _, s := range v.Trail {
		to := ""
		if s.To != "" {
			to = " → " + who(s.To)
		}
		fmt.Fprintf(w, "  %s  %-14s by %s%s\n", s.Time, s.Action, who(s.By), to)
	}
}
