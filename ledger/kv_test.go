package ledger_test

import (
	"errors"
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

// TestScanFromAKey: a listing that starts at a key, forwards or backwards,
// over committed state, a block's staged writes and a transaction's own
// writes (deletions included), answers what the full listing answers from
// that key on; and so does the fallback for a Reader that cannot seek.
func TestScanFromAKey(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range []string{"a/1", "a/3", "a/5", "b/1"} {
		s.Staged().Set([]byte(k), []byte("c"))
	}
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Staged().Set([]byte("a/2"), []byte("b"))
	o := ledger.NewOverlay(s.Staged())
	o.Set([]byte("a/4"), []byte("o"))
	o.Delete([]byte("a/3"))
	cases := []struct {
		name    string
		start   string
		reverse bool
		want    string
	}{
		{"all", "", false, "[a/1 a/2 a/4 a/5]"},
		{"all, backwards", "", true, "[a/5 a/4 a/2 a/1]"},
		{"from a staged key", "a/2", false, "[a/2 a/4 a/5]"},
		{"back from an own key", "a/4", true, "[a/4 a/2 a/1]"},
		{"from between keys", "a/35", false, "[a/4 a/5]"},
		{"back from between keys", "a/35", true, "[a/2 a/1]"},
		{"from a deleted key", "a/3", false, "[a/4 a/5]"},
		{"past the end", "a/9", false, "[]"},
		{"back from before the start", "a/0", true, "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var start []byte
			if c.start != "" {
				start = []byte(c.start)
			}
			for name, r := range map[string]ledger.Reader{"overlay": o, "without seeking": noSeek{o}} {
				got := []string{}
				if err := ledger.Scan(r, []byte("a/"), start, c.reverse, func(k, _ []byte) bool { got = append(got, string(k)); return true }); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != c.want {
					t.Fatalf("%s: %v, want %s", name, got, c.want)
				}
			}
		})
	}
	// The committed state alone, through Pebble's seek.
	got := []string{}
	_ = ledger.Scan(s.Committed(), []byte("a/"), []byte("a/4"), true, func(k, _ []byte) bool { got = append(got, string(k)); return true })
	if fmt.Sprint(got) != "[a/3 a/1]" {
		t.Fatalf("committed, back from a/4: %v", got)
	}
}

// noSeek hides a Reader's Scan.
type noSeek struct{ r ledger.Reader }

func (n noSeek) Get(k []byte) ([]byte, error) { return n.r.Get(k) }
func (n noSeek) Iterate(p []byte, fn func(k, v []byte) bool) error {
	return n.r.Iterate(p, fn)
}

// TestScanPage: pages of a filtered listing, walked by their tokens, are
// the whole filtered listing in order.
func TestScanPage(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 23 {
		ledger.SetJSON(s.Staged(), fmt.Appendf(nil, "p/%03d", i), i)
	}
	s.Staged().Set([]byte("q/1"), []byte("1"))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	even := func(n *int) bool { return *n%2 == 0 }
	var got []int
	after, pages := "", 0
	for ; pages < 10; pages++ {
		page, next, err := ledger.ScanPage(s.Committed(), []byte("p/"), after, 4, even)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page {
			got = append(got, *n)
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(got) != "[0 2 4 6 8 10 12 14 16 18 20 22]" || pages != 2 {
		t.Fatalf("walked %v in %d pages", got, pages+1)
	}
}

// TestKeysPage: pages of an index, walked by their tokens, are the whole
// index in order, and a page starts at its token however far in it is.
func TestKeysPage(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 11 {
		ledger.SetPresent(s.Staged(), fmt.Appendf(nil, "i/%02d", i))
	}
	ledger.SetPresent(s.Staged(), []byte("j/00"))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	after, pages := "", 0
	for ; pages < 10; pages++ {
		names, next, err := ledger.KeysPage(s.Committed(), []byte("i/"), after, 4)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, names...)
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(got) != "[00 01 02 03 04 05 06 07 08 09 10]" || pages != 2 {
		t.Fatalf("walked %v in %d pages", got, pages+1)
	}
	if names, next, _ := ledger.KeysPage(s.Committed(), []byte("i/"), "09", 4); fmt.Sprint(names) != "[09 10]" || next != "" {
		t.Fatalf("from 09: %v, next %q", names, next)
	}
}

// TestUndecodableStateIsCoded: a state value that does not decode is a
// coded internal error (rejected alike on every node), never an uncoded
// one (which block execution treats as a storage failure and stops on).
func TestUndecodableStateIsCoded(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Staged().Set([]byte("x/1"), []byte(`{"a":`))
	for _, read := range []func() error{
		func() error {
			var v struct{ A int }
			_, err := ledger.GetJSON(s.Staged(), []byte("x/1"), &v)
			return err
		},
		func() error { _, err := ledger.ScanJSON[struct{ A int }](s.Staged(), []byte("x/"), 0); return err },
	} {
		err := read()
		var coded *ledger.Error
		if !errors.As(err, &coded) || coded != ledger.ErrInternal {
			t.Fatalf("got %v, want a coded internal error", err)
		}
	}
}
