package store

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// TestBlockKeysOrdered stages keys in random order between ordered reads,
// as a block does between transactions that list a prefix, and checks every
// read against the keys sorted afresh.
func TestBlockKeysOrdered(t *testing.T) {
	for _, c := range []struct {
		name        string
		keys, every int // keys staged; an ordered read after every this many
	}{
		{"no reads until the end", 500, 0},
		{"a read after each key", 200, 1},
		{"reads now and then", 2000, 37},
		{"a long block, many reads", 6000, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(c.keys)))
			var b blockKeys
			var want []string
			check := func() {
				t.Helper()
				slices.Sort(want)
				if got := b.ordered(); !slices.Equal(got, want) {
					t.Fatalf("after %d keys: got %q, want %q", len(want), got, want)
				}
				prefix := fmt.Sprintf("k/%d", rng.Intn(10))
				var wantPrefix []string
				for _, k := range want {
					if strings.HasPrefix(k, prefix) {
						wantPrefix = append(wantPrefix, k)
					}
				}
				if got := b.withPrefix(prefix); !slices.Equal(got, wantPrefix) {
					t.Fatalf("prefix %q: got %q, want %q", prefix, got, wantPrefix)
				}
			}
			for i := range c.keys {
				k := fmt.Sprintf("k/%d", rng.Int63())
				b.add(k)
				want = append(want, k)
				if c.every > 0 && i%c.every == 0 {
					check()
				}
			}
			check()
			if got := b.take(); len(got) != len(want) || len(b.ordered()) != 0 {
				t.Fatalf("take: %d keys, %d left", len(got), len(b.ordered()))
			}
		})
	}
}

// BenchmarkStage stages a busy block's writes (new keys, in the random order
// of their hashes) and drops them: the cost a write adds to execution
// before the block is hashed; with a listing of a prefix every 20 writes
// (as shipments of cases list their contents), and without.
func BenchmarkStage(b *testing.B) {
	const per = 20_000
	for _, every := range []int{0, 20} {
		b.Run(fmt.Sprintf("list-every=%d", every), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			val := []byte("value")
			keys := make([][]byte, per)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "obj/%016x", uint64(i)*0x9E3779B97F4A7C15)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := s.Staged()
				for i, k := range keys {
					w.Set(k, val)
					if every > 0 && i%every == 0 {
						if err := w.Iterate(k[:8], func(_, _ []byte) bool { return true }); err != nil {
							b.Fatal(err)
						}
					}
				}
				s.Rollback()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/write")
		})
	}
}
