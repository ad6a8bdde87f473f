// Package canonical reads Primum's length-prefixed binary formats (the
// transaction envelope, a stored transaction result) and accepts only their
// canonical encoding: every uvarint in its shortest form, so that one value
// has one byte form. It never panics on any input.
package canonical

import (
	"encoding/binary"
	"fmt"
)

// Reader reads fields from the front of B. The first failure is kept in Err;
// every read after it returns the zero value.
type Reader struct {
	B   []byte // what is left to read
	Err error
}

func (r *Reader) fail(what string) {
	if r.Err == nil {
		r.Err = fmt.Errorf("truncated or invalid %s", what)
	}
}

// Byte reads a version byte.
func (r *Reader) Byte() byte {
	if r.Err != nil || len(r.B) < 1 {
		r.fail("version")
		return 0
	}
	c := r.B[0]
	r.B = r.B[1:]
	return c
}

// Uvarint reads a uvarint in its shortest encoding.
func (r *Reader) Uvarint() uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	// Only the shortest encoding is accepted: otherwise one signed
	// transaction would have many byte forms, hashes and ids (the signature
	// covers the re-encoded fields).
	if n != len(binary.AppendUvarint(nil, v)) {
		r.Err = fmt.Errorf("non-canonical varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Fixed reads n bytes. The slice returned shares B's array, capped at n.
func (r *Reader) Fixed(n int) []byte {
	if r.Err != nil || len(r.B) < n {
		r.fail(fmt.Sprintf("%d-byte field", n))
		return nil
	}
	out := r.B[:n:n]
	r.B = r.B[n:]
	return out
}

// Field reads a uvarint length of at most max, then that many bytes.
func (r *Reader) Field(max int) []byte {
	n := r.Uvarint()
	if r.Err == nil && n > uint64(max) {
		r.Err = fmt.Errorf("field of %d bytes exceeds %d", n, max)
	}
	if r.Err != nil {
		return nil
	}
	return r.Fixed(int(n))
}
