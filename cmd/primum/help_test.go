package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/modules"
)

// Every command an operator can run explains itself with an example.
func TestEveryCommandHasHelpAndExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" {
			if c.Short == "" {
				t.Errorf("%s has no short description", c.CommandPath())
			}
			if c.Example == "" {
				t.Errorf("%s has no example", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}

// TestEveryQueryHasAVerb: each module query is a verb under its module's
// noun — the generated one, or one written by hand that says it reads that
// route — never hidden by another verb of the same name (as `records
// retention`, which sets the policy, once hid the read).
func TestEveryQueryHasAVerb(t *testing.T) {
	root := newRoot()
	for _, m := range modules.All() {
		noun := autocli.Subcommand(root, m.Name)
		if noun == nil {
			t.Fatalf("no command for module %s", m.Name)
		}
		for _, q := range m.Queries {
			verb := autocli.Find(noun, q.Name)
			if verb == nil || verb.Annotations["query"] != q.Path {
				t.Errorf("primum %s %s does not read %s: rename the query or the verb", m.Name, q.Name, q.Path)
			}
		}
	}
}

// TestRetentionNeedsHoldOrClear: setting a retention policy without a hold
// would remove it; the CLI refuses that unless --clear says so (and sends
// nothing: no node is needed to be refused).
func TestRetentionNeedsHoldOrClear(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"records", "retention", "--from", "org.json"}, "--clear to remove it"},
		{[]string{"records", "retention", "--from", "org.json", "--clear", "--hold", "medication:legal_obligation:10"}, "without --hold"},
	} {
		root := newRoot()
		root.SetArgs(c.args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}

// TestTestnetOutput: 'primum testnet' keeps --output as its folder (as the
// README has it) and takes -o as the output format, as every command does.
func TestTestnetOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "testnet")
	root := newRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"testnet", "--validators", "1", "--free-ports", "-o", "json", "--output", dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out.String()), &list); err != nil || len(list) != 1 {
		t.Fatalf("-o json printed %q: %v", out.String(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node0", "config", "genesis.json")); err != nil {
		t.Errorf("--output %s: %v", dir, err)
	}
	root = newRoot()
	root.SetArgs([]string{"testnet", "-o", "yaml", "--output", dir})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "must be text or json") {
		t.Errorf("-o yaml: %v", err)
	}
}
