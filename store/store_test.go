package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

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
	if !ics23.VerifyMembership(ics23.IavlSpec, root, proof, []byte("a/2"), []byte("two")) {
		t.Fatal("membership proof does not verify against the app hash")
	}
	if ics23.VerifyMembership(ics23.IavlSpec, root, proof, []byte("a/2"), []byte("forged")) {
		t.Fatal("proof verifies a forged value")
	}
	_, absent, _, _, err := s.Proof([]byte("a/3"))
	if err != nil || !ics23.VerifyNonMembership(ics23.IavlSpec, root, absent, []byte("a/3")) {
		t.Fatalf("non-membership proof: %v", err)
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

// BenchmarkCommit measures the Merkle tree's cost per write: blocks of
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
