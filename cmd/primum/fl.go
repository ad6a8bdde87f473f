package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/internal/flrun"
)

// newFLCmd is the fl noun: its verbs are generated from the module's
// declarations, but for running a site's part of a task and writing the
// synthetic example's data, which work with files here.
func newFLCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "fl", Short: federated.Declare().Doc}
	var from, data string
	run := &cobra.Command{
		Use:   "run TASK --data FILE.csv --from SITE",
		Short: "Take part in a task: each round, train on this site's data and post the model, until the task is done",
		Long: `Reads this site's data (CSV: a header naming at least the task's features and label, the
features standardised as the task says, labels 0 or 1), keeps every fifth row as the holdout
(committed by its SHA-256, the same every round) and trains on the rest. Each round it
evaluates the ledger's global model on the holdout, trains it further for the task's local
epochs, clips it, and posts it with its sample count; a round whose deadline passed is
closed with whoever contributed. The data never leaves this machine: the ledger sees the
model's integers and the counts.`,
		Example: "  primum fl synth 1 > site-1.csv\n  primum fl run t2d-example --data site-1.csv --from riverside.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := g.env().FromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			site, err := flrun.NewSite(cmd.Context(), g.env().Client(), key, args[0], data)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "training on %d rows, holding out %d\n", len(site.Train), len(site.Holdout))
			site.Log = func(round int64, e *federated.Eval) {
				fmt.Fprintf(cmd.ErrOrStderr(), "round %d: posted; the round's starting model scored accuracy %.3f, AUC %.3f on the holdout\n",
					round, float64(e.AccuracyPPM)/1e6, float64(e.AUCPPM)/1e6)
			}
			done, err := site.Run(cmd.Context())
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), done, func(w io.Writer) {
				fmt.Fprintf(w, "%s is done after %d rounds: global model %s\n", done.ID, done.Rounds, done.ModelHash)
			})
		},
	}
	run.Flags().StringVar(&from, "from", "", "the participating organisation's key: a name in HOME/keys or a key file path")
	run.Flags().StringVar(&data, "data", "", "this site's data (CSV)")
	_ = run.MarkFlagRequired("data")
	synth := &cobra.Command{
		Use:   "synth SITE",
		Short: "Write the synthetic example's data for site 1, 2 or 3 (CSV, to stdout)",
		Long: `Writes the patients of one site of the three-hospital example, generated deterministically
from a known ground truth (a logistic model of type 2 diabetes over age, BMI, systolic
pressure and HbA1c, standardised), with a different age mix at each site: site 1 large and
older, site 2 younger, site 3 small. docs/federated.md has the results.`,
		Example: "  primum fl synth 3 > site-3.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			i, err := strconv.Atoi(args[0])
			if err != nil || i < 1 || i > len(federated.SynthSites) {
				return fmt.Errorf("SITE is 1 to %d", len(federated.SynthSites))
			}
			return federated.WriteCSV(cmd.OutOrStdout(), federated.SynthFeatures, federated.SynthLabel, federated.Synth(federated.SynthSites[i-1], uint64(i)))
		},
	}
	cmd.AddCommand(run, synth)
	return cmd
}
