package clienv

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/node"
)

// Possession is a proof of possession as 'primum keys prove-possession'
// asks for it: the registration it is for (As: identity.ProofPractitioner,
// …), who makes it (For), for a member the type and validator key it is
// admitted with, and the chain (none: asked of the node).
type Possession struct {
	As, For, OrgType, ValidatorKey, ChainID string
}

// ProvePossession signs p's proof with the key args names (a name in this
// home's keyring or a key file), or for a validator with this home's
// validator key (args: none). out is what is printed as JSON: the chain,
// the registration, the key and the proof; what says in words what the
// proof agrees to.
func (e *Env) ProvePossession(ctx context.Context, args []string, p Possession) (out map[string]string, what string, err error) {
	var key ed25519.PrivateKey
	switch {
	case p.As == identity.ProofValidator && len(args) == 0:
		key, err = node.ValidatorPrivateKey(e.Home)
	case p.As == identity.ProofValidator:
		return nil, "", fmt.Errorf("--as validator signs with this home's validator key: give no KEY (choose the home with --home)")
	case len(args) == 0:
		return nil, "", fmt.Errorf("KEY is required: the key to prove, a name in HOME/keys or a key file")
	default:
		key, err = e.SigningKey(args[0])
	}
	if err != nil {
		return nil, "", err
	}
	switch p.As {
	case identity.ProofPractitioner, identity.ProofDevice, identity.ProofMember, identity.ProofValidator:
	default:
		return nil, "", fmt.Errorf("--as must be practitioner, device, member or validator")
	}
	if p.For == "" {
		return nil, "", fmt.Errorf("--for is required: who registers the key (see --help)")
	}
	agreed := p.For // what the proof names
	var vk ed25519.PublicKey
	switch {
	case p.As == identity.ProofMember && p.OrgType == "":
		return nil, "", fmt.Errorf("--as member needs --org-type: the proof agrees to admission as that type of organisation")
	case p.As == identity.ProofMember:
		if p.ValidatorKey != "" {
			if vk, err = identity.ParseKey(p.ValidatorKey); err != nil {
				return nil, "", fmt.Errorf("--validator-key: %w", err)
			}
		}
		agreed = identity.MemberRegistrant(p.For, p.OrgType, vk)
	case p.OrgType != "" || p.ValidatorKey != "":
		return nil, "", fmt.Errorf("--org-type and --validator-key are for --as member only")
	}
	chainID := p.ChainID
	if chainID == "" {
		if chainID, err = e.Client().ChainID(ctx); err != nil {
			return nil, "", fmt.Errorf("no --chain-id, and the node does not answer: %w", err)
		}
	}
	pub := hex.EncodeToString(key.Public().(ed25519.PublicKey))
	proof := identity.ProvePossession(key, chainID, p.As, agreed)
	out = map[string]string{"chain_id": chainID, "as": p.As, "for": p.For, "key": pub, "proof": proof}
	what = fmt.Sprintf("a %s registration by %q", p.As, p.For)
	if p.As == identity.ProofMember {
		out["org_type"], out["validator_key"] = p.OrgType, hex.EncodeToString(vk)
		what = fmt.Sprintf("admission as member %q (%s) with no validator key", p.For, p.OrgType)
		if vk != nil {
			what = fmt.Sprintf("admission as member %q (%s) with validator key %x", p.For, p.OrgType, []byte(vk))
		}
	}
	return out, what, nil
}
