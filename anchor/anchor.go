// Package anchor commits batches of records to the ledger as Merkle trees
// and proves a record's place in a committed batch: RFC 9162 (RFC 6962)
// hashing, SHA-256, with github.com/transparency-dev/merkle. A site of a
// clinical trial anchors its batches of case-report records (trials), and
// a device its batches of readings: the ledger holds a batch's root and
// size, the records stay with their holder, and any record can later be
// shown to have been in the batch committed at that block — so nothing can
// be back-filled or rewritten silently.
//
// A batch file has one record a line (its bytes, as the holder's system
// wrote them; empty lines are skipped): each line is a leaf, in order.
package anchor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// MaxLeaves bounds a batch; MaxLine a record in a batch file.
const (
	MaxLeaves = 1_000_000
	MaxLine   = 1 << 20
)

var hasher = rfc6962.DefaultHasher

// ErrEmpty is a batch without records.
var ErrEmpty = errors.New("anchor: a batch holds at least one record")

// LeafHash is a record's leaf hash: SHA-256(0x00 || record).
func LeafHash(record []byte) []byte { return hasher.HashLeaf(record) }

// Root is the Merkle tree head of a batch's records, in order.
func Root(records [][]byte) ([]byte, error) {
	if len(records) == 0 {
		return nil, ErrEmpty
	}
	f := compact.RangeFactory{Hash: hasher.HashChildren}
	r := f.NewEmptyRange(0)
	for _, rec := range records {
		if err := r.Append(hasher.HashLeaf(rec), nil); err != nil {
			return nil, err
		}
	}
	return r.GetRootHash(nil)
}

// subtree is the hash of the perfect subtree of 2^level leaves from
// index<<level.
func subtree(leaves [][]byte, level uint, index uint64) []byte {
	if level == 0 {
		return leaves[index]
	}
	return hasher.HashChildren(subtree(leaves, level-1, 2*index), subtree(leaves, level-1, 2*index+1))
}

// Prove is the inclusion proof of the record at index in a batch.
func Prove(records [][]byte, index uint64) ([][]byte, error) {
	size := uint64(len(records))
	if index >= size {
		return nil, fmt.Errorf("anchor: record %d of a batch of %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return hashNodes(records, nodes)
}

// hashNodes computes a proof's nodes over records' leaves (perfect
// subtrees, then the ephemeral node rehashed from them).
func hashNodes(records [][]byte, nodes proof.Nodes) ([][]byte, error) {
	leaves := make([][]byte, len(records))
	for i, rec := range records {
		leaves[i] = hasher.HashLeaf(rec)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		hashes[i] = subtree(leaves, id.Level, id.Index)
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// Verify checks that record is at index in the batch of size records whose
// root is root.
func Verify(record []byte, index, size uint64, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(hasher, index, size, hasher.HashLeaf(record), p, root)
}

// ProveConsistency is the RFC 9162 consistency proof that the tree of a
// log's first oldSize records is a prefix of the tree of all of them: a
// holder that appends batches to one log (a device's readings) shows with
// it that it dropped or rewrote nothing committed before.
func ProveConsistency(records [][]byte, oldSize uint64) ([][]byte, error) {
	size := uint64(len(records))
	if oldSize == 0 || oldSize > size {
		return nil, fmt.Errorf("anchor: a consistency proof from %d records to %d", oldSize, size)
	}
	nodes, err := proof.Consistency(oldSize, size)
	if err != nil {
		return nil, err
	}
	return hashNodes(records, nodes)
}

// VerifyConsistency checks that the tree of newSize records with root
// newRoot extends the tree of oldSize records with root oldRoot (RFC 9162,
// section 2.1.4.2): the first oldSize records are the same.
func VerifyConsistency(oldSize, newSize uint64, oldRoot, newRoot []byte, p [][]byte) error {
	return proof.VerifyConsistency(hasher, oldSize, newSize, p, oldRoot, newRoot)
}

// Lines reads a batch file: one record a line, empty lines skipped.
func Lines(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var out [][]byte
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(line) == 0 {
			continue
		}
		if len(out) == MaxLeaves {
			return nil, fmt.Errorf("anchor: more than %d records in a batch", MaxLeaves)
		}
		out = append(out, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("anchor: reading the batch: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	return out, nil
}

// ReadFile reads the batch file at path (Lines).
func ReadFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Lines(f)
}

// Frontier is the compact range of a log's first records: the hashes of
// the perfect subtrees that cover them, largest first (at most one per bit
// of the size: 40 for 2^40 records). With it, Extend finds the root after
// more records without the ones before.
func Frontier(records [][]byte) ([][]byte, error) {
	f := compact.RangeFactory{Hash: hasher.HashChildren}
	r := f.NewEmptyRange(0)
	for _, rec := range records {
		if err := r.Append(hasher.HashLeaf(rec), nil); err != nil {
			return nil, err
		}
	}
	return r.Hashes(), nil
}

// Extend is the root of a log of size records (their frontier given) with
// more appended: what a batch that added more commits. It hashes only the
// new records.
func Extend(frontier [][]byte, size uint64, more [][]byte) ([]byte, error) {
	f := compact.RangeFactory{Hash: hasher.HashChildren}
	r, err := f.NewRange(0, size, frontier)
	if err != nil {
		return nil, fmt.Errorf("anchor: the frontier does not cover %d records: %w", size, err)
	}
	for _, rec := range more {
		if err := r.Append(hasher.HashLeaf(rec), nil); err != nil {
			return nil, err
		}
	}
	if r.End() == 0 {
		return nil, ErrEmpty
	}
	return r.GetRootHash(nil)
}
