package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/store"
)

func newDemoCmd(g *globals) *cobra.Command {
	var apiAddr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a one-validator consortium with demo members",
		Long: `Runs a one-validator Primum consortium in --home with demo members: two hospitals, a
pharmacy, a manufacturer, a distributor, an insurer, a regulator, credentialed
practitioners and three pseudonymous patients. It serves the REST API and web interface
on 127.0.0.1:8080 and CometBFT's RPC on 127.0.0.1:26657, and writes
HOME/demo-members.json so scripts can act as any member. Running it again resumes the
same chain. Ctrl-C stops it cleanly.`,
		Example: `  primum demo
  primum demo --home /tmp/primum-demo
  primum identity list --kind practitioner --home /tmp/primum-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, apiAddr)
		},
	}
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "REST API listen address (default 127.0.0.1:8080)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, apiAddr string) error {
	home := g.home
	started := fmt.Sprintf("Resuming the demo consortium in %s\n", home)
	if !node.Initialized(home) {
		if err := demo.InitHome(home, node.DefaultPorts); err != nil {
			return fmt.Errorf("cannot set up the demo in %s: %w", home, err)
		}
		started = fmt.Sprintf("Created a new demo consortium in %s\n", home)
	}
	node.TuneGC()
	opts := node.Options{Home: home, APIAddr: apiAddr, CometMetrics: true, Logger: slog.Default()}
	n, err := node.Start(ctx, opts)
	if errors.Is(err, store.ErrOldFormat) && demo.IsHome(home) {
		// A demo an earlier Primum made, in a state format this one cannot
		// read or replay: keep it aside and start a new one.
		var aside string
		if aside, err = demo.Replace(home, node.DefaultPorts); err != nil {
			return err
		}
		started = fmt.Sprintf("The demo in %s was made by an earlier Primum whose state this one cannot read: moved it to %s and created a new demo consortium\n", home, aside)
		n, err = node.Start(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer n.Stop()
	fmt.Print(started)
	c := client.New(n.APIURL())
	setupCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	file, err := demo.Seed(setupCtx, home, c)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot create demo members: %w", err)
	}
	file.API, file.RPC = n.APIURL(), n.RPCAddr()
	if err := demo.WriteFile(home, file); err != nil {
		return err
	}
	fmt.Printf(`
Primum demo is running (chain %s).
  Web interface   %s/
  REST API        %s/api/v1  (OpenAPI: %s/api/v1/openapi.json)
  CometBFT RPC    %s
  Metrics         %s/metrics
  Demo members    %s
  Data            %s

Try:  primum identity list --home %s
      primum supply prefix %s --home %s   (Acme Pharma's GS1 prefix: only it registers GTINs under it)
Press Ctrl-C to stop; run "primum demo" again to resume the same chain.
`, file.ChainID, n.APIURL(), n.APIURL(), n.APIURL(), n.RPCAddr(), n.APIURL(),
		demo.FilePath(home), home, home, demo.Prefix, home)
	<-ctx.Done()
	fmt.Println("\nStopping…")
	return nil
}
