package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/research"
)

// newResearchCmd is the research noun: its verbs are generated from the
// module's declarations, but for a custodian's answer, counted and noised
// here from its own rows, and the example's rows.
func newResearchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "research", Short: research.Declare().Doc}
	var from, data string
	var all bool
	answer := &cobra.Command{
		Use:   "answer [QUERY] --data ROWS.csv --from CUSTODIAN",
		Short: "Answer a query (or, with --all, every open one on your datasets) with noisy cells counted from your own rows",
		Long: `Reads your rows (CSV: a header naming category, region, age_band and period), counts those
in the query's cohort by its groups, adds discrete Laplace noise of scale 1/ε to each cell
(sampled here, from crypto/rand) and posts only the noisy cells. Your rows and the exact
counts never leave this machine.`,
		Example: "  primum research synth 1 > rows.csv\n  primum research answer --all --data rows.csv --from st-lukes.json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return fmt.Errorf("name a QUERY, or --all")
			}
			key, err := g.env().FromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			rows, err := flrun.ReadRows(data)
			if err != nil {
				return err
			}
			query := ""
			if !all {
				query = args[0]
			}
			n, err := flrun.AnswerQueries(cmd.Context(), g.env().Client(), key, rows, query, func(q *research.Query) {
				fmt.Fprintf(cmd.OutOrStdout(), "answered %s: %d noisy cells\n", q.ID, len(q.Groups))
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "answered %d quer%s\n", n, map[bool]string{true: "y", false: "ies"}[n == 1])
			return nil
		},
	}
	answer.Flags().StringVar(&from, "from", "", "the custodian organisation's key: a name in HOME/keys or a key file path")
	answer.Flags().StringVar(&data, "data", "", "your rows (CSV)")
	answer.Flags().BoolVar(&all, "all", false, "answer every open query on your datasets you have not answered")
	_ = answer.MarkFlagRequired("data")
	synth := &cobra.Command{
		Use:     "synth SITE",
		Short:   "Write the synthetic example's rows for site 1, 2 or 3 (CSV, to stdout)",
		Example: "  primum research synth 2 > rows.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			i, err := strconv.Atoi(args[0])
			if err != nil || i < 1 || i > 3 {
				return fmt.Errorf("SITE is 1 to 3")
			}
			return research.WriteRows(cmd.OutOrStdout(), research.SynthRows(i))
		},
	}
	cmd.AddCommand(answer, synth)
	return cmd
}
