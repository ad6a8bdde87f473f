package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/primum-health/primum/store/stateproof"
)

// referenceRoot computes the app hash of a state from scratch, as
// commitment.go defines it: every key's leaf, ordered by key hash, in
// buckets under a complete tree.
func referenceRoot(state map[string]string) []byte {
	buckets := map[uint32][]leafEntry{}
	for k, v := range state {
		hk := keyHash([]byte(k))
		b := bucketOf(hk[:])
		buckets[b] = append(buckets[b], leafEntry{hk: hk, leaf: leafHash(hk[:], []byte(v))})
	}
	l := newLevels()
	for b, entries := range buckets {
		slices.SortFunc(entries, compareEntries)
		root := bucketRoot(entryLeaves(entries))
		copy(l.node(bucketBits, b), root[:])
	}
	l.rehashAll()
	return l.root()
}

// TestCommitmentMatchesReference drives the store through random blocks —
// new keys, rewrites, deletions, keys written twice, a rolled-back block, a
// reopening — and checks after each commit that the app hash is the one
// computed from scratch, that the key count is right, and that proofs of
// present and absent keys verify with ICS23 against it (and fail for a
// wrong value).
func TestCommitmentMatchesReference(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	rng := rand.New(rand.NewPCG(7, 11))
	state := map[string]string{}
	key := func(i int) string { return fmt.Sprintf("k/%d", i) }
	const space = 20000
	if got, want := s.WorkingHash(), referenceRoot(state); !bytes.Equal(got, want) {
		t.Fatalf("empty state: %X, want %X", got, want)
	}
	for block := 1; block <= 12; block++ {
		if block == 5 { // a block executed, then rolled back
			w := s.Staged()
			for range 200 {
				w.Set([]byte(key(rng.IntN(space))), []byte("rolled back"))
			}
			s.WorkingHash()
			s.Rollback()
		}
		if block == 8 {
			s.Close()
			s = mustOpen(t, dir)
		}
		w := s.Staged()
		writes := 1 + rng.IntN(600)
		switch block {
		case 1:
			writes = 1 // a state of one key
		case 2, 9:
			writes = 6000 // buckets enough to be rebuilt in parts, one per core
		}
		for range writes {
			k := key(rng.IntN(space))
			if rng.IntN(4) == 0 {
				w.Delete([]byte(k))
				delete(state, k)
				continue
			}
			v := fmt.Sprintf("v%d-%d", block, rng.IntN(1000))
			w.Set([]byte(k), []byte(v))
			state[k] = v
		}
		if block%3 == 0 {
			s.WorkingHash() // hashed mid-block, then more writes
			k := key(rng.IntN(space))
			w.Set([]byte(k), []byte("late"))
			state[k] = "late"
		}
		hash, v, err := s.Commit()
		if err != nil || v != int64(block) {
			t.Fatalf("block %d: commit %d, %v", block, v, err)
		}
		if want := referenceRoot(state); !bytes.Equal(hash, want) {
			t.Fatalf("block %d: app hash %X, want %X", block, hash, want)
		}
		if err := s.waitSaved(); err != nil {
			t.Fatal(err)
		}
		if s.count != uint64(len(state)) {
			t.Fatalf("block %d: %d keys counted, want %d", block, s.count, len(state))
		}
		for range 20 {
			k := key(rng.IntN(space + 100))
			value, proof, version, root, err := s.Proof([]byte(k))
			if err != nil || version != int64(block) || !bytes.Equal(root, hash) {
				t.Fatalf("block %d: proof of %s at %d against %X: %v", block, k, version, root, err)
			}
			want, present := state[k]
			if present {
				if string(value) != want || !stateproof.Verify(proof, root, []byte(k), value, true) {
					t.Fatalf("block %d: membership of %s = %q does not verify", block, k, value)
				}
				if stateproof.Verify(proof, root, []byte(k), []byte("forged"), true) {
					t.Fatalf("block %d: a forged value of %s verifies", block, k)
				}
				continue
			}
			if value != nil || !stateproof.Verify(proof, root, []byte(k), nil, false) {
				t.Fatalf("block %d: absence of %s does not verify (value %q)", block, k, value)
			}
		}
		// A present key is never proven absent by another key's proof.
		for k := range state {
			_, proof, _, root, err := s.Proof([]byte(k + "/absent"))
			if err != nil {
				t.Fatal(err)
			}
			if stateproof.Verify(proof, root, []byte(k), nil, false) {
				t.Fatalf("block %d: present key %s proven absent", block, k)
			}
			break
		}
	}
}

func keyHashOf(k string) []byte {
	h := keyHash([]byte(k))
	return h[:]
}

// TestProofsAtTheEdges: absence proofs with a neighbour on one side only
// (keys hashing before every key or after every key), and neighbours in
// buckets far apart with empty buckets between.
func TestProofsAtTheEdges(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	w := s.Staged()
	w.Set([]byte("only"), []byte("one"))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	only := keyHashOf("only")
	var below, above string
	for i := 0; below == "" || above == ""; i++ {
		k := fmt.Sprintf("probe/%d", i)
		if bytes.Compare(keyHashOf(k), only) < 0 {
			below = k
		} else {
			above = k
		}
	}
	for _, k := range []string{below, above} {
		value, proof, _, root, err := s.Proof([]byte(k))
		if err != nil || value != nil {
			t.Fatal(value, err)
		}
		non := proof.GetNonexist()
		if non == nil || (non.Left == nil) == (non.Right == nil) {
			t.Fatalf("%s: want a proof with one neighbour, got %v", k, proof)
		}
		if !stateproof.Verify(proof, root, []byte(k), nil, false) {
			t.Fatalf("%s: absence does not verify", k)
		}
	}
}

// TestOpenRefusesDamagedOrOldState: a state whose buckets do not hash to the
// app hash it records, or one written by an earlier Primum as an IAVL tree,
// is refused at Open with an error that says so.
func TestOpenRefusesDamagedOrOldState(t *testing.T) {
	cases := []struct {
		name   string
		damage func(db *pebble.DB) error
		want   string
	}{
		{"a bucket root changed", func(db *pebble.DB) error {
			it, err := db.NewIter(&pebble.IterOptions{LowerBound: bucketPrefix, UpperBound: prefixEnd(bucketPrefix)})
			if err != nil {
				return err
			}
			it.First()
			k := bytes.Clone(it.Key())
			it.Close()
			return db.Set(k, bytes.Repeat([]byte{9}, hashLen), pebble.Sync)
		}, "the state is damaged"},
		{"an IAVL tree", func(db *pebble.DB) error {
			return errors.Join(db.Delete(stateMarker, pebble.Sync), db.Set([]byte("ts\x00\x00\x00\x01"), []byte("node"), pebble.Sync))
		}, "earlier Primum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			s.Staged().Set([]byte("a"), []byte("1"))
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := pebble.Open(dir, &pebble.Options{Logger: QuietLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(c.damage(db), db.Close()); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(dir)
			if err == nil {
				s2.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}
