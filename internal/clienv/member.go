package clienv

import (
	"context"
	"fmt"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
)

// MemberRequest is an organisation proposed for admission as 'primum
// governance propose-add-member' gives it: a joining organisation's
// membership request file, or the member itself with its keys' proofs, or
// with the operator key (KeyFile: a name in this home's keyring or a key
// file) to make its proof here.
type MemberRequest struct {
	governance.NewMember
	Request    string // a membership-request.json
	PowerGiven bool   // with Request: NewMember.Power is the power proposed
	KeyFile    string
}

// Member is the member to propose, its proofs checked against the node's
// chain before anything is sent; what is missing is said with how to get
// it.
func (e *Env) Member(ctx context.Context, r MemberRequest) (*governance.NewMember, error) {
	member := r.NewMember
	chainID, err := e.Client().ChainID(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Request != "":
		req, err := node.ReadMembershipRequest(r.Request)
		if err != nil {
			return nil, err
		}
		if req.ChainID != chainID {
			return nil, fmt.Errorf("%s is for chain %q, the node is on %q", r.Request, req.ChainID, chainID)
		}
		member = req.NewMember
		if r.PowerGiven {
			member.Power = r.NewMember.Power
		}
	case r.KeyFile != "":
		key, err := e.SigningKey(r.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--key-file: %w", err)
		}
		if err := member.ProveKey(chainID, key); err != nil {
			return nil, fmt.Errorf("--validator-key: %w", err)
		}
	case r.Key != "" && r.KeyProof == "": // (no key: the ledger's own answer, bad_key, says what is missing)
		return nil, fmt.Errorf("--key needs --key-proof, the key holder's proof of possession: they print it with\n  primum keys prove-possession THEIR_KEY --as member --for \"THE ORGANISATION'S NAME\" --org-type TYPE [--validator-key HEX]\nor pass the key itself with --key-file")
	}
	if member.ValidatorKey != "" && member.ValidatorKeyProof == "" {
		return nil, fmt.Errorf("--validator-key needs --validator-key-proof: the joining organisation prints it with\n  primum keys prove-possession --as validator --for ORG_ID --home ITS_HOME\n(ORG_ID is the address of its operator key)")
	}
	if err := member.CheckProofs(chainID); err != nil {
		return nil, fmt.Errorf("[%s] %w\nThe joining organisation agrees to exactly this member by making its proofs again:\n  primum keys prove-possession operator --as member --for NAME --org-type TYPE [--validator-key HEX]\n  primum keys prove-possession --as validator --for ORG_ID   (only with a validator key)", ledger.AsError(err).Name, err)
	}
	return &member, nil
}
