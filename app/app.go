package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	ics23 "github.com/cosmos/ics23/go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/wire"
)

var _ abci.Application = (*App)(nil)

// State keys owned by the app itself.
var (
	keyChainID = []byte("meta/chain_id")
	// keyBlockTime is in the side index, outside the app hash: only CheckTx
	// and the API read it, and an app hash that changed every block would
	// make CometBFT produce blocks without pause.
	keyBlockTime = []byte("meta/time")
)

// App is the Primum state machine.
type App struct {
	abci.BaseApplication

	store  *store.Store
	log    *slog.Logger
	routes map[string]ledger.Route
	order  []string

	// CometBFT serialises the consensus connection (InitChain,
	// FinalizeBlock, Commit) and locks the mempool during Commit, but runs
	// CheckTx concurrently with block execution and with other CheckTx
	// calls (see node.Start): each piece of shared state has its own guard.
	blockMu  sync.Mutex      // consensus connection: block, store writes
	block    []wire.TxResult // results of the block being executed
	chainID  atomic.Pointer[string]
	lastTime atomic.Int64 // unix nanoseconds of the last block
	known    *txCache     // what CheckTx learnt of each transaction (txcache.go)
	sigs     *sigBatcher  // CheckTx's signature checks, batched

	checkMu    sync.Mutex
	checkNonce map[string]signerNonces // mempool's nonce sequence of each signer (proposal.go)
	prevNonce  map[string]signerNonces // checkNonce as it was before the last Commit (NextNonce)
	parked     map[string]struct{}     // hashes of transactions parked ahead of their sequence
	claims     map[string]string       // resource (ledger.Route.Claim) -> the mempool transaction using it
	// parkedSince is the height at which each parked transaction was first
	// parked; kept across blocks (parked is rebuilt by each recheck).
	parkedSince map[string]int64

	waitMu  sync.Mutex
	waiters map[string][]chan wire.TxResult

	metrics *metrics

	hookMu sync.Mutex
	hooks  []func([]wire.TxResult)

	// snaps takes and restores state-sync snapshots (snapshot.go).
	snaps *snapshots

	pauseNext atomic.Pointer[pause] // PauseBeforeBlock (pause.go)

	// observeTx, set only by tests, wraps the state the block's i-th
	// transaction runs on, just before it runs (e.g. to count its reads).
	// Unset, it costs one nil check per transaction.
	observeTx func(i int, w ledger.Writer) ledger.Writer

	// Software upgrades (upgrade.go): those this binary carries, their
	// modules' migrations, the ledger's app version, and the signal to
	// stop before an upgrade this binary does not carry.
	upgrades   []Upgrade
	migrations func(upgrade string) []ledger.Migration
	appVersion atomic.Uint64
	upgraded   uint64 // the app version the block being executed moved to (blockMu)
	upgradeDue chan struct{}
	upgradeErr atomic.Pointer[UpgradeDueError]
}

// OnCommit calls fn with each block's results once the block is committed
// (final, and what readers see; its state may still be reaching the disk,
// and a crash before it replays the block, calling fn again).
// fn runs on the consensus path: it must hand slow work to a goroutine.
func (a *App) OnCommit(fn func([]wire.TxResult)) {
	a.hookMu.Lock()
	a.hooks = append(a.hooks, fn)
	a.hookMu.Unlock()
}

// NextNonce is the nonce the next transaction of id must carry, counting
// those already waiting in this node's mempool.
//
// Commit forgets the mempool's sequences and the recheck that follows
// rebuilds them, one remaining transaction at a time, outside any lock a
// caller here could take: in between, the sequence of a signer with
// transactions still waiting would read as its committed nonce, and a
// transaction signed with it would be refused (bad_nonce). So until the
// next Commit the answer is at least the sequence from before the block:
// the block took transactions from the front of each sequence, the rest
// wait. (Only if the recheck refuses one of a signer's transactions is the
// answer too high, until the next block.)
func (a *App) NextNonce(id string) (uint64, error) {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	n, err := a.nextNonce(a.store.Committed(), id)
	if p, ok := a.prevNonce[id]; ok && err == nil && p.next > n {
		n = p.next
	}
	return n, err
}

// New opens the application over a state store.
func New(st *store.Store, logger *slog.Logger, reg prometheus.Registerer) (*App, error) {
	a := &App{
		store:       st,
		log:         logger.With("module", "app"),
		routes:      map[string]ledger.Route{},
		checkNonce:  map[string]signerNonces{},
		parked:      map[string]struct{}{},
		claims:      map[string]string{},
		parkedSince: map[string]int64{},
		known:       newTxCache(50_000),
		sigs:        newSigBatcher(),
		waiters:     map[string][]chan wire.TxResult{},
		metrics:     newMetrics(reg),
		snaps:       newSnapshots(SnapshotOptions{}),
		upgrades:    upgrades,
		migrations:  moduleMigrations,
		upgradeDue:  make(chan struct{}),
	}
	if err := checkMigrations(a.upgrades); err != nil {
		return nil, err
	}
	if err := a.loadAppVersion(); err != nil {
		return nil, err
	}
	for _, r := range modules.Txs() {
		a.routes[r.Type] = r
		a.order = append(a.order, r.Type)
	}
	b, err := st.Committed().Get(keyChainID)
	if err != nil {
		return nil, err
	}
	a.setChainID(string(b))
	if b, err := st.SideGet(keyBlockTime); err != nil {
		return nil, err
	} else if b != nil {
		var t time.Time
		if err := t.UnmarshalBinary(b); err == nil {
			a.lastTime.Store(t.UnixNano())
		}
	}
	// What a restarted node committed, before its next block.
	if v := st.Version(); v > 0 {
		a.metrics.height.Set(float64(v))
		a.metrics.blockTime.Set(float64(a.lastTime.Load()) / 1e9)
	}
	return a, nil
}

// Store is the state store (for read-only use by the API).
func (a *App) Store() *store.Store { return a.store }

// Committed is the committed state, read-only (the API's view).
func (a *App) Committed() ledger.Reader { return a.store.Committed() }

// CommittedVersion is the committed state's height and app hash.
func (a *App) CommittedVersion() (int64, []byte) { return a.store.CommittedVersion() }

// Proof reads a committed value, or its absence, with its ICS23 proof.
func (a *App) Proof(key []byte) (value []byte, proof *ics23.CommitmentProof, version int64, root []byte, err error) {
	return a.store.Proof(key)
}

// ChainID is the chain this app runs (empty before InitChain).
func (a *App) ChainID() string { return *a.chainID.Load() }

func (a *App) setChainID(id string) { a.chainID.Store(&id) }

// LastBlockTime is the time of the last committed block.
func (a *App) LastBlockTime() time.Time { return time.Unix(0, a.lastTime.Load()).UTC() }

// Info tells CometBFT where the app is, so it replays any missing blocks.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	res := &abci.InfoResponse{Data: "primum", Version: "1", AppVersion: a.AppVersion(), LastBlockHeight: a.store.Version()}
	if res.LastBlockHeight > 0 {
		res.LastBlockAppHash = a.store.Hash()
	}
	return res, nil
}

// InitChain admits the founding members and checks them against the
// genesis validators.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if err := initGenesis(a.store.Staged(), g, req.Validators, req.InitialHeight); err != nil {
		return nil, err
	}
	a.store.Staged().Set(keyChainID, []byte(req.ChainId))
	a.setChainID(req.ChainId)
	return &abci.InitChainResponse{AppHash: a.store.WorkingHash()}, nil
}

// CheckGenesis runs a new chain's genesis as InitChain would, writing
// nothing: a node checks it before CometBFT keeps the document, so that a
// mistake found at InitChain does not leave a hash the corrected document
// no longer matches.
func (a *App) CheckGenesis(appState []byte, validators []abci.ValidatorUpdate, initialHeight int64) error {
	g, err := ParseGenesis(appState)
	if err != nil {
		return err
	}
	return initGenesis(ledger.NewOverlay(a.store.Committed()), g, validators, initialHeight)
}

// initGenesis writes the founding members, checks the validator set
// against them, and writes each module's section.
func initGenesis(w ledger.Writer, g *Genesis, validators []abci.ValidatorUpdate, initialHeight int64) error {
	want := map[string]int64{}
	for _, m := range g.Members {
		key, _ := identity.ParseKey(m.Key)
		var vk []byte
		if m.ValidatorKey != "" {
			vk, _ = identity.ParseKey(m.ValidatorKey)
		}
		if _, err := identity.AddOrganisation(w, m.Name, m.OrgType, key, vk, m.Power, initialHeight); err != nil {
			return fmt.Errorf("genesis member %q: %w", m.Name, err)
		}
		if m.Power > 0 {
			want[m.ValidatorKey] = m.Power
		}
	}
	for _, v := range validators {
		if want[hex.EncodeToString(v.PubKeyBytes)] != v.Power {
			return fmt.Errorf("genesis validator %X (power %d) is not a founding member with that power", v.PubKeyBytes, v.Power)
		}
		delete(want, hex.EncodeToString(v.PubKeyBytes))
	}
	if len(want) != 0 {
		return fmt.Errorf("genesis: %d members with power are missing from the validator set", len(want))
	}
	return initModules(w, g)
}

// CheckTx rejects cheaply what cannot succeed: size, decoding, chain,
// signature, signer standing and permission, nonce.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	committed := a.store.Committed()
	// A recheck (after a block, for what is still in the mempool) repeats
	// only what the block can have changed: the signer's standing, the
	// permission and the nonce. The signature and the body's shape were
	// checked when the transaction arrived and cannot have changed.
	recheck := req.Type == abci.CHECK_TX_TYPE_RECHECK
	hash := envelope.Hash(req.Tx)
	k, err := parse(a.known.get(hash), req.Tx)
	var signer ledger.Signer
	if err == nil {
		k, signer, err = a.admit(k, committed, a.LastBlockTime(), !recheck)
	}
	var claim string
	if err == nil && k.body != nil {
		route := a.routes[k.tx.Type]
		if route.Admit != nil {
			err = route.Admit(committed, signer, k.body)
		}
		if err == nil && route.Claim != nil {
			claim = route.Claim(k.body)
		}
	}
	if err == nil {
		a.checkMu.Lock()
		if h, taken := a.claims[claim]; claim != "" && taken && h != string(hash) {
			err = ledger.ErrClaimed
		} else {
			err = a.takeNonce(committed, signer.ID, k.tx.Nonce, hash, recheck, pendingCap(signer))
			if err == nil && claim != "" {
				a.claims[claim] = string(hash)
			}
		}
		a.checkMu.Unlock()
	}
	if err != nil {
		// Refused: forget it (what is kept is only for the mempool's).
		a.known.take(hash)
		e := ledger.AsError(err)
		a.metrics.checkRejected.WithLabelValues(e.Name).Inc()
		return &abci.CheckTxResponse{Code: e.Code, Codespace: e.Codespace, Log: err.Error(), Info: e.Name}, nil
	}
	a.known.put(hash, k) // admitted into the mempool
	return &abci.CheckTxResponse{Code: abci.CodeTypeOK}, nil
}

func (a *App) nextNonce(r ledger.Reader, id string) (uint64, error) {
	if p, ok := a.checkNonce[id]; ok {
		return p.next, nil
	}
	return identity.Nonce(r, id)
}

// admit authenticates a parsed transaction and authorises its signer. k is
// what this node already knows of it; the answer is what it knows after.
// A transaction arriving in
// the mempool has its signature checked in a batch with others arriving at
// the same time, and its body decoded for its handler (refused if it does
// not decode); in a block a signature not yet known to verify is checked
// alone, and the body is decoded by deliver, after the nonce.
func (a *App) admit(k *known, r ledger.Reader, now time.Time, arriving bool) (*known, ledger.Signer, error) {
	tx := k.tx
	if chainID := a.ChainID(); tx.ChainID != chainID {
		return nil, ledger.Signer{}, ledger.ErrWrongChain.Wrapf("transaction is for %q, this is %q", tx.ChainID, chainID)
	}
	if !k.sigOK {
		// New CheckTx calls run concurrently and share batches. In a
		// block, FinalizeBlock has batch-checked what CheckTx had not:
		// a miss here is a signature the batch found invalid (or one the
		// bounded cache forgot), checked alone.
		a.metrics.sigChecks.Inc()
		var valid bool
		if arriving {
			valid = a.sigs.verify(tx.Signed())
		} else {
			valid = tx.Verify()
		}
		if !valid {
			return nil, ledger.Signer{}, ledger.ErrBadSignature
		}
		k = &known{tx: tx, sigOK: true, body: k.body}
	}
	route, ok := a.routes[tx.Type]
	if !ok {
		return nil, ledger.Signer{}, ledger.ErrUnknownType.Wrapf("%q", tx.Type)
	}
	if arriving && k.body == nil {
		body, err := route.Handle.Decode(tx.Body)
		if err != nil {
			return nil, ledger.Signer{}, err
		}
		k = &known{tx: tx, sigOK: true, body: body}
	}
	signer, err := identity.Resolve(r, tx.Signer, now)
	if err != nil {
		return nil, signer, err
	}
	if !route.Allows(signer) {
		if signer.Kind == ledger.KindUnregistered {
			return nil, signer, ledger.ErrUnknownSigner
		}
		who := string(signer.Kind)
		if signer.OrgType != "" {
			who += ":" + signer.OrgType
		}
		return nil, signer, ledger.ErrUnauthorized.Wrapf("%s may not send %s (allowed: %v)", who, tx.Type, route.Allow)
	}
	return k, signer, nil
}

// FinalizeBlock executes the block's transactions in order.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	a.waitIfPaused()    // a backup copying the node's databases (pause.go)
	start := time.Now() // metrics only; never reaches state
	a.blockMu.Lock()
	defer a.blockMu.Unlock()
	w := a.store.Staged()
	params, err := a.upgradeAt(w, req.Height)
	if err != nil {
		return nil, err
	}
	var updates []ledger.ValidatorUpdate
	res := &abci.FinalizeBlockResponse{TxResults: make([]*abci.ExecTxResult, len(req.Txs)), ConsensusParamUpdates: params}
	a.block = a.block[:0]
	hashes := make([][]byte, len(req.Txs))
	for i, raw := range req.Txs {
		hashes[i] = envelope.Hash(raw)
	}
	a.verifyUnseen(req.Txs, hashes)
	stopPrefetch := a.prefetch(req.Txs, hashes)
	var work int64 // what the block's transactions have done (ledger.Context.BlockWork)
	for i, raw := range req.Txs {
		tw := w
		if a.observeTx != nil {
			tw = a.observeTx(i, w)
		}
		r, result := a.deliver(raw, hashes[i], req, tw, &updates, &work)
		r.Index = i
		res.TxResults[i] = result
		a.block = append(a.block, r)
		typ := r.Type
		if _, ok := a.routes[typ]; !ok {
			typ = "unknown" // a label per made-up type would grow without end
		}
		a.metrics.txs.WithLabelValues(typ, outcome(r.Code)).Inc()
	}
	stopPrefetch()
	res.ValidatorUpdates = a.validatorUpdates(a.store.Committed(), updates)
	res.AppHash = a.store.WorkingHash()
	a.lastTime.Store(req.Time.UnixNano())
	a.metrics.blockSeconds.Observe(time.Since(start).Seconds())
	a.metrics.blockTxs.Observe(float64(len(req.Txs)))
	return res, nil
}

// validatorUpdates turns a block's power changes into CometBFT's: for each
// key the block changed, its power at the end of the block where that
// differs from the set the block found (before: the last committed state),
// in key order. CometBFT halts for good on a block that names a key twice,
// removes a key that is not a validator, or leaves no validator (the block
// replays on every restart). Governance refuses a change that would leave
// no validator; should a block still come to that, its removals are held
// back rather than handed to CometBFT.
func (a *App) validatorUpdates(before ledger.Reader, updates []ledger.ValidatorUpdate) []abci.ValidatorUpdate {
	if len(updates) == 0 {
		return nil
	}
	members, err := identity.ActiveMembers(before)
	if err != nil {
		panic(&ledger.StorageError{Err: err})
	}
	power := map[string]int64{}
	for _, m := range members {
		if vk, err := hex.DecodeString(m.ValidatorKey); err == nil && m.Power > 0 {
			power[string(vk)] = m.Power
		}
	}
	last := map[string]int64{}
	for _, u := range updates {
		last[string(u.PubKey)] = u.Power
	}
	left := len(power)
	out := make([]abci.ValidatorUpdate, 0, len(last))
	for key, p := range last {
		switch was := power[key]; {
		case was == p:
			continue
		case was == 0:
			left++
		case p == 0:
			left--
		}
		out = append(out, abci.ValidatorUpdate{Power: p, PubKeyType: "ed25519", PubKeyBytes: []byte(key)})
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].PubKeyBytes) < string(out[j].PubKeyBytes) })
	if left > 0 {
		return out
	}
	a.log.Error("a block would leave no validator: its validator removals are held back", "updates", len(out))
	kept := out[:0]
	for _, u := range out {
		if u.Power > 0 {
			kept = append(kept, u)
		}
	}
	return kept
}

// Preverify checks the signatures of transactions about to be offered to
// CheckTx together, in batches on every core, and remembers the valid ones,
// so CheckTx does not check them again one by one. An invalid one is
// checked again by CheckTx and refused there.
func (a *App) Preverify(txs [][]byte) {
	hashes := make([][]byte, len(txs))
	for i, raw := range txs {
		hashes[i] = envelope.Hash(raw)
	}
	a.verifyUnseen(txs, hashes)
}

// verifyUnseen checks, in batches on every core, the signatures of a
// block's transactions this node's CheckTx did not see (all of them when a
// node catches up or replays blocks), and remembers the valid ones for
// deliver. An invalid one is checked again alone by deliver and refused.
func (a *App) verifyUnseen(txs, hashes [][]byte) {
	var items []ledger.Signed
	var unseen [][]byte // the hashes of items' transactions
	for i, raw := range txs {
		k := a.known.get(hashes[i])
		if k != nil && k.sigOK {
			continue
		}
		k, err := parse(k, raw)
		if err != nil {
			continue
		}
		items = append(items, k.tx.Signed())
		unseen = append(unseen, hashes[i])
	}
	a.metrics.sigChecks.Add(float64(len(items)))
	for i, ok := range verifyAll(items) {
		if ok {
			a.known.markVerified(unseen[i])
		}
	}
}

func outcome(code uint32) string {
	if code == 0 {
		return "ok"
	}
	return "rejected"
}

// deliver executes one transaction. A rejected transaction changes nothing
// but its signer's nonce (once the signature and nonce have been checked),
// so it cannot be replayed.
func (a *App) deliver(raw, hash []byte, req *abci.FinalizeBlockRequest, w ledger.Writer, updates *[]ledger.ValidatorUpdate, work *int64) (wire.TxResult, *abci.ExecTxResult) {
	r := wire.TxResult{Hash: hex.EncodeToString(hash), Height: req.Height}
	fail := func(err error) (wire.TxResult, *abci.ExecTxResult) {
		e := ledger.AsError(err)
		if !errors.As(err, new(*ledger.Error)) {
			// Not a rejection this transaction earned on every node (a
			// storage or programming failure): committing it as one could
			// fork this node. Stop, as CometBFT's own rule asks.
			panic(fmt.Sprintf("block %d, transaction %s: %v", req.Height, r.Hash, err))
		}
		if e == ledger.ErrInternal {
			a.log.Error("transaction failed internally", "hash", r.Hash, "err", err)
		}
		r.Code, r.Codespace, r.Error, r.Log = e.Code, e.Codespace, e.Name, err.Error()
		return r, &abci.ExecTxResult{Code: e.Code, Codespace: e.Codespace, Log: r.Log, Info: e.Name}
	}
	k, err := parse(a.known.take(hash), raw)
	if err != nil {
		return fail(err)
	}
	r.Type = k.tx.Type
	k, signer, err := a.admit(k, w, req.Time, false)
	if err != nil {
		return fail(err)
	}
	tx := k.tx
	r.Signer = signer.ID
	next, err := identity.Nonce(w, signer.ID)
	if err != nil {
		return fail(err)
	}
	if tx.Nonce != next {
		return fail(ledger.ErrBadNonce.Wrapf("got %d, expected %d", tx.Nonce, next))
	}
	// The nonce is spent whether the handler succeeds or not. On success it
	// is written after the handler, into the overlay: a registration's new
	// identity record then carries it (one state write, not two).
	overlay := ledger.NewOverlay(w)
	var staged []ledger.ValidatorUpdate
	ctx := &ledger.Context{ChainID: a.ChainID(), Height: req.Height, Time: req.Time.UTC(), TxHash: hash,
		Signer: signer, State: overlay, ValidatorUpdates: &staged, BlockWork: work}
	err = a.handle(a.routes[tx.Type].Handle, ctx, tx.Body, k.body)
	*work += ctx.Work
	if err != nil {
		if nerr := identity.SetNonce(w, signer.ID, next+1); nerr != nil {
			return fail(nerr)
		}
		return fail(err)
	}
	if err := identity.SetNonce(overlay, signer.ID, next+1); err != nil {
		return fail(err)
	}
	overlay.Flush(w)
	*updates = append(*updates, staged...)
	r.Events = ctx.Events
	events := []abci.Event{{Type: "primum.tx", Attributes: []abci.EventAttribute{
		{Key: "type", Value: tx.Type, Index: true}, {Key: "signer", Value: signer.ID, Index: true}}}}
	for _, ev := range ctx.Events {
		e := abci.Event{Type: ev.Type}
		for _, kv := range ev.Attrs {
			e.Attributes = append(e.Attributes, abci.EventAttribute{Key: kv[0], Value: kv[1], Index: true})
		}
		events = append(events, e)
	}
	return r, &abci.ExecTxResult{Code: abci.CodeTypeOK, Events: events}
}

// handle runs a handler. A handler that panics — a bug, the same on every
// node for the same block and state — rejects its transaction as internal
// instead of halting the consortium; a storage failure still stops the
// node (ledger.StorageError).
func (a *App) handle(h ledger.Handler, ctx *ledger.Context, raw []byte, body any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(*ledger.StorageError); ok {
				panic(p)
			}
			a.log.Error("transaction handler panicked", "hash", hex.EncodeToString(ctx.TxHash), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = ledger.ErrInternal.Wrapf("the transaction could not be executed")
		}
	}()
	if body == nil { // not seen by this node's CheckTx (or forgotten)
		if body, err = h.Decode(raw); err != nil {
			return err
		}
	}
	return h.Exec(ctx, body)
}

// Commit records the block's results, makes its state the committed one
// (the store writes it to disk in the background) and wakes waiters.
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	a.blockMu.Lock()
	b := a.store.SideBatch()
	var v []byte
	for i := range a.block {
		v = appendResult(v[:0], &a.block[i])
		if err := b.Set(a.store.SideKey(resultKey(a.block[i].Hash)), v, nil); err != nil {
			panic(fmt.Sprintf("cannot stage transaction results: %v", err))
		}
	}
	bt, _ := a.LastBlockTime().MarshalBinary()
	if err := b.Set(a.store.SideKey(keyBlockTime), bt, nil); err != nil {
		panic(fmt.Sprintf("cannot stage block time: %v", err))
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		panic(fmt.Sprintf("cannot write transaction results: %v", err))
	}
	_, height, err := a.store.Commit()
	if err != nil {
		// Continuing would fork this node from the others.
		panic(fmt.Sprintf("cannot commit state at height %d: %v", height, err))
	}
	if a.upgraded != 0 {
		a.appVersion.Store(a.upgraded)
		a.upgraded = 0
	}
	a.signalUpgrade(height)
	results := a.block
	a.block = nil
	a.blockMu.Unlock()
	// The mempool is locked during Commit; CometBFT rechecks what remains
	// against the new state, rebuilding the pending nonces in order.
	a.checkMu.Lock()
	a.prevNonce, a.checkNonce = a.checkNonce, make(map[string]signerNonces, len(a.checkNonce))
	clear(a.parked)
	clear(a.claims) // the recheck claims again for what stays
	for h, since := range a.parkedSince {
		// Still parked, it would have been refused by now: it left the
		// mempool in some other way (a block took it).
		if height-since > parkBlocks {
			delete(a.parkedSince, h)
		}
	}
	a.checkMu.Unlock()
	a.metrics.height.Set(float64(height))
	a.metrics.blockTime.Set(float64(a.lastTime.Load()) / 1e9)
	a.notify(results)
	a.hookMu.Lock()
	hooks := a.hooks
	a.hookMu.Unlock()
	for _, fn := range hooks {
		fn(results)
	}
	a.snapshotDue(height)
	return &abci.CommitResponse{}, nil
}

// TxResultByHash reads a committed transaction's result (hash in lower-case
// hex).
func (a *App) TxResultByHash(hash string) (*wire.TxResult, error) {
	key := resultKey(hash)
	if key == nil {
		return nil, ledger.ErrNotFound.Wrapf("no committed transaction %s", hash)
	}
	b, err := a.store.SideGet(key)
	if err == nil && b == nil {
		b, err = a.store.SideGet(legacyResultKey(hash))
	}
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, ledger.ErrNotFound.Wrapf("no committed transaction %s", hash)
	}
	r, err := decodeResult(hash, b)
	if err != nil {
		return nil, err
	}
	// Commit writes a block's results just before its state: until the
	// state is readers', neither is (a client that sees its transaction
	// committed then reads the state it made, e.g. its next nonce).
	if v, _ := a.store.CommittedVersion(); r.Height > v {
		return nil, ledger.ErrNotFound.Wrapf("no committed transaction %s", hash)
	}
	return r, nil
}

// WaitFor returns a channel that receives the transaction's result when its
// block commits, and a cancel function.
func (a *App) WaitFor(hash string) (<-chan wire.TxResult, func()) {
	ch := make(chan wire.TxResult, 1)
	a.waitMu.Lock()
	a.waiters[hash] = append(a.waiters[hash], ch)
	a.waitMu.Unlock()
	return ch, func() {
		a.waitMu.Lock()
		defer a.waitMu.Unlock()
		list := a.waiters[hash]
		for i, c := range list {
			if c == ch {
				a.waiters[hash] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(a.waiters[hash]) == 0 {
			delete(a.waiters, hash)
		}
	}
}

func (a *App) notify(results []wire.TxResult) {
	a.waitMu.Lock()
	defer a.waitMu.Unlock()
	if len(a.waiters) == 0 {
		return
	}
	for _, r := range results {
		for _, ch := range a.waiters[r.Hash] {
			ch <- r
		}
		delete(a.waiters, r.Hash)
	}
}

// Query answers "/store" with the committed value of a key (data) and an
// ICS23 proof against the app hash, for light clients (SPEC F14).
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	switch req.Path {
	case "/store", "/store/key":
		value, proof, version, _, err := a.store.Proof(req.Data)
		if err != nil {
			e := ledger.AsError(err)
			return &abci.QueryResponse{Code: e.Code, Codespace: e.Codespace, Log: err.Error()}, nil
		}
		res := &abci.QueryResponse{Key: req.Data, Value: value, Height: version}
		if req.Prove && proof != nil {
			pb, err := proof.Marshal()
			if err != nil {
				return nil, err
			}
			res.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: "ics23:smt", Key: req.Data, Data: pb}}}
		}
		return res, nil
	default:
		e := ledger.ErrNotFound
		return &abci.QueryResponse{Code: e.Code, Codespace: e.Codespace, Log: "unknown query path " + strconv.Quote(req.Path)}, nil
	}
}
