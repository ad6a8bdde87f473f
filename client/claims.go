package client

import (
	"context"
	"fmt"

	"github.com/primum-health/primum/claims"
)

// Claim reads a claim as it stands (its decision, line by line), as the
// client's caller: its provider, insurer, patient or the regulator.
func (c *Client) Claim(ctx context.Context, id string) (*claims.Claim, error) {
	var claim claims.Claim
	if err := c.Get(ctx, "/api/v1/claims/"+id, &claim); err != nil {
		return nil, err
	}
	return &claim, nil
}

// ClaimToReplay reads a claim and the version of its policy it was
// decided under: what claims.Replay decides it again from.
func (c *Client) ClaimToReplay(ctx context.Context, id string) (*claims.Claim, *claims.Policy, error) {
	claim, err := c.Claim(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var versions []*claims.Policy
	if err := c.Get(ctx, "/api/v1/claim-policies/"+claim.Policy, &versions); err != nil {
		return nil, nil, err
	}
	for _, v := range versions {
		if v.Version == claim.PolicyVersion {
			return claim, v, nil
		}
	}
	return nil, nil, fmt.Errorf("policy %s has no version %d", claim.Policy, claim.PolicyVersion)
}
