package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/wire"
)

// History is what the node explorer needs of the consensus engine beyond
// Chain (CometBFT's local client has these methods).
type History interface {
	BlockchainInfo(ctx context.Context, minHeight, maxHeight int64) (*coretypes.ResultBlockchainInfo, error)
	Block(ctx context.Context, height *int64) (*coretypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*coretypes.ResultBlockResults, error)
	NetInfo(ctx context.Context) (*coretypes.ResultNetInfo, error)
}

// declaredTypes are the transaction types the modules declare.
var declaredTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range modules.Txs() {
		m[r.Type] = true
	}
	return m
}()

// Explorer bounds: the blocks one request reads.
const (
	DefaultExplorerBlocks = 20
	MaxExplorerBlocks     = 50
)

// blocks: GET /api/v1/blocks[?limit=N] — the latest blocks, each with its
// time, proposer and how many transactions of each type it carried,
// accepted or refused (by code); the validators' signatures over those
// blocks; the connected peers by name. No transaction hash, signer or body:
// a transaction's type and outcome say what kind of thing happened, not
// who did it or about whom (docs/records.md, "Who learns what").
func (s *server) blocks(w http.ResponseWriter, r *http.Request) {
	if s.History == nil {
		writeError(w, errUnavailable.Wrapf("this node does not serve its block history"))
		return
	}
	limit := DefaultExplorerBlocks
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxExplorerBlocks {
			writeError(w, errBadRequest.Wrapf("limit must be 1 to %d", MaxExplorerBlocks))
			return
		}
		limit = n
	}
	ctx := r.Context()
	st, err := s.Chain.Status(ctx)
	if err != nil {
		writeError(w, errUnavailable.Wrapf("%v", err))
		return
	}
	top := st.SyncInfo.LatestBlockHeight
	bottom := max(st.SyncInfo.EarliestBlockHeight, top-int64(limit)+1, 1)
	out := wire.Blocks{Blocks: []wire.BlockSummary{}, Signed: map[string]int{}, Peers: []wire.Peer{}}
	// BlockchainInfo answers at most 20 metas a call, newest first.
	for hi := top; hi >= bottom; {
		info, err := s.History.BlockchainInfo(ctx, max(bottom, hi-19), hi)
		if err != nil || len(info.BlockMetas) == 0 {
			break
		}
		for _, m := range info.BlockMetas {
			out.Blocks = append(out.Blocks, wire.BlockSummary{Height: m.Header.Height, Time: m.Header.Time,
				Proposer: m.Header.ProposerAddress.String(), Txs: m.NumTxs, Types: []wire.BlockTxType{}})
		}
		hi = info.BlockMetas[len(info.BlockMetas)-1].Header.Height - 1
	}
	for i := range out.Blocks {
		b := &out.Blocks[i]
		h := b.Height
		block, err := s.History.Block(ctx, &h)
		if err != nil || block.Block == nil {
			continue
		}
		// This block's commit of its parent: who signed the block before
		// (the first block has none).
		if lc := block.Block.LastCommit; lc != nil && len(lc.Signatures) > 0 {
			out.Window++
			for _, sig := range lc.Signatures {
				if sig.BlockIDFlag == cmttypes.BlockIDFlagCommit {
					out.Signed[sig.ValidatorAddress.String()]++
				}
			}
		}
		if b.Txs == 0 {
			continue
		}
		results, err := s.History.BlockResults(ctx, &h)
		if err != nil {
			continue
		}
		types := map[string]*wire.BlockTxType{}
		for j, raw := range block.Block.Data.Txs {
			// A type no module declares is named as such, not spelled
			// out: a refused transaction's type is whatever its sender
			// wrote.
			typ := "(unknown type)"
			if tx, err := envelope.Decode(raw); err == nil && declaredTypes[tx.Type] {
				typ = tx.Type
			}
			t := types[typ]
			if t == nil {
				t = &wire.BlockTxType{Type: typ}
				types[typ] = t
			}
			if j >= len(results.TxResults) || results.TxResults[j].Code == 0 {
				t.Accepted++
				continue
			}
			res := results.TxResults[j]
			code := res.Codespace + "/" + strconv.FormatUint(uint64(res.Code), 10)
			if e, ok := ledger.Lookup(res.Codespace, res.Code); ok {
				code = e.Name
			}
			if t.Refused == nil {
				t.Refused = map[string]int{}
			}
			t.Refused[code]++
		}
		for _, t := range types {
			b.Types = append(b.Types, *t)
		}
		slices.SortFunc(b.Types, func(x, y wire.BlockTxType) int { return cmp.Compare(x.Type, y.Type) })
	}
	if ni, err := s.History.NetInfo(ctx); err == nil {
		for _, p := range ni.Peers {
			out.Peers = append(out.Peers, wire.Peer{NodeID: string(p.NodeInfo.DefaultNodeID), Moniker: p.NodeInfo.Moniker})
		}
	}
	writeJSON(w, http.StatusOK, out)
}
