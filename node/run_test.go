package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// 'primum node' refuses a home that holds no node, and profiles served
// beyond this machine, before it starts anything.
func TestRunRefuses(t *testing.T) {
	empty := t.TempDir()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), []byte("{}"), 0o600); err != nil { // a node, to Initialized
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, home, pprof, err string
	}{
		{"no node", empty, "", "holds no node: run 'primum init'"},
		{"profiles beyond this machine", home, "0.0.0.0:6060", "--pprof-addr "},
	} {
		if err := Run(context.Background(), Options{Home: c.home}, c.pprof); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
}
