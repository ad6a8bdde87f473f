package clienv

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/trials"
	"github.com/primum-health/primum/wire"
)

// SendFrom signs a transaction with the key from names (FromKey) and
// submits it, printing the outcome (SendAs).
func (e *Env) SendFrom(cmd *cobra.Command, from string, wait bool, typ string, body any) error {
	key, err := e.FromKey(cmd.Context(), from)
	if err != nil {
		return err
	}
	return e.SendAs(cmd, key, wait, typ, body)
}

// IssueVouchers makes count registration vouchers here and issues them as
// the organisation from signs for (client.IssueVouchers): the codes, and
// the transaction that put their hashes on the ledger.
func (e *Env) IssueVouchers(ctx context.Context, from string, count int) ([]string, *wire.SubmitResponse, error) {
	if count < 1 || count > identity.MaxVouchersPerTx {
		return nil, nil, fmt.Errorf("--count must be 1 to %d", identity.MaxVouchersPerTx)
	}
	key, err := e.FromKey(ctx, from)
	if err != nil {
		return nil, nil, err
	}
	return e.Client().IssueVouchers(ctx, key, count)
}

// KeyInfo is who the public key pubHex signs for, its standing and its
// next nonce, asked as from (ReadClient).
func (e *Env) KeyInfo(ctx context.Context, pubHex, from string) (*wire.KeyInfo, error) {
	pub, err := identity.ParseKey(pubHex)
	if err != nil {
		return nil, err
	}
	c, err := e.ReadClient(ctx, from)
	if err != nil {
		return nil, err
	}
	return c.Key(ctx, ed25519.PublicKey(pub))
}

// Proof reads the state entry key (or its absence), asked as from, and
// proves it against a header the validators signed, with the light client
// t sets up (Prover).
func (e *Env) Proof(ctx context.Context, t Trust, from, key string) (*prove.Proven, error) {
	c, err := e.ReadClient(ctx, from)
	if err != nil {
		return nil, err
	}
	p, err := e.Prover(ctx, t, c)
	if err != nil {
		return nil, err
	}
	return p.Get(ctx, key)
}

// AnchorBatch is the anchor of the batch of case-report records in file
// (one a line, anchor.ReadFile) for trial: its RFC 9162 Merkle root and
// size, with the participants whose records it holds.
func AnchorBatch(trial, file string, participants []string) (*trials.Anchor, error) {
	recs, err := anchor.ReadFile(file)
	if err != nil {
		return nil, err
	}
	root, err := anchor.Root(recs)
	if err != nil {
		return nil, err
	}
	return &trials.Anchor{Trial: trial, Root: hex.EncodeToString(root), Size: int64(len(recs)), Participants: participants}, nil
}

// ProveRecord proves that record (1 is the first) of the batch file was in
// batch (its number, 1, 2, …) of trial as the ledger holds it
// (client.ProveRecord).
func (e *Env) ProveRecord(ctx context.Context, trial, batch, file string, record int) (*client.RecordProof, error) {
	seq, err := strconv.ParseInt(batch, 10, 64)
	if err != nil || seq < 1 {
		return nil, fmt.Errorf("BATCH is the batch's number (1, 2, …), not %q", batch)
	}
	recs, err := anchor.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return e.Client().ProveRecord(ctx, trial, seq, recs, record)
}

// Replay decides claim id again from the claim and the version of its
// policy the ledger holds (claims.Replay), read as from, or with token as
// its key (else ReadClient's PRIMUM_TOKEN): the claim, the steps of the
// decision and where it differs from the ledger's (none: it agrees).
func (e *Env) Replay(ctx context.Context, from, token, id string) (claim *claims.Claim, steps, diffs []string, err error) {
	c, err := e.ReadClient(ctx, from)
	if err != nil {
		return nil, nil, nil, err
	}
	if token != "" {
		c = c.WithToken(token)
	}
	claim, policy, err := c.ClaimToReplay(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	steps, diffs, err = claims.Replay(claim, policy)
	return claim, steps, diffs, err
}
