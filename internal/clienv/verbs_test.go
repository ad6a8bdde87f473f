package clienv

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/internal/demo"
)

// What the hand-written verbs get wrong is said before the node is asked:
// vouchers not 1 to 100, no --from, a key not hex, no trust root, a batch
// not a number, a file not there; a node not there is said as such.
func TestVerbsRefusedHere(t *testing.T) {
	t.Setenv("PRIMUM_TOKEN", "")
	dir := t.TempDir()
	e := &Env{Home: dir, Node: "http://127.0.0.1:1", Output: "text"}
	ctx := context.Background()
	cmd := &cobra.Command{}
	cmd.SetContext(ctx)
	batch := filepath.Join(dir, "batch.jsonl")
	if err := os.WriteFile(batch, []byte("{\"visit\":1}\n{\"visit\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"no vouchers", func() error { _, _, err := e.IssueVouchers(ctx, "org.json", 0); return err }, "--count must be 1 to 100"},
		{"too many vouchers", func() error { _, _, err := e.IssueVouchers(ctx, "org.json", 101); return err }, "--count must be 1 to 100"},
		{"vouchers from nobody", func() error { _, _, err := e.IssueVouchers(ctx, "", 10); return err }, "--from is required"},
		{"a transaction from nobody", func() error { return e.SendFrom(cmd, "", true, "governance.vote", nil) }, "--from is required"},
		{"a key not hex", func() error { _, err := e.KeyInfo(ctx, "5e", ""); return err }, "got 2 characters"},
		{"a proof without a trust root", func() error { _, err := e.Proof(ctx, Trust{}, "", "meta/chain_id"); return err }, "a trust root is needed"},
		{"a batch numbered 0", func() error { _, err := e.ProveRecord(ctx, "PRM-1", "0", batch, 1); return err }, "BATCH is the batch's number (1, 2, …), not \"0\""},
		{"a batch not a number", func() error { _, err := e.ProveRecord(ctx, "PRM-1", "first", batch, 1); return err }, "not \"first\""},
		{"a batch file not there", func() error { _, err := e.ProveRecord(ctx, "PRM-1", "1", batch+".none", 1); return err }, "batch.jsonl.none"},
		{"an anchor of no file", func() error { _, err := AnchorBatch("PRM-1", batch+".none", nil); return err }, "batch.jsonl.none"},
		{"a replay with no node", func() error { _, _, _, err := e.Replay(ctx, "", "", "SLH-1"); return err }, "cannot reach the node"},
	} {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// A batch's anchor is its records' Merkle root and count, with the
// participants named.
func TestAnchorBatch(t *testing.T) {
	batch := filepath.Join(t.TempDir(), "batch.jsonl")
	if err := os.WriteFile(batch, []byte("{\"visit\":1}\n\n{\"visit\":2}\n{\"visit\":3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, _ := anchor.Root([][]byte{[]byte(`{"visit":1}`), []byte(`{"visit":2}`), []byte(`{"visit":3}`)})
	a, err := AnchorBatch("PRM-1", batch, []string{"3f0c"})
	if err != nil || a.Trial != "PRM-1" || a.Size != 3 || a.Root != hex.EncodeToString(root) || !slices.Equal(a.Participants, []string{"3f0c"}) {
		t.Errorf("%+v %v, want 3 records with root %x", a, err, root)
	}
}

// A key is described to its holder, and a state entry proven.
func testVerbs(t *testing.T, ctx context.Context, e *Env, rpc string, f *demo.File) {
	p1 := f.Member("Patient 1")
	if info, err := e.KeyInfo(ctx, p1.PublicKey, p1.KeyFile); err != nil || info.Address != p1.Address || info.Identity == nil {
		t.Errorf("key: %+v %v", info, err)
	}
	v, err := e.Proof(ctx, Trust{RPC: rpc}, "", "meta/chain_id")
	if err != nil || !v.Exists || len(v.Value) == 0 || v.Signers == 0 {
		t.Errorf("proof: %+v %v", v, err)
	}
}
