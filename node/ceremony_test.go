package node_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

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
	// Never 'primum keys prove-possession': that is for a joining member.
	const resent = "changed after it was signed"
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"moved address", []string{writeMemberFile(t, a, nil), writeMemberFile(t, changed(b, func(f *node.MemberFile) { f.Address = "10.6.6.6:26656" }), nil)}, resent},
		{"more power", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.Power = 1000 }), nil), writeMemberFile(t, b, nil)}, resent},
		{"other node", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.NodeID = b.NodeID }), nil), writeMemberFile(t, b, nil)}, resent},
		{"renamed", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.Name = "St Luke's Regulator" }), nil)}, resent},
		{"retyped", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.OrgType = "regulator" }), nil)}, resent},
		{"another validator key", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.ValidatorKey = b.ValidatorKey }), nil)}, resent},
		{"unknown type", []string{writeMemberFile(t, changed(a, func(f *node.MemberFile) { f.OrgType = "spa" }), nil)}, "org_type \"spa\""},
		{"a field nobody signed", []string{writeMemberFile(t, a, map[string]any{"persistent_peers": "x@10.6.6.6:1"})}, "unknown field"},
		{"another chain", []string{writeMemberFile(t, a, nil), writeMemberFile(t, other, nil)},
			"the file is for chain \"another-chain\"; collect was given --chain-id \"" + ceremonyChain + "\": check --chain-id, or ask the member to sign up again"},
		{"one file twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, a, nil)}, "same organisation name"},
		{"one name twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, sameName, nil)}, "same organisation name"},
		{"one address twice", []string{writeMemberFile(t, a, nil), writeMemberFile(t, sameAddr, nil)}, "same address"},
		{"no validator", []string{writeMemberFile(t, noPower, nil)}, "no founding member has validator power"},
		{"no file", nil, "no membership files"},
	} {
		_, err := node.CollectGenesis(ceremonyChain, c.files, t.TempDir(), time.Now())
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "prove-possession") {
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
	// The signed files, byte for byte, named by their place and name.
	for i, name := range []string{"01-st-luke-s.json", "02-riverside.json", "03-observer.json"} {
		path := filepath.Join(out, node.MembersDirName, name)
		copied, err := node.ReadMemberFile(path)
		if err != nil || got.Members[i].File != path || copied.Check(ceremonyChain) != nil || copied.Name != got.Members[i].Name {
			t.Errorf("members/%s: %v, listed as %q", name, err, got.Members[i].File)
		}
	}
	if _, err := node.CollectGenesis(ceremonyChain, []string{writeMemberFile(t, a, nil)}, out, time.Now()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second collect into the same folder: %v", err)
	}
}

// install takes only the genesis of the consortium the home signed up for,
// with the organisation exactly as it signed and, with the members folder
// collect wrote, exactly the members and validators that signed up (no
// member, validator or peer of the coordinator's own); installs it byte
// for byte with the other members as persistent peers; and may be run
// again with the same genesis, not with another.
func TestInstallGenesis(t *testing.T) {
	homeA, a := signUp(t, ceremonyChain, "St Luke's", 10, "10.0.0.1:26656")
	_, b := signUp(t, ceremonyChain, "Riverside", 5, "10.0.0.2:26656")
	homeC, _ := signUp(t, ceremonyChain, "Left Out", 10, "10.0.0.3:26656")
	_, sybil := signUp(t, ceremonyChain, "Coordinator's Friend", 10, "10.0.0.9:26656")
	_, sybilObserver := signUp(t, ceremonyChain, "Quiet Friend", 0, "10.0.0.8:26656")
	homeOther, other := signUp(t, "another-chain", "St Luke's", 10, "10.0.0.1:26656")
	copyHome := func() string { // St Luke's again, for one more install
		dir := filepath.Join(t.TempDir(), "home")
		if err := os.CopyFS(dir, os.DirFS(homeA)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	spares := []string{copyHome(), copyHome(), copyHome()}
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
	later := collect(ceremonyChain, a, b)                       // the same members, another genesis time
	withSybil := collect(ceremonyChain, a, b, sybil)            // a validator of the coordinator's
	withObserver := collect(ceremonyChain, a, b, sybilObserver) // a member without power
	gen, _ := os.ReadFile(ours.Genesis)
	// rewrite writes the genesis changed as a coordinator could, alone in
	// a folder (no members folder beside it).
	rewrite := func(change func(doc *cmttypes.GenesisDoc)) string {
		doc, err := cmttypes.GenesisDocFromJSON(gen)
		if err != nil {
			t.Fatal(err)
		}
		change(doc)
		path := filepath.Join(t.TempDir(), "genesis.json")
		if err := doc.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tampered := filepath.Join(t.TempDir(), "genesis.json")
	i := strings.LastIndex(string(gen), `"St Luke's"`) // app_state's, after the validators' display names
	if err := os.WriteFile(tampered, []byte(string(gen[:i])+`"St Luke's Regulator"`+string(gen[i+len(`"St Luke's"`):])), 0o644); err != nil {
		t.Fatal(err)
	}
	renamedOther := strings.Replace(string(gen), `"Riverside"`, `"Riverside Regulator"`, 2)
	renamedB := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(renamedB, []byte(renamedOther), 0o644); err != nil {
		t.Fatal(err)
	}
	sybilGen, _ := cmttypes.GenesisDocFromJSON(mustRead(t, withSybil.Genesis))
	extraValidator := rewrite(func(doc *cmttypes.GenesisDoc) { doc.Validators = append(doc.Validators, sybilGen.Validators[2]) })
	morePower := rewrite(func(doc *cmttypes.GenesisDoc) { doc.Validators[1].Power = 50 })
	bigBlocks := rewrite(func(doc *cmttypes.GenesisDoc) { doc.ConsensusParams.Block.MaxBytes = 64 << 20 })
	alone := rewrite(func(*cmttypes.GenesisDoc) {})
	// openRegistration leaves out the identity section: a document without
	// it takes the default from before vouchers, registration open to any
	// key.
	openRegistration := rewrite(func(doc *cmttypes.GenesisDoc) {
		var st map[string]json.RawMessage
		if err := json.Unmarshal(doc.AppState, &st); err != nil {
			t.Fatal(err)
		}
		var mods map[string]json.RawMessage
		if err := json.Unmarshal(st["modules"], &mods); err != nil {
			t.Fatal(err)
		}
		delete(mods, "identity")
		st["modules"], _ = json.Marshal(mods)
		doc.AppState, _ = json.Marshal(st)
	})
	laterStart := rewrite(func(doc *cmttypes.GenesisDoc) { doc.InitialHeight = 1000 })
	sybilPeers := filepath.Join(t.TempDir(), "peers")
	if err := os.WriteFile(sybilPeers, []byte(string(mustRead(t, ours.Peers))+sybil.Peer()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oursOpts := node.InstallOptions{Peers: ours.Peers, Members: ours.MembersDir}
	for _, c := range []struct {
		name, home, genesis string
		o                   node.InstallOptions
		want                string
	}{
		{"left out", homeC, ours.Genesis, node.InstallOptions{Peers: ours.Peers}, "does not list this organisation's operator key"},
		{"another chain", homeA, theirs.Genesis, node.InstallOptions{Peers: ours.Peers}, "it is for chain \"another-chain\""},
		{"another chain's home", homeOther, ours.Genesis, node.InstallOptions{Peers: ours.Peers}, "it is for chain \"" + ceremonyChain + "\""},
		{"renamed by the coordinator", homeA, tampered, oursOpts, "it lists this organisation as \"St Luke's Regulator\""},
		{"another member renamed", homeA, renamedB, oursOpts, "as \"Riverside Regulator\""},
		{"no member file", t.TempDir(), ours.Genesis, node.InstallOptions{Peers: ours.Peers}, "has no member.json"},
		{"a validator of the coordinator's", homeA, withSybil.Genesis, oursOpts, "lists \"Coordinator's Friend\""},
		{"a member of the coordinator's", homeA, withObserver.Genesis, oursOpts, "a member nobody signed up for"},
		{"a validator only", homeA, extraValidator, oursOpts, "a validator nobody signed up for"},
		{"more validator power", homeA, morePower, oursOpts, "has power 50; \"Riverside\" signed for 5"},
		{"the members folder of another genesis", homeA, withSybil.Genesis, node.InstallOptions{Members: ours.MembersDir}, "nobody signed up for"},
		{"a member left out of the genesis", homeA, ours.Genesis, node.InstallOptions{Members: withSybil.MembersDir}, "does not list it"},
		{"a peer nobody signed up", homeA, ours.Genesis, node.InstallOptions{Peers: sybilPeers}, "is not the node_id@address of any founding member"},
		{"no members folder", homeA, alone, node.InstallOptions{Peers: ours.Peers}, "--no-members-check"},
		{"an empty members folder", homeA, ours.Genesis, node.InstallOptions{Members: t.TempDir()}, "holds no membership files"},
		{"big blocks", homeA, bigBlocks, oursOpts, "consensus_params are not the ones Primum writes"},
		{"registration open to any key", homeA, openRegistration, oursOpts, `modules.identity is {"patient_registration":"open"}, not {"patient_registration":"voucher"}`},
		{"a later first block", homeA, laterStart, oursOpts, "initial_height is 1000, not 1"},
		{"both", homeA, ours.Genesis, node.InstallOptions{Members: ours.MembersDir, NoMembersCheck: true}, "not both"},
	} {
		_, err := node.InstallGenesis(c.home, c.genesis, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if node.Initialized(c.home) {
			t.Fatalf("%s: refused, but the home holds a genesis", c.name)
		}
	}

	for range 2 { // again: the same genesis only sets the peers
		in, err := node.InstallGenesis(homeA, ours.Genesis, node.InstallOptions{Peers: ours.Peers}) // the members folder beside it
		if err != nil {
			t.Fatal(err)
		}
		if in.Hash != ours.Hash || len(in.Peers) != 1 || in.Peers[0] != b.Peer() || in.MembersDir != ours.MembersDir || len(in.Warnings) != 0 {
			t.Errorf("installed %+v; the coordinator's hash %s, peer %s", in, ours.Hash, b.NodeID)
		}
		want := []node.FoundingMember{
			{Name: a.Name, OrgType: a.OrgType, Power: 10, OperatorKey: a.Key, ValidatorKey: a.ValidatorKey, NodeID: a.NodeID},
			{Name: b.Name, OrgType: b.OrgType, Power: 5, OperatorKey: b.Key, ValidatorKey: b.ValidatorKey, NodeID: b.NodeID},
		}
		if !slices.Equal(in.Members, want) || in.TotalPower != 15 {
			t.Errorf("founding members %+v, total power %d; want %+v, 15", in.Members, in.TotalPower, want)
		}
	}
	installed, _ := os.ReadFile(filepath.Join(homeA, "config", "genesis.json"))
	if string(installed) != string(gen) || node.AwaitingGenesis(homeA) {
		t.Error("the genesis was not installed byte for byte")
	}
	cfg, _ := node.CometConfig(homeA)
	if cfg.P2P.PersistentPeers != b.Peer() {
		t.Errorf("persistent_peers = %q", cfg.P2P.PersistentPeers)
	}
	if _, err := node.InstallGenesis(homeA, later.Genesis, node.InstallOptions{Peers: later.Peers}); err == nil || !strings.Contains(err.Error(), "already holds another genesis") {
		t.Errorf("another genesis over the installed one: %v", err)
	}
	if _, err := node.InstallGenesis(homeC, ours.Genesis, node.InstallOptions{}); !errors.Is(err, node.ErrNotOurGenesis) {
		t.Errorf("a home left out: %v, want ErrNotOurGenesis", err)
	}

	// Without the members folder, or with other consensus parameters, only
	// when told, and then with a warning.
	for i, c := range []struct {
		name, genesis string
		o             node.InstallOptions
		warn          string
	}{
		{"no members check", alone, node.InstallOptions{NoMembersCheck: true}, "NOT checked against the founding members' signed files"},
		{"accepted params", bigBlocks, node.InstallOptions{Members: ours.MembersDir, AcceptParams: true}, "consensus_params differ"},
		{"accepted settings", openRegistration, node.InstallOptions{Members: ours.MembersDir, AcceptParams: true}, "modules.identity is"},
	} {
		in, err := node.InstallGenesis(spares[i], c.genesis, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], c.warn) || len(in.Members) != 2 {
			t.Errorf("%s: warnings %q, members %+v", c.name, in.Warnings, in.Members)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
