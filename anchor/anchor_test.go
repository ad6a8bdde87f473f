package anchor

import (
	"bytes"
	"errors"
	"fmt"
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
