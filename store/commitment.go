package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble"
	ics23 "github.com/cosmos/ics23/go"
)

// The app hash is the root of a binary Merkle tree over every key of the
// state, its leaves ordered by the SHA-256 of their keys: the layout of a
// sparse Merkle tree, verified by ICS23's SmtSpec (package stateproof), cut
// at a fixed depth. The top bucketBits levels are complete and kept in memory
// (two copies of 16 MB: the committed version and the block being executed);
// below them each bucket — the keys whose hashes share their first
// bucketBits bits — is a small balanced tree over its leaves, rebuilt from
// Pebble when a block writes to it.
//
//	leaf   = SHA-256(0x00 ‖ SHA-256(key) ‖ SHA-256(value))
//	inner  = SHA-256(0x01 ‖ left ‖ right), and 32 zero bytes when both are empty
//	bucket = the leaf if it holds one key; else inner(first k leaves, the rest),
//	         k the largest power of two below their number; empty: 32 zero bytes
//
// The root depends only on the set of keys and values, not on the order they
// were written in, and a write costs one bucket's leaves (a handful, read
// together) and at most bucketBits hashes, shared by the block's writes (the
// IAVL tree this replaced loaded, cloned and wrote anew a path of ~20 nodes
// per write, and kept every version's).
const (
	bucketBits  = 18
	bucketCount = 1 << bucketBits
	hashLen     = sha256.Size
)

var emptyHash [hashLen]byte

func keyHash(key []byte) [hashLen]byte { return sha256.Sum256(key) }

// bucketOf is the first bucketBits bits of a key hash.
func bucketOf(hk []byte) uint32 {
	return (uint32(hk[0])<<16 | uint32(hk[1])<<8 | uint32(hk[2])) >> (24 - bucketBits)
}

func leafHash(hk []byte, value []byte) [hashLen]byte {
	vh := sha256.Sum256(value)
	var buf [1 + 2*hashLen]byte
	copy(buf[1:], hk)
	copy(buf[1+hashLen:], vh[:])
	return sha256.Sum256(buf[:])
}

func innerHash(left, right []byte) [hashLen]byte {
	if bytes.Equal(left, emptyHash[:]) && bytes.Equal(right, emptyHash[:]) {
		return emptyHash
	}
	var buf [1 + 2*hashLen]byte
	buf[0] = 1
	copy(buf[1:], left)
	copy(buf[1+hashLen:], right)
	return sha256.Sum256(buf[:])
}

// split is where a bucket's n > 1 leaves divide: the largest power of two
// below n.
func split(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// bucketRoot is the root of a bucket's leaves, in key-hash order.
func bucketRoot(leaves [][hashLen]byte) [hashLen]byte {
	switch len(leaves) {
	case 0:
		return emptyHash
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	l, r := bucketRoot(leaves[:k]), bucketRoot(leaves[k:])
	return innerHash(l[:], r[:])
}

// bucketPath appends the inner operations from leaf i up to its bucket's
// root, leaf first.
func bucketPath(path []*ics23.InnerOp, leaves [][hashLen]byte, i int) []*ics23.InnerOp {
	if len(leaves) <= 1 {
		return path
	}
	k := split(len(leaves))
	if i < k {
		path = bucketPath(path, leaves[:k], i)
		r := bucketRoot(leaves[k:])
		return append(path, leftStep(r[:]))
	}
	path = bucketPath(path, leaves[k:], i-k)
	l := bucketRoot(leaves[:k])
	return append(path, rightStep(l[:]))
}

// leftStep is the inner operation for a left child whose sibling is right;
// rightStep for a right child whose sibling is left.
func leftStep(right []byte) *ics23.InnerOp {
	return &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: []byte{1}, Suffix: bytes.Clone(right)}
}

func rightStep(left []byte) *ics23.InnerOp {
	return &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: append([]byte{1}, left...)}
}

// levels are the complete top of the tree: level d holds 2^d hashes, level
// bucketBits the buckets' roots, level 0 the root. Flat byte slices, so the
// garbage collector never scans them.
type levels [bucketBits + 1][]byte

func newLevels() *levels {
	var l levels
	for d := range l {
		l[d] = make([]byte, hashLen<<d)
	}
	return &l
}

func (l *levels) node(d int, i uint32) []byte { return l[d][int(i)*hashLen : int(i+1)*hashLen] }

func (l *levels) root() []byte { return bytes.Clone(l[0]) }

// rehash recomputes the levels above the given buckets (sorted, distinct)
// and returns the nodes it changed, level by level, the buckets included.
func (l *levels) rehash(buckets []uint32) (changed [bucketBits + 1][]uint32) {
	changed[bucketBits] = buckets
	for d := bucketBits - 1; d >= 0; d-- {
		var parents []uint32
		for _, c := range changed[d+1] {
			if p := c >> 1; len(parents) == 0 || parents[len(parents)-1] != p {
				parents = append(parents, p)
			}
		}
		for _, p := range parents {
			h := innerHash(l.node(d+1, 2*p), l.node(d+1, 2*p+1))
			copy(l.node(d, p), h[:])
		}
		changed[d] = parents
	}
	return changed
}

// rehashAll recomputes every level above the buckets (at Open).
func (l *levels) rehashAll() {
	for d := bucketBits - 1; d >= 0; d-- {
		for p := uint32(0); p < 1<<d; p++ {
			h := innerHash(l.node(d+1, 2*p), l.node(d+1, 2*p+1))
			copy(l.node(d, p), h[:])
		}
	}
}

// copyNodes copies the given nodes from src.
func (l *levels) copyNodes(src *levels, nodes *[bucketBits + 1][]uint32) {
	for d, idx := range nodes {
		for _, i := range idx {
			copy(l.node(d, i), src.node(d, i))
		}
	}
}

// upperPath appends the inner operations from bucket b up to the root.
func (l *levels) upperPath(path []*ics23.InnerOp, b uint32) []*ics23.InnerOp {
	i := b
	for d := bucketBits; d > 0; d-- {
		if i%2 == 0 {
			path = append(path, leftStep(l.node(d, i+1)))
		} else {
			path = append(path, rightStep(l.node(d, i-1)))
		}
		i >>= 1
	}
	return path
}

// Keys of the commitment in Pebble, beside the flat index ("f") and the side
// index ("x"):
//
//	"h" ‖ SHA-256(key) → leaf hash ‖ key     every key of the state
//	"b" ‖ bucket (4 bytes, big-endian) → root  every non-empty bucket
//	"m/state" → version ‖ key count ‖ app hash (8 + 8 + 32 bytes)
var (
	hashPrefix   = []byte("h")
	bucketPrefix = []byte("b")
	stateMarker  = []byte("m/state")
)

func hashIndexKey(hk []byte) []byte {
	return append(append(make([]byte, 0, 1+hashLen), hashPrefix...), hk...)
}

func bucketKey(b uint32) []byte { return binary.BigEndian.AppendUint32(bytes.Clone(bucketPrefix), b) }

// bucketBounds are the hash-index keys of bucket b: [lo, hi).
func bucketBounds(b uint32) (lo, hi []byte) {
	bound := func(b uint32) []byte {
		if b >= bucketCount {
			return prefixEnd(hashPrefix)
		}
		v := b << (24 - bucketBits)
		return append(bytes.Clone(hashPrefix), byte(v>>16), byte(v>>8), byte(v))
	}
	return bound(b), bound(b + 1)
}

// leafEntry is one key of a bucket: its key hash and leaf hash, and, when
// read for a proof, the key itself.
type leafEntry struct {
	hk, leaf [hashLen]byte
	key      []byte
}

// hashEntry reads the hash-index entry it is at (without the key).
func hashEntry(it *pebble.Iterator) leafEntry {
	var e leafEntry
	copy(e.hk[:], it.Key()[len(hashPrefix):])
	copy(e.leaf[:], it.Value())
	return e
}

func compareEntries(a, b leafEntry) int { return bytes.Compare(a.hk[:], b.hk[:]) }

func entryLeaves(entries []leafEntry) [][hashLen]byte {
	leaves := make([][hashLen]byte, len(entries))
	for i, e := range entries {
		leaves[i] = e.leaf
	}
	return leaves
}

// setEntry inserts or replaces e in entries (sorted by key hash) and reports
// whether its key is new.
func setEntry(entries []leafEntry, e leafEntry) ([]leafEntry, bool) {
	i, found := slices.BinarySearchFunc(entries, e, compareEntries)
	if found {
		entries[i] = e
		return entries, false
	}
	return slices.Insert(entries, i, e), true
}

// deleteEntry removes the entry with key hash hk, reporting whether there
// was one.
func deleteEntry(entries []leafEntry, hk [hashLen]byte) ([]leafEntry, bool) {
	i, found := slices.BinarySearchFunc(entries, leafEntry{hk: hk}, compareEntries)
	if !found {
		return entries, false
	}
	return slices.Delete(entries, i, i+1), true
}

// stateRecord encodes the "m/state" value.
func stateRecord(version int64, count uint64, root []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(version))
	b = binary.BigEndian.AppendUint64(b, count)
	return append(b, root...)
}

func (l *levels) clone() *levels {
	var c levels
	for d := range l {
		c[d] = bytes.Clone(l[d])
	}
	return &c
}
