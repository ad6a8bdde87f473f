package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"

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
	MaxExplorerBlocks     = 20
	// explorerCache bounds the block summaries kept (a block never
	// changes: each is read and decoded once).
	explorerCache = 256
)

// blockSummary is a block as the explorer shows it, and the validators
// that signed the block before it (its last commit; nil: none).
type blockSummary struct {
	wire.BlockSummary
	signed []string
}

// blockCache keeps the summaries of recent blocks by height.
type blockCache struct {
	mu sync.Mutex
	m  map[int64]*blockSummary
}

func (c *blockCache) get(h int64) *blockSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

func (c *blockCache) put(b *blockSummary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]*blockSummary{}
	}
	c.m[b.Height] = b
	if len(c.m) > explorerCache {
		for h := range c.m {
			if h <= b.Height-explorerCache {
				delete(c.m, h)
			}
		}
	}
}

// blocks: GET /api/v1/blocks[?limit=N] — the latest blocks, each with its
// time, proposer and how many transactions of each type it carried,
// accepted or refused (by code); the validators' signatures over those
// blocks; the connected peers by node id. Each block is read and decoded
// once (blockCache). No transaction hash, signer or body:
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
	for h := top; h >= bottom; h-- {
		b := s.blockSummaries.get(h)
		if b == nil {
			if b, err = s.summarise(ctx, h); err != nil {
				break // pruned below, or not stored yet
			}
			s.blockSummaries.put(b)
		}
		out.Blocks = append(out.Blocks, b.BlockSummary)
		if b.signed != nil {
			out.Window++
			for _, v := range b.signed {
				out.Signed[v]++
			}
		}
	}
	// Peers by node id only: a peer names itself (its moniker is whatever
	// it says), and the page is public.
	if ni, err := s.History.NetInfo(ctx); err == nil {
		for _, p := range ni.Peers {
			out.Peers = append(out.Peers, wire.Peer{NodeID: string(p.NodeInfo.DefaultNodeID)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// summarise reads block h and its results: its time, proposer, the count
// of each type of transaction accepted or refused, and who signed the
// block before it.
func (s *server) summarise(ctx context.Context, h int64) (*blockSummary, error) {
	block, err := s.History.Block(ctx, &h)
	if err != nil || block.Block == nil {
		return nil, errUnavailable.Wrapf("block %d: %v", h, err)
	}
	hdr := block.Block.Header
	b := &blockSummary{BlockSummary: wire.BlockSummary{Height: hdr.Height, Time: hdr.Time, Proposer: hdr.ProposerAddress.String(),
		Txs: len(block.Block.Data.Txs), Types: []wire.BlockTxType{}}}
	if lc := block.Block.LastCommit; lc != nil && len(lc.Signatures) > 0 {
		b.signed = []string{}
		for _, sig := range lc.Signatures {
			if sig.BlockIDFlag == cmttypes.BlockIDFlagCommit {
				b.signed = append(b.signed, sig.ValidatorAddress.String())
			}
		}
	}
	if b.Txs == 0 {
		return b, nil
	}
	results, err := s.History.BlockResults(ctx, &h)
	if err != nil {
		return nil, errUnavailable.Wrapf("block %d's results: %v", h, err)
	}
	types := map[string]*wire.BlockTxType{}
	for j, raw := range block.Block.Data.Txs {
		// A type no module declares is named as such, not spelled out: a
		// refused transaction's type is whatever its sender wrote.
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
	return b, nil
}
