package ledger_test

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

// TestOverlayIterateMergesItsWrites: a transaction's overlay iterates the
// block's state with its own writes (new keys, rewrites, deletions) merged
// in key order, over a real store with committed and block-staged keys, and
// answers what the same iteration answers once the overlay is flushed.
func TestOverlayIterateMergesItsWrites(t *testing.T) {
	cases := []struct {
		name   string
		ops    []statetest.Op
		prefix string
		limit  int // stop after this many keys (0: all)
		want   string
	}{
		{"no writes", nil, "a/", 0, "[a/1=c a/2=b a/3=c]"},
		{"new keys around", []statetest.Op{{"a/0", "o"}, {"a/25", "o"}, {"a/9", "o"}}, "a/", 0, "[a/0=o a/1=c a/2=b a/25=o a/3=c a/9=o]"},
		{"rewrites of committed and block keys", []statetest.Op{{"a/1", "o"}, {"a/2", "o"}}, "a/", 0, "[a/1=o a/2=o a/3=c]"},
		{"deletions", []statetest.Op{{"a/1", ""}, {"a/2", ""}, {"a/4", "o"}, {"a/4", ""}}, "a/", 0, "[a/3=c]"},
		{"other prefixes untouched", []statetest.Op{{"a", "o"}, {"b/1", "o"}}, "a/", 0, "[a/1=c a/2=b a/3=c]"},
		{"stopped among own keys", []statetest.Op{{"a/0", "o"}}, "a/", 1, "[a/0=o]"},
		{"stopped among the base's", []statetest.Op{{"a/9", "o"}}, "a/", 2, "[a/1=c a/2=b]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Staged().Set([]byte("a/1"), []byte("c"))
			s.Staged().Set([]byte("a/3"), []byte("c"))
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			s.Staged().Set([]byte("a/2"), []byte("b")) // staged by an earlier transaction of the block
			o := ledger.NewOverlay(s.Staged())
			statetest.Apply(o, c.ops)
			if got := statetest.List(t, o, c.prefix, c.limit); got != c.want {
				t.Fatalf("overlay: %s, want %s", got, c.want)
			}
			merged := statetest.List(t, o, c.prefix, 0)
			o.Flush(s.Staged())
			if flushed := statetest.List(t, s.Staged(), c.prefix, 0); flushed != merged {
				t.Fatalf("after flush: %s, overlay: %s", flushed, merged)
			}
		})
	}
}

// TestOverlayListingsBetweenWrites: listings interleaved with thousands of
// writes (past the point where the staged keys' ordered tail joins the main
// run) answer what a fresh sort of the written keys answers.
func TestOverlayListingsBetweenWrites(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := ledger.NewOverlay(s.Staged())
	want := map[string]bool{}
	rng := rand.New(rand.NewSource(1))
	for i := range 5000 {
		k := fmt.Sprintf("c/%d/%d", rng.Intn(7), rng.Intn(2000))
		if rng.Intn(5) == 0 {
			o.Delete([]byte(k))
			delete(want, k)
		} else {
			o.Set([]byte(k), []byte{1})
			want[k] = true
		}
		if i%97 != 0 {
			continue
		}
		prefix := fmt.Sprintf("c/%d/", rng.Intn(7))
		var exp []string
		for k := range want {
			if strings.HasPrefix(k, prefix) {
				exp = append(exp, k)
			}
		}
		slices.Sort(exp)
		var got []string
		if err := o.Iterate([]byte(prefix), func(k, _ []byte) bool { got = append(got, string(k)); return true }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("after %d writes, %s: %d keys, want %d", i+1, prefix, len(got), len(exp))
		}
	}
}
