package ledger

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// TestOrderedKeys stages keys in random order between ordered reads,
// as a block does between transactions that list a prefix, and checks every
// read against the keys sorted afresh.
func TestOrderedKeys(t *testing.T) {
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
			var b OrderedKeys
			var want []string
			check := func() {
				t.Helper()
				slices.Sort(want)
				if got := b.Ordered(); !slices.Equal(got, want) {
					t.Fatalf("after %d keys: got %q, want %q", len(want), got, want)
				}
				prefix := fmt.Sprintf("k/%d", rng.Intn(10))
				var wantPrefix []string
				for _, k := range want {
					if strings.HasPrefix(k, prefix) {
						wantPrefix = append(wantPrefix, k)
					}
				}
				if got := b.WithPrefix(prefix); !slices.Equal(got, wantPrefix) {
					t.Fatalf("prefix %q: got %q, want %q", prefix, got, wantPrefix)
				}
			}
			for i := range c.keys {
				k := fmt.Sprintf("k/%d", rng.Int63())
				b.Add(k)
				want = append(want, k)
				if c.every > 0 && i%c.every == 0 {
					check()
				}
			}
			check()
			if got := b.Take(); len(got) != len(want) || len(b.Ordered()) != 0 {
				t.Fatalf("take: %d keys, %d left", len(got), len(b.Ordered()))
			}
		})
	}
}
