package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/clienv"
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
			token = clienv.APIToken(token, "PRIMUM_API_TOKEN")
			if token == "" {
				return fmt.Errorf("--token is required: the API token of the organisation the events are captured as (or env PRIMUM_TOKEN)")
			}
			sum, err := g.env().Client().ImportFile(cmd.Context(), token, args[0], report, batch, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), sum, func(w io.Writer) {
				fmt.Fprintf(w, "%d events: %d accepted, %d already recorded, %d refused\n", sum.Events, sum.Accepted, sum.AlreadyRecorded, sum.Refused)
			})
		},
	}
	cmd.Flags().StringVar(&token, "token", "", "API token naming the capturing organisation (env PRIMUM_TOKEN, or PRIMUM_API_TOKEN)")
	cmd.Flags().StringVar(&report, "report", "", "write one JSON line per event to this file")
	cmd.Flags().IntVar(&batch, "batch", supply.MaxCaptureEvents, "events per capture")
	return cmd
}
