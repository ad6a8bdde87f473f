// Package client builds, signs, submits and queries Primum transactions over
// a node's REST API. The CLI, the benchmark and the tests use it.
//
// It is a library: it links the envelope, the wire types and the capability
// packages, never the node, its stores, CometBFT or Pebble
// (TestClientLinksNoServer). Checking answers against headers the
// validators signed is package client/prove, which links CometBFT's light
// client.
package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// Client talks to one node.
type Client struct {
	base  string
	http  *http.Client
	token string             // sent as a bearer token, if set (WithToken)
	key   ed25519.PrivateKey // signs every request, if set (WithKey)

	mu      sync.Mutex
	chainID string
}

// New returns a client of the node at baseURL (e.g. http://127.0.0.1:8080).
func New(baseURL string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), http: &http.Client{Timeout: 3 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}}
}

// BaseURL is the node's address.
func (c *Client) BaseURL() string { return c.base }

// Problem is an error answered by the node (RFC 9457), with its stable code.
type Problem wire.Problem

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s: %s", p.Code, p.Detail)
	}
	return fmt.Sprintf("%s: %s", p.Code, p.Title)
}

// catchingUpWait bounds how long a request waits for a node that is
// catching up with the chain (it answers 503 catching_up meanwhile, and
// takes no transaction: retrying is safe).
const catchingUpWait = time.Minute

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doPage(ctx, method, path, in, out, nil)
}

// doPage is do that also reads, into next, the query of the page a Link
// header names (rel="next"; nil when there is none).
func (c *Client) doPage(ctx context.Context, method, path string, in, out any, next *url.Values) error {
	deadline := time.Now().Add(catchingUpWait)
	for {
		err := c.once(ctx, method, path, in, out, next)
		var p *Problem
		if !errors.As(err, &p) || p.Code != "catching_up" || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, in, out any, next *url.Values) error {
	var raw []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		raw = b
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.key != nil {
		if err := SignRequest(req, raw, c.key); err != nil {
			return err
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the node at %s: %w", c.base, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 || strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		p := &Problem{Status: res.StatusCode}
		if json.Unmarshal(b, p) != nil || p.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
		}
		return p
	}
	if next != nil {
		*next = nextPage(res.Header)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// nextPage is the query of the page a Link header names (rel="next"), nil
// when there is none: the node answers a paged listing's following page
// that way (the route and its other parameters stay the same).
func nextPage(h http.Header) url.Values {
	for _, link := range h.Values("Link") {
		target, params, ok := strings.Cut(link, ";")
		target = strings.TrimSpace(target)
		if !ok || !strings.Contains(params, `rel="next"`) || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		if u, err := url.Parse(target[1 : len(target)-1]); err == nil {
			return u.Query()
		}
	}
	return nil
}

// Status reads the chain status.
func (c *Client) Status(ctx context.Context) (*wire.Status, error) {
	var s wire.Status
	return &s, c.do(ctx, "GET", "/api/v1/status", nil, &s)
}

// ChainID is the node's chain, read once.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chainID != "" {
		return c.chainID, nil
	}
	s, err := c.Status(ctx)
	if err != nil {
		return "", err
	}
	c.chainID = s.ChainID
	return c.chainID, nil
}

// Key tells who a public key signs for and its next nonce.
func (c *Client) Key(ctx context.Context, pub ed25519.PublicKey) (*wire.KeyInfo, error) {
	var k wire.KeyInfo
	return &k, c.do(ctx, "GET", "/api/v1/keys/"+hex.EncodeToString(pub), nil, &k)
}

// Self reads what the ledger says of key, asking as its holder: the request
// is signed with it. A patient's key (or a patient's device's) is described
// only to whoever may read about the patient; to anyone else it reads as
// unknown, with no identity and nonce 0.
func (c *Client) Self(ctx context.Context, key ed25519.PrivateKey) (*wire.KeyInfo, error) {
	return c.WithKey(key).Key(ctx, key.Public().(ed25519.PublicKey))
}

// Submit sends signed bytes; with wait it returns once the transaction is
// committed (a rejection in the block is returned as a *Problem).
func (c *Client) Submit(ctx context.Context, raw []byte, wait bool) (*wire.SubmitResponse, error) {
	path := "/api/v1/txs"
	if wait {
		path += "?wait=true"
	}
	var r wire.SubmitResponse
	return &r, c.do(ctx, "POST", path, wire.SubmitRequest{Tx: base64.StdEncoding.EncodeToString(raw)}, &r)
}

// SubmitBatch sends many signed transactions in one request (at most
// wire.MaxBatchTxs). Each is answered on its own, in order: accepted (202),
// committed before (200) or refused (its problem); an error means the
// request as a whole was refused.
func (c *Client) SubmitBatch(ctx context.Context, raws [][]byte) (*wire.BatchResponse, error) {
	req := wire.BatchRequest{Txs: make([]string, len(raws))}
	for i, raw := range raws {
		req.Txs[i] = base64.StdEncoding.EncodeToString(raw)
	}
	var r wire.BatchResponse
	return &r, c.do(ctx, "POST", "/api/v1/txs/batch", req, &r)
}

// Send builds, signs and submits a transaction, reading the nonce from the node.
func (c *Client) Send(ctx context.Context, key ed25519.PrivateKey, typ string, body any, wait bool) (*wire.SubmitResponse, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	info, err := c.Self(ctx, key)
	if err != nil {
		return nil, err
	}
	raw, err := envelope.Build(chainID, key, info.Nonce, typ, body)
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, raw, wait)
}

// Tx reads a committed transaction's result.
func (c *Client) Tx(ctx context.Context, hash string) (*wire.TxResult, error) {
	var r wire.TxResult
	return &r, c.do(ctx, "GET", "/api/v1/txs/"+url.PathEscape(hash), nil, &r)
}

// Identity reads one identity.
func (c *Client) Identity(ctx context.Context, id string) (*identity.Identity, error) {
	var i identity.Identity
	return &i, c.do(ctx, "GET", "/api/v1/identities/"+url.PathEscape(id), nil, &i)
}

// Identities lists identities of a kind ("" for all).
func (c *Client) Identities(ctx context.Context, kind string) ([]*identity.Identity, error) {
	var out []*identity.Identity
	return out, c.do(ctx, "GET", "/api/v1/identities?kind="+url.QueryEscape(kind), nil, &out)
}

// Proposals lists the newest governance proposals: one page, as many as
// the node answers by default (ProposalsPage goes further back).
func (c *Client) Proposals(ctx context.Context) ([]*governance.Proposal, error) {
	list, _, err := c.ProposalsPage(ctx, "", 0)
	return list, err
}

// ProposalsPage lists up to limit governance proposals (0: the node's
// default), newest first, from before: "" for the newest, or the next
// token a page answered (the node seals it: it is not a proposal id). next
// is "" when there are no older ones.
func (c *Client) ProposalsPage(ctx context.Context, before string, limit int) (list []*governance.Proposal, next string, err error) {
	q := url.Values{}
	if before != "" {
		q.Set("before", before)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var more url.Values
	if err := c.doPage(ctx, "GET", "/api/v1/proposals?"+q.Encode(), nil, &list, &more); err != nil {
		return nil, "", err
	}
	return list, more.Get("before"), nil
}

// Proposal reads one proposal.
func (c *Client) Proposal(ctx context.Context, id uint64) (*governance.Proposal, error) {
	var p governance.Proposal
	return &p, c.do(ctx, "GET", fmt.Sprintf("/api/v1/proposals/%d", id), nil, &p)
}

// Get reads any API path into out (for routes without a typed method).
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, "GET", path, nil, out)
}

// RotateKey replaces key with newKey for the identity key signs for.
func (c *Client) RotateKey(ctx context.Context, key, newKey ed25519.PrivateKey, wait bool) (*wire.SubmitResponse, error) {
	chainID, id, err := c.Registrant(ctx, key)
	if err != nil {
		return nil, err
	}
	pub := newKey.Public().(ed25519.PublicKey)
	proof := ed25519.Sign(newKey, identity.RotationProofBytes(chainID, id, pub))
	return c.Send(ctx, key, identity.TypeRotateKey, identity.RotateKey{NewKey: hex.EncodeToString(pub), Proof: hex.EncodeToString(proof)}, wait)
}

// RegisterPractitioner credentials practitioner's key at the organisation
// org signs for: m's Key and Proof are filled in from practitioner, whose
// holder's proof of possession the registration needs. Where the
// practitioner's private key is elsewhere, its holder makes the proof
// (identity.ProvePossession, or 'primum keys prove-possession') and the
// body is sent as it is with Send.
func (c *Client) RegisterPractitioner(ctx context.Context, org, practitioner ed25519.PrivateKey, m identity.RegisterPractitioner, wait bool) (*wire.SubmitResponse, error) {
	chainID, orgID, err := c.Registrant(ctx, org)
	if err != nil {
		return nil, err
	}
	m.Key = hex.EncodeToString(practitioner.Public().(ed25519.PublicKey))
	m.Proof = identity.ProvePossession(practitioner, chainID, identity.ProofPractitioner, orgID)
	return c.Send(ctx, org, identity.TypeRegisterPractitioner, m, wait)
}

// RegisterDevice registers device's key as a device of the organisation or
// patient owner signs for, with the device key's proof of possession.
func (c *Client) RegisterDevice(ctx context.Context, owner, device ed25519.PrivateKey, deviceType string, wait bool) (*wire.SubmitResponse, error) {
	chainID, ownerID, err := c.Registrant(ctx, owner)
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, owner, identity.TypeRegisterDevice, identity.RegisterDevice{DeviceType: deviceType,
		Key:   hex.EncodeToString(device.Public().(ed25519.PublicKey)),
		Proof: identity.ProvePossession(device, chainID, identity.ProofDevice, ownerID)}, wait)
}

// Decided reads what a committed governance transaction did that its
// result does not say: the proposal a propose opened, or the proposal a
// vote decided (passed, rejected or failed; nil while it stays open). The
// ledger keeps no transaction's events for the API, so this reads the
// proposals, which are public: the one the signer proposed in the block, or
// the one voted on, decided in the block. A read that fails answers nil, as
// for a transaction that decided nothing.
func (c *Client) Decided(ctx context.Context, typ string, body any, res *wire.SubmitResponse) *governance.Proposal {
	if !res.Committed {
		return nil
	}
	switch typ {
	case governance.TypePropose:
		list, err := c.Proposals(ctx)
		if err != nil {
			return nil
		}
		var found *governance.Proposal
		for _, p := range list { // newest first
			if p.Height == res.Height && p.Proposer == res.Signer {
				if found != nil {
					return nil // two in one block: which is this one is not known
				}
				found = p
			}
		}
		return found
	case governance.TypeVote:
		var v governance.Vote
		if b, err := json.Marshal(body); err != nil || json.Unmarshal(b, &v) != nil {
			return nil
		}
		p, err := c.Proposal(ctx, v.ProposalID)
		if err != nil || p.Status == governance.StatusOpen || p.DecidedAt != res.Height {
			return nil // still open, or not decided by this vote
		}
		return p
	}
	return nil
}

// IssueVouchers makes n one-time registration vouchers (identity.NewVoucher)
// and issues them as the organisation key signs for: only their hashes
// reach the ledger. The codes are for the people who register with them,
// one each.
func (c *Client) IssueVouchers(ctx context.Context, key ed25519.PrivateKey, n int) ([]string, *wire.SubmitResponse, error) {
	if n < 1 || n > identity.MaxVouchersPerTx {
		return nil, nil, fmt.Errorf("vouchers are issued 1 to %d at a time", identity.MaxVouchersPerTx)
	}
	codes := make([]string, n)
	body := identity.IssueVouchers{Vouchers: make([]string, n)}
	for i := range codes {
		code, err := identity.NewVoucher()
		if err != nil {
			return nil, nil, err
		}
		codes[i], body.Vouchers[i] = code, identity.VoucherHash(code)
	}
	res, err := c.Send(ctx, key, identity.TypeIssueVouchers, body, true)
	if err != nil {
		return nil, nil, err
	}
	return codes, res, nil
}

// Pseudonym is one of a patient's identities: their own key's, or the
// pairwise one they registered for a custodian (identity.PairwiseKey).
type Pseudonym struct {
	Custodian string // the organisation's id; "" for the patient's own key
	ID        string
	Key       ed25519.PrivateKey
}

// Pseudonyms finds the registered identities of the patient holding key:
// the key's own, then the pairwise key's for each of custodians (their
// own list: File.Pseudonyms, or every organisation to search them all)
// for which one is registered. Each is asked about signed by its own key,
// one request each: the node learns the derived key of every custodian
// asked about, registered or not, so a patient asks about their own list.
func (c *Client) Pseudonyms(ctx context.Context, key ed25519.PrivateKey, custodians []string) ([]Pseudonym, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	var out []Pseudonym
	keys := []Pseudonym{{Key: key}}
	for _, org := range custodians {
		keys = append(keys, Pseudonym{Custodian: org, Key: identity.PairwiseKey(key, chainID, org)})
	}
	for _, p := range keys {
		info, err := c.Self(ctx, p.Key)
		if err != nil {
			return nil, err
		}
		if info.Identity != nil && info.Identity.Kind == ledger.KindPatient {
			p.ID = info.Identity.ID
			out = append(out, p)
		}
	}
	return out, nil
}

// RegisterPairwise registers the patient's pseudonym for custodian (with
// its voucher, where the consortium asks for one) and returns it.
func (c *Client) RegisterPairwise(ctx context.Context, key ed25519.PrivateKey, custodian, voucher string) (*Pseudonym, *wire.SubmitResponse, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, nil, err
	}
	p := &Pseudonym{Custodian: custodian, Key: identity.PairwiseKey(key, chainID, custodian)}
	p.ID = ledger.Address(p.Key.Public().(ed25519.PublicKey))
	res, err := c.Send(ctx, p.Key, identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: voucher}, true)
	return p, res, err
}

// Registrant is the chain id and the id of the identity key signs for: what
// a proof of possession of a key it registers names. The id is looked up,
// as a rotated key's identity keeps the id of its first key.
func (c *Client) Registrant(ctx context.Context, key ed25519.PrivateKey) (chainID, id string, err error) {
	if chainID, err = c.ChainID(ctx); err != nil {
		return "", "", err
	}
	info, err := c.Self(ctx, key)
	if err != nil {
		return "", "", err
	}
	if info.Identity == nil {
		return "", "", fmt.Errorf("this key is not registered (standing: %s)", info.Standing)
	}
	return chainID, info.Identity.ID, nil
}

// WaitHeight waits until the node has committed height h.
func (c *Client) WaitHeight(ctx context.Context, h int64) error {
	for {
		s, err := c.Status(ctx)
		if err == nil && s.Height >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return fmt.Errorf("height %d not reached (at %d): %w", h, s.Height, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
