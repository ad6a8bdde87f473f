// Package prove reads state entries from a node and checks each, or its
// absence, against a header the validators signed, so that a pharmacy's
// scanner need not trust the node it asks (SPEC F14). It follows the
// validator set from a trust root with CometBFT's light client.
//
// It is apart from package client because CometBFT's light client links
// CometBFT's RPC, p2p and config packages and, through them, its databases
// (cometbft-db, with Pebble and LevelDB): a program that only submits and
// reads through the client need not link them. It never imports the node
// (app, api, store).
package prove

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	"github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/store/stateproof"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

// DefaultTrustingPeriod is how old the header a Prover starts from may be.
// CometBFT's light client refuses to build on an older one: validators that
// have since left could have signed a different history. A consortium's
// validators are known members, so a year is Primum's default; past it, start
// from a recent header obtained out of band (TrustRoot.Height and Hash).
const DefaultTrustingPeriod = 365 * 24 * time.Hour

// TrustRoot is what a Prover trusts without asking the node: the
// consortium's genesis (its first header must be signed by more than two
// thirds of the genesis validators), or a header given by height and hash.
type TrustRoot struct {
	Genesis *types.GenesisDoc
	Height  int64
	Hash    []byte
	// Period: how old that header may be (DefaultTrustingPeriod if zero).
	Period time.Duration
	// MaxAge is how old the signed header an answer is proven against may
	// be, by this machine's clock (DefaultMaxAge if zero; negative: any
	// age). A node that stopped, or that kept a copy of its state from
	// before a recall, still gives answers the validators signed, but
	// only old ones: past MaxAge they are refused as stale (ErrStale).
	MaxAge time.Duration
	// Witnesses are other nodes' CometBFT RPC addresses the light client
	// cross-checks headers with; with none, the node's own RPC serves as its
	// only witness, and only the validators' signatures protect the answer.
	Witnesses []string
}

// Prover reads state entries from a node and checks each against a header
// signed by the validators (CometBFT's light client, following validator
// set changes from the trust root): SPEC F14, a pharmacy's scanner need not
// trust the node it asks.
type Prover struct {
	c      *client.Client
	lc     *light.Client
	period time.Duration
	maxAge time.Duration
}

// DefaultMaxAge is how old a proven answer's header may be by default. A
// live chain makes a block at least every 5 s (empty blocks included), so
// a header older than this comes from a node that has stopped following
// the chain.
const DefaultMaxAge = 30 * time.Second

// ErrStale is returned when the newest header the node can prove its
// answer against is older than TrustRoot.MaxAge: the answer may be out of
// date (a recall or a dispensing since), whatever the validators signed.
var ErrStale = errors.New("the node's answer is proven only against an old header: it may have stopped following the chain")

// Proven is a state entry, or its absence, proven against the app hash of a
// header the validators signed.
type Proven struct {
	Key    string `json:"key"`
	Value  []byte `json:"value"` // nil: proven absent
	Exists bool   `json:"exists"`
	// Height is the state's version: after block Height. It is what the
	// header proves: one block older than the node's newest state when
	// that block changed nothing (its own header already carries the app
	// hash, so the answer need not wait for the next block).
	Height int64 `json:"height"`
	// Header is the signed header holding the app hash the proof checks
	// against (Height+1), and Signers how many validators signed it.
	Header int64 `json:"header_height"`
	// HeaderTime is that header's time: the answer is at least this
	// fresh.
	HeaderTime time.Time `json:"header_time"`
	AppHash    string    `json:"app_hash"`
	Signers    int       `json:"signers"`
	Of         int       `json:"validators"`
}

// ErrNotProven is returned when the node's answer does not match what the
// validators signed.
var ErrNotProven = errors.New("the node's answer does not match the state the validators signed")

// New starts a light client against the node's CometBFT RPC (rpc, e.g.
// tcp://127.0.0.1:26657) from root, to prove what c's node answers.
func New(ctx context.Context, c *client.Client, rpc string, root TrustRoot) (*Prover, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	if root.Genesis != nil && root.Genesis.ChainID != chainID {
		return nil, fmt.Errorf("the node serves chain %q, the genesis given is of %q", chainID, root.Genesis.ChainID)
	}
	primary, err := lighthttp.New(chainID, rpc)
	if err != nil {
		return nil, fmt.Errorf("CometBFT RPC %s: %w", rpc, err)
	}
	var witnesses []provider.Provider
	for _, w := range root.Witnesses {
		p, err := lighthttp.New(chainID, w)
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", w, err)
		}
		witnesses = append(witnesses, p)
	}
	if len(witnesses) == 0 {
		witnesses = []provider.Provider{primary}
	}
	period := root.Period
	if period == 0 {
		period = DefaultTrustingPeriod
	}
	height, hash := root.Height, root.Hash
	if hash == nil {
		if root.Genesis == nil {
			return nil, errors.New("a trust root is needed: the consortium's genesis, or a trusted header's height and hash")
		}
		if height, hash, err = firstHeader(ctx, primary, root.Genesis); err != nil {
			return nil, err
		}
	}
	lc, err := light.NewClient(ctx, chainID, light.TrustOptions{Period: period, Height: height, Hash: hash},
		primary, witnesses, lightdb.New(dbm.NewMemDB(), "primum"))
	if err != nil {
		return nil, fmt.Errorf("light client: %w", err)
	}
	maxAge := root.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	return &Prover{c: c, lc: lc, period: period, maxAge: maxAge}, nil
}

// firstHeader checks the chain's first header against the genesis
// validators and returns its height and hash.
func firstHeader(ctx context.Context, p provider.Provider, g *types.GenesisDoc) (int64, []byte, error) {
	if err := g.ValidateAndComplete(); err != nil {
		return 0, nil, fmt.Errorf("genesis: %w", err)
	}
	h := g.InitialHeight
	lb, err := p.LightBlock(ctx, h)
	if err != nil {
		return 0, nil, fmt.Errorf("the chain's first header: %w", err)
	}
	if err := lb.ValidateBasic(g.ChainID); err != nil {
		return 0, nil, fmt.Errorf("the chain's first header: %w", err)
	}
	if !bytes.Equal(lb.ValidatorsHash, g.ValidatorHash()) {
		return 0, nil, fmt.Errorf("%w: the first header's validators are not the genesis validators", ErrNotProven)
	}
	if err := lb.ValidatorSet.VerifyCommitLight(g.ChainID, lb.Commit.BlockID, h, lb.Commit); err != nil {
		return 0, nil, fmt.Errorf("%w: the first header: %v", ErrNotProven, err)
	}
	return h, lb.Hash(), nil
}

// Get reads key's committed value (or its absence) and proves it: the
// proof must lead to the app hash in a header the light client finds signed
// by the validators (see confirm). It waits for the next block when the
// newest block changed the state.
func (p *Prover) Get(ctx context.Context, key string) (*Proven, error) {
	got, err := p.GetAll(ctx, key)
	if err != nil {
		return nil, err
	}
	return got[0], nil
}

// GetAll proves several entries of one state (the node's newest, read
// again if it moved on between them), waiting for one header.
func (p *Prover) GetAll(ctx context.Context, keys ...string) ([]*Proven, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var got []*Proven
	for range 3 {
		var err error
		if got, err = p.fetch(ctx, keys); err != nil {
			return nil, err
		}
		if oneState(got[0].Height, got) {
			break
		}
	}
	return got, p.confirm(ctx, got)
}

// fetch reads keys' entries with their proofs and checks each proof against
// the app hash the node gives with it: a proof that does not lead there is
// refused at once. Nothing is proven until confirm.
func (p *Prover) fetch(ctx context.Context, keys []string) ([]*Proven, error) {
	got := make([]*Proven, len(keys))
	for i, key := range keys {
		var r wire.ProofResponse
		if err := p.c.Get(ctx, "/api/v1/proof?key="+url.QueryEscape(key), &r); err != nil {
			return nil, err
		}
		var err error
		if got[i], err = checkAnswer(key, &r); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// checkAnswer checks the node's answer for key against the app hash given
// with it.
func checkAnswer(key string, r *wire.ProofResponse) (*Proven, error) {
	value, err1 := base64.StdEncoding.DecodeString(r.Value)
	raw, err2 := base64.StdEncoding.DecodeString(r.Proof)
	var proof ics23.CommitmentProof
	if err := errors.Join(err1, err2, proof.Unmarshal(raw)); err != nil {
		return nil, fmt.Errorf("%w: a malformed proof: %v", ErrNotProven, err)
	}
	if r.Key != key || r.Height < 1 {
		return nil, fmt.Errorf("%w: the proof is of %q at height %d", ErrNotProven, r.Key, r.Height)
	}
	if !r.Exists {
		value = nil
	}
	claimed, err := hex.DecodeString(r.AppHash)
	if err != nil || !stateproof.Verify(&proof, claimed, []byte(key), value, r.Exists) {
		return nil, fmt.Errorf("%w: the proof of %q does not lead to the app hash given with it", ErrNotProven, key)
	}
	return &Proven{Key: key, Value: value, Exists: r.Exists, Height: r.Height, AppHash: r.AppHash}, nil
}

// confirm checks the app hash of each fetched entry's state against a header
// verified by the light client: the header of the block after the state's,
// which carries its app hash — or, sooner, the header of the state's own
// block when that carries the same app hash (the block changed nothing, as
// the newest block of an idle chain: waiting for the next one would take
// up to the empty-block interval).
func (p *Prover) confirm(ctx context.Context, got []*Proven) error {
	headers := map[int64]*types.LightBlock{}
	header := func(ctx context.Context, height int64) (*types.LightBlock, error) {
		if lb, ok := headers[height]; ok {
			return lb, nil
		}
		if err := p.c.WaitHeight(ctx, height); err != nil {
			return nil, err
		}
		lb, err := p.lc.VerifyLightBlockAtHeight(ctx, height, time.Now())
		if expired := (light.ErrOldHeaderExpired{}); errors.As(err, &expired) {
			return nil, fmt.Errorf("the trust root expired on %s (a trusted header may be %s old): start from a recent header you trust (its height and hash)",
				expired.At.UTC().Format(time.DateOnly), p.period)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: header %d: %v", ErrNotProven, height, err)
		}
		headers[height] = lb
		return lb, nil
	}
	for _, g := range got {
		claimed, _ := hex.DecodeString(g.AppHash)
		state := g.Height
		var lb *types.LightBlock
		if g.Height >= 1 {
			if own, err := header(ctx, g.Height); err == nil && bytes.Equal(own.AppHash, claimed) {
				// What the header proves is the state after the block
				// before (the same, as the node says).
				lb, g.Height = own, g.Height-1
			} else if err != nil && !errors.Is(err, ErrNotProven) {
				return err
			}
		}
		if lb == nil {
			var err error
			if lb, err = header(ctx, g.Height+1); err != nil {
				return err
			}
			if !bytes.Equal(lb.AppHash, claimed) {
				return fmt.Errorf("%w: the app hash of the state after block %d is %X in the header the validators signed, not %s", ErrNotProven, g.Height, []byte(lb.AppHash), g.AppHash)
			}
		}
		if age := time.Since(lb.Time); p.maxAge > 0 && age > p.maxAge {
			// An idle chain's newest header can be that old; the next
			// block's carries the same state's app hash, freshly signed:
			// wait for it, up to MaxAge (a node that stopped never has one).
			wait, cancel := context.WithTimeout(ctx, p.maxAge)
			next, err := header(wait, state+1)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return err // not the wait running out: the header itself (not proven, a witness that disagrees)
			}
			if err != nil || !bytes.Equal(next.AppHash, claimed) || time.Since(next.Time) > p.maxAge {
				return fmt.Errorf("%w: header %d is from %s, %s ago (at most %s allowed), and no newer one came: ask another node, or add --witness",
					ErrStale, lb.Height, lb.Time.UTC().Format(time.RFC3339), age.Round(time.Second), p.maxAge)
			}
			lb, g.Height = next, state
		}
		g.Header, g.HeaderTime, g.Of = lb.Height, lb.Time, lb.ValidatorSet.Size()
		for _, s := range lb.Commit.Signatures {
			if s.BlockIDFlag == types.BlockIDFlagCommit {
				g.Signers++
			}
		}
	}
	return nil
}

// Verify answers a pack's scan as the node's verify endpoint does, but
// computes the verdict itself from state entries proven against one signed
// header: the pack, its product and its lot's recall (present or proven
// absent). The custody trail is a range of entries, which is not proven:
// the verdict's Trail is empty; ask the node for it.
func (p *Prover) Verify(ctx context.Context, code, scanner string, now time.Time) (*supply.Verdict, []*Proven, error) {
	vs, got, err := p.VerifyAt(ctx, code, scanner, now)
	if err != nil {
		return nil, nil, err
	}
	return vs[0], got, nil
}

// VerifyAt is Verify at each of the times at (at least one), over the same
// proven entries: which entries a verdict reads does not depend on the time,
// only whether the pack has expired does.
func (p *Prover) VerifyAt(ctx context.Context, code, scanner string, at ...time.Time) ([]*supply.Verdict, []*Proven, error) {
	if len(at) == 0 {
		return nil, nil, errors.New("no time to verify at")
	}
	var got []*Proven
	values := map[string][]byte{}
	for range 5 { // the verdict reads the pack, then its product and recall
		r := &provenReader{values: values}
		v, err := supply.Verify(r, code, scanner, at[0])
		if len(r.missing) == 0 {
			if err != nil {
				return nil, nil, err
			}
			if err := p.confirm(ctx, got); err != nil {
				return nil, nil, err
			}
			vs := []*supply.Verdict{v}
			for _, t := range at[1:] {
				if v, err = supply.Verify(r, code, scanner, t); err != nil || len(r.missing) != 0 {
					return nil, nil, fmt.Errorf("the verdict at %s reads other entries than at %s", t, at[0])
				}
				vs = append(vs, v)
			}
			return vs, got, nil
		}
		more, err := p.fetch(ctx, r.missing)
		if err != nil {
			return nil, nil, err
		}
		first := more[0].Height
		if len(got) > 0 {
			first = got[0].Height
		}
		if !oneState(first, more) {
			// The node moved on: start again from its newest state.
			clear(values)
			got = nil
			continue
		}
		for _, m := range more {
			values[m.Key] = m.Value
		}
		got = append(got, more...)
	}
	return nil, nil, errors.New("the node's state moved on too often to prove a verdict: try again")
}

// oneState reports whether every entry was read at height.
func oneState(height int64, got []*Proven) bool {
	return !slices.ContainsFunc(got, func(g *Proven) bool { return g.Height != height })
}

// provenReader serves a verdict the values fetched so far, and notes the
// keys it still needs.
type provenReader struct {
	values  map[string][]byte
	missing []string
}

var errNotYet = errors.New("not fetched yet")

func (r *provenReader) Get(key []byte) ([]byte, error) {
	if v, ok := r.values[string(key)]; ok {
		return v, nil
	}
	r.missing = append(r.missing, string(key))
	return nil, errNotYet
}

// Iterate serves no entries: ranges are not proven.
func (r *provenReader) Iterate([]byte, func(k, v []byte) bool) error { return nil }

// ClockSkew is how far apart a scanner's clock and a node's may be when
// they answer differently about a pack whose expiry falls between them.
const ClockSkew = 15 * time.Minute

// CheckVerdict computes the verdict on a pack's scan from proven entries
// (VerifyAt) at now and ClockSkew before and after it, and checks the
// node's verdict (nodeVerdict) against them (compareVerdicts). It answers
// the verdict at now, its proofs, and a note when the node's verdict
// differs only by its clock.
func (p *Prover) CheckVerdict(ctx context.Context, code, scanner, nodeVerdict string, now time.Time) (*supply.Verdict, []*Proven, string, error) {
	vs, got, err := p.VerifyAt(ctx, code, scanner, now, now.Add(-ClockSkew), now.Add(ClockSkew))
	if err != nil {
		return nil, nil, "", err
	}
	note, err := compareVerdicts(nodeVerdict, vs)
	if err != nil {
		return nil, nil, "", err
	}
	return vs[0], got, note, nil
}

// compareVerdicts checks the node's verdict against those computed from
// proven entries at this clock (at[0]) and ClockSkew before and after it.
// The verdict shown is always the one at this clock; a node whose answer
// differs only because its clock lies on the other side of the pack's
// expiry has not lied, and gets a note instead of ErrNotProven.
func compareVerdicts(node string, at []*supply.Verdict) (note string, err error) {
	if at[0].Verdict == node {
		return "", nil
	}
	for _, v := range at[1:] {
		if v.Verdict == node {
			return fmt.Sprintf("the node answered %s: its clock and this one are either side of the pack's expiry (%s); the verdict shown is at this clock", node, at[0].Expiry), nil
		}
	}
	return "", fmt.Errorf("%w: the node says %s, the state the validators signed says %s", ErrNotProven, node, at[0].Verdict)
}
