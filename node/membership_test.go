package node_test

import (
	"crypto/ed25519"
	"os"
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

// A joining or one-member home given an external address listens for
// peers on every address and tells them the address, as a founding
// member's does; its peers, from --peers or the coordinator's peers file,
// each need a node id and an address others can dial, or nothing is
// written.
func TestInitMemberPeers(t *testing.T) {
	founded := t.TempDir()
	if _, err := node.InitMember(founded, node.Member{Name: "St Luke's", OrgType: "hospital", Power: 10, ChainID: "primum-init-test", Unencrypted: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	genesis := filepath.Join(founded, "config", "genesis.json")
	const id1, id2 = "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"
	peersFile := filepath.Join(t.TempDir(), "peers")
	if err := os.WriteFile(peersFile, []byte(id1+"@10.0.0.1:26656\n"+id2+"@lab.example.org:26656\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badPeersFile := filepath.Join(t.TempDir(), "peers")
	if err := os.WriteFile(badPeersFile, []byte(id1+"@10.0.0.1:26656\n10.0.0.2:26656\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	joining := func(change func(*node.Member)) node.Member {
		m := node.Member{Name: "St Olav", OrgType: "hospital", Power: 5, Genesis: genesis, Unencrypted: true}
		change(&m)
		return m
	}
	for _, c := range []struct {
		name       string
		m          node.Member
		want       string // the error; "" for none
		listen     string
		external   string
		persistent string
	}{
		{"joining, reachable", joining(func(m *node.Member) { m.ExternalAddress = "10.0.0.7:26700" }), "",
			"tcp://0.0.0.0:26700", "10.0.0.7:26700", ""},
		{"joining, reachable at another port", joining(func(m *node.Member) {
			m.ExternalAddress, m.Ports.P2P = "gw.example.org:443", 26656
		}), "", "tcp://0.0.0.0:26656", "gw.example.org:443", ""},
		{"joining with the peers file", joining(func(m *node.Member) { m.PeersFile = peersFile }), "",
			"tcp://127.0.0.1:0", "", id1 + "@10.0.0.1:26656," + id2 + "@lab.example.org:26656"},
		{"joining with peers", joining(func(m *node.Member) { m.Peers = id1 + "@10.0.0.1:26656, " + id2 + "@10.0.0.2:26656" }), "",
			"tcp://127.0.0.1:0", "", id1 + "@10.0.0.1:26656," + id2 + "@10.0.0.2:26656"},
		{"one member, reachable", node.Member{Name: "Alone", OrgType: "lab", Power: 10, ChainID: "primum-alone", Unencrypted: true, ExternalAddress: "10.0.0.5:26656"}, "",
			"tcp://0.0.0.0:26656", "10.0.0.5:26656", ""},
		{"a peer without a node id", joining(func(m *node.Member) { m.Peers = "10.0.0.1:26656" }), "--peers: peer \"10.0.0.1:26656\" has no node id: write it node_id@host:port", "", "", ""},
		{"a peer with a short node id", joining(func(m *node.Member) { m.Peers = "abc@10.0.0.1:26656" }), "is not a CometBFT node id", "", "", ""},
		{"a peer at every address", joining(func(m *node.Member) { m.Peers = id1 + "@0.0.0.0:26656" }), "cannot dial it", "", "", ""},
		{"a bad peers file", joining(func(m *node.Member) { m.PeersFile = badPeersFile }), "--peers-file: " + badPeersFile + ": peer \"10.0.0.2:26656\" has no node id", "", "", ""},
		{"no peers file", joining(func(m *node.Member) { m.PeersFile = filepath.Join(t.TempDir(), "none") }), "--peers-file", "", "", ""},
		{"unreachable external address", joining(func(m *node.Member) { m.ExternalAddress = "0.0.0.0:26656" }), "--external-address", "", "", ""},
	} {
		home := t.TempDir()
		_, err := node.InitMember(home, c.m, time.Now())
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
			if entries, _ := os.ReadDir(home); len(entries) != 0 {
				t.Errorf("%s: refused, but wrote %d entries", c.name, len(entries))
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cfg, err := node.CometConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.P2P.ListenAddress != c.listen || cfg.P2P.ExternalAddress != c.external || cfg.P2P.PersistentPeers != c.persistent {
			t.Errorf("%s: p2p listens on %s, tells peers %q, persistent peers %q; want %s, %q, %q", c.name,
				cfg.P2P.ListenAddress, cfg.P2P.ExternalAddress, cfg.P2P.PersistentPeers, c.listen, c.external, c.persistent)
		}
	}
}
