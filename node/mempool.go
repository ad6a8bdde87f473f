package node

import (
	"context"
	"hash/maphash"
	"runtime"
	"sync"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proxy"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/ledger"
)

// clientCreator gives CometBFT a serialised connection for consensus, the
// pipelined mempoolClient for CheckTx, and unsynchronised ones for queries
// and snapshots (the app guards its own state).
type clientCreator struct {
	proxy.ClientCreator
	app *app.App

	mu       sync.Mutex
	mempools []*mempoolClient // the node flushes them before closing the state
}

// newClientCreator serves consensus from consensus (the app itself, but for
// a test build's byzantine proposer) and the mempool from a.
func newClientCreator(a *app.App, consensus abci.Application) *clientCreator {
	return &clientCreator{ClientCreator: proxy.NewConsensusSyncLocalClientCreator(consensus), app: a}
}

func (c *clientCreator) NewABCIMempoolClient() (abcicli.Client, error) {
	inner, err := c.ClientCreator.NewABCIMempoolClient()
	if err != nil {
		return nil, err
	}
	m := newMempoolClient(inner, c.app, runtime.GOMAXPROCS(0))
	c.mu.Lock()
	c.mempools = append(c.mempools, m)
	c.mu.Unlock()
	return m, nil
}

// flush waits until every CheckTx call queued by the mempool is answered
// (a stopping node, before it closes the state the checks read).
func (c *clientCreator) flush() {
	c.mu.Lock()
	mempools := c.mempools
	c.mu.Unlock()
	for _, m := range mempools {
		_ = m.Flush(context.Background())
	}
}

func newMempoolClient(inner abcicli.Client, checker txChecker, lanes int) *mempoolClient {
	m := &mempoolClient{Client: inner, app: checker, lanes: lanes, seed: maphash.MakeSeed()}
	m.idle = sync.NewCond(&m.mu)
	return m
}

// mempoolClient answers the mempool's CheckTx calls asynchronously, as a
// socket client would, so the calls that queue while a round is checked
// are checked together in the next: the signatures of new transactions in
// one batch on every core, and the rest of the checks on every core too, a
// signer's transactions in one lane in their order (a recheck after a
// block otherwise runs one transaction at a time while the mempool is
// locked). Answers are given in the order of the calls, as CometBFT's
// mempool requires; Flush, which the mempool calls before each Commit,
// waits for every answer. (Gossip at a few thousand transactions a second
// mostly arrives between rounds, one at a time: it rarely shares a batch.)
type mempoolClient struct {
	abcicli.Client // the app, unsynchronised, for every other call
	app            txChecker
	lanes          int
	seed           maphash.Seed

	mu       sync.Mutex
	queue    []*checkCall
	draining bool
	idle     *sync.Cond // signalled when a drain ends
}

// txChecker is what the mempool client needs of the app.
type txChecker interface {
	CheckTx(context.Context, *abci.CheckTxRequest) (*abci.CheckTxResponse, error)
	Preverify(txs [][]byte)
}

type checkCall struct {
	req *abci.CheckTxRequest
	rr  *abcicli.ReqRes
	res *abci.CheckTxResponse
}

// CheckTxAsync queues the call; its answer comes through rr.
func (c *mempoolClient) CheckTxAsync(_ context.Context, req *abci.CheckTxRequest) (*abcicli.ReqRes, error) {
	call := &checkCall{req: req, rr: abcicli.NewReqRes(abci.ToCheckTxRequest(req))}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	if !c.draining {
		c.draining = true
		go c.drain()
	}
	c.mu.Unlock()
	return call.rr, nil
}

// Flush waits until every queued call is answered.
func (c *mempoolClient) Flush(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.draining {
		c.idle.Wait()
	}
	return nil
}

// drain checks what is queued, in rounds, until the queue is empty.
func (c *mempoolClient) drain() {
	for {
		c.mu.Lock()
		calls := c.queue
		c.queue = nil
		if len(calls) == 0 {
			c.draining = false
			c.idle.Broadcast()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.check(calls)
		for _, call := range calls { // in the order of the calls
			call.rr.Response = abci.ToCheckTxResponse(call.res)
			call.rr.InvokeCallback() // before Done: a waiter reads the callback's verdict
			call.rr.Done()
		}
	}
}

// check answers calls: new transactions' signatures in one batch, then
// every transaction's other checks in lanes, a signer's in one lane.
func (c *mempoolClient) check(calls []*checkCall) {
	var fresh [][]byte
	for _, call := range calls {
		if call.req.Type == abci.CHECK_TX_TYPE_CHECK {
			fresh = append(fresh, call.req.Tx)
		}
	}
	if len(fresh) > 1 {
		c.app.Preverify(fresh)
	}
	lanes := min(c.lanes, len(calls))
	if lanes <= 1 {
		c.run(calls)
		return
	}
	byLane := make([][]*checkCall, lanes)
	for _, call := range calls {
		lane := 0
		if tx, err := envelope.Decode(call.req.Tx); err == nil {
			lane = int(maphash.Bytes(c.seed, tx.Signer) % uint64(lanes))
		}
		byLane[lane] = append(byLane[lane], call)
	}
	var wg sync.WaitGroup
	for _, part := range byLane {
		wg.Go(func() { c.run(part) })
	}
	wg.Wait()
}

// run checks calls one after the other.
func (c *mempoolClient) run(calls []*checkCall) {
	for _, call := range calls {
		res, err := c.app.CheckTx(context.Background(), call.req)
		if err != nil { // the app answers every transaction; this is a fault of its own
			e := ledger.ErrInternal
			res = &abci.CheckTxResponse{Code: e.Code, Codespace: e.Codespace, Log: err.Error(), Info: e.Name}
		}
		call.res = res
	}
}
