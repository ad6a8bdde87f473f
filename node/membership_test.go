package node_test

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

// A joining home's membership request reads back as written, for the
// genesis's chain, with proofs the proposer's check accepts; a proposer
// that changes the name is refused.
func TestMembershipRequestRoundTrip(t *testing.T) {
	_, founder, _ := ed25519.GenerateKey(nil)
	home := initSingle(t, founder) // a home with a genesis, as a joining one has
	_, operator, _ := ed25519.GenerateKey(nil)
	path, err := node.WriteMembershipRequest(home, operator, "St Olav Hospital", "hospital", 5)
	if err != nil {
		t.Fatal(err)
	}
	req, err := node.ReadMembershipRequest(path)
	if err != nil {
		t.Fatal(err)
	}
	if req.ChainID != "primum-node-test" || req.Name != "St Olav Hospital" || req.Power != 5 || req.ValidatorKey == "" {
		t.Fatalf("request: %+v", req)
	}
	if err := req.CheckProofs(req.ChainID); err != nil {
		t.Fatalf("the request's proofs: %v", err)
	}
	req.Name = "Someone Else"
	if err := req.CheckProofs(req.ChainID); err == nil {
		t.Fatal("a request renamed by the proposer passed")
	}
}

// InitMember founds a consortium with the organisation as its validator,
// or joins one with a membership request its proposer's check accepts; an
// operator key the home already holds is kept, and one it cannot open
// leaves the home set up without a request, saying why.
func TestInitMember(t *testing.T) {
	founded := t.TempDir()
	if _, err := node.InitMember(founded, node.Member{Name: "St Luke's", OrgType: "hospital", Power: 10, ChainID: "primum-init-test",
		Passphrase: "", Unencrypted: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	genesis := filepath.Join(founded, "config", "genesis.json")
	for _, c := range []struct {
		name       string
		m          node.Member
		before     string // an operator key already there, with this passphrase
		request    bool
		requestErr string
	}{
		{"founding", node.Member{Name: "Riverside", OrgType: "clinic", Power: 10, ChainID: "primum-other", Unencrypted: true}, "", false, ""},
		{"joining", node.Member{Name: "St Olav", OrgType: "hospital", Power: 5, Genesis: genesis, Passphrase: "pw"}, "", true, ""},
		{"joining with the home's key", node.Member{Name: "St Olav", OrgType: "hospital", Genesis: genesis, Passphrase: "pw"}, "pw", true, ""},
		{"joining with a wrong passphrase", node.Member{Name: "St Olav", OrgType: "hospital", Genesis: genesis, Passphrase: "no"}, "pw", false, "cannot open the operator key"},
	} {
		home := t.TempDir()
		var kept *keyring.File
		if c.before != "" {
			var err error
			if kept, err = keyring.Dir(filepath.Join(home, "keys")).Add("operator", c.before, false); err != nil {
				t.Fatal(err)
			}
		}
		in, err := node.InitMember(home, c.m, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !node.Initialized(home) || (kept != nil && in.Operator.PublicKey != kept.PublicKey) {
			t.Errorf("%s: home initialised %v, operator %s (kept %v)", c.name, node.Initialized(home), in.Operator.PublicKey, kept)
		}
		if (in.Request != "") != c.request || (c.requestErr == "") != (in.RequestErr == nil) ||
			(in.RequestErr != nil && !strings.Contains(in.RequestErr.Error(), c.requestErr)) {
			t.Errorf("%s: request %q, %v", c.name, in.Request, in.RequestErr)
		}
		if c.request {
			req, err := node.ReadMembershipRequest(in.Request)
			if err != nil || req.ChainID != "primum-init-test" || req.Key != in.Operator.PublicKey || req.CheckProofs(req.ChainID) != nil {
				t.Errorf("%s: the request %+v, %v", c.name, req, err)
			}
		}
	}
}
