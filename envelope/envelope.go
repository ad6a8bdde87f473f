// Package envelope is Primum's signed transaction: its frozen byte format,
// the bytes its signer signs, its id, and how it is built and decoded. The
// node checks transactions with it and the Go client builds them with it, so
// it depends on nothing of the server (no app, store or CometBFT): only the
// ledger's errors and its signature check.
package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"

	"github.com/primum-health/primum/internal/canonical"
	"github.com/primum-health/primum/ledger"
)

// The envelope's byte format is part of the outside contract: signed
// transactions stored in blocks must decode forever. Never change it; add a
// version instead. envelope_test.go holds a golden vector.
//
//	version  1 byte (= 1)
//	chain    uvarint length, bytes (<= 64)
//	signer   32 bytes, Ed25519 public key
//	nonce    uvarint
//	type     uvarint length, bytes (<= 64)
//	body     uvarint length, bytes (JSON)
//	sig      64 bytes, Ed25519 over signDomain || all bytes above
const (
	Version       = 1
	MaxBytes      = 64 << 10 // the largest envelope, body and all
	maxShortField = 64
	signDomain    = "primum/tx/v1\x00"
)

// Tx is a signed transaction.
type Tx struct {
	ChainID string
	Signer  ed25519.PublicKey
	Nonce   uint64
	Type    string
	Body    []byte
	Sig     []byte
}

// unsigned encodes every field but the signature.
func (t *Tx) unsigned() []byte {
	b := make([]byte, 0, 1+len(t.ChainID)+32+len(t.Type)+len(t.Body)+32)
	b = append(b, Version)
	b = binary.AppendUvarint(b, uint64(len(t.ChainID)))
	b = append(b, t.ChainID...)
	b = append(b, t.Signer...)
	b = binary.AppendUvarint(b, t.Nonce)
	b = binary.AppendUvarint(b, uint64(len(t.Type)))
	b = append(b, t.Type...)
	b = binary.AppendUvarint(b, uint64(len(t.Body)))
	return append(b, t.Body...)
}

// SignBytes are the exact bytes the signer signs.
func (t *Tx) SignBytes() []byte { return append([]byte(signDomain), t.unsigned()...) }

// Sign fills in the signer and signature.
func (t *Tx) Sign(key ed25519.PrivateKey) {
	t.Signer = key.Public().(ed25519.PublicKey)
	t.Sig = ed25519.Sign(key, t.SignBytes())
}

// Encode returns the wire bytes.
func (t *Tx) Encode() []byte { return append(t.unsigned(), t.Sig...) }

// Signed is what the signature covers, for a check alone or in a batch.
func (t *Tx) Signed() ledger.Signed {
	return ledger.Signed{Pub: t.Signer, Msg: t.SignBytes(), Sig: t.Sig}
}

// Verify checks the signature.
func (t *Tx) Verify() bool {
	return ledger.VerifySignature(t.Signer, t.SignBytes(), t.Sig)
}

// Hash is the transaction's id: SHA-256 of its bytes, as CometBFT names it.
func Hash(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// Decode parses wire bytes. It never panics on any input.
func Decode(raw []byte) (*Tx, error) {
	if len(raw) > MaxBytes {
		return nil, ledger.ErrTooLarge.Wrapf("%d bytes, limit %d", len(raw), MaxBytes)
	}
	r := canonical.Reader{B: raw}
	v := r.Byte()
	if r.Err == nil && v != Version {
		return nil, ledger.ErrBadVersion.Wrapf("version %d", v)
	}
	t := &Tx{}
	t.ChainID = string(r.Field(maxShortField))
	t.Signer = ed25519.PublicKey(r.Fixed(ed25519.PublicKeySize))
	t.Nonce = r.Uvarint()
	t.Type = string(r.Field(maxShortField))
	t.Body = r.Field(MaxBytes)
	t.Sig = r.Fixed(ed25519.SignatureSize)
	if r.Err != nil {
		return nil, ledger.ErrMalformed.Wrapf("%v", r.Err)
	}
	if len(r.B) != 0 {
		return nil, ledger.ErrMalformed.Wrapf("%d trailing bytes", len(r.B))
	}
	return t, nil
}

// SignerNonce reads only a transaction's signer and nonce (ok false if they
// do not parse; the rest is not checked), for a mempool that orders many
// transactions without decoding them whole.
func SignerNonce(raw []byte) (signer [ed25519.PublicKeySize]byte, nonce uint64, ok bool) {
	r := canonical.Reader{B: raw}
	if r.Byte() != Version {
		return signer, 0, false
	}
	r.Field(maxShortField)
	copy(signer[:], r.Fixed(ed25519.PublicKeySize))
	nonce = r.Uvarint()
	return signer, nonce, r.Err == nil
}

// Build signs a transaction whose body is v encoded as JSON.
func Build(chainID string, key ed25519.PrivateKey, nonce uint64, typ string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	tx := &Tx{ChainID: chainID, Nonce: nonce, Type: typ, Body: b}
	tx.Sign(key)
	return tx.Encode(), nil
}
