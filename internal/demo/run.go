package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
