package clienv

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/node"
)

// Trust says where a command's light client gets headers and what it
// trusts without asking the node (the flags of 'primum query proof').
type Trust struct {
	RPC         string        // the node's CometBFT RPC (default: this home's)
	Genesis     string        // the trust root (default: this home's config/genesis.json)
	TrustHeight int64         // or: a header trusted, by its height
	TrustHash   string        // and its hash, in hex
	Witnesses   []string      // other nodes' RPCs to cross-check headers with
	MaxAge      time.Duration // the oldest header an answer is proven by: 0 for any age
}

// Prover proves what c's node answers (c signs the proof requests as its
// caller: a proof of a patient's data is theirs, or a reader's with
// standing).
func (e *Env) Prover(ctx context.Context, t Trust, c *client.Client) (*prove.Prover, error) {
	root := prove.TrustRoot{Height: t.TrustHeight, Witnesses: t.Witnesses, MaxAge: t.MaxAge}
	if t.MaxAge == 0 {
		root.MaxAge = -1 // --max-age 0: any age
	}
	if t.TrustHash != "" {
		h, err := hex.DecodeString(t.TrustHash)
		if err != nil || len(h) != 32 || t.TrustHeight < 1 {
			return nil, fmt.Errorf("--trust-hash must be a header's 64 hex digits, with its --trust-height")
		}
		root.Hash = h
	} else {
		genesis := t.Genesis
		if genesis == "" {
			genesis = filepath.Join(e.Home, "config", "genesis.json")
		}
		doc, err := types.GenesisDocFromFile(genesis)
		if err != nil {
			return nil, fmt.Errorf("a trust root is needed: the consortium's genesis (--genesis) or a trusted header (--trust-height, --trust-hash): %w", err)
		}
		root.Genesis = doc
	}
	return prove.New(ctx, c, cmp.Or(t.RPC, node.LocalRPC(e.Home)), root)
}
