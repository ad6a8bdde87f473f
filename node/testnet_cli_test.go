package node

import (
	"path/filepath"
	"strings"
	"testing"
)

// 'primum testnet' refuses what it cannot write, by its flag, and lists
// each home it wrote with its addresses, its operator key file and token.
func TestTestnet(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		dir      string
		n        int
		orgTypes []string
		err      string
	}{
		{"none", dir, 0, nil, "--validators must be 1-64"},
		{"65", dir, 65, nil, "--validators must be 1-64"},
		{"no folder", "", 2, nil, "--output DIR is required"},
		{"an unknown type", filepath.Join(dir, "x"), 2, []string{"hospital", "castle"}, `--org-types: "castle" is not one of`},
		{"two", filepath.Join(dir, "net"), 2, []string{"hospital", "pharmacy"}, ""},
		{"again", filepath.Join(dir, "net"), 2, nil, "already holds a node"},
	} {
		list, err := Testnet(c.dir, "c1", c.n, 27000, false, c.orgTypes)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || len(list) != c.n {
			t.Fatalf("%s: %+v %v", c.name, list, err)
		}
		want := TestnetHome{Home: filepath.Join(c.dir, "node1"), NodeID: list[1].NodeID, API: "http://127.0.0.1:27012", RPC: "tcp://127.0.0.1:27011",
			P2P: "127.0.0.1:27010", Operator: filepath.Join(c.dir, "node1", "keys", "operator.json"), Token: list[1].Token}
		if list[1] != want || list[1].NodeID == "" || list[1].Token == "" {
			t.Errorf("%s: %+v, want %+v", c.name, list[1], want)
		}
	}
}
