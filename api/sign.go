package api

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/mempool"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// This file is how the node signs for the member keys it holds (api_tokens):
// EPCIS capture, record custody and the portals' actions.

// ServiceTokens resolve a bearer secret to the member key it names and
// what it may do (node: internal/tokens, HOME/config/tokens.json).
type ServiceTokens interface {
	Lookup(secret string, now time.Time) (ed25519.PrivateKey, func(scope string) bool, error)
}

var (
	errTokenScope   = newAPIError(48, "token_scope", http.StatusForbidden, "this token does not allow this operation (its scopes: primum tokens list)")
	errTokenExpired = newAPIError(49, "token_expired", http.StatusUnauthorized, "this token has expired or was revoked: ask the node's operator for a new one (primum tokens create)")
)

// bearerKey is the member key named by the request's bearer token, if it
// allows scope (tokens.Scope*). ok is false without a bearer token, or with
// one this node does not know; err says why a known token may not do this.
func (s *server) bearerKey(r *http.Request, scope string) (key ed25519.PrivateKey, ok bool, err error) {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		return nil, false, nil
	}
	if key, ok := s.Signers[tok]; ok { // api_tokens in config/primum.json: every scope
		return key, true, nil
	}
	if s.Tokens == nil {
		return nil, false, nil
	}
	key, allows, err := s.Tokens.Lookup(tok, time.Now())
	switch {
	case errors.Is(err, tokens.ErrExpired) || errors.Is(err, tokens.ErrRevoked):
		return nil, false, errTokenExpired.Wrapf("%v", err)
	case err != nil:
		return nil, false, nil
	case !allows(scope):
		return nil, false, errTokenScope.Wrapf("this needs the %q scope", scope)
	}
	return key, true, nil
}

// heldKey is bearerKey for routes that sign for their caller: the key, or
// the error to answer (errTokenRequired without a usable token).
func (s *server) heldKey(r *http.Request, scope string) (ed25519.PrivateKey, error) {
	key, ok, err := s.bearerKey(r, scope)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errTokenRequired
	}
	return key, nil
}

// tokenHolder is the key the request's bearer token names and the identity
// it signs for in state (errTokenRequired without a token this node holds
// that allows scope).
func (s *server) tokenHolder(r *http.Request, scope string, state ledger.Reader, now time.Time) (ed25519.PrivateKey, ledger.Signer, error) {
	key, err := s.heldKey(r, scope)
	if err != nil {
		return nil, ledger.Signer{}, err
	}
	signer, err := identity.Resolve(state, key.Public().(ed25519.PublicKey), now)
	return key, signer, err
}

// thePathsPatient refuses a signer other than the patient the path names
// ({id}): the routes only a patient may read about themself.
func thePathsPatient(r *http.Request, signer ledger.Signer) error {
	if signer.Kind != ledger.KindPatient || signer.ID != r.PathValue("id") {
		return errNotYourPatient
	}
	return nil
}

// keyHolder returns the key this node holds for an identity, if any.
func (s *server) keyHolder(id string) (ed25519.PrivateKey, bool) {
	committed := s.Ledger.Committed()
	held := slices.Collect(maps.Values(s.Signers))
	if s.HeldKeys != nil {
		held = append(held, s.HeldKeys()...)
	}
	for _, key := range held {
		if signer, err := identity.Resolve(committed, key.Public().(ed25519.PublicKey), s.Ledger.LastBlockTime()); err == nil && signer.ID == id {
			return key, true
		}
	}
	return nil, false
}

// keyLocks serialise signing per key, so each transaction gets the next
// nonce after those already in the mempool.
type keyLocks struct{ m sync.Map }

func (k *keyLocks) of(key ed25519.PrivateKey) *sync.Mutex {
	mu, _ := k.m.LoadOrStore(string(key.Public().(ed25519.PublicKey)), &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// broadcast signs one transaction with key and the signer's next nonce and
// puts it in the mempool; the channel receives its result when its block
// commits.
func (s *server) broadcast(ctx context.Context, key ed25519.PrivateKey, typ string, body any) (hash string, done <-chan wire.TxResult, stop func(), err error) {
	if s.catchingUp() {
		return "", nil, nil, errCatchingUp
	}
	mu := s.locks.of(key)
	mu.Lock()
	defer mu.Unlock()
	signer, err := identity.Resolve(s.Ledger.Committed(), key.Public().(ed25519.PublicKey), s.Ledger.LastBlockTime())
	if err != nil {
		return "", nil, nil, err
	}
	nonce, err := s.Ledger.NextNonce(signer.ID)
	if err != nil {
		return "", nil, nil, err
	}
	raw, err := envelope.Build(s.Ledger.ChainID(), key, nonce, typ, body)
	if err != nil {
		return "", nil, nil, err
	}
	hash = hex.EncodeToString(envelope.Hash(raw))
	done, stop = s.Ledger.WaitFor(hash)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mempoolError(s.Chain.BroadcastTxSync(ctx, raw)); err != nil {
		stop()
		return "", nil, nil, err
	}
	return hash, done, stop, nil
}

// commitWait is how long a request waits for its transaction's block by
// default: well inside the HTTP server's 60 s write timeout, so a stalled
// chain answers 202 commit_timeout with the hash to poll, not a dropped
// connection.
const commitWait = 40 * time.Second

// sendAs signs one transaction with key and waits up to commitWait for its
// block; a rejection in the block is returned as its coded error. Past the
// wait it returns errTimeout with the transaction's hash.
func (s *server) sendAs(ctx context.Context, key ed25519.PrivateKey, typ string, body any) (*wire.TxResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.commitWait())
	defer cancel()
	hash, done, stop, err := s.broadcast(ctx, key, typ, body)
	if err != nil {
		return nil, err
	}
	defer stop()
	select {
	case r := <-done:
		if r.Code != 0 {
			return &r, codedError(r.Codespace, r.Code, r.Log)
		}
		return &r, nil
	case <-ctx.Done():
		return &wire.TxResult{Hash: hash}, errTimeout
	}
}

// commitWait is how long a request waits for its blocks in all.
func (s *server) commitWait() time.Duration {
	if s.CommitWait > 0 {
		return s.CommitWait
	}
	return commitWait
}

// ledgerRejection is a rejection reported by the ledger: its log, and the
// stable code it carries.
type ledgerRejection struct {
	code *ledger.Error
	log  string
}

func (r *ledgerRejection) Error() string { return r.log }
func (r *ledgerRejection) Unwrap() error { return r.code }

// mempoolError is the mempool's answer to a transaction as an error (nil:
// accepted): CheckTx's rejection with the ledger's stable code, a full
// mempool, a transaction too large, or a node that cannot take it.
func mempoolError(res *coretypes.ResultBroadcastTx, err error) error {
	var invalid mempool.ErrInvalidTx
	switch {
	case errors.As(err, &invalid):
		return codedError(invalid.Codespace, invalid.Code, invalid.Log)
	case err != nil && strings.Contains(err.Error(), "mempool is full"):
		return errMempoolFull
	case err != nil && strings.Contains(err.Error(), "Tx too large"):
		return ledger.ErrTooLarge.Wrapf("%v", err)
	case err != nil:
		return errUnavailable.Wrapf("%v", err)
	case res.Code != 0:
		return codedError(res.Codespace, res.Code, res.Log)
	}
	return nil
}

func codedError(codespace string, code uint32, log string) error {
	e, ok := ledger.Lookup(codespace, code)
	if !ok {
		e = ledger.ErrInternal
	}
	return &ledgerRejection{code: e, log: log}
}
