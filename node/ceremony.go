package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

// The genesis ceremony founds a consortium whose members run their nodes on
// machines of their own, without any private key leaving its home: each
// founding member writes a signed membership file ('primum init
// --ceremony'), a coordinator collects the files into one genesis
// ('primum genesis collect'), and each member checks that genesis against
// its own file and installs it ('primum genesis install'). The coordinator
// is trusted with nothing: it can leave a member out or refuse the whole
// ceremony, but not change what a member signed, and every member compares
// the genesis hash out of band before starting.

// MemberFileName is a founding member's membership file in its home.
const MemberFileName = "member.json"

// MemberFile is what a founding member hands to the coordinator: the
// organisation as the genesis will list it (name, type, operator key,
// validator key and power), the keys' proofs of possession for the chain,
// and where its node is reached (node id and public p2p address).
//
// The proofs (governance.ProvedMember) bind the name, type and validator
// key to the operator key and the chain; Signature, by the operator key
// over SignedBytes, binds the rest — the power, the node id and the
// address — so a coordinator can change nothing in the file. The node id is
// not proved by the node key: a member that names a node id it does not
// hold only keeps its own node from being dialled (CometBFT authenticates
// the id on every connection).
type MemberFile struct {
	ChainID string `json:"chain_id"`
	governance.NewMember
	NodeID    string `json:"node_id"`
	Address   string `json:"address"`   // public p2p address, host:port
	Signature string `json:"signature"` // the operator key's, hex, over SignedBytes

	source string // the file it was read from, for errors
}

// memberFileTag separates a membership file's signature from every other
// signature an operator key makes.
const memberFileTag = "primum/member-file/v1"

// SignedBytes are what the operator key signs: the tag, chain id, name,
// org type, operator key, validator key, power (decimal), node id and
// address, separated by NUL bytes (Check refuses a field holding one).
// This byte format must never change: a file signed by one Primum is
// checked by another (TestMemberFileSignedBytes pins it).
func (f *MemberFile) SignedBytes() []byte {
	return []byte(strings.Join([]string{memberFileTag, f.ChainID, f.Name, f.OrgType, f.Key, f.ValidatorKey,
		strconv.FormatInt(f.Power, 10), f.NodeID, f.Address}, "\x00"))
}

// label names the file in errors: its path, or its organisation.
func (f *MemberFile) label() string {
	if f.source != "" {
		return f.source
	}
	return fmt.Sprintf("the membership file of %q", f.Name)
}

// ErrBadMemberFile is wrapped by every refusal of a membership file.
var ErrBadMemberFile = errors.New("bad membership file")

// Check verifies a membership file for chain chainID: every field well
// formed, the proofs of possession and the operator key's signature.
func (f *MemberFile) Check(chainID string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrBadMemberFile, f.label(), fmt.Sprintf(format, args...))
	}
	if f.ChainID != chainID {
		return bad("it is for chain %q, not %q: the member must run 'primum init --ceremony --chain-id %s' again", f.ChainID, chainID, chainID)
	}
	if err := checkOrgName(f.Name); err != nil {
		return bad("%v", err)
	}
	if !slices.Contains(identity.OrgTypes, f.OrgType) {
		return bad("org_type %q is not one of %s", f.OrgType, strings.Join(identity.OrgTypes, ", "))
	}
	key, err := identity.ParseNewKey(f.Key)
	if err != nil {
		return bad("key: %v", err)
	}
	if _, err := identity.ParseNewKey(f.ValidatorKey); err != nil {
		return bad("validator_key: %v", err)
	}
	if f.Power < 0 || f.Power > governance.MaxPower {
		return bad("power %d is not 0..%d", f.Power, governance.MaxPower)
	}
	if err := checkNodeID(f.NodeID); err != nil {
		return bad("%v", err)
	}
	if err := checkPublicAddr(f.Address); err != nil {
		return bad("%v", err)
	}
	if err := f.CheckProofs(chainID); err != nil {
		return bad("%v", err)
	}
	sig, err := hex.DecodeString(f.Signature)
	if err != nil || !ledger.VerifySignature(key, f.SignedBytes(), sig) {
		return bad("the operator key's signature does not match the file: it was changed after %q signed it (ask the member for its member.json again)", f.Name)
	}
	return nil
}

// checkOrgName accepts what the ledger admits as an organisation's name
// (1-200 characters), without control characters: a name is shown to
// every member, and a NUL would blur SignedBytes' fields.
func checkOrgName(name string) error {
	if name == "" || len(name) > 200 {
		return fmt.Errorf("the organisation name must be 1-200 characters")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("the organisation name %q holds a control character", name)
	}
	return nil
}

func checkNodeID(id string) error {
	if b, err := hex.DecodeString(id); err != nil || len(b) != p2p.IDByteLength || strings.ToLower(id) != id {
		return fmt.Errorf("node_id %q is not a CometBFT node id (40 lower-case hex digits)", id)
	}
	return nil
}

// checkPublicAddr accepts an address other nodes can dial: host:port with
// a host that is neither empty nor every address (0.0.0.0, ::).
func checkPublicAddr(a string) error {
	if err := checkListenAddr(a); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	host, _, _ := net.SplitHostPort(a)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("address %q: other members cannot dial it; give the host or IP address they reach this machine at", a)
	}
	return nil
}

// ReadMemberFile reads a membership file; Check verifies it.
func ReadMemberFile(path string) (*MemberFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f MemberFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a field the signature does not cover would be read as if it counted
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrBadMemberFile, path, err)
	}
	f.source = path
	return &f, nil
}

// Ceremony is what a founding member's home signs up with: InitMember
// writes HOME/member.json from it instead of a genesis.
type Ceremony struct {
	// Address is where the other members' nodes reach this one's p2p
	// port, host:port. The node listens on every address of the machine,
	// at the port of InitOptions.Ports.P2P (0: Address's port), and tells
	// its peers this address (CometBFT's p2p.external_address).
	Address string
}

// check refuses, before anything is written, what the membership file
// could not carry.
func (c *Ceremony) check(m Member) error {
	if m.ChainID == "" {
		return fmt.Errorf("--chain-id is required: the chain id the founding members agreed on")
	}
	if err := checkOrgName(m.Name); err != nil {
		return err
	}
	if !slices.Contains(identity.OrgTypes, m.OrgType) {
		return fmt.Errorf("--org-type %q is not one of %s", m.OrgType, strings.Join(identity.OrgTypes, ", "))
	}
	if m.Power < 0 || m.Power > governance.MaxPower {
		return fmt.Errorf("--power %d is not 0..%d", m.Power, governance.MaxPower)
	}
	if err := checkPublicAddr(c.Address); err != nil {
		return fmt.Errorf("--external-address: %w", err)
	}
	return nil
}

// p2pPort is the port the node listens on for peers.
func (c *Ceremony) p2pPort(ports Ports) int {
	if ports.P2P != 0 {
		return ports.P2P
	}
	_, p, _ := net.SplitHostPort(c.Address)
	n, _ := strconv.Atoi(p)
	return n
}

// writeMemberFile points the home's p2p at the public address and writes
// HOME/member.json, signed by operator, and answers its path.
func (c *Ceremony) writeMemberFile(home string, m Member, operator ed25519.PrivateKey, nodeID p2p.ID) (string, error) {
	cfg, err := CometConfig(home)
	if err != nil {
		return "", err
	}
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", c.p2pPort(m.Ports))
	cfg.P2P.ExternalAddress = c.Address
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	validator, err := ValidatorPrivateKey(home)
	if err != nil {
		return "", err
	}
	f := MemberFile{ChainID: m.ChainID, NewMember: *governance.ProvedMember(m.ChainID, m.Name, m.OrgType, operator, validator),
		NodeID: string(nodeID), Address: c.Address}
	f.Power = m.Power
	f.Signature = hex.EncodeToString(ed25519.Sign(operator, f.SignedBytes()))
	if err := f.Check(m.ChainID); err != nil {
		return "", err // a home that cannot sign its own file: say so now, not at the coordinator's
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(home, MemberFileName)
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// AwaitingGenesis says whether home signed up for a genesis ceremony
// (HOME/member.json) and has not installed the consortium's genesis yet:
// its node must not start, and nothing may found a chain of its own there.
func AwaitingGenesis(home string) bool {
	_, err := os.Stat(filepath.Join(home, MemberFileName))
	return err == nil && !Initialized(home)
}

// errAwaitingGenesis is what a command that needs a genesis says of a home
// that waits for the ceremony's.
func errAwaitingGenesis(home string) error {
	return fmt.Errorf("%s is waiting for the consortium's genesis: run 'primum genesis install --home %s GENESIS --peers-file PEERS' "+
		"with the files the coordinator made from the members' member.json", home, home)
}

// ErrAwaitingGenesis is errAwaitingGenesis for commands outside this
// package.
func ErrAwaitingGenesis(home string) error { return errAwaitingGenesis(home) }

// Collected is what 'primum genesis collect' wrote.
type Collected struct {
	ChainID     string            `json:"chain_id"`
	Genesis     string            `json:"genesis"`
	Peers       string            `json:"peers"`
	Hash        string            `json:"genesis_sha256"`
	GenesisTime time.Time         `json:"genesis_time"`
	Members     []CollectedMember `json:"members"`
}

// CollectedMember is one founding member, as collect lists it.
type CollectedMember struct {
	Name    string `json:"name"`
	OrgType string `json:"org_type"`
	Power   int64  `json:"power"`
	Peer    string `json:"peer"` // node_id@address
}

// BuildGenesis checks the founding members' files for chain chainID and
// makes the genesis of their consortium (members in the files' order) and
// its persistent peers (node_id@address, in the same order). A file that
// is not what its member signed, or that repeats another's organisation
// name, key, validator key, node id or address, is refused.
func BuildGenesis(chainID string, files []*MemberFile, genesisTime time.Time) (*cmttypes.GenesisDoc, []string, error) {
	if chainID == "" {
		return nil, nil, fmt.Errorf("--chain-id is required: the chain id the founding members agreed on")
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no membership files: give each founding member's member.json")
	}
	type field struct {
		what  string
		value func(*MemberFile) string
	}
	unique := []field{
		{"organisation name", func(f *MemberFile) string { return strings.ToLower(strings.TrimSpace(f.Name)) }},
		{"operator key", func(f *MemberFile) string { return f.Key }},
		{"validator key", func(f *MemberFile) string { return f.ValidatorKey }},
		{"node id", func(f *MemberFile) string { return f.NodeID }},
		{"address", func(f *MemberFile) string { return strings.ToLower(f.Address) }},
	}
	seen := make([]map[string]*MemberFile, len(unique))
	for i := range seen {
		seen[i] = map[string]*MemberFile{}
	}
	var members []governance.NewMember
	var peers []string
	validators := 0
	for _, f := range files {
		if err := f.Check(chainID); err != nil {
			return nil, nil, err
		}
		for i, u := range unique {
			v := u.value(f)
			if other, ok := seen[i][v]; ok {
				return nil, nil, fmt.Errorf("%w: %s and %s have the same %s %q: each founding member needs its own home",
					ErrBadMemberFile, other.label(), f.label(), u.what, v)
			}
			seen[i][v] = f
		}
		// Founding members carry no proofs: nobody proposes them.
		members = append(members, governance.NewMember{Name: f.Name, OrgType: f.OrgType, Key: f.Key, ValidatorKey: f.ValidatorKey, Power: f.Power})
		peers = append(peers, f.NodeID+"@"+f.Address)
		if f.Power > 0 {
			validators++
		}
	}
	if validators == 0 {
		return nil, nil, fmt.Errorf("%w: no founding member has validator power (--power at 'primum init --ceremony')", ErrBadMemberFile)
	}
	doc, err := GenesisDoc(chainID, app.NewGenesis(members...), genesisTime)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckNewGenesis(doc); err != nil {
		return nil, nil, err
	}
	return doc, peers, nil
}

// CollectGenesis is 'primum genesis collect': it reads the founding
// members' files (paths), builds their genesis (BuildGenesis) and writes
// outDir/genesis.json and outDir/peers (one node_id@address a line). It
// does not replace a genesis already there: one may have been sent out.
func CollectGenesis(chainID string, paths []string, outDir string, genesisTime time.Time) (*Collected, error) {
	var files []*MemberFile
	for _, p := range paths {
		f, err := ReadMemberFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	doc, peers, err := BuildGenesis(chainID, files, genesisTime)
	if err != nil {
		return nil, err
	}
	out := &Collected{ChainID: chainID, Genesis: filepath.Join(outDir, "genesis.json"), Peers: filepath.Join(outDir, "peers"),
		GenesisTime: doc.GenesisTime}
	for _, p := range []string{out.Genesis, out.Peers} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s already exists: remove it, or choose another --out (the members may hold a copy: install only one genesis)", p)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	if err := doc.SaveAs(out.Genesis); err != nil {
		return nil, err
	}
	if err := os.WriteFile(out.Peers, []byte(strings.Join(peers, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if out.Hash, err = fileHash(out.Genesis); err != nil {
		return nil, err
	}
	for i, f := range files {
		out.Members = append(out.Members, CollectedMember{Name: f.Name, OrgType: f.OrgType, Power: f.Power, Peer: peers[i]})
	}
	return out, nil
}

// fileHash is the hex SHA-256 of a file's bytes: what the members compare
// out of band.
func fileHash(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// CheckNewGenesis runs a new chain's genesis as the first block will
// (app.CheckGenesis) on an empty state in a folder of its own, removed
// after: a genesis the app would refuse at InitChain is refused before it
// is sent out or installed.
func CheckNewGenesis(doc *cmttypes.GenesisDoc) error {
	dir, err := os.MkdirTemp("", "primum-genesis-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.OpenWith(dir, store.Options{BlockCacheMB: 8})
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := app.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return err
	}
	return checkGenesisDoc(a, doc)
}

// Installed is what 'primum genesis install' did.
type Installed struct {
	Home    string   `json:"home"`
	ChainID string   `json:"chain_id"`
	Hash    string   `json:"genesis_sha256"`
	Peers   []string `json:"persistent_peers"`
}

// ErrNotOurGenesis is wrapped when a genesis does not found the consortium
// a home signed up for.
var ErrNotOurGenesis = errors.New("this is not the genesis this home signed up for")

// InstallGenesis is 'primum genesis install': it checks the consortium's
// genesis (genesisPath) against the home's own membership file — the same
// chain, this organisation with exactly the name, type, keys and power it
// signed, and this home's validator key — and that the first block will
// take it, then copies it byte for byte into config/genesis.json and, with
// peersPath, sets persistent_peers in config.toml to its peers other than
// this node. Installing the same genesis again only sets the peers.
func InstallGenesis(home, genesisPath, peersPath string) (*Installed, error) {
	mine, err := ReadMemberFile(filepath.Join(home, MemberFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: a ceremony's genesis is installed in a home made with 'primum init --ceremony'", home, MemberFileName)
	}
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(genesisPath)
	if err != nil {
		return nil, err
	}
	doc, err := cmttypes.GenesisDocFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("cannot read the genesis %s: %w", genesisPath, err)
	}
	if doc.ChainID != mine.ChainID {
		return nil, fmt.Errorf("%w: it is for chain %q, this home signed up for %q", ErrNotOurGenesis, doc.ChainID, mine.ChainID)
	}
	validator, err := ValidatorPrivateKey(home)
	if err != nil {
		return nil, err
	}
	if vk := hex.EncodeToString(validator.Public().(ed25519.PublicKey)); vk != mine.ValidatorKey {
		return nil, fmt.Errorf("%s names validator key %s, but this home's is %s: the file is not this home's", mine.source, mine.ValidatorKey, vk)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(g.Members, func(m governance.NewMember) bool { return m.Key == mine.Key })
	if i < 0 {
		return nil, fmt.Errorf("%w: it does not list this organisation's operator key %s (was %s collected?)", ErrNotOurGenesis, mine.Key, MemberFileName)
	}
	if m := g.Members[i]; m.Name != mine.Name || m.OrgType != mine.OrgType || m.ValidatorKey != mine.ValidatorKey || m.Power != mine.Power {
		return nil, fmt.Errorf("%w: it lists this organisation as %q (%s) with validator key %s and power %d; it signed up as %q (%s) with %s and power %d",
			ErrNotOurGenesis, m.Name, m.OrgType, m.ValidatorKey, m.Power, mine.Name, mine.OrgType, mine.ValidatorKey, mine.Power)
	}
	if err := CheckNewGenesis(doc); err != nil {
		return nil, fmt.Errorf("the genesis %s would not start: %w", genesisPath, err)
	}
	var peers []string
	if peersPath != "" {
		if peers, err = readPeers(peersPath, mine.NodeID); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(home, "config", "genesis.json")
	if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, b) {
		return nil, fmt.Errorf("%s already holds another genesis: a home belongs to one consortium; make a new home for this one", home)
	}
	cfg, err := CometConfig(home)
	if err != nil {
		return nil, err
	}
	if peersPath != "" {
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &Installed{Home: home, ChainID: doc.ChainID, Hash: hex.EncodeToString(sum[:]), Peers: peers}, nil
}

// readPeers reads a peers file (node_id@host:port, one a line or comma
// separated) and answers its peers other than self.
func readPeers(path, self string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || checkNodeID(id) != nil || checkPublicAddr(addr) != nil {
			return nil, fmt.Errorf("%s: %q is not a peer node_id@host:port", path, p)
		}
		if id != self {
			out = append(out, p)
		}
	}
	return out, nil
}
