package store

import (
	"slices"
	"strings"
)

// blockKeys are the keys a block has staged, kept in key order only when
// asked: a block stages tens of thousands of keys, and iterating them in
// order while it runs is rare (a transaction listing a prefix), so a key is
// appended as it comes, and the keys staged since the last ordered read are
// sorted and merged into the ordered ones then.
type blockKeys struct {
	keys   []string
	sorted int // keys[:sorted] are in order
}

func (b *blockKeys) add(k string) { b.keys = append(b.keys, k) }

// ordered returns the keys in order (owned by b until reset).
func (b *blockKeys) ordered() []string {
	if b.sorted == len(b.keys) {
		return b.keys
	}
	tail := b.keys[b.sorted:]
	slices.Sort(tail)
	if b.sorted > 0 && b.keys[b.sorted-1] > tail[0] {
		// Merge from the back, the tail copied out of the way.
		t := slices.Clone(tail)
		i, j := b.sorted-1, len(t)-1
		for out := len(b.keys) - 1; j >= 0; out-- {
			if i >= 0 && b.keys[i] > t[j] {
				b.keys[out] = b.keys[i]
				i--
			} else {
				b.keys[out] = t[j]
				j--
			}
		}
	}
	b.sorted = len(b.keys)
	return b.keys
}

// withPrefix returns the keys with the prefix, in order, in a slice of its
// own (the caller may stage keys while it reads them).
func (b *blockKeys) withPrefix(prefix string) []string {
	keys := b.ordered()
	from, _ := slices.BinarySearch(keys, prefix)
	to := from
	for to < len(keys) && strings.HasPrefix(keys[to], prefix) {
		to++
	}
	return slices.Clone(keys[from:to])
}

// take returns the keys in order and leaves b empty (the slice is the
// caller's).
func (b *blockKeys) take() []string {
	keys := b.ordered()
	*b = blockKeys{keys: make([]string, 0, len(keys))}
	return keys
}

// reset empties b, keeping its memory.
func (b *blockKeys) reset() { b.keys, b.sorted = b.keys[:0], 0 }
