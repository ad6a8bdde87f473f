package app

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/primum-health/primum/internal/canonical"
	"github.com/primum-health/primum/wire"
)

// A transaction's result is kept in the side index (outside the app hash)
// under its hash, for GET /api/v1/txs/{hash} and for submissions of bytes
// already on the ledger. Every committed transaction writes one, so its size
// is paid again by every flush and compaction of the store: it is binary,
// keyed by the raw hash, without the hash repeated in the value. About 110
// bytes a registration instead of ~270 as JSON under the hex hash, which
// was ~40 % of the bytes a patient's registration wrote.
//
// Results written before (JSON under "r/" and the hex hash) are still read.

// resultFormat is the first byte of a binary result.
const resultFormat = 1

// resultKey is the side-index key of the result of the transaction whose
// hash is hash (hex; nil if it is not 32 bytes of hex).
func resultKey(hash string) []byte {
	var raw [32]byte
	if len(hash) != 2*len(raw) {
		return nil
	}
	if _, err := hex.Decode(raw[:], []byte(hash)); err != nil {
		return nil
	}
	return append([]byte("t/"), raw[:]...)
}

// legacyResultKey is where results were kept as JSON, keyed by the hex hash.
func legacyResultKey(hash string) []byte { return []byte("r/" + hash) }

// appendResult appends r in the binary format (without its hash, which is
// the key's).
func appendResult(b []byte, r *wire.TxResult) []byte {
	b = append(b, resultFormat)
	b = binary.AppendUvarint(b, uint64(r.Height))
	b = binary.AppendUvarint(b, uint64(r.Index))
	b = binary.AppendUvarint(b, uint64(r.Code))
	for _, s := range [...]string{r.Type, r.Signer, r.Codespace, r.Error, r.Log} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errBadResult = errors.New("unreadable transaction result")

// decodeResult reads a result stored under hash: binary, or JSON as
// written before.
func decodeResult(hash string, b []byte) (*wire.TxResult, error) {
	if len(b) > 0 && b[0] == '{' {
		var r wire.TxResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadResult, err)
		}
		return &r, nil
	}
	if len(b) == 0 || b[0] != resultFormat {
		return nil, fmt.Errorf("%w: format %x", errBadResult, b[:min(len(b), 1)])
	}
	rd := canonical.Reader{B: b[1:]}
	height, index, code := rd.Uvarint(), rd.Uvarint(), rd.Uvarint()
	r := &wire.TxResult{Hash: hash, Height: int64(height), Index: int(index), Code: uint32(code)}
	for _, s := range [...]*string{&r.Type, &r.Signer, &r.Codespace, &r.Error, &r.Log} {
		*s = string(rd.Field(1 << 24))
	}
	if rd.Err == nil && (len(rd.B) != 0 || height > 1<<62 || index > 1<<31 || code > 1<<32-1) {
		rd.Err = errors.New("out of range or trailing bytes")
	}
	if rd.Err != nil {
		return nil, fmt.Errorf("%w: %v", errBadResult, rd.Err)
	}
	return r, nil
}
