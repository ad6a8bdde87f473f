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
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/primum-health/primum/records"
)

// Suite names the HPKE suite in answers.
const Suite = "HPKE MLKEM768X25519 / HKDF-SHA256 / AES-256-GCM"

var (
	kem  = hpke.MLKEM768X25519()
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES256GCM()
)

// Errors.
var (
	ErrBadKey       = errors.New("release: not an MLKEM768X25519 public key")
	ErrOpen         = errors.New("release: the sealed record does not open with this key")
	ErrMismatch     = errors.New("release: the record does not match its commitment on the ledger")
	ErrWrongRelease = errors.New("release: the sealed record is for another record or access")
)

// Key is a requester's one-time key pair.
type Key struct{ priv hpke.PrivateKey }

// NewKey generates a one-time key.
func NewKey() (*Key, error) {
	k, err := kem.GenerateKey()
	if err != nil {
		return nil, err
	}
	return &Key{priv: k}, nil
}

// Public is the encoded public key to send to the custodian.
func (k *Key) Public() []byte { return k.priv.PublicKey().Bytes() }

// Digest is the SHA-256 (hex) of an encoded public key, as an access
// request names it.
func Digest(public []byte) string {
	d := sha256.Sum256(public)
	return hex.EncodeToString(d[:])
}

// Payload is what a release carries.
type Payload struct {
	Record  string `json:"record"`
	Access  string `json:"access"`
	Content []byte `json:"content"`
	Salt    []byte `json:"salt"`
}

func info(access string) []byte { return []byte("primum/record-release/v1\x00" + access) }

// Seal encrypts a payload to the requester's public key.
func Seal(public []byte, p Payload) ([]byte, error) {
	pk, err := kem.NewPublicKey(public)
	if err != nil {
		return nil, ErrBadKey
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pk, kdf, aead, info(p.Access), b)
}

// Open decrypts a release for the given record and access entry.
func (k *Key) Open(record, access string, sealed []byte) (*Payload, error) {
	b, err := hpke.Open(k.priv, kdf, aead, info(access), sealed)
	if err != nil {
		return nil, ErrOpen
	}
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, ErrOpen
	}
	if p.Record != record || p.Access != access {
		return nil, ErrWrongRelease
	}
	return &p, nil
}

// Verify checks a payload against the record's commitment (hex) on the
// ledger.
func (p *Payload) Verify(commitment string) error {
	want, err := hex.DecodeString(commitment)
	if err != nil {
		return fmt.Errorf("%w: the ledger's commitment is not hex", ErrMismatch)
	}
	if !hmac.Equal(records.Commitment(p.Salt, p.Content), want) {
		return ErrMismatch
	}
	return nil
}
