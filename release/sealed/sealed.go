// Package sealed is what travels between a record's custodian and its
// requester, and nothing else: the access request a requester signs, the
// one-time HPKE key they name in it, the sealed payload and the commitment
// it is checked against. It imports no other Primum package, so that it
// also runs in the browser (web/wasm/release: the patient portal opens
// records with this same code). Package release carries it over HTTP;
// records and docstore use its byte formats, which must never change
// (golden tests).
package sealed

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// AccessRequest is what a requester signs to ask a custodian for a record.
// Its JSON encoding, prefixed by RequestDomain, is the signed byte format:
// it must never change (golden test).
type AccessRequest struct {
	ChainID         string `json:"chain_id"`
	Requester       string `json:"requester"`
	Record          string `json:"record"`
	Purpose         string `json:"purpose"`
	EmergencyReason string `json:"emergency_reason,omitempty"`
	// KeyDigest is the SHA-256 (hex) of the requester's one-time HPKE
	// public key: the record is released encrypted to that key only.
	KeyDigest string `json:"key_digest"`
	Nonce     string `json:"nonce"`     // 32 hex characters, fresh per request
	NotAfter  string `json:"not_after"` // RFC 3339; at most records.MaxRequestLife after the block time
}

// RequestDomain separates access-request signatures from every other
// signature a key makes.
const RequestDomain = "primum/access-request/v1\x00"

// SignBytes are the bytes a requester signs.
func (r AccessRequest) SignBytes() []byte {
	b, _ := json.Marshal(r) // a struct of strings: cannot fail, field order fixed
	return append([]byte(RequestDomain), b...)
}

// Sign signs the request.
func (r AccessRequest) Sign(key ed25519.PrivateKey) string {
	return hex.EncodeToString(ed25519.Sign(key, r.SignBytes()))
}

// Commitment is the on-ledger commitment of a record (records.Record's
// Commitment, in hex): HMAC-SHA256 keyed by the record's salt. Without the
// salt it reveals nothing, even about guessable content. The custodian's
// record store makes it and a requester checks what a custodian released
// against it. This byte format must never change: commitments on every
// ledger depend on it (TestCommitmentGolden).
func Commitment(salt, content []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("primum/record/v1\x00"))
	m.Write(content)
	return m.Sum(nil)
}

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
	if !hmac.Equal(Commitment(p.Salt, p.Content), want) {
		return ErrMismatch
	}
	return nil
}
