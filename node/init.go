package node

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/keyring"
)

// Member describes the organisation a new home is made for ('primum
// init'): it founds a consortium (ChainID), signs up for the genesis
// ceremony of one (ChainID and Ceremony) or joins one (Genesis).
type Member struct {
	InitOptions
	Name, OrgType string
	Power         int64  // the founding validator's, or the power a joining one asks for
	ChainID       string // a new consortium's chain id
	Genesis       string // or: the genesis file of the consortium to join
	Passphrase    string // the operator key's, unless Unencrypted
	Unencrypted   bool
	// Ceremony, if set, writes HOME/member.json for the coordinator of a
	// consortium's founding and no genesis: the home waits for the
	// consortium's ('primum genesis install').
	Ceremony *Ceremony
	// ExternalAddress, without Ceremony, is where other machines' nodes
	// reach this one's p2p port, host:port: the node listens on every
	// address, as a founding member's does (listenPublic). Without it a
	// joining node only dials out, and other members cannot dial it.
	ExternalAddress string
	// PeersFile is the coordinator's peers file (node_id@host:port a line
	// or comma separated): persistent peers, with InitOptions.Peers.
	PeersFile string
}

// Initialised is what InitMember made.
type Initialised struct {
	NodeID       p2p.ID
	ValidatorKey ed25519.PublicKey
	Operator     *keyring.File // keys/operator.json
	// Joining: the membership request's path, or why none was written
	// (the home is set up all the same; the proofs can be made with
	// 'primum keys prove-possession').
	Request    string
	RequestErr error
	// A founding member's membership file (Member.Ceremony).
	MemberFile string
}

// Listing is what 'primum init -o json' prints of a home initialised in
// home.
func (in *Initialised) Listing(home string) map[string]any {
	out := map[string]any{"home": home, "node_id": in.NodeID, "validator_key": hex.EncodeToString(in.ValidatorKey),
		"operator_address": in.Operator.Address, "operator_key": in.Operator.PublicKey, "operator_key_encrypted": in.Operator.Encrypted}
	if in.Request != "" {
		out["membership_request"] = in.Request
	}
	if in.RequestErr != nil {
		out["membership_request_error"] = in.RequestErr.Error()
	}
	if in.MemberFile != "" {
		out["member_file"] = in.MemberFile
	}
	return out
}

// InitMember creates a member's node home: CometBFT's configuration and
// keys (InitHome), the operator key (kept if the home has one), and either
// the genesis of a new one-member consortium with this organisation as
// its validator, or the genesis of the consortium it joins with
// HOME/membership-request.json (WriteMembershipRequest), or, for a
// genesis ceremony, no genesis but HOME/member.json.
func InitMember(home string, m Member, now time.Time) (*Initialised, error) {
	if _, err := os.Stat(filepath.Join(home, MemberFileName)); err == nil {
		return nil, fmt.Errorf("%s already signed up for a genesis ceremony (%s): send that file to the coordinator, "+
			"or remove it and run 'primum init --ceremony' again to change it (the keys are kept)", home, filepath.Join(home, MemberFileName))
	}
	if m.Ceremony != nil {
		if err := m.Ceremony.check(m); err != nil {
			return nil, err
		}
		if m.ExternalAddress != "" && m.ExternalAddress != m.Ceremony.Address {
			return nil, fmt.Errorf("external address %q and the ceremony's %q differ: give the address once, as Ceremony.Address", m.ExternalAddress, m.Ceremony.Address)
		}
	} else if m.ExternalAddress != "" {
		if err := checkPublicAddr(m.ExternalAddress); err != nil {
			return nil, fmt.Errorf("--external-address: %w", err)
		}
	}
	// The peers are checked before anything is written: a peer without a
	// node id would only show up as a node that never finds the chain.
	peers, err := ParsePeers(m.Peers)
	if err != nil {
		return nil, fmt.Errorf("--peers: %w", err)
	}
	if m.PeersFile != "" {
		fromFile, err := readPeers(m.PeersFile)
		if err != nil {
			return nil, fmt.Errorf("--peers-file: %w", err)
		}
		peers = append(peers, fromFile...)
	}
	m.Peers = strings.Join(peers, ",")
	valKey, nodeID, err := InitHome(home, m.InitOptions)
	if err != nil {
		return nil, err
	}
	keys := keyring.Dir(filepath.Join(home, "keys"))
	op, err := keys.Add("operator", m.Passphrase, m.Unencrypted)
	if errors.Is(err, keyring.ErrExists) {
		// An earlier init's: keep it (Add answers the key it did not write).
		op, err = keys.Get("operator")
	}
	if err != nil {
		return nil, err
	}
	s, _ := LoadSettings(home)
	s.OperatorKey = filepath.Join("keys", "operator.json")
	if err := SaveSettings(home, s); err != nil {
		return nil, err
	}
	in := &Initialised{NodeID: nodeID, ValidatorKey: valKey, Operator: op}
	if m.Ceremony == nil && m.ExternalAddress != "" {
		if err := listenPublic(home, m.ExternalAddress, m.Ports); err != nil {
			return nil, err
		}
	}
	if m.Ceremony != nil {
		key, err := op.Open(m.Passphrase)
		if err != nil {
			return nil, fmt.Errorf("cannot open the operator key to sign %s: %w", MemberFileName, err)
		}
		in.MemberFile, err = m.Ceremony.writeMemberFile(home, m, key, nodeID)
		return in, err
	}
	if m.Genesis == "" {
		gen := app.NewGenesis(governance.NewMember{Name: m.Name, OrgType: m.OrgType, Key: op.PublicKey,
			ValidatorKey: hex.EncodeToString(valKey), Power: m.Power})
		return in, WriteGenesis(home, m.ChainID, gen, now)
	}
	b, err := os.ReadFile(m.Genesis)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), b, 0o644); err != nil {
		return nil, err
	}
	// The node is set up whatever happens here: a request that cannot be
	// written is reported, not fatal.
	key, err := op.Open(m.Passphrase)
	if err != nil {
		in.RequestErr = fmt.Errorf("cannot open the operator key: %w", err)
	} else {
		in.Request, in.RequestErr = WriteMembershipRequest(home, key, m.Name, m.OrgType, m.Power)
	}
	return in, nil
}
