package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/trials"
)

// newTrialsCmd is the trials noun: its verbs are generated from the
// module's declarations (modules.go), but for anchoring a batch file and
// proving a record of one, which read the file here.
func newTrialsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "trials", Short: trials.Declare().Doc}
	var from, file string
	var participants []string
	anchorCmd := &cobra.Command{
		Use:   "anchor TRIAL --file BATCH --participant ID... --from SITE",
		Short: "Anchor a batch of case-report records (one a line in BATCH): its Merkle root and size go on the ledger",
		Long: `Reads BATCH (one record a line, as your system writes them; empty lines skipped), computes
its Merkle tree head (RFC 9162, SHA-256) and sends it with the batch's size and the
participants whose records it holds (each enrolled at your site, not withdrawn). The
records stay here: keep BATCH as it is, to prove any of its records later with
'primum trials prove'.`,
		Example: "  primum trials anchor PRM-2026-0001 --file visits-2026-12.jsonl --participant 3f0c… --from riverside.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := clienv.AnchorBatch(args[0], file, participants)
			if err != nil {
				return err
			}
			key, err := g.env().FromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "batch of %d records, root %s\n", a.Size, a.Root)
			return g.env().SendAs(cmd, key, true, trials.TypeAnchor, a)
		},
	}
	anchorCmd.Flags().StringVar(&from, "from", "", "the site's key (or its practitioner's): a name in HOME/keys or a key file path")
	anchorCmd.Flags().StringVar(&file, "file", "", "the batch: one record a line")
	anchorCmd.Flags().StringSliceVar(&participants, "participant", nil, "a participant the batch holds records of (repeat, or comma-separated)")
	_ = anchorCmd.MarkFlagRequired("file")

	var record int
	prove := &cobra.Command{
		Use:   "prove TRIAL BATCH --file BATCH_FILE --record N",
		Short: "Prove that record N of a batch file was in the batch anchored on the ledger",
		Long: `Reads the batch file, checks that it is the batch anchored as number BATCH (its size and
Merkle root, as the ledger holds them), and proves record N (1 = the first record) to have
been in it: the proof is RFC 9162's inclusion proof, checked here. Anyone with the record,
its number and the proof can check it against the root on the ledger.`,
		Example: "  primum trials prove PRM-2026-0001 1 --file visits-2026-12.jsonl --record 17",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.env().ProveRecord(cmd.Context(), args[0], args[1], file, record)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), p, func(w io.Writer) {
				fmt.Fprintf(w, "record %d was in batch %d of %s (%d records, root %s), anchored %s by %s: proven (%d hashes)\n",
					record, p.Batch, p.Trial, p.Size, p.Root, p.Anchored, g.env().Names(cmd.Context()).Of(p.Site), len(p.Proof))
			})
		},
	}
	prove.Flags().StringVar(&file, "file", "", "the batch file, as it was anchored")
	prove.Flags().IntVar(&record, "record", 0, "the record's number in the file (1 = the first)")
	_ = prove.MarkFlagRequired("file")
	_ = prove.MarkFlagRequired("record")
	cmd.AddCommand(anchorCmd, prove)
	return cmd
}
