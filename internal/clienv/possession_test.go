package clienv

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/primum-health/primum/identity"
)

// A proof of possession is signed by the key it proves, for the
// registration and chain it names, and agrees to a member's type and
// validator key; what it cannot be made for is refused before any key is
// used.
func TestProvePossession(t *testing.T) {
	home := t.TempDir()
	e := &Env{Home: home, Node: "http://127.0.0.1:1"}
	f, err := e.Keys().Add("dr", "", true)
	if err != nil {
		t.Fatal(err)
	}
	vk := strings.Repeat("8a", 32)
	for _, c := range []struct {
		name string
		args []string
		p    Possession
		err  string // none: made, agreeing to what
		what string
	}{
		{"practitioner", []string{"dr"}, Possession{As: "practitioner", For: "4b2c", ChainID: "c1"}, "", `a practitioner registration by "4b2c"`},
		{"member", []string{"dr"}, Possession{As: "member", For: "St Olav", OrgType: "hospital", ValidatorKey: vk, ChainID: "c1"}, "",
			`admission as member "St Olav" (hospital) with validator key ` + vk},
		{"member without a validator", []string{"dr"}, Possession{As: "member", For: "St Olav", OrgType: "clinic", ChainID: "c1"}, "",
			`admission as member "St Olav" (clinic) with no validator key`},
		{"validator with a KEY", []string{"dr"}, Possession{As: "validator", For: "x", ChainID: "c1"}, "give no KEY", ""},
		{"validator without a home's key", nil, Possession{As: "validator", For: "x", ChainID: "c1"}, "validator key", ""},
		{"no KEY", nil, Possession{As: "device", For: "x", ChainID: "c1"}, "KEY is required", ""},
		{"no such --as", []string{"dr"}, Possession{As: "patient", For: "x", ChainID: "c1"}, "--as must be", ""},
		{"no --for", []string{"dr"}, Possession{As: "device", ChainID: "c1"}, "--for is required", ""},
		{"a member without its type", []string{"dr"}, Possession{As: "member", For: "x", ChainID: "c1"}, "needs --org-type", ""},
		{"a member's bad validator key", []string{"dr"}, Possession{As: "member", For: "x", OrgType: "lab", ValidatorKey: "zz", ChainID: "c1"}, "--validator-key: ", ""},
		{"a type for a device", []string{"dr"}, Possession{As: "device", For: "x", OrgType: "lab", ChainID: "c1"}, "for --as member only", ""},
		{"no chain, no node", []string{"dr"}, Possession{As: "device", For: "x"}, "no --chain-id, and the node does not answer", ""},
	} {
		out, what, err := e.ProvePossession(context.Background(), c.args, c.p)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || what != c.what || out["key"] != f.PublicKey || out["chain_id"] != "c1" || out["as"] != c.p.As || out["for"] != c.p.For {
			t.Errorf("%s: %v %q %v", c.name, out, what, err)
			continue
		}
		agreed := c.p.For
		if c.p.As == identity.ProofMember {
			var v []byte
			if c.p.ValidatorKey != "" {
				v, _ = hex.DecodeString(c.p.ValidatorKey)
			}
			agreed = identity.MemberRegistrant(c.p.For, c.p.OrgType, v)
			if out["org_type"] != c.p.OrgType || out["validator_key"] != c.p.ValidatorKey {
				t.Errorf("%s: %v", c.name, out)
			}
		}
		pub, _ := identity.ParseKey(f.PublicKey)
		if err := identity.CheckPossession("c1", c.p.As, agreed, pub, out["proof"]); err != nil {
			t.Errorf("%s: the proof does not check: %v", c.name, err)
		}
	}
}
