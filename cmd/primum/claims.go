package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/claims"
)

// newClaimsCmd is the claims noun: its verbs are generated from the
// module's declarations, but for replay, which decides a claim again here.
func newClaimsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "claims", Short: claims.Declare().Doc}
	var from, token string
	var trace bool
	replay := &cobra.Command{
		Use:   "replay CLAIM",
		Short: "Decide a claim again here, from its recorded inputs and its policy version, and compare with the ledger's decision",
		Long: `Reads the claim (as its provider, insurer, patient or the regulator: --from or --token)
and the policy version it names, runs the same adjudication here (cel-go, the rule set's
hash checked) and compares each line's outcome, amounts and reason codes, and the hash of
the evaluation trace, with what the ledger recorded. Lines the insurer decided by hand
are compared by the trace alone. Exits non-zero when the decisions differ.`,
		Example: "  primum claims replay SLH-2026-0001 --from careshield\n  primum claims replay SLH-2026-0001 --from careshield --trace",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			claim, steps, diffs, err := g.env().Replay(cmd.Context(), from, token, args[0])
			if err != nil {
				return err
			}
			out := map[string]any{"claim": claim.ID, "rule_set": claim.RuleSet, "trace": claim.Trace, "agrees": len(diffs) == 0, "differences": diffs}
			if trace {
				out["steps"] = steps
			}
			if err := g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				if trace {
					fmt.Fprintln(w, strings.Join(steps, "\n"))
				}
				if len(diffs) == 0 {
					fmt.Fprintf(w, "✓ claim %s replays to the ledger's decision: rule set %s (policy %s version %d), trace %s\n", claim.ID, claim.RuleSet[:12], claim.Policy, claim.PolicyVersion, claim.Trace[:12])
					return
				}
				fmt.Fprintf(w, "✗ claim %s does not replay:\n  %s\n", claim.ID, strings.Join(diffs, "\n  "))
			}); err != nil {
				return err
			}
			if len(diffs) > 0 {
				return fmt.Errorf("the decision does not replay")
			}
			return nil
		},
	}
	replay.Flags().StringVar(&from, "from", "", "your key, which signs the reads: a name in HOME/keys or a key file path")
	replay.Flags().StringVar(&token, "token", "", "or: API token of a key the node holds (default: env PRIMUM_TOKEN)")
	replay.Flags().BoolVar(&trace, "trace", false, "print the evaluation trace, step by step")
	replay.MarkFlagsMutuallyExclusive("from", "token")
	cmd.AddCommand(replay)
	return cmd
}
