package clienv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/supply"
)

// Every import takes PRIMUM_TOKEN, the token every command reads, when
// --token is not given; supply import still reads PRIMUM_API_TOKEN, its
// older name, after it.
func TestAPIToken(t *testing.T) {
	for _, c := range []struct {
		name, flag, token, older, want string
	}{
		{"--token first", "flag", "env", "old", "flag"},
		{"PRIMUM_TOKEN", "", "env", "old", "env"},
		{"the older name", "", "", "old", "old"},
		{"none", "", "", "", ""},
	} {
		t.Setenv("PRIMUM_TOKEN", c.token)
		t.Setenv("PRIMUM_API_TOKEN", c.older)
		if got := APIToken(c.flag, "PRIMUM_API_TOKEN"); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// -o json prints JSON, and so does a value without a text form; text
// output is the text form's.
func TestPrint(t *testing.T) {
	text := func(w io.Writer) { fmt.Fprintln(w, "a is 1") }
	for _, c := range []struct {
		output string
		text   func(io.Writer)
		want   string
	}{
		{"json", text, "{\n  \"a\": 1\n}\n"},
		{"text", nil, "{\n  \"a\": 1\n}\n"},
		{"text", text, "a is 1\n"},
	} {
		var out strings.Builder
		if err := (&Env{Output: c.output}).Print(&out, map[string]int{"a": 1}, c.text); err != nil || out.String() != c.want {
			t.Errorf("-o %s: %q, %v; want %q", c.output, out.String(), err, c.want)
		}
	}
}

// What a command gets wrong is said before the node is asked: no --from,
// no trust root, a new key given without its holder's proof, a patient's
// query without a patient.
func TestRefusedHere(t *testing.T) {
	t.Setenv("PRIMUM_TOKEN", "")
	home := t.TempDir()
	e := &Env{Home: home, Node: "http://127.0.0.1:1", Output: "text"}
	holderCmd := func(as string) error {
		cmd := &cobra.Command{}
		cmd.Flags().String("new", "", "")
		_, err := e.holder(cmd, &ledger.KeyHolder{Flag: "new", Key: "new_key", Proof: "new_key_proof", As: as}, nil, map[string]any{"new_key": "5e"})
		return err
	}
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"no --from", func() error { _, err := e.SigningKey(""); return err }, "--from is required"},
		{"a key not here", func() error { _, err := e.FromKey(context.Background(), filepath.Join(home, "none.json")); return err }, "none.json"},
		{"no PATIENT", func() error { _, err := e.PatientOf(context.Background(), nil, ""); return err }, "give a PATIENT id or --from"},
		{"a patient's query as nobody", func() error {
			cmd := &cobra.Command{}
			cmd.SetContext(context.Background())
			_, _, err := e.Read(cmd, autocli.Read{Mine: true})
			return err
		}, "give a patient's ID, or --from"},
		{"a trust hash not a header's", func() error {
			_, err := e.Prover(context.Background(), Trust{TrustHash: "abcd", TrustHeight: 3}, e.Client())
			return err
		}, "--trust-hash must be a header's 64 hex digits"},
		{"a trust hash without its height", func() error {
			_, err := e.Prover(context.Background(), Trust{TrustHash: strings.Repeat("ab", 32)}, e.Client())
			return err
		}, "with its --trust-height"},
		{"no genesis", func() error { _, err := e.Prover(context.Background(), Trust{}, e.Client()); return err }, "a trust root is needed"},
		{"a key without its proof", func() error { return holderCmd("") }, "--new-key needs --new-key-proof, the key holder's proof: give the key itself with --new"},
		{"a registration's key without its proof", func() error { return holderCmd("practitioner") },
			"primum keys prove-possession THEIR_KEY --as practitioner --for YOUR_ID\nor give the key itself with --new"},
	} {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// What asks the node: one demo node for them all.
func TestWithNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, n, _, f := demotest.Seeded(t, ctx)
	t.Run("pseudonyms", func(t *testing.T) { testPseudonyms(t, ctx, home, n.APIURL(), f) })
	t.Run("member", func(t *testing.T) { testMember(t, ctx, home, n.APIURL(), f) })
	t.Run("verify", func(t *testing.T) { testVerify(t, ctx, &Env{Home: home, Node: n.APIURL()}, n.RPCAddr()) })
	t.Run("records", func(t *testing.T) { testRecords(t, ctx, &Env{Home: home, Node: n.APIURL()}, n.RPCAddr(), f) })
	t.Run("verbs", func(t *testing.T) { testVerbs(t, ctx, &Env{Home: home, Node: n.APIURL()}, n.RPCAddr(), f) })
}

// A patient's pseudonyms are found from their key and its file, or the one
// --at names; another kind's key holds none, and an --at no organisation
// is called is refused.
func testPseudonyms(t *testing.T, ctx context.Context, home, api string, f *demo.File) {
	p2 := f.Member("Patient 2")
	riverside := p2.Pseudonyms["Riverside General Hospital"]
	for _, c := range []struct {
		name, from, at string
		want           []string // ids found, in part
		err            string
	}{
		{"a patient's own and those listed", p2.KeyFile, "", []string{p2.Address, riverside}, ""},
		{"the one --at names", p2.KeyFile, "Riverside General Hospital", []string{riverside}, ""},
		{"--at no organisation", p2.KeyFile, "No Such Hospital", nil, "--at "},
		{"an organisation's key", f.Member("St Luke's Hospital").KeyFile, "", nil, "only patients hold pseudonyms"},
	} {
		e := &Env{Home: home, Node: api, Output: "text", At: c.at}
		rows, err := e.Pseudonyms(ctx, c.from, false)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.at != "" && len(rows) != 1 {
			t.Errorf("%s: %d pseudonyms, want 1: %+v", c.name, len(rows), rows)
		}
		for _, id := range c.want {
			found := false
			for _, r := range rows {
				found = found || r.ID == id
			}
			if !found {
				t.Errorf("%s: %s not in %+v", c.name, id, rows)
			}
		}
	}
	// A patient's own id is their key's; a pseudonym's, the one --at names.
	for at, want := range map[string]string{"": p2.Address, "Riverside General Hospital": riverside} {
		if id, err := (&Env{Home: home, Node: api, At: at}).PatientOf(ctx, nil, p2.KeyFile); err != nil || id != want {
			t.Errorf("PatientOf --at %q: %q, %v; want %s", at, id, err, want)
		}
	}
}

// A member is proposed only with its keys' proofs, checked against the
// node's chain before anything is sent: made here from its operator key
// (--key-file), or brought by a membership request for this chain.
func testMember(t *testing.T, ctx context.Context, home, api string, f *demo.File) {
	e := &Env{Home: home, Node: api}
	op, err := e.Keys().Add("fjord", "", true)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "request.json")
	b, _ := json.Marshal(node.MembershipRequest{ChainID: "another-chain"})
	if err := os.WriteFile(other, b, 0o600); err != nil {
		t.Fatal(err)
	}
	vk := strings.Repeat("8a", 32)
	fjord := governance.NewMember{Name: "Fjord Clinic", OrgType: "clinic"}
	for _, c := range []struct {
		name string
		r    MemberRequest
		err  string // none: proposed, with the operator key's proof
	}{
		{"--key-file", MemberRequest{NewMember: fjord, KeyFile: "fjord"}, ""},
		{"--key without its proof", MemberRequest{NewMember: governance.NewMember{Name: "Fjord Clinic", OrgType: "clinic", Key: op.PublicKey}}, "--key needs --key-proof"},
		{"a validator key without its proof", MemberRequest{NewMember: governance.NewMember{Name: "Fjord Clinic", OrgType: "clinic", ValidatorKey: vk}, KeyFile: "fjord"},
			"--validator-key needs --validator-key-proof"},
		{"a proof of another key", MemberRequest{NewMember: governance.NewMember{Name: "Fjord Clinic", OrgType: "clinic", Key: op.PublicKey, KeyProof: strings.Repeat("00", 64)}},
			"[bad_key_proof] the proof of possession does not verify"},
		{"a request for another chain", MemberRequest{Request: other}, `is for chain "another-chain"`},
	} {
		m, err := e.Member(ctx, c.r)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || m.Key != op.PublicKey || m.KeyProof == "" || m.Name != "Fjord Clinic" {
			t.Errorf("%s: %+v %v", c.name, m, err)
		}
	}
}

// A pack's verdict is the node's, or with a trust root computed here from
// proven entries, and then the same.
func testVerify(t *testing.T, ctx context.Context, e *Env, rpc string) {
	for _, c := range []struct {
		name, code, verdict string
	}{
		{"a serial never commissioned", "(01)" + demo.GTIN + "(21)NOSUCH", supply.VerdictUnknown},
		{"no code at all", "hello", supply.VerdictBadCode},
	} {
		for _, trust := range []*Trust{nil, {RPC: rpc}} {
			v, proofs, _, err := e.Verify(ctx, c.code, "", trust)
			if err != nil || v.Verdict != c.verdict || v.Dispensable {
				t.Errorf("%s (proven: %v): %+v %v", c.name, trust != nil, v, err)
			} else if (trust == nil) != (len(proofs) == 0) && c.verdict != supply.VerdictBadCode {
				t.Errorf("%s (proven: %v): %d proofs", c.name, trust != nil, len(proofs))
			}
		}
	}
}
