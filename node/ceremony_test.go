package node_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/node"
)

const ceremonyChain = "primum-ceremony-test"

// signUp makes a founding member's home for a ceremony on chain, as
// 'primum init --ceremony' does, and answers it and its membership file.
func signUp(t *testing.T, chain, name string, power int64, addr string) (string, *node.MemberFile) {
	t.Helper()
	home := t.TempDir()
	ports := freePorts(t)
	ports.P2P = 0 // the address's
	in, err := node.InitMember(home, node.Member{InitOptions: node.InitOptions{Moniker: name, Ports: ports},
		Name: name, OrgType: "hospital", Power: power, ChainID: chain, Unencrypted: true,
		Ceremony: &node.Ceremony{Address: addr}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := node.ReadMemberFile(in.MemberFile)
	if err != nil {
		t.Fatal(err)
	}
	return home, f
}

// The bytes a membership file's operator key signs are frozen: a file
// signed by one Primum is checked by another.
func TestMemberFileSignedBytes(t *testing.T) {
	f := node.MemberFile{ChainID: "c", NewMember: governance.NewMember{Name: "St Luke's", OrgType: "hospital", Key: "aa", ValidatorKey: "bb", Power: 10,
		KeyProof: "not signed", ValidatorKeyProof: "not signed"}, NodeID: "dd", Address: "10.0.0.1:26656", Signature: "not signed"}
	want := "primum/member-file/v1\x00c\x00St Luke's\x00hospital\x00aa\x00bb\x0010\x00dd\x0010.0.0.1:26656"
	if got := string(f.SignedBytes()); got != want {
		t.Fatalf("SignedBytes = %q, want %q", got, want)
	}
}

// init --ceremony refuses, before writing anything, what a membership file
// could not carry; a home that signed up neither starts a node nor is
// initialised again.
func TestInitCeremony(t *testing.T) {
	for _, c := range []struct {
		name string
		m    node.Member
		want string
	}{
		{"no chain id", node.Member{Name: "A", OrgType: "hospital", Power: 10, Ceremony: &node.Ceremony{Address: "10.0.0.1:26656"}}, "--chain-id is required"},
		{"every address", node.Member{Name: "A", OrgType: "hospital", Power: 10, ChainID: ceremonyChain, Ceremony: &node.Ceremony{Address: "0.0.0.0:26656"}}, "cannot dial it"},
		{"no port", node.Member{Name: "A", OrgType: "hospital", Power: 10, ChainID: ceremonyChain, Ceremony: &node.Ceremony{Address: "10.0.0.1"}}, "not a host:port"},
		{"unknown type", node.Member{Name: "A", OrgType: "spa", Power: 10, ChainID: ceremonyChain, Ceremony: &node.Ceremony{Address: "10.0.0.1:26656"}}, "--org-type \"spa\""},
		{"control character", node.Member{Name: "A\x00B", OrgType: "lab", Power: 10, ChainID: ceremonyChain, Ceremony: &node.Ceremony{Address: "10.0.0.1:26656"}}, "control character"},
		{"power", node.Member{Name: "A", OrgType: "lab", Power: -1, ChainID: ceremonyChain, Ceremony: &node.Ceremony{Address: "10.0.0.1:26656"}}, "--power -1"},
	} {
		home := t.TempDir()
		c.m.Unencrypted = true
		if _, err := node.InitMember(home, c.m, time.Now()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if entries, _ := os.ReadDir(home); len(entries) != 0 {
			t.Errorf("%s: refused, but wrote %d entries", c.name, len(entries))
		}
	}

	home, f := signUp(t, ceremonyChain, "St Luke's", 10, "10.0.0.1:26656")
	if err := f.Check(ceremonyChain); err != nil {
		t.Fatalf("its own file: %v", err)
	}
	if !node.AwaitingGenesis(home) || node.Initialized(home) {
		t.Fatalf("a signed-up home: awaiting %v, initialised %v", node.AwaitingGenesis(home), node.Initialized(home))
	}
	if err := node.Run(context.Background(), node.Options{Home: home}, ""); err == nil || !strings.Contains(err.Error(), "waiting for the consortium's genesis") {
		t.Errorf("node start in a signed-up home: %v", err)
	}
	if _, err := node.InitMember(home, node.Member{Name: "St Luke's", OrgType: "hospital", Power: 10, ChainID: "primum-alone", Unencrypted: true}, time.Now()); err == nil ||
		!strings.Contains(err.Error(), "already signed up") {
		t.Errorf("a plain init over a signed-up home: %v", err)
	}
	cfg, err := node.CometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.P2P.ListenAddress != "tcp://0.0.0.0:26656" || cfg.P2P.ExternalAddress != "10.0.0.1:26656" {
		t.Errorf("p2p listens on %s, tells peers %s", cfg.P2P.ListenAddress, cfg.P2P.ExternalAddress)
	}
}

// writeMemberFile writes f (changed by a test) to a file of its own.
func writeMemberFile(t *testing.T, f *node.MemberFile, extra map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(f)
	if extra != nil {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k, v := range extra {
			m[k] = v
		}
		b, _ = json.Marshal(m)
	}
	path := filepath.Join(t.TempDir(), "member.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// collect checks every file and refuses one the coordinator (or anybody on
// the way) changed, one for another chain, one organisation or node
// twice, and a consortium without a validator; what it accepts is a
// genesis and a peers list of all the members.
func TestCollectGenesis(t *testing.T) {
	_, a := signUp(t, ceremonyChain, "St Luke's", 10, "10.0.0.1:26656")
	_, b := signUp(t, ceremonyChain, "Riverside", 5, "lab.example.org:26656")
	_, sameName := signUp(t, ceremonyChain, "st luke's", 10, "10.0.0.3:26656")
	_, sameAddr := signUp(t, ceremonyChain, "City Lab", 10, "10.0.0.1:26656")
	_, noPower := signUp(t, ceremonyChain, "Observer", 0, "10.0.0.4:26656")
	_, other := signUp(t, "another-chain", "Other", 10, "10.0.0.5:26656")
	changed := func(f *node.MemberFile, change func(*node.MemberFile)) *node.MemberFile {
		c := *f
		change(&c)
		return &c
	}
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"moved address", []string{writeMemberFile(t, a, nil), writeMemberFile(t, changed(b, func(f *node.MemberFile) { f.Address = "10.6.6.6:26656" }), nil)}, "signature does not match"},
		{"more power", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.Power = 1000 }), nil), writeMemberFile(t, b, nil)}, "signature does not match"},
		{"other node", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.NodeID = b.NodeID }), nil), writeMemberFile(t, b, nil)}, "signature does not match"},
		{"renamed", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.Name = "St Luke's Regulator" }), nil)}, "operator key"},
		{"retyped", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.OrgType = "regulator" }), nil)}, "operator key"},
		{"another validator key", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.ValidatorKey = b.ValidatorKey }), nil)}, "operator key"},
		{"unknown type", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.OrgType = "spa" }), nil)}, "org_type \"spa\""},
		{"a field nobody signed", []string{writeMemberFile(t, a, map[string]any{"persistent_peers": "x@10.6.6.6:1"})}, "unknown field"},
		{"another chain", []string{writeMemberFile(t, a, nil), writeMemberFile(t, other, nil)}, "is for chain \"another-chain\""},
		{"one file twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, a, nil)}, "same organisation name"},
		{"one name twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, sameName, nil)}, "same organisation name"},
		{"one address twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, sameAddr, nil)}, "same address"},
		{"no validator", []string{writeMemberFile(t, noPower, nil)}, "no founding member has validator power"},
		{"no file", nil, "no membership files"},
	} {
		_, err := node.CollectGenesis(ceremonyChain, c.files, t.TempDir(), time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}

	out := t.TempDir()
	got, err := node.CollectGenesis(ceremonyChain, []string{writeMemberFile(t, a, nil), writeMemberFile(t, b, nil), writeMemberFile(t, noPower, nil)}, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := os.ReadFile(got.Genesis)
	if sum := sha256.Sum256(gen); got.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s is not the file's", got.Hash)
	}
	peers, _ := os.ReadFile(got.Peers)
	want := a.NodeID + "@10.0.0.1:26656\n" + b.NodeID + "@lab.example.org:26656\n" + noPower.NodeID + "@10.0.0.4:26656\n"
	if string(peers) != want {
		t.Errorf("peers:\n%s\nwant:\n%s", peers, want)
	}
	if _, err := node.CollectGenesis(ceremonyChain, []string{writeMemberFile(t, a, nil)}, out, time.Now()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second collect into the same folder: %v", err)
	}
}

// install takes only the genesis of the consortium the home signed up for,
// with the organisation exactly as it signed; installs it byte for byte
// with the other members as persistent peers; and may be run again with
// the same genesis, not with another.
func TestInstallGenesis(t *testing.T) {
	homeA, a := signUp(t, ceremonyChain, "St Luke's", 10, "10.0.0.1:26656")
	_, b := signUp(t, ceremonyChain, "Riverside", 5, "10.0.0.2:26656")
	homeC, _ := signUp(t, ceremonyChain, "Left Out", 10, "10.0.0.3:26656")
	homeOther, other := signUp(t, "another-chain", "St Luke's", 10, "10.0.0.1:26656")
	collect := func(chain string, files ...*node.MemberFile) *node.Collected {
		var paths []string
		for _, f := range files {
			paths = append(paths, writeMemberFile(t, f, nil))
		}
		c, err := node.CollectGenesis(chain, paths, t.TempDir(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ours := collect(ceremonyChain, a, b)
	theirs := collect("another-chain", other)
	later := collect(ceremonyChain, a, b) // the same members, another genesis time
	tampered := filepath.Join(t.TempDir(), "genesis.json")
	gen, _ := os.ReadFile(ours.Genesis)
	i := strings.LastIndex(string(gen), `"St Luke's"`) // app_state's, after the validators' display names
	if err := os.WriteFile(tampered, []byte(string(gen[:i])+`"St Luke's Regulator"`+string(gen[i+len(`"St Luke's"`):])), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, home, genesis string
		want                string
	}{
		{"left out", homeC, ours.Genesis, "does not list this organisation's operator key"},
		{"another chain", homeA, theirs.Genesis, "it is for chain \"another-chain\""},
		{"another chain's home", homeOther, ours.Genesis, "it is for chain \"" + ceremonyChain + "\""},
		{"renamed by the coordinator", homeA, tampered, "it lists this organisation as \"St Luke's Regulator\""},
		{"no member file", t.TempDir(), ours.Genesis, "has no member.json"},
	} {
		_, err := node.InstallGenesis(c.home, c.genesis, ours.Peers)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if node.Initialized(c.home) {
			t.Errorf("%s: refused, but the home holds a genesis", c.name)
		}
	}

	for range 2 { // again: the same genesis only sets the peers
		in, err := node.InstallGenesis(homeA, ours.Genesis, ours.Peers)
		if err != nil {
			t.Fatal(err)
		}
		if in.Hash != ours.Hash || len(in.Peers) != 1 || in.Peers[0] != b.NodeID+"@10.0.0.2:26656" {
			t.Errorf("installed %+v; the coordinator's hash %s, peer %s", in, ours.Hash, b.NodeID)
		}
	}
	installed, _ := os.ReadFile(filepath.Join(homeA, "config", "genesis.json"))
	if string(installed) != string(gen) || node.AwaitingGenesis(homeA) {
		t.Error("the genesis was not installed byte for byte")
	}
	cfg, _ := node.CometConfig(homeA)
	if cfg.P2P.PersistentPeers != b.NodeID+"@10.0.0.2:26656" {
		t.Errorf("persistent_peers = %q", cfg.P2P.PersistentPeers)
	}
	if _, err := node.InstallGenesis(homeA, later.Genesis, later.Peers); err == nil || !strings.Contains(err.Error(), "already holds another genesis") {
		t.Errorf("another genesis over the installed one: %v", err)
	}
	if _, err := node.InstallGenesis(homeC, ours.Genesis, ""); !errors.Is(err, node.ErrNotOurGenesis) {
		t.Errorf("a home left out: %v, want ErrNotOurGenesis", err)
	}
}
