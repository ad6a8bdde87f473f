package ledger

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
)

// Error is a rejection with a stable machine code. Codespace and Code become
// the ABCI result code; Name is the stable code shown at the HTTP edge
// (problem+json "code") and in the CLI. Messages never carry personal
// health data.
type Error struct {
	Codespace string
	Code      uint32
	Name      string
	Msg       string
	// HTTPStatus is the status the REST API answers with.
	HTTPStatus int
}

func (e *Error) Error() string { return e.Msg }

// Wrapf returns an error that carries e's code with more detail.
func (e *Error) Wrapf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{e}, args...)...)
}

// StorageError is a failure of the node's own storage while a block is
// executed. It is never the transaction's fault, so it must never become a
// rejection: that rejection would be committed on this node only, and its
// state would differ from every other's. Block execution panics with it
// (CometBFT stops the node, and replays the block once the disk is
// mended); the state store's block writer raises it itself, so no handler
// can swallow it.
type StorageError struct{ Err error }

func (e *StorageError) Error() string { return "storage failure: " + e.Err.Error() }
func (e *StorageError) Unwrap() error { return e.Err }

// NewError declares a module error. Codes are part of the outside contract:
// never renumber one.
func NewError(codespace string, code uint32, name string, status int, msg string) *Error {
	e := &Error{Codespace: codespace, Code: code, Name: name, Msg: msg, HTTPStatus: status}
	k := errorKey{codespace, code}
	if _, dup := registry[k]; dup {
		panic(fmt.Sprintf("ledger: error code %s/%d declared twice", codespace, code))
	}
	registry[k] = e
	return e
}

type errorKey struct {
	codespace string
	code      uint32
}

// registry is written only by package initialisation (NewError at package
// level), so reads need no lock.
var registry = map[errorKey]*Error{}

// Lookup finds a declared error by its ABCI codespace and code.
func Lookup(codespace string, code uint32) (*Error, bool) {
	e, ok := registry[errorKey{codespace, code}]
	return e, ok
}

// Registered lists every declared error (for documentation).
func Registered() []*Error {
	out := make([]*Error, 0, len(registry))
	for _, e := range registry {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Codespace != out[j].Codespace {
			return out[i].Codespace < out[j].Codespace
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// AsError finds the coded error inside err; anything else is an internal error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrInternal
}

// ErrBadRequest refuses a query or request the caller must correct (a
// parameter out of range, a malformed id). It is the API's first error
// (codespace "api"), declared here so that module queries can answer it.
var ErrBadRequest = NewError("api", 1, "bad_request", 400, "bad request")

// Errors shared by every module. Codespace "primum".
var (
	ErrInternal      = NewError("primum", 1, "internal", 500, "internal error")
	ErrMalformed     = NewError("primum", 2, "malformed_tx", 400, "malformed transaction")
	ErrTooLarge      = NewError("primum", 3, "tx_too_large", 413, "transaction too large")
	ErrBadSignature  = NewError("primum", 4, "bad_signature", 401, "signature does not verify")
	ErrWrongChain    = NewError("primum", 5, "wrong_chain", 400, "transaction is for another chain")
	ErrBadNonce      = NewError("primum", 6, "bad_nonce", 409, "nonce does not match the account (replayed or out of order)")
	ErrUnknownType   = NewError("primum", 7, "unknown_tx_type", 400, "unknown transaction type")
	ErrUnknownSigner = NewError("primum", 8, "unknown_signer", 401, "signer is not registered")
	ErrUnauthorized  = NewError("primum", 9, "unauthorized", 403, "signer may not send this transaction type")
	// ErrNoStanding: a read about a patient by a caller with no standing
	// with them. Said the same way whether or not the patient exists, so
	// that a refusal tells a stranger nothing. (Codespace "api": reads are
	// the API's.)
	ErrNoStanding = NewError("api", 43, "no_standing", 403,
		"you have no standing with this patient: only the patient, a practitioner or organisation a consent in force names, a custodian of their records, a practitioner in an emergency access, or (for the audit) the regulator may read this")
	ErrSuspended   = NewError("primum", 10, "signer_suspended", 403, "signer's credential is suspended")
	ErrRevoked     = NewError("primum", 11, "signer_revoked", 403, "signer's credential is revoked")
	ErrExpired     = NewError("primum", 12, "signer_expired", 403, "signer's credential has expired")
	ErrInvalidBody = NewError("primum", 13, "invalid_body", 400, "invalid transaction body")
	ErrNotFound    = NewError("primum", 14, "not_found", 404, "not found")
	ErrBadVersion  = NewError("primum", 15, "bad_version", 400, "unsupported transaction version")
	ErrRetiredKey  = NewError("primum", 16, "retired_key", 401, "signer key was rotated out")
	ErrClaimed     = NewError("primum", 18, "already_claimed", 409, "another transaction waiting for a block uses this already (a voucher): it was sent twice, or copied")
	ErrInactiveOrg = NewError("primum", 17, "organisation_inactive", 403, "signer's organisation is no longer a member")
	// ErrSignerBusy: one signer may hold at most a share of a node's
	// mempool (app.MaxPendingPerSigner), whichever way its transactions
	// arrive (the API, CometBFT's RPC, peers).
	ErrSignerBusy = NewError("primum", 19, "signer_queue_full", 429, "this signer already has as many transactions waiting in this node's mempool as one signer may: wait for a block to take some")
)

// Echo keeps an input echoed in an error short (40 bytes) and printable:
// one with a control character is shown as hex.
func Echo(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return hex.EncodeToString([]byte(s))
		}
	}
	return s
}
