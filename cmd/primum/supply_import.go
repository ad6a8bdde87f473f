package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/supply"
)

func newSupplyImportCmd(g *globals) *cobra.Command {
	var (
		token  string
		report string
		batch  int
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a large EPCIS 2.0 document through the node's capture interface",
		Long: `Streams the events of an EPCISDocument to --node's /epcis/capture in batches (proceed on
error), shows progress, and reports every event as accepted, already recorded or refused
(with its code) in --report (JSON Lines) and a summary (-o json: one JSON document). Events
without an eventID get one derived from their content, so running the import again after an
interruption records nothing twice: what was accepted before reports as already recorded.

The progress is redrawn in place on a terminal; otherwise (a log file, a pipe) it is a plain
line every ` + strconv.Itoa(client.ImportProgressEvery) + ` events. The token is --token, or else PRIMUM_TOKEN (as for every
command), or else PRIMUM_API_TOKEN (its older name, still read).`,
		Example: `  primum supply import shipments.jsonld --token $TOKEN --report import-report.jsonl
  PRIMUM_TOKEN=$TOKEN primum supply import big.jsonld -o json > summary.json
  primum supply import big.jsonld --token $(jq -r '.members[]|select(.name=="Acme Pharma").api_token' ~/.primum/demo-members.json)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token = apiToken(token, "PRIMUM_API_TOKEN")
			if token == "" {
				return fmt.Errorf("--token is required: the API token of the organisation the events are captured as (or env PRIMUM_TOKEN)")
			}
			if batch < 1 || batch > supply.MaxCaptureEvents {
				return fmt.Errorf("--batch must be 1-%d", supply.MaxCaptureEvents)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, _ := f.Stat()
			var out io.Writer = io.Discard
			if report != "" {
				rf, err := os.Create(report)
				if err != nil {
					return err
				}
				defer rf.Close()
				bw := bufio.NewWriter(rf)
				defer bw.Flush()
				out = bw
			}
			im := client.NewImportProgress(f, st.Size(), out, cmd.ErrOrStderr())
			err = g.client().Import(cmd.Context(), token, im.Reader(), batch, im.Done)
			if err != nil && cmd.Context().Err() != nil {
				return fmt.Errorf("interrupted: run the import again to continue (recorded events are skipped)")
			}
			if err != nil {
				return err
			}
			sum := im.Finish()
			sum.Report = report
			return g.print(cmd.OutOrStdout(), sum, func(w io.Writer) {
				fmt.Fprintf(w, "%d events: %d accepted, %d already recorded, %d refused\n", sum.Events, sum.Accepted, sum.AlreadyRecorded, sum.Refused)
			})
		},
	}
	cmd.Flags().StringVar(&token, "token", "", "API token naming the capturing organisation (env PRIMUM_TOKEN, or PRIMUM_API_TOKEN)")
	cmd.Flags().StringVar(&report, "report", "", "write one JSON line per event to this file")
	cmd.Flags().IntVar(&batch, "batch", supply.MaxCaptureEvents, "events per capture")
	return cmd
}
