package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/store"
)

// Start starts the demo's node in home, listening where listen says (kept
// in home's configuration), after setting up a new demo there when home
// holds none, or when it holds one an earlier Primum made in a state
// format this one cannot read (kept aside: Replace). started says which,
// for the person who ran it.
func Start(ctx context.Context, home string, listen node.Listen, logger *slog.Logger) (n *node.Node, started string, err error) {
	if err := listen.Check(); err != nil { // before a new home is written
		return nil, "", err
	}
	started = fmt.Sprintf("Resuming the demo consortium in %s\n", home)
	if node.AwaitingGenesis(home) { // a founding member's home: never a demo chain of its own
		return nil, "", node.ErrAwaitingGenesis(home)
	}
	if !node.Initialized(home) {
		if err := InitHome(home, node.DefaultPorts); err != nil {
			return nil, "", fmt.Errorf("cannot set up the demo in %s: %w", home, err)
		}
		started = fmt.Sprintf("Created a new demo consortium in %s\n", home)
	}
	if err := node.SetListen(home, listen); err != nil {
		return nil, "", err
	}
	node.TuneGC()
	opts := node.Options{Home: home, CometMetrics: true, Logger: logger}
	n, err = node.Start(ctx, opts)
	if errors.Is(err, store.ErrOldFormat) && IsHome(home) {
		var aside string
		if aside, err = Replace(home, node.DefaultPorts); err != nil {
			return nil, "", err
		}
		if err = node.SetListen(home, listen); err != nil {
			return nil, "", err
		}
		started = fmt.Sprintf("The demo in %s was made by an earlier Primum whose state this one cannot read: moved it to %s and created a new demo consortium\n", home, aside)
		n, err = node.Start(ctx, opts)
	}
	if err != nil {
		return nil, "", err
	}
	return n, started, nil
}

// SeedNode seeds the demo n runs in home (Seed, for two minutes at most)
// and writes its members file, with the node's addresses.
func SeedNode(ctx context.Context, home string, n *node.Node) (*File, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	file, err := Seed(ctx, home, client.New(n.APIURL()))
	if err != nil {
		return nil, fmt.Errorf("cannot create demo members: %w", err)
	}
	file.API, file.RPC = n.APIURL(), n.RPCAddr()
	return file, WriteFile(home, file)
}

// Run is 'primum demo': it starts the demo in home (Start), seeds it
// (SeedNode), tells w where to find it and what to try, and runs until
// ctx ends.
func Run(ctx context.Context, home string, listen node.Listen, w io.Writer, logger *slog.Logger) error {
	n, started, err := Start(ctx, home, listen, logger)
	if err != nil {
		return err
	}
	defer n.Stop()
	fmt.Fprint(w, started)
	if host, beyond := beyondLoopback(n.APIURL()); beyond {
		fmt.Fprintf(w, "WARNING: the API listens on %s, beyond this machine; the demo's members act with plain-text tokens and unencrypted keys: keep it to a test network\n", host)
	}
	file, err := SeedNode(ctx, home, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, `
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
		FilePath(home), home, home, Prefix, home)
	<-ctx.Done()
	fmt.Fprintln(w, "\nStopping…")
	return nil
}

// beyondLoopback is the host an API URL listens on, and whether it is
// reached from beyond this machine (not localhost, not a loopback
// address); an address it cannot read is not.
func beyondLoopback(apiURL string) (host string, beyond bool) {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(apiURL, "http://"))
	if err != nil {
		return host, false
	}
	ip := net.ParseIP(host)
	return host, host != "localhost" && (ip == nil || !ip.IsLoopback())
}
