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
	"reflect"
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
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/store"
)

// The genesis ceremony founds a consortium whose members run their nodes on
// machines of their own, without any private key leaving its home: each
// founding member writes a signed membership file ('primum init
// --ceremony'), a coordinator collects the files into one genesis
// ('primum genesis collect'), and each member checks that genesis against
// every member's signed file and installs it ('primum genesis install').
// The coordinator can refuse the whole ceremony, but not change what a
// member signed, nor add a member, validator or peer nobody signed up, nor
// leave one out unseen. What it can still do is sign up an organisation of
// its own making with keys of its own: so install prints the founding
// members for each member to check with the other founders, and every
// member compares the genesis hash out of band before starting.

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
		// Most often the coordinator's typing, not the member's file.
		return bad("the file is for chain %q; collect was given --chain-id %q: check --chain-id, or ask the member to sign up again for %q "+
			"('primum init --ceremony --chain-id %s')", f.ChainID, chainID, chainID, chainID)
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
	// The proofs' own error suggests 'primum keys prove-possession', which
	// is for a joining member: a membership file is only ever signed by
	// init, so a proof that fails means the file changed on its way.
	if err := f.CheckProofs(chainID); err != nil {
		return bad("changed after it was signed: the operator key's proof of possession does not cover its name %q, org_type %s and validator key; "+
			"ask the member to send it again", f.Name, f.OrgType)
	}
	sig, err := hex.DecodeString(f.Signature)
	if err != nil || !ledger.VerifySignature(key, f.SignedBytes(), sig) {
		return bad("changed after it was signed: the operator key's signature does not match its power, node id or address; ask the member to send it again")
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

// listenPublic makes home's node reachable from other machines: its p2p
// port listens on every address of the machine, at ports.P2P (0: addr's
// port), and it tells its peers addr (CometBFT's p2p.external_address),
// since the address it listens on is no address a peer can dial. The API
// and RPC stay on loopback. A founding member (Ceremony) and a joining or
// one-member home given --external-address share it.
func listenPublic(home, addr string, ports Ports) error {
	cfg, err := CometConfig(home)
	if err != nil {
		return err
	}
	port := ports.P2P
	if port == 0 {
		_, p, _ := net.SplitHostPort(addr)
		port, _ = strconv.Atoi(p)
	}
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://0.0.0.0:%d", port)
	cfg.P2P.ExternalAddress = addr
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	return nil
}

// writeMemberFile points the home's p2p at the public address and writes
// HOME/member.json, signed by operator, and answers its path.
func (c *Ceremony) writeMemberFile(home string, m Member, operator ed25519.PrivateKey, nodeID p2p.ID) (string, error) {
	if err := listenPublic(home, c.Address, m.Ports); err != nil {
		return "", err
	}
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
	ChainID string `json:"chain_id"`
	Genesis string `json:"genesis"`
	Peers   string `json:"peers"`
	// MembersDir holds the signed membership files the genesis was made
	// from: each member's install checks the genesis against all of them.
	MembersDir  string            `json:"members_dir"`
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
	File    string `json:"file"` // its signed file in MembersDir
}

// MembersDirName is the folder beside genesis.json that collect copies the
// signed membership files into, and install reads them from.
const MembersDirName = "members"

// memberFileName names the index-th (from 1) founding member's file in
// the members folder: its place in the genesis, then its name in
// lower-case letters and digits, for a person reading the folder.
func memberFileName(index int, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		slug = "member"
	}
	return fmt.Sprintf("%02d-%s.json", index, slug)
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
	if err := checkMemberFiles(chainID, files); err != nil {
		return nil, nil, err
	}
	var members []governance.NewMember
	var peers []string
	validators := 0
	for _, f := range files {
		// Founding members carry no proofs: nobody proposes them.
		members = append(members, governance.NewMember{Name: f.Name, OrgType: f.OrgType, Key: f.Key, ValidatorKey: f.ValidatorKey, Power: f.Power})
		peers = append(peers, f.Peer())
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

// Peer is the member's node as a peers entry: node_id@address.
func (f *MemberFile) Peer() string { return f.NodeID + "@" + f.Address }

// checkMemberFiles checks each file for chainID (MemberFile.Check) and
// that no two repeat an organisation name, key, validator key, node id or
// address: collect and install refuse the same files.
func checkMemberFiles(chainID string, files []*MemberFile) error {
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
	for _, f := range files {
		if err := f.Check(chainID); err != nil {
			return err
		}
		for i, u := range unique {
			v := u.value(f)
			if other, ok := seen[i][v]; ok {
				return fmt.Errorf("%w: %s and %s have the same %s %q: each founding member needs its own home",
					ErrBadMemberFile, other.label(), f.label(), u.what, v)
			}
			seen[i][v] = f
		}
	}
	return nil
}

// CollectGenesis is 'primum genesis collect': it reads the founding
// members' files (paths), builds their genesis (BuildGenesis) and writes
// outDir/genesis.json, outDir/peers (one node_id@address a line) and the
// files as they were signed into outDir/members/ (memberFileName), so that
// every member's install can check that the genesis lists exactly them.
// It does not replace a genesis already there: one may have been sent out.
func CollectGenesis(chainID string, paths []string, outDir string, genesisTime time.Time) (*Collected, error) {
	var files []*MemberFile
	var raw [][]byte
	for _, p := range paths {
		f, err := ReadMemberFile(p)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files, raw = append(files, f), append(raw, b)
	}
	doc, peers, err := BuildGenesis(chainID, files, genesisTime)
	if err != nil {
		return nil, err
	}
	out := &Collected{ChainID: chainID, Genesis: filepath.Join(outDir, "genesis.json"), Peers: filepath.Join(outDir, "peers"),
		MembersDir: filepath.Join(outDir, MembersDirName), GenesisTime: doc.GenesisTime}
	for _, p := range []string{out.Genesis, out.Peers, out.MembersDir} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s already exists: remove it, or choose another --out (the members may hold a copy: install only one genesis)", p)
		}
	}
	if err := os.MkdirAll(out.MembersDir, 0o755); err != nil {
		return nil, err
	}
	for i, f := range files {
		// The bytes as the member sent them: the signature covers the
		// fields, but a member comparing its own file sees it unchanged.
		path := filepath.Join(out.MembersDir, memberFileName(i+1, f.Name))
		if err := os.WriteFile(path, raw[i], 0o644); err != nil {
			return nil, err
		}
		out.Members = append(out.Members, CollectedMember{Name: f.Name, OrgType: f.OrgType, Power: f.Power, Peer: peers[i], File: path})
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
	Home    string `json:"home"`
	ChainID string `json:"chain_id"`
	// GenesisTime is when the chain starts (its first block's time), for
	// the founders to compare with the hash.
	GenesisTime time.Time `json:"genesis_time"`
	Hash        string    `json:"genesis_sha256"`
	Peers       []string  `json:"persistent_peers"`
	// MembersDir is the folder of signed membership files the genesis was
	// checked against; empty with InstallOptions.NoMembersCheck.
	MembersDir string `json:"members_dir,omitempty"`
	// Members are the founding members as the genesis lists them, for
	// the member to check with the other founders: a coordinator can
	// still sign up an organisation of its own making.
	Members    []FoundingMember `json:"members"`
	TotalPower int64            `json:"total_power"`
	// ConsensusParams are the genesis's when they are not Primum's
	// (ConsensusParams) and InstallOptions.AcceptParams took them.
	ConsensusParams *cmttypes.ConsensusParams `json:"consensus_params,omitempty"`
	// Settings are the genesis's settings that are not Primum's (module
	// sections, initial height) when InstallOptions.AcceptParams took them.
	Settings []string `json:"settings,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// FoundingMember is one organisation of a genesis, as install lists it.
type FoundingMember struct {
	Name         string `json:"name"`
	OrgType      string `json:"org_type"`
	Power        int64  `json:"power"`
	OperatorKey  string `json:"operator_key"`
	ValidatorKey string `json:"validator_key"`
	NodeID       string `json:"node_id,omitempty"` // from its membership file; unknown without one
}

// InstallOptions are what 'primum genesis install' is given beside the
// genesis.
type InstallOptions struct {
	// Peers is the coordinator's peers file; "" leaves persistent_peers
	// as they are.
	Peers string
	// Members is the folder of signed membership files collect wrote
	// (Collected.MembersDir); "": the members folder beside the genesis.
	Members string
	// NoMembersCheck installs without membership files: only this
	// organisation's own entry is checked, and a warning says so.
	NoMembersCheck bool
	// AcceptParams takes consensus parameters, module settings and an
	// initial height other than Primum's.
	AcceptParams bool
}

// ErrNotOurGenesis is wrapped when a genesis does not found the consortium
// a home signed up for.
var ErrNotOurGenesis = errors.New("this is not the genesis this home signed up for")

// InstallGenesis is 'primum genesis install': it checks the consortium's
// genesis (genesisPath) against the home's own membership file — the same
// chain, this organisation with exactly the name, type, keys and power it
// signed, and this home's validator key — and against every founding
// member's signed file (o.Members): the genesis's members and CometBFT
// validators are exactly the files', and every peer is one of their
// nodes. Checking only its own entry would let a coordinator add a member
// or a validator of its own, and the genesis hash the members compare only
// proves they all got the same file. It refuses consensus parameters
// other than Primum's, and module settings or an initial height other
// than the ones collect writes, unless o.AcceptParams, and a genesis the
// first block would not take. Then it copies the genesis byte for byte into
// config/genesis.json and, with o.Peers, sets persistent_peers in
// config.toml to its peers other than this node. Installing the same
// genesis again only sets the peers.
func InstallGenesis(home, genesisPath string, o InstallOptions) (*Installed, error) {
	if o.NoMembersCheck && o.Members != "" {
		return nil, fmt.Errorf("--members and --no-members-check together: give the members folder, or install without it, not both")
	}
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
	in := &Installed{Home: home, ChainID: doc.ChainID, GenesisTime: doc.GenesisTime}
	if err := checkConsensusParams(doc, o.AcceptParams, in); err != nil {
		return nil, err
	}
	if err := checkModuleSettings(doc, g, o.AcceptParams, in); err != nil {
		return nil, err
	}

	files := []*MemberFile{mine}
	if in.MembersDir, err = membersDir(genesisPath, o); err != nil {
		return nil, err
	}
	if in.MembersDir != "" {
		if files, err = readMembersDir(in.MembersDir); err != nil {
			return nil, err
		}
		if err := checkSignedMembers(doc, g, files, in.MembersDir); err != nil {
			return nil, err
		}
	} else {
		in.Warnings = append(in.Warnings, "the genesis was NOT checked against the founding members' signed files (--no-members-check): "+
			"only this organisation's entry was; the coordinator could have added members or validators of its own")
	}
	nodeIDs := map[string]string{}
	peerOK := map[string]bool{}
	for _, f := range files {
		nodeIDs[f.Key] = f.NodeID
		peerOK[f.Peer()] = true
	}
	for _, m := range g.Members {
		in.Members = append(in.Members, FoundingMember{Name: m.Name, OrgType: m.OrgType, Power: m.Power, OperatorKey: m.Key,
			ValidatorKey: m.ValidatorKey, NodeID: nodeIDs[m.Key]})
		in.TotalPower += m.Power
	}

	if err := CheckNewGenesis(doc); err != nil {
		return nil, fmt.Errorf("the genesis %s would not start: %w", genesisPath, err)
	}
	if o.Peers != "" {
		all, err := readPeers(o.Peers)
		if err != nil {
			return nil, err
		}
		in.Peers = []string{}
		for _, p := range all {
			if in.MembersDir != "" && !peerOK[p] {
				return nil, fmt.Errorf("%s: peer %s is not the node_id@address of any founding member's signed file in %s: "+
					"a node nobody signed up; ask the coordinator for the peers file collect wrote", o.Peers, p, in.MembersDir)
			}
			if !strings.HasPrefix(p, mine.NodeID+"@") {
				in.Peers = append(in.Peers, p)
			}
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
	if o.Peers != "" {
		cfg.P2P.PersistentPeers = strings.Join(in.Peers, ",")
		cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	in.Hash = hex.EncodeToString(sum[:])
	return in, nil
}

// checkConsensusParams refuses a genesis whose consensus parameters are
// not the ones Primum writes (a coordinator could, say, make blocks too
// small for a member's transactions or accept another key type), unless
// accept: then in carries them and a warning.
func checkConsensusParams(doc *cmttypes.GenesisDoc, accept bool, in *Installed) error {
	got, err := json.Marshal(doc.ConsensusParams)
	if err != nil {
		return err
	}
	want, err := json.Marshal(ConsensusParams())
	if err != nil {
		return err
	}
	if bytes.Equal(got, want) {
		return nil
	}
	if !accept {
		return fmt.Errorf("the genesis's consensus_params are not the ones Primum writes:\n  genesis: %s\n  Primum:  %s\n"+
			"ask the coordinator why; if the founders agreed on them, install with --accept-params", got, want)
	}
	in.ConsensusParams = doc.ConsensusParams
	in.Warnings = append(in.Warnings, fmt.Sprintf("consensus_params differ from Primum's (--accept-params): %s", got))
	return nil
}

// checkModuleSettings refuses a genesis whose modules' settings are not
// the ones collect writes, or that starts at a height other than 1: the
// signed files say nothing of them, and a coordinator could, say, open
// patient registration to any key (free Sybils) by leaving a section out.
// Unless accept: then in carries them and a warning for each.
func checkModuleSettings(doc *cmttypes.GenesisDoc, g *app.Genesis, accept bool, in *Installed) error {
	var differ []string
	if doc.InitialHeight != 1 {
		differ = append(differ, fmt.Sprintf("initial_height is %d, not 1", doc.InitialHeight))
	}
	want := app.NewGenesis(g.Members...)
	for _, m := range modules.All() {
		if m.Genesis == nil {
			continue
		}
		got, err := g.Section(m)
		if err != nil {
			return err
		}
		def, err := want.Section(m)
		if err != nil {
			return err
		}
		if !sameJSON(got, def) {
			differ = append(differ, fmt.Sprintf("modules.%s is %s, not %s", m.Name, shortJSON(got), shortJSON(def)))
		}
	}
	if len(differ) == 0 {
		return nil
	}
	if !accept {
		return fmt.Errorf("the genesis's settings are not the ones Primum writes:\n  %s\n"+
			"ask the coordinator why; if the founders agreed on them, install with --accept-params", strings.Join(differ, "\n  "))
	}
	in.Settings = differ
	for _, d := range differ {
		in.Warnings = append(in.Warnings, "setting differs from Primum's (--accept-params): "+d)
	}
	return nil
}

// sameJSON says whether a and b are the same JSON value (whatever the
// spacing and the order of object members).
func sameJSON(a, b []byte) bool {
	decode := func(raw []byte) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		err := d.Decode(&v) // before v is read: the order of a return's operands is unspecified
		return v, err == nil
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

// shortJSON is raw without its spacing, cut to a line's worth for a
// message (a section may list thousands of prefixes).
func shortJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	const most = 300
	if r := []rune(b.String()); len(r) > most {
		return string(r[:most]) + fmt.Sprintf("… (%d bytes)", b.Len())
	}
	return b.String()
}

// membersDir is the folder of signed membership files install checks the
// genesis against: o.Members, or the members folder beside the genesis;
// "" with o.NoMembersCheck.
func membersDir(genesisPath string, o InstallOptions) (string, error) {
	if o.NoMembersCheck {
		return "", nil
	}
	if o.Members != "" {
		return o.Members, nil
	}
	dir := filepath.Join(filepath.Dir(genesisPath), MembersDirName)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	return "", fmt.Errorf("no %s folder beside %s: ask the coordinator for the members folder 'primum genesis collect' wrote and give it "+
		"with --members DIR; --no-members-check installs without it, checking only this organisation's entry "+
		"(the coordinator could then add members or validators of its own)", MembersDirName, genesisPath)
}

// readMembersDir reads every *.json in dir as a membership file.
func readMembersDir(dir string) ([]*MemberFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("--members: %w", err)
		}
		return nil, fmt.Errorf("%s holds no membership files (*.json): give the members folder 'primum genesis collect' wrote", dir)
	}
	slices.Sort(paths)
	var files []*MemberFile
	for _, p := range paths {
		f, err := ReadMemberFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// ErrUnsignedMember is wrapped when a genesis lists a member or validator
// that no signed membership file accounts for, or leaves one out.
var ErrUnsignedMember = errors.New("the genesis does not match the founding members' signed files")

// checkSignedMembers checks that the genesis's members and CometBFT
// validators are exactly those of the signed files (dir names them in
// errors): no member nobody signed, none changed, none left out, and the
// validators exactly the files' validator keys at their power.
func checkSignedMembers(doc *cmttypes.GenesisDoc, g *app.Genesis, files []*MemberFile, dir string) error {
	for _, f := range files {
		if f.ChainID != doc.ChainID {
			return fmt.Errorf("%w %s: it is for chain %q, the genesis for %q: the members folder is not this genesis's; "+
				"ask the coordinator for the one collect wrote with it", ErrBadMemberFile, f.label(), f.ChainID, doc.ChainID)
		}
	}
	if err := checkMemberFiles(doc.ChainID, files); err != nil {
		return err
	}
	byKey := map[string]*MemberFile{}
	for _, f := range files {
		byKey[f.Key] = f
	}
	listed := map[*MemberFile]bool{}
	for _, m := range g.Members {
		f, ok := byKey[m.Key]
		if !ok {
			return fmt.Errorf("%w: it lists %q (%s, operator key %s, power %d), and no signed file in %s does: "+
				"a member nobody signed up for; do not install it, and tell the other founders", ErrUnsignedMember, m.Name, m.OrgType, m.Key, m.Power, dir)
		}
		if listed[f] {
			return fmt.Errorf("%w: it lists %q twice", ErrUnsignedMember, m.Name)
		}
		listed[f] = true
		if m.Name != f.Name || m.OrgType != f.OrgType || m.ValidatorKey != f.ValidatorKey || m.Power != f.Power {
			return fmt.Errorf("%w: it lists operator key %s as %q (%s) with validator key %s and power %d; %s signed %q (%s) with %s and power %d",
				ErrUnsignedMember, m.Key, m.Name, m.OrgType, m.ValidatorKey, m.Power, f.label(), f.Name, f.OrgType, f.ValidatorKey, f.Power)
		}
	}
	for _, f := range files {
		if !listed[f] {
			return fmt.Errorf("%w: %s signed up %q, and the genesis does not list it: ask the coordinator why it was left out", ErrUnsignedMember, f.label(), f.Name)
		}
	}
	power := map[string]*MemberFile{} // validator key (hex) → its member, for those with power
	for _, f := range files {
		if f.Power > 0 {
			power[strings.ToLower(f.ValidatorKey)] = f
		}
	}
	for _, v := range doc.Validators {
		key := hex.EncodeToString(v.PubKey.Bytes())
		f, ok := power[key]
		if !ok {
			return fmt.Errorf("%w: CometBFT validator %s (%q, power %d) is no founding member's validator key: "+
				"a validator nobody signed up for; do not install it, and tell the other founders", ErrUnsignedMember, key, v.Name, v.Power)
		}
		if v.Power != f.Power {
			return fmt.Errorf("%w: CometBFT validator %s has power %d; %q signed for %d", ErrUnsignedMember, key, v.Power, f.Name, f.Power)
		}
		delete(power, key)
	}
	for _, f := range files {
		if _, left := power[strings.ToLower(f.ValidatorKey)]; left {
			return fmt.Errorf("%w: %q signed up with validator key %s and power %d, and the genesis's validators leave it out",
				ErrUnsignedMember, f.Name, f.ValidatorKey, f.Power)
		}
	}
	return nil
}

// readPeers reads a peers file (node_id@host:port, one a line or comma
// separated): ParsePeers of its text.
func readPeers(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	peers, err := ParsePeers(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return peers, nil
}

// ReadPeersFile is readPeers for commands outside this package.
func ReadPeersFile(path string) ([]string, error) { return readPeers(path) }

// ParsePeers reads persistent peers, node_id@host:port separated by commas
// or white space. CometBFT dials a peer only with its node id (it
// authenticates the id on connecting), so a peer without one, or with an
// address nobody can dial, is refused here rather than ignored at start.
func ParsePeers(s string) ([]string, error) {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		id, addr, ok := strings.Cut(p, "@")
		if !ok {
			return nil, fmt.Errorf("peer %q has no node id: write it node_id@host:port, the node id being what 'primum init' printed "+
				"on that machine (or take the line from the coordinator's peers file)", p)
		}
		if err := checkNodeID(id); err != nil {
			return nil, fmt.Errorf("peer %q: %v", p, err)
		}
		if err := checkPublicAddr(addr); err != nil {
			return nil, fmt.Errorf("peer %q: %v", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}
