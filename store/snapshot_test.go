package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/primum-health/primum/store/stateproof"
)

// exportAll reads an export's pairs.
func exportAll(t *testing.T, e *Export) (keys, values [][]byte) {
	t.Helper()
	if err := e.Each(func(k, v []byte) error {
		keys, values = append(keys, bytes.Clone(k)), append(values, bytes.Clone(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys, values
}

// TestExportImport restores one store's version into another: the same app
// hash, the same reads and proofs, and later blocks build on it as on the
// original; the export stays the version it pinned while blocks go on.
func TestExportImport(t *testing.T) {
	src := mustOpen(t, t.TempDir())
	for v := range 5 {
		w := src.Staged()
		for i := range 2000 {
			w.Set(fmt.Appendf(nil, "k/%05d", (i*7+v)%3000), fmt.Appendf(nil, "v%d-%d", v, i))
		}
		w.Delete(fmt.Appendf(nil, "k/%05d", v))
		if _, _, err := src.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := src.Export()
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	if exp.Version != 5 || !bytes.Equal(exp.Hash, src.Hash()) {
		t.Fatalf("export of version %d %X, store at %d %X", exp.Version, exp.Hash, src.Version(), src.Hash())
	}
	// A block after the export does not reach it.
	src.Staged().Set([]byte("k/later"), []byte("x"))
	if _, _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	keys, values := exportAll(t, exp)
	if uint64(len(keys)) != exp.Count {
		t.Fatalf("%d keys exported, the version has %d", len(keys), exp.Count)
	}

	dst := mustOpen(t, t.TempDir())
	if err := dst.BeginImport(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(keys); i += 700 {
		j := min(i+700, len(keys))
		if err := dst.ImportPairs(keys[i:j], values[i:j]); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.FinishImport(exp.Version, exp.Hash); err != nil {
		t.Fatal(err)
	}
	if dst.Version() != 5 || !bytes.Equal(dst.Hash(), exp.Hash) {
		t.Fatalf("restored %d %X", dst.Version(), dst.Hash())
	}
	got, err := dst.Committed().Get([]byte("k/00010"))
	want, _ := src.Committed().Get([]byte("k/00010"))
	if err != nil || !bytes.Equal(got, want) || got == nil {
		t.Fatalf("restored k/00010 = %q, %v; want %q", got, err, want)
	}
	value, proof, _, root, err := dst.Proof([]byte("k/00010"))
	if err != nil || !bytes.Equal(value, want) || !stateproof.Verify(proof, root, []byte("k/00010"), value, true) {
		t.Fatalf("proof from the restored store: %v", err)
	}
	// The same next block gives the same app hash on both.
	for _, s := range []*Store{src, dst} {
		if s == dst {
			s.Staged().Set([]byte("k/later"), []byte("x"))
		}
		s.Staged().Set([]byte("k/next"), []byte("y"))
		s.Staged().Delete([]byte("k/00011"))
	}
	h1, _, _ := src.Commit()
	h2, v2, _ := dst.Commit()
	if !bytes.Equal(h1, h2) || v2 != 6 {
		t.Fatalf("next block: %X on the original, %X (v%d) on the restored", h1, h2, v2)
	}
}

// TestImportRefusals: a state that does not hash to the app hash is
// refused, keys must ascend, and only an empty store can be restored into;
// a refused restore is dropped by the next.
func TestImportRefusals(t *testing.T) {
	src := mustOpen(t, t.TempDir())
	for i := range 100 {
		src.Staged().Set(fmt.Appendf(nil, "k/%03d", i), []byte("v"))
	}
	src.Commit()
	exp, err := src.Export()
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	keys, values := exportAll(t, exp)

	dst := mustOpen(t, t.TempDir())
	if err := dst.BeginImport(); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(values[3])
	tampered[0] ^= 1
	bad := append(append(append([][]byte{}, values[:3]...), tampered), values[4:]...)
	if err := dst.ImportPairs(keys, bad); err != nil {
		t.Fatal(err)
	}
	if err := dst.FinishImport(exp.Version, exp.Hash); !errors.Is(err, ErrImportHash) {
		t.Fatalf("tampered state: %v", err)
	}
	if err := dst.BeginImport(); err != nil {
		t.Fatal(err)
	}
	if err := dst.ImportPairs([][]byte{keys[1], keys[0]}, [][]byte{values[1], values[0]}); err == nil {
		t.Fatal("keys out of order were imported")
	}
	if err := dst.BeginImport(); err != nil {
		t.Fatal(err)
	}
	if err := dst.ImportPairs(keys, values); err != nil {
		t.Fatal(err)
	}
	if err := dst.FinishImport(exp.Version, exp.Hash); err != nil {
		t.Fatalf("the restore after refused ones: %v", err)
	}
	if err := dst.BeginImport(); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over a state: %v", err)
	}
}
