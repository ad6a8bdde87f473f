package ledger

import (
	"slices"
	"strings"
)

// OrderedKeys are the keys a block has staged, kept in key order only as far
// as reads in order need: a busy block stages tens of thousands of keys, and
// a transaction listing a prefix (a shipped case's contents) needs the
// block's keys with that prefix in order. Keys are appended as they come,
// into a tail that a read in order sorts and that joins the ordered main
// run once it holds maxTail keys, so a read costs about the tail's length,
// not the block's.
type OrderedKeys struct {
	main   []string // in order
	tail   []string // tail[:sorted] in order, then in staging order
	sorted int
}

// maxTail is the most keys the tail holds before it joins main.
const maxTail = 1024

// Add stages a key (once: the caller adds each key it has not added before).
func (b *OrderedKeys) Add(k string) { b.tail = append(b.tail, k) }

// settle puts the tail in order, and into main once it is long.
func (b *OrderedKeys) settle() {
	if b.sorted < len(b.tail) {
		slices.Sort(b.tail[b.sorted:])
		mergeRuns(b.tail, b.sorted)
		b.sorted = len(b.tail)
	}
	if len(b.tail) >= maxTail {
		b.join()
	}
}

// join moves the ordered tail into main.
func (b *OrderedKeys) join() {
	n := len(b.main)
	b.main = append(b.main, b.tail...)
	mergeRuns(b.main, n)
	clear(b.tail)
	b.tail, b.sorted = b.tail[:0], 0
}

// mergeRuns puts keys in order, given keys[:n] and keys[n:] each in order.
func mergeRuns(keys []string, n int) {
	if n == 0 || n == len(keys) || keys[n-1] <= keys[n] {
		return
	}
	// Merge from the back, the second run copied out of the way.
	second := slices.Clone(keys[n:])
	i, j := n-1, len(second)-1
	for out := len(keys) - 1; j >= 0; out-- {
		if i >= 0 && keys[i] > second[j] {
			keys[out] = keys[i]
			i--
		} else {
			keys[out] = second[j]
			j--
		}
	}
}

// WithPrefix returns the keys with the prefix, in order, in a slice of its
// own (the caller may stage keys while it reads them).
func (b *OrderedKeys) WithPrefix(prefix string) []string {
	b.settle()
	m, t := prefixRange(b.main, prefix), prefixRange(b.tail, prefix)
	out := append(append(make([]string, 0, len(m)+len(t)), m...), t...)
	mergeRuns(out, len(m))
	return out
}

func prefixRange(keys []string, prefix string) []string {
	from, _ := slices.BinarySearch(keys, prefix)
	to := from
	for to < len(keys) && strings.HasPrefix(keys[to], prefix) {
		to++
	}
	return keys[from:to]
}

// Ordered returns all the keys in order (b's until it changes).
func (b *OrderedKeys) Ordered() []string {
	b.settle()
	if len(b.tail) > 0 {
		b.join()
	}
	return b.main
}

// Take returns the keys in order and leaves b empty (the slice is the
// caller's).
func (b *OrderedKeys) Take() []string {
	keys := b.Ordered()
	*b = OrderedKeys{main: make([]string, 0, len(keys))}
	return keys
}

// Reset empties b, keeping its memory.
func (b *OrderedKeys) Reset() {
	clear(b.main)
	clear(b.tail)
	b.main, b.tail, b.sorted = b.main[:0], b.tail[:0], 0
}
