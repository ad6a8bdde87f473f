package app

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

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
	EnvelopeVersion = 1
	MaxTxBytes      = 64 << 10
	maxShortField   = 64
	signDomain      = "primum/tx/v1\x00"
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
	b = append(b, EnvelopeVersion)
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
	if len(raw) > MaxTxBytes {
		return nil, ledger.ErrTooLarge.Wrapf("%d bytes, limit %d", len(raw), MaxTxBytes)
	}
	r := reader{b: raw}
	v := r.byte()
	if r.err == nil && v != EnvelopeVersion {
		return nil, ledger.ErrBadVersion.Wrapf("version %d", v)
	}
	t := &Tx{}
	t.ChainID = string(r.field(maxShortField))
	t.Signer = ed25519.PublicKey(r.fixed(ed25519.PublicKeySize))
	t.Nonce = r.uvarint()
	t.Type = string(r.field(maxShortField))
	t.Body = r.field(MaxTxBytes)
	t.Sig = r.fixed(ed25519.SignatureSize)
	if r.err != nil {
		return nil, ledger.ErrMalformed.Wrapf("%v", r.err)
	}
	if len(r.b) != 0 {
		return nil, ledger.ErrMalformed.Wrapf("%d trailing bytes", len(r.b))
	}
	return t, nil
}

// signerNonce reads only a transaction's signer and nonce (ok false if
// they do not parse; the rest is not checked).
func signerNonce(raw []byte) (signer [ed25519.PublicKeySize]byte, nonce uint64, ok bool) {
	r := reader{b: raw}
	if r.byte() != EnvelopeVersion {
		return signer, 0, false
	}
	r.field(maxShortField)
	copy(signer[:], r.fixed(ed25519.PublicKeySize))
	nonce = r.uvarint()
	return signer, nonce, r.err == nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or invalid %s", what)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("version")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	// Only the shortest encoding is accepted: otherwise one signed
	// transaction would have many byte forms, hashes and ids (the signature
	// covers the re-encoded fields).
	if n != len(binary.AppendUvarint(nil, v)) {
		r.err = fmt.Errorf("non-canonical varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) fixed(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.fail(fmt.Sprintf("%d-byte field", n))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) field(max int) []byte {
	n := r.uvarint()
	if r.err == nil && n > uint64(max) {
		r.err = fmt.Errorf("field of %d bytes exceeds %d", n, max)
	}
	if r.err != nil {
		return nil
	}
	return r.fixed(int(n))
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
