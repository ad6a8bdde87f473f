package anchor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/testonly"
)

// TestRootsAreRFC6962: the roots of the RFC 6962 test tree's prefixes are
// the published ones.
func TestRootsAreRFC6962(t *testing.T) {
	leaves, roots := testonly.LeafInputs(), testonly.RootHashes()
	for n := 1; n < len(roots) && n <= len(leaves); n++ {
		got, err := Root(leaves[:n])
		if err != nil || !bytes.Equal(got, roots[n]) { // roots[0] is the empty tree's
			t.Fatalf("root of the first %d leaves: %x, %v; want %x", n, got, err, roots[n])
		}
	}
	if _, err := Root(nil); !errors.Is(err, ErrEmpty) {
		t.Fatalf("an empty batch: %v", err)
	}
}

// TestProofs: every record of batches of 1 to 33 records is proven in its
// batch's root; a proof fails for another record, index, size or root.
func TestProofs(t *testing.T) {
	for size := 1; size <= 33; size++ {
		var recs [][]byte
		for i := range size {
			recs = append(recs, []byte(fmt.Sprintf(`{"visit":%d,"sbp":%d}`, i, 120+i)))
		}
		root, err := Root(recs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			p, err := Prove(recs, uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(recs[i], uint64(i), uint64(size), p, root); err != nil {
				t.Fatalf("record %d of %d: %v", i, size, err)
			}
			if err := Verify([]byte(`{"visit":0,"sbp":99}`), uint64(i), uint64(size), p, root); err == nil {
				t.Fatalf("a back-filled record %d of %d verified", i, size)
			}
			if size > 1 {
				if err := Verify(recs[i], uint64((i+1)%size), uint64(size), p, root); err == nil {
					t.Fatalf("record %d of %d verified at another index", i, size)
				}
			}
		}
	}
	if _, err := Prove([][]byte{[]byte("a")}, 1); err == nil {
		t.Fatal("a proof past the batch")
	}
}

func TestLines(t *testing.T) {
	got, err := Lines(strings.NewReader("a\r\n\nb\n  c\n"))
	if err != nil || len(got) != 3 || string(got[0]) != "a" || string(got[2]) != "  c" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := Lines(strings.NewReader("\n\n")); !errors.Is(err, ErrEmpty) {
		t.Fatalf("an empty file: %v", err)
	}
}

// FuzzLines: a batch file of any bytes is read without panic, and its
// records' proofs verify.
func FuzzLines(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"a\":2}\n"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Lines(bytes.NewReader(b))
		if err != nil || len(recs) > 64 {
			return
		}
		root, err := Root(recs)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Prove(recs, uint64(len(recs)-1))
		if err != nil || Verify(recs[len(recs)-1], uint64(len(recs)-1), uint64(len(recs)), p, root) != nil {
			t.Fatalf("the last record does not verify: %v", err)
		}
	})
}

// TestConsistency: every prefix of a log is proven consistent with the
// whole log, and a log whose earlier record was rewritten, or an old root
// of another log, fails the check.
func TestConsistency(t *testing.T) {
	var log [][]byte
	for i := range 37 {
		log = append(log, []byte(fmt.Sprintf(`{"reading":%d,"hr":%d}`, i, 60+i%17)))
	}
	root, err := Root(log)
	if err != nil {
		t.Fatal(err)
	}
	for old := uint64(1); old <= uint64(len(log)); old++ {
		oldRoot, _ := Root(log[:old])
		p, err := ProveConsistency(log, old)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyConsistency(old, uint64(len(log)), oldRoot, root, p); err != nil {
			t.Fatalf("%d → %d: %v", old, len(log), err)
		}
		// The same log with an earlier record rewritten: the new root
		// no longer extends the old one.
		if old > 1 {
			forged := append([][]byte{}, log...)
			forged[old-2] = []byte(`{"reading":"rewritten"}`)
			forgedRoot, _ := Root(forged)
			fp, _ := ProveConsistency(forged, old)
			if VerifyConsistency(old, uint64(len(log)), oldRoot, forgedRoot, fp) == nil {
				t.Fatalf("%d → %d: a rewritten record passed", old, len(log))
			}
		}
	}
	if _, err := ProveConsistency(log, 0); err == nil {
		t.Fatal("a proof from an empty log")
	}
}

// BenchmarkVerifyConsistency: checking a batch of 1,000 readings'
// consistency with the log of 15,384 before it.
func BenchmarkVerifyConsistency(b *testing.B) {
	log := make([][]byte, 1<<14)
	for i := range log {
		log[i] = []byte(fmt.Sprintf("reading %d", i))
	}
	old := uint64(len(log) - 1000)
	oldRoot, _ := Root(log[:old])
	root, _ := Root(log)
	p, err := ProveConsistency(log, old)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := VerifyConsistency(old, uint64(len(log)), oldRoot, root, p); err != nil {
			b.Fatal(err)
		}
	}
}

// A batch file is read as Lines reads it; a file that is not there, or
// holds no record, is an error.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content string
		want          int // records; -1: an error
	}{
		{"records", "a\n\nb\r\nc", 3},
		{"empty", "\n\n", -1},
		{"missing", "", -1},
	} {
		path := filepath.Join(dir, c.name)
		if c.name != "missing" {
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		recs, err := ReadFile(path)
		if (c.want < 0) != (err != nil) || (c.want >= 0 && len(recs) != c.want) {
			t.Errorf("%s: %d records, %v; want %d", c.name, len(recs), err, c.want)
		}
	}
}

// TestExtend: the root of a log from its frontier and the records after it
// is the root of the whole log, at every split; a wrong frontier is not.
func TestExtend(t *testing.T) {
	var log [][]byte
	for i := range 37 {
		log = append(log, []byte{byte(i), 'r'})
	}
	for split := 0; split <= len(log); split++ {
		want, _ := Root(log)
		fr, err := Frontier(log[:split])
		if err != nil {
			t.Fatal(err)
		}
		got, err := Extend(fr, uint64(split), log[split:])
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("split %d: %x, %v", split, got, err)
		}
		if split > 0 {
			if _, err := Extend(fr[1:], uint64(split), log[split:]); err == nil && len(fr) > 1 {
				t.Fatalf("split %d: a frontier missing a hash was taken", split)
			}
		}
	}
}
