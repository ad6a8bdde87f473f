// Package demotest starts demo nodes in-process for tests: a demo home on
// free ports (Start), seeded as the first 'primum demo' seeds it (Seeded).
package demotest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/node"
)

// Start starts a new demo home's node in-process on free ports, stopped
// when the test ends.
func Start(tb testing.TB) (home string, n *node.Node) {
	tb.Helper()
	home = tb.TempDir()
	ports, err := node.FreePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	if err := demo.InitHome(home, ports[0]); err != nil {
		tb.Fatal(err)
	}
	// An empty block every second rather than every five: a proof of a
	// state a block just changed waits for the next block's header.
	cfg := filepath.Join(home, "config", "config.toml")
	b, err := os.ReadFile(cfg)
	if err == nil {
		err = os.WriteFile(cfg, bytes.Replace(b, []byte(`create_empty_blocks_interval = "5s"`), []byte(`create_empty_blocks_interval = "1s"`), 1), 0o600)
	}
	if err != nil {
		tb.Fatal(err)
	}
	// Tests put proxies in front of the node (a lying node, a cut
	// connection), each on an address of its own: the node takes requests
	// signed for any of them.
	s, err := node.LoadSettings(home)
	if err != nil {
		tb.Fatal(err)
	}
	s.Authorities = []string{"*"}
	if err := node.SaveSettings(home, s); err != nil {
		tb.Fatal(err)
	}
	n, err = node.Start(context.Background(), node.Options{Home: home, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Stop)
	return home, n
}

// Seeded starts a demo node in-process and seeds it, as the first 'primum
// demo' does.
func Seeded(tb testing.TB, ctx context.Context) (home string, n *node.Node, c *client.Client, f *demo.File) {
	tb.Helper()
	home, n = Start(tb)
	c = client.New(n.APIURL())
	f, err := demo.Seed(ctx, home, c)
	if err != nil {
		tb.Fatal(err)
	}
	return home, n, c, f
}
