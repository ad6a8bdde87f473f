package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/store/stateproof"
)

// holdSaves keeps s's background writes from starting until release is
// called (and waits for the held one to end); a test that fails first
// releases them as it ends.
func holdSaves(tb testing.TB, s *Store) (release func()) {
	s.waitSaved() // the hook is read by the next write to start
	ch := make(chan struct{})
	s.beforeSave = func() { <-ch }
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(ch)
			s.waitSaved()
			s.beforeSave = nil
		})
	}
	tb.Cleanup(release)
	return release
}

func mustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestCommitReopenAndProve(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	w := s.Staged()
	w.Set([]byte("a/1"), []byte("one"))
	w.Set([]byte("a/2"), []byte("two"))
	w.Set([]byte("b/1"), []byte("other"))
	hash, v, err := s.Commit()
	if err != nil || v != 1 {
		t.Fatal(v, err)
	}
	var got []string
	if err := s.Committed().Iterate([]byte("a/"), func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return true }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a/1=one a/2=two]" {
		t.Fatalf("prefix iteration: %v", got)
	}
	value, proof, version, root, err := s.Proof([]byte("a/2"))
	if err != nil || string(value) != "two" || version != 1 || !bytes.Equal(root, hash) {
		t.Fatalf("proof: %q %d %v", value, version, err)
	}
	if !stateproof.Verify(proof, root, []byte("a/2"), []byte("two"), true) {
		t.Fatal("membership proof does not verify against the app hash")
	}
	if stateproof.Verify(proof, root, []byte("a/2"), []byte("forged"), true) {
		t.Fatal("proof verifies a forged value")
	}
	_, absent, _, _, err := s.Proof([]byte("a/3"))
	if err != nil || !stateproof.Verify(absent, root, []byte("a/3"), nil, false) {
		t.Fatalf("non-membership proof: %v", err)
	}
	// The absence proof names its neighbours by hash only: proving any
	// absent key must not hand out other entries of the state.
	raw, _ := absent.Marshal()
	for _, clear := range []string{"a/1", "a/2", "one", "two", "a/3"} {
		if bytes.Contains(raw, []byte(clear)) {
			t.Fatalf("the absence proof carries %q in clear", clear)
		}
	}
	if stateproof.Verify(absent, root, []byte("a/2"), nil, false) {
		t.Fatal("an absence proof of one key verifies the absence of a present one")
	}
	s.Close()
	s2 := mustOpen(t, dir)
	if s2.Version() != 1 || !bytes.Equal(s2.Hash(), hash) {
		t.Fatal("reopened store lost the commit")
	}
	// Staged but uncommitted writes vanish on restart (CometBFT replays the block).
	s2.Staged().Set([]byte("c"), []byte("lost"))
	s2.Close()
	s3 := mustOpen(t, dir)
	if v, _ := s3.Committed().Get([]byte("c")); v != nil || !bytes.Equal(s3.Hash(), hash) {
		t.Fatal("uncommitted write survived a restart")
	}
}

// TestReadsSeeTheirVersion: the flat read cache never shows a reader a value
// from a version newer than its own while that version is the newest on
// disk or being written, staged reads see the block's writes, and a rollback
// or an eviction loses nothing.
func TestReadsSeeTheirVersion(t *testing.T) {
	for _, capacity := range []int{2, 1 << 10} {
		t.Run(fmt.Sprintf("cache=%d", capacity), func(t *testing.T) {
			s, err := OpenWith(t.TempDir(), Options{FlatCache: capacity})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			get := func(r interface{ Get([]byte) ([]byte, error) }, k string) string {
				t.Helper()
				v, err := r.Get([]byte(k))
				if err != nil {
					t.Fatal(err)
				}
				if v == nil {
					return "<absent>"
				}
				return string(v)
			}
			w := s.Staged()
			w.Set([]byte("a"), []byte("a1"))
			w.Set([]byte("b"), []byte("b1"))
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			v1 := s.Committed()
			for _, k := range []string{"a", "b", "c"} { // fill the cache at version 1
				get(v1, k)
			}
			w = s.Staged()
			w.Set([]byte("a"), []byte("a2"))
			w.Delete([]byte("b"))
			w.Set([]byte("c"), []byte("c2"))
			steps := []struct {
				name string
				r    interface{ Get([]byte) ([]byte, error) }
				key  string
				want string
			}{
				{"staged sees its write", w, "a", "a2"},
				{"staged sees its delete", w, "b", "<absent>"},
				{"staged sees its new key", w, "c", "c2"},
				{"committed does not see staged", s.Committed(), "a", "a1"},
			}
			for _, st := range steps {
				if got := get(st.r, st.key); got != st.want {
					t.Fatalf("%s: %s = %s, want %s", st.name, st.key, got, st.want)
				}
			}
			release := holdSaves(t, s)
			hash, _, err := s.Commit()
			if err != nil {
				t.Fatal(err)
			}
			v2 := s.Committed()
			// While version 2 is being written, readers see it, and readers of
			// version 1 still see version 1.
			if v, h := s.CommittedVersion(); v != 2 || !bytes.Equal(h, hash) {
				t.Fatalf("being written: committed version %d %X, want 2 %X", v, h, hash)
			}
			for _, st := range []struct {
				r    interface{ Get([]byte) ([]byte, error) }
				key  string
				want string
			}{
				{v2, "a", "a2"}, {v2, "b", "<absent>"}, {v2, "c", "c2"}, {s.Staged(), "b", "<absent>"},
				{v1, "a", "a1"}, {v1, "b", "b1"}, {v1, "c", "<absent>"},
			} {
				if got := get(st.r, st.key); got != st.want {
					t.Fatalf("being written: %s = %s, want %s", st.key, got, st.want)
				}
			}
			release()
			if _, _, _, root, err := s.Proof([]byte("a")); err != nil || !bytes.Equal(root, hash) {
				t.Fatalf("proof against %X (%v), want %X", root, err, hash)
			}
			for _, st := range []struct {
				r    interface{ Get([]byte) ([]byte, error) }
				key  string
				want string
			}{
				// Only the newest version is kept on disk: a reader of
				// version 1 that outlives version 2's write may read either
				// (committedReader), so it is not asked here.
				{v2, "a", "a2"}, {v2, "b", "<absent>"}, {v2, "c", "c2"}, {s.Committed(), "a", "a2"},
			} {
				if got := get(st.r, st.key); got != st.want {
					t.Fatalf("version 2: %s = %s, want %s", st.key, got, st.want)
				}
			}
			s.Staged().Set([]byte("a"), []byte("lost"))
			s.Rollback()
			if got := get(s.Staged(), "a"); got != "a2" {
				t.Fatalf("after rollback staged a = %s", got)
			}
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := get(s.Committed(), "a"); got != "a2" {
				t.Fatalf("rolled-back write committed: a = %s", got)
			}
		})
	}
}

// TestAppHashIgnoresWriteOrder: the app hash depends on the block's final
// values only, not on the order of its writes or keys rewritten on the way;
// iteration during the block sees them.
func TestAppHashIgnoresWriteOrder(t *testing.T) {
	cases := []struct {
		name string
		ops  []statetest.Op
	}{
		{"in order", []statetest.Op{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{"reversed", []statetest.Op{{"c", "3"}, {"b", "2"}, {"a", "1"}}},
		{"rewritten and deleted on the way", []statetest.Op{{"b", "x"}, {"a", "1"}, {"d", "4"}, {"c", "3"}, {"b", "2"}, {"d", ""}}},
	}
	var want []byte
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustOpen(t, t.TempDir())
			w := s.Staged()
			statetest.Apply(w, c.ops)
			if seen := statetest.List(t, w, "", 0); seen != "[a=1 b=2 c=3]" {
				t.Fatalf("iteration during the block: %v", seen)
			}
			hash := s.WorkingHash()
			if want == nil {
				want = hash
			} else if !bytes.Equal(hash, want) {
				t.Fatalf("app hash %X, want %X", hash, want)
			}
			if got, _, err := s.Commit(); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("commit hash %X, %v", got, err)
			}
		})
	}
}

// TestBatchSizeCoversTheBatch: the size a version's batch is allocated with
// holds all that goes in it (else the batch grows by doubling, copying
// megabytes) without wasting much.
func TestBatchSizeCoversTheBatch(t *testing.T) {
	cases := []struct {
		name string
		ops  []statetest.Op
	}{
		{"one key", []statetest.Op{{"a", "1"}}},
		{"long values", []statetest.Op{{"patient/1", strings.Repeat("v", 300)}, {"patient/2", strings.Repeat("w", 5000)}}},
		{"deletions", []statetest.Op{{"a", "1"}, {"b", "2"}, {"a", ""}, {"c", ""}}},
		{"many short", func() (ops []statetest.Op) {
			for i := range 2000 {
				ops = append(ops, statetest.Op{fmt.Sprintf("nonce/%d", i), fmt.Sprint(i)})
			}
			return ops
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustOpen(t, t.TempDir())
			statetest.Apply(s.Staged(), []statetest.Op{{"a", "0"}, {"c", "0"}}) // something to delete
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			holdSaves(t, s)
			statetest.Apply(s.Staged(), c.ops)
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			b := s.db.NewBatch()
			defer b.Close()
			if err := s.fill(b, s.saving); err != nil {
				t.Fatal(err)
			}
			if est := batchSize(s.saving); b.Len() > est || est > 2*b.Len() {
				t.Fatalf("batch of %d bytes allocated as %d", b.Len(), est)
			}
		})
	}
}

// TestBlockIterationMergesCommittedState: iterating the block being
// executed merges its writes (new keys, rewrites, deletions) into the
// committed state's order, and answers what the same iteration answers once
// the block is committed.
func TestBlockIterationMergesCommittedState(t *testing.T) {
	committed := []string{"a/1", "a/3", "a/5", "b/1", "c"}
	cases := []struct {
		name   string
		ops    []statetest.Op
		prefix string
		limit  int // stop after this many keys (0: all)
		want   string
	}{
		{"no writes", nil, "a/", 0, "[a/1=c a/3=c a/5=c]"},
		{"new keys between, before and after", []statetest.Op{{"a/0", "n"}, {"a/4", "n"}, {"a/6", "n"}}, "a/", 0, "[a/0=n a/1=c a/3=c a/4=n a/5=c a/6=n]"},
		{"rewritten", []statetest.Op{{"a/3", "x"}}, "a/", 0, "[a/1=c a/3=x a/5=c]"},
		{"deleted, committed and new", []statetest.Op{{"a/1", ""}, {"a/2", "n"}, {"a/2", ""}}, "a/", 0, "[a/3=c a/5=c]"},
		{"other prefixes untouched", []statetest.Op{{"a", "n"}, {"a0", "n"}, {"b/0", "n"}}, "a/", 0, "[a/1=c a/3=c a/5=c]"},
		{"only new keys", []statetest.Op{{"d/2", "n"}, {"d/1", "n"}}, "d/", 0, "[d/1=n d/2=n]"},
		{"everything", []statetest.Op{{"b/1", ""}, {"bb", "n"}}, "", 0, "[a/1=c a/3=c a/5=c bb=n c=c]"},
		{"stopped among new keys", []statetest.Op{{"a/0", "n"}, {"a/2", "n"}}, "a/", 2, "[a/0=n a/1=c]"},
		{"stopped after the committed keys", []statetest.Op{{"a/6", "n"}, {"a/7", "n"}}, "a/", 4, "[a/1=c a/3=c a/5=c a/6=n]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustOpen(t, t.TempDir())
			for _, k := range committed {
				s.Staged().Set([]byte(k), []byte("c"))
			}
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			w := s.Staged()
			statetest.Apply(w, c.ops)
			if got := statetest.List(t, w, c.prefix, c.limit); got != c.want {
				t.Fatalf("during the block: %s, want %s", got, c.want)
			}
			during := statetest.List(t, w, c.prefix, 0)
			// Readers see the version while it is being written, and
			// from disk once it is.
			release := holdSaves(t, s)
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := statetest.List(t, s.Committed(), c.prefix, c.limit); got != c.want {
				t.Fatalf("committed, being written: %s, want %s", got, c.want)
			}
			if got := statetest.List(t, s.Committed(), c.prefix, 0); got != during {
				t.Fatalf("committed, being written: %s, during the block: %s", got, during)
			}
			release()
			if after := statetest.List(t, s.Committed(), c.prefix, 0); after != during {
				t.Fatalf("committed: %s, during the block: %s", after, during)
			}
		})
	}
}

// BenchmarkCommittedGet measures a read of the committed state (CheckTx's
// signer and nonce lookups) over 100,000 keys: from the memory cache, and
// past it (the flat index on disk).
func BenchmarkCommittedGet(b *testing.B) {
	for _, c := range []struct {
		name   string
		cache  int
		absent bool
	}{{"cached", 0, false}, {"uncached", 2, false}, {"absent", 2, true}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := OpenWith(b.TempDir(), Options{FlatCache: c.cache})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const n = 100_000
			key := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte("k/"), i*2654435761) }
			w := s.Staged()
			for i := uint64(0); i < n; i++ {
				w.Set(key(i), bytes.Repeat([]byte{7}, 100))
			}
			if _, _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
			// Read the version on disk, not the block's writes Commit
			// keeps in memory until its background write ends.
			if err := s.waitSaved(); err != nil {
				b.Fatal(err)
			}
			keys := make([][]byte, 4096)
			for i := range keys {
				keys[i] = key(uint64(i) * 17 % n)
				if c.absent {
					keys[i] = key(n + uint64(i))
				}
			}
			r := s.Committed()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if v, err := r.Get(keys[i%len(keys)]); err != nil || (v == nil) != c.absent {
					b.Fatal(v, err)
				}
				i++
			}
		})
	}
}

// BenchmarkCommit measures the Merkle commitment's cost per write: blocks of
// writes to fresh keys over a growing state.
func BenchmarkCommit(b *testing.B) {
	for _, per := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("writes=%d", per), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			val := bytes.Repeat([]byte{7}, 100)
			n := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				w := s.Staged()
				for i := 0; i < per; i++ {
					k := binary.BigEndian.AppendUint64([]byte("k/"), n*2654435761)
					w.Set(k, val)
					n++
				}
				s.WorkingHash()
				if _, _, err := s.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per)/1000, "µs/write")
		})
	}
}

// openLargeState opens a store with small caches (a flat cache of 20,000
// keys and a block cache of cacheMB) holding keys largeStateKey(0) to
// largeStateKey(keys-1), committed in blocks of per.
func openLargeState(b *testing.B, cacheMB, keys, per int) *Store {
	s, err := OpenWith(b.TempDir(), Options{BlockCacheMB: cacheMB, FlatCache: 20_000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for n := 0; n < keys; {
		w := s.Staged()
		for range per {
			w.Set(largeStateKey(uint64(n)), largeStateValue)
			n++
		}
		if _, _, err := s.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// largeStateKey is the i-th key of a large state, spread over the key space.
func largeStateKey(i uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("k/"), i*2654435761)
}

var largeStateValue = bytes.Repeat([]byte{7}, 100)

// BenchmarkCommitLargeState measures a write's cost when most of the state
// is not in memory, as on a node whose state outgrew its caches: 400,000
// keys, a flat cache of 20,000 and a 32 MB block cache; blocks of
// 1,000 and of 20,000 writes (a busy validator's block: its changed buckets
// are rebuilt on every core), half to new keys (each looked up first, as a
// registration checks its key is not in use) and half updating existing
// ones (each read first, as a transaction reads what it changes).
func BenchmarkCommitLargeState(b *testing.B) {
	for _, per := range []int{1000, 20_000} {
		b.Run(fmt.Sprintf("writes=%d", per), func(b *testing.B) { benchmarkCommitLargeState(b, per) })
	}
}

func benchmarkCommitLargeState(b *testing.B, per int) {
	const initial = 400_000
	s := openLargeState(b, 32, initial, 10_000)
	key, val, n := largeStateKey, largeStateValue, uint64(initial)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() { // the set-up above is not timed
		r, w, committed := s.Committed(), s.Staged(), n
		for i := 0; i < per; i += 2 {
			if v, err := r.Get(key(n)); v != nil || err != nil {
				b.Fatal(v, err)
			}
			w.Set(key(n), val)
			n++
			k := key(rng.Uint64N(committed))
			if v, err := r.Get(k); v == nil || err != nil {
				b.Fatal(v, err)
			}
			w.Set(k, val)
		}
		s.WorkingHash()
		if _, _, err := s.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per)/1000, "µs/write")
}
