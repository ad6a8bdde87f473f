package node

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/primum-health/primum/governance"
)

// MembershipRequest is what a joining organisation hands to the member who
// proposes it (HOME/membership-request.json): the proposal's member, with
// the proofs of possession of its operator and validator keys that only
// the joining home can sign, and the chain they are for. The operator
// key's proof agrees to the name, the type and the validator key, so the
// proposer can change none of them; it may change the power, which is not
// signed.
type MembershipRequest struct {
	ChainID string `json:"chain_id"`
	governance.NewMember
}

// WriteMembershipRequest writes HOME/membership-request.json for a home
// that joins the consortium of its genesis (config/genesis.json), signed
// by the organisation's operator key and this home's validator key, and
// answers its path.
func WriteMembershipRequest(home string, operator ed25519.PrivateKey, name, orgType string, power int64) (string, error) {
	chainID, err := genesisChainID(home)
	if err != nil {
		return "", err
	}
	validator, err := ValidatorPrivateKey(home)
	if err != nil {
		return "", err
	}
	req := MembershipRequest{ChainID: chainID, NewMember: *governance.ProvedMember(chainID, name, orgType, operator, validator)}
	req.Power = power
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(home, "membership-request.json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadMembershipRequest reads a joining organisation's request.
func ReadMembershipRequest(path string) (*MembershipRequest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var req MembershipRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("cannot read the membership request %s: %w", path, err)
	}
	return &req, nil
}
