// Package release is how a record travels from its custodian to a requester:
// sealed with HPKE (RFC 9180) to a one-time key the requester generated and
// named, by its digest, in the access request they signed. The suite is
// ML-KEM-768 + X25519 (hybrid post-quantum: health data must stay secret for
// decades), HKDF-SHA256 and AES-256-GCM, from Go's crypto/hpke.
//
// The requester checks what arrives against the commitment on the ledger,
// read from a node it trusts, so a custodian cannot hand out an altered
// record unnoticed.
//
// Both sides use this package: a custodian's node seals, and a requester (a
// node on a user's behalf, or the Go client) fetches and opens. It must
// never import the node's stores (docstore, store): the client links it.
package release

import (
	"github.com/primum-health/primum/release/sealed"
)

// The sealing itself is package sealed's (it also runs in the browser).
const Suite = sealed.Suite

type (
	// Key is a requester's one-time key pair.
	Key = sealed.Key
	// Payload is what a release carries.
	Payload = sealed.Payload
)

var (
	// NewKey generates a one-time key.
	NewKey = sealed.NewKey
	// Digest is the SHA-256 (hex) of an encoded public key, as an access
	// request names it.
	Digest = sealed.Digest
	// Seal encrypts a payload to the requester's public key.
	Seal = sealed.Seal
)

// Errors.
var (
	ErrBadKey       = sealed.ErrBadKey
	ErrOpen         = sealed.ErrOpen
	ErrMismatch     = sealed.ErrMismatch
	ErrWrongRelease = sealed.ErrWrongRelease
)
