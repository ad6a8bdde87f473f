package client

import (
	"os/exec"
	"strings"
	"testing"
)

// serverPackages are the node's own packages and CometBFT's node: a program
// that links one of them links the server.
var serverPackages = []string{
	"github.com/primum-health/primum/api",
	"github.com/primum-health/primum/app",
	"github.com/primum-health/primum/store", // Pebble's; store/stateproof is not
	"github.com/primum-health/primum/node",
	"github.com/primum-health/primum/docstore",
	"github.com/cometbft/cometbft/node",
}

// TestClientLinksNoServer: the Go client is a library. A program that uses
// it links the envelope, the wire types and the capability packages, never
// the node, its stores, CometBFT or Pebble. The prover (client/prove) may
// link CometBFT's light client and the Pebble it brings with its databases,
// but not the node.
// release is allowed: the client fetches records with it, and it depends on
// records and the standard library only.
func TestClientLinksNoServer(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with:", err)
	}
	for _, c := range []struct {
		pkg       string
		forbidden []string
		trees     []string // forbidden with every package under them
	}{
		{".", serverPackages, []string{"github.com/cockroachdb/pebble", "github.com/cometbft/cometbft", "github.com/cometbft/cometbft-db"}},
		{"./prove", serverPackages, nil},
	} {
		out, err := exec.Command(goCmd, "list", "-deps", c.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", c.pkg, err)
		}
		deps := strings.Fields(string(out))
		t.Logf("%s links %d packages", c.pkg, len(deps))
		reported := map[string]bool{}
		for _, d := range deps {
			for _, f := range c.forbidden {
				if d == f {
					t.Errorf("%s links %s", c.pkg, d)
				}
			}
			for _, tree := range c.trees {
				if (d == tree || strings.HasPrefix(d, tree+"/")) && !reported[tree] {
					reported[tree] = true
					t.Errorf("%s links %s (%s)", c.pkg, tree, d)
				}
			}
		}
	}
}
