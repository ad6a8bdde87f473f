// Package statetest holds helpers for tests of state readers and writers.
package statetest

import (
	"fmt"
	"testing"

	"github.com/primum-health/primum/ledger"
)

// Op is a write of a test: {key, value}; value "" deletes the key.
type Op [2]string

// Apply makes the writes, in order.
func Apply(w ledger.Writer, ops []Op) {
	for _, o := range ops {
		if key, value := o[0], o[1]; value == "" {
			w.Delete([]byte(key))
		} else {
			w.Set([]byte(key), []byte(value))
		}
	}
}

// List iterates r under prefix, stopping after limit keys (0: all), and
// renders what it saw as "[k=v k=v …]".
func List(tb testing.TB, r ledger.Reader, prefix string, limit int) string {
	tb.Helper()
	var seen []string
	if err := r.Iterate([]byte(prefix), func(k, v []byte) bool {
		seen = append(seen, string(k)+"="+string(v))
		return limit == 0 || len(seen) < limit
	}); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprint(seen)
}

// NoEmptyValues fails tb if any key of r holds an empty value (one that no
// ICS23 proof can carry: ledger.SetPresent).
func NoEmptyValues(tb testing.TB, r ledger.Reader) {
	tb.Helper()
	var empty []string
	if err := r.Iterate(nil, func(k, v []byte) bool {
		if len(v) == 0 {
			empty = append(empty, string(k))
		}
		return len(empty) < 5
	}); err != nil {
		tb.Fatal(err)
	}
	if len(empty) > 0 {
		tb.Fatalf("keys with empty values, which no proof can carry (write them with ledger.SetPresent): %q", empty)
	}
}

// Counting is a Reader that counts the entries read through it: each Get,
// and each key a listing passes on. It seeks as the Reader under it does
// (ledger.Scan), so a paged read's count is what the page cost.
type Counting struct {
	R     ledger.Reader
	Reads int
}

func (c *Counting) Get(key []byte) ([]byte, error) { c.Reads++; return c.R.Get(key) }

func (c *Counting) Iterate(prefix []byte, fn func(key, value []byte) bool) error {
	return c.Scan(prefix, nil, false, fn)
}

func (c *Counting) Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) bool) error {
	return ledger.Scan(c.R, prefix, start, reverse, func(k, v []byte) bool { c.Reads++; return fn(k, v) })
}
