package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/supply"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "verify CODE",
		Short: "Verify a scanned medicine pack: one verdict and its chain of custody",
		Long: `Asks the node whether the pack may be dispensed. CODE is what the scanner read from the
DataMatrix (a GS1 element string, with or without parentheses and FNC1/GS separators), a GS1
Digital Link URI, or an EPC URN. --as names the scanning organisation so a pack held by
someone else is reported as in the wrong hands. Exit status 0 only when the pack is genuine
and dispensable.`,
		Example: `  primum verify '(01)09506000134352(17)271231(10)L1(21)S1' --as 8b22ff84…
  primum verify https://id.gs1.org/01/09506000134352/21/S1 -o json`,
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
			names := map[string]string{}
			if g.output == "text" {
				if orgs, err := g.client().Identities(cmd.Context(), "organisation"); err == nil {
					for _, o := range orgs {
						names[o.ID] = o.Name
					}
				}
			}
			if err := g.print(cmd.OutOrStdout(), v, func(w io.Writer) { printVerdict(w, &v, names) }); err != nil {
				return err
			}
			if !v.Dispensable {
				return fmt.Errorf("not dispensable: %s", v.Verdict)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "id of the scanning organisation")
	return cmd
}

func printVerdict(w io.Writer, v *supply.Verdict, names map[string]string) {
	who := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	mark := "✗"
	if v.Dispensable {
		mark = "✓"
	}
	fmt.Fprintf(w, "%s %s — %s\n", mark, v.Verdict, v.Message)
	if v.Product != nil {
		fmt.Fprintf(w, "  product  %s %s %s (GTIN %s)\n", v.Product.Name, v.Product.Strength, v.Product.Form, v.GTIN)
	}
	if v.Serial != "" {
		fmt.Fprintf(w, "  serial   %s  lot %s  expiry %s\n", v.Serial, v.Lot, v.Expiry)
	}
	if v.Custodian != "" {
		fmt.Fprintf(w, "  held by  %s (%s)\n", who(v.Custodian), v.Status)
	}
	for _, s := range v.Trail {
		to := ""
		if s.To != "" {
			to = " → " + who(s.To)
		}
		fmt.Fprintf(w, "  %s  %-14s by %s%s\n", s.Time, s.Action, who(s.By), to)
	}
}
