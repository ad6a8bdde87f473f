package docstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/primum-health/primum/records"
)

func mustOpen(tb testing.TB, dir string, u Unsealer) *Store {
	tb.Helper()
	s, err := Open(dir, u)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var sentinel = []byte(`{"resourceType":"Observation","note":"SENTINEL-Zq7xVw3-blood-glucose"}`)

// scan reports whether any file under dir contains needle.
func scan(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

func TestStoreRoundTripAndAtRest(t *testing.T) {
	dir := t.TempDir()
	unseal := mustUnsealer(t, t.TempDir())
	s := mustOpen(t, dir, unseal)
	c, err := s.Put(Meta{ID: "r1", Patient: "p1", Custodian: "h1", Category: "observation", ResourceType: "Observation"}, sentinel)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get("r1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Content, sentinel) || !bytes.Equal(records.Commitment(rec.Salt, rec.Content), c) {
		t.Fatal("round trip or commitment differs")
	}
	if _, err := s.Put(Meta{ID: "r1", Patient: "p1"}, sentinel); !errors.Is(err, ErrExists) {
		t.Fatalf("reusing an id: %v", err)
	}
	term, kek := s.ring.active()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing in clear on disk: not the record, not the KEK.
	if hits := scan(t, dir, []byte("SENTINEL-Zq7xVw3")); len(hits) > 0 {
		t.Fatalf("record in clear in %v", hits)
	}
	if hits := scan(t, dir, kek); len(hits) > 0 {
		t.Fatalf("KEK (term %d) in clear in %v", term, hits)
	}
	// The wrong unseal key does not open the keyring.
	if _, err := Open(dir, mustUnsealer(t, t.TempDir())); !errors.Is(err, ErrSealed) {
		t.Fatalf("wrong unseal key: %v", err)
	}
	s = mustOpen(t, dir, unseal)
	defer s.Close()
	if rec, err := s.Get("r1"); err != nil || !bytes.Equal(rec.Content, sentinel) {
		t.Fatalf("after reopening: %v", err)
	}
}

func TestTamperedCiphertextIsDetected(t *testing.T) {
	s := mustOpen(t, t.TempDir(), mustUnsealer(t, t.TempDir()))
	defer s.Close()
	for _, id := range []string{"a", "b"} {
		if _, err := s.Put(Meta{ID: id, Patient: "p"}, sentinel); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		mangle func()
	}{
		{"flipped byte", func() {
			v, _ := s.get(key(prefixData, "a"))
			v[len(v)-1] ^= 1
			_ = s.db.Set(key(prefixData, "a"), v, nil)
		}},
		{"ciphertext moved from another record", func() {
			v, _ := s.get(key(prefixData, "b"))
			_ = s.db.Set(key(prefixData, "a"), v, nil)
		}},
		{"wrapped key moved from another record", func() {
			v, _ := s.get(key(prefixKey, "b"))
			_ = s.db.Set(key(prefixKey, "a"), v, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.mangle()
			if _, err := s.Get("a"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestEraseShredsKeys(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, mustUnsealer(t, t.TempDir()))
	for _, r := range []struct{ id, patient string }{{"r1", "p1"}, {"r2", "p1"}, {"r3", "p2"}, {"r4", "p1"}} {
		if _, err := s.Put(Meta{ID: r.id, Patient: r.patient}, sentinel); err != nil {
			t.Fatal(err)
		}
	}
	wrapped, _ := s.get(key(prefixKey, "r1"))
	_, kek := s.ring.active()
	// Exactly the records named (r4 is kept, as a record under a retention
	// hold is); one the store does not hold is passed over.
	n, err := s.Erase([]string{"r1", "r2", "r1", "not-held"}, time.Unix(0, 0))
	if err != nil || n != 2 {
		t.Fatalf("erased %d, %v", n, err)
	}
	if n, _ := s.Erase([]string{"r1", "r2"}, time.Unix(0, 0)); n != 0 {
		t.Fatalf("erasing twice erased %d", n)
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := s.Get(id); !errors.Is(err, ErrErased) {
			t.Fatalf("%s: %v", id, err)
		}
	}
	for _, id := range []string{"r3", "r4"} {
		if _, err := s.Get(id); err != nil {
			t.Fatalf("a record not named: %s: %v", id, err)
		}
	}
	// A copy of the wrapped key may linger in a write-ahead log, but the
	// KEK term it was wrapped under is gone from memory and from disk.
	if _, ok := s.ring.term(binary.BigEndian.Uint32(wrapped)); ok {
		t.Fatal("the KEK term of an erased record's key still exists")
	}
	s.Close()
	if hits := scan(t, dir, kek); len(hits) > 0 {
		t.Fatalf("the KEK of erased records is still on disk in %v", hits)
	}
}

func TestRotateKEKKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	unseal := mustUnsealer(t, t.TempDir())
	s := mustOpen(t, dir, unseal)
	if _, err := s.Put(Meta{ID: "r1", Patient: "p"}, sentinel); err != nil {
		t.Fatal(err)
	}
	dataBefore, _ := s.get(key(prefixData, "r1"))
	_, oldKEK := s.ring.active()
	term, err := s.Rotate()
	if err != nil || term != 2 {
		t.Fatalf("rotate: term %d, %v", term, err)
	}
	dataAfter, _ := s.get(key(prefixData, "r1"))
	if !bytes.Equal(dataBefore, dataAfter) {
		t.Fatal("rotation re-encrypted the record")
	}
	s.Close()
	s = mustOpen(t, dir, unseal)
	defer s.Close()
	if _, ok := s.ring.term(1); ok {
		t.Fatal("old KEK term kept after rotation")
	}
	if rec, err := s.Get("r1"); err != nil || !bytes.Equal(rec.Content, sentinel) {
		t.Fatalf("after rotation: %v", err)
	}
	if _, err := s.Put(Meta{ID: "r2", Patient: "p"}, sentinel); err != nil {
		t.Fatal(err)
	}
	if hits := scan(t, dir, oldKEK); len(hits) > 0 {
		t.Fatalf("old KEK on disk in %v", hits)
	}
}

// TestMatching: the store tells which records hold a content already, in
// the form the caller gives (here: spaces do not count), each record once,
// never an erased one nor one the caller does not keep, and answers ids
// only.
func TestMatching(t *testing.T) {
	s := mustOpen(t, t.TempDir(), mustUnsealer(t, t.TempDir()))
	t.Cleanup(func() { s.Close() })
	for _, r := range []struct{ id, patient, content string }{
		{"a1", "p", "A"}, {"a2", "p", "A"}, {"b1", "p", "B"}, {"c1", "p", "C"}, {"d1", "p", "D"}, {"a3", "q", "A"},
	} {
		if _, err := s.Put(Meta{ID: r.id, Patient: r.patient, Custodian: "h"}, []byte(r.content)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Erase([]string{"c1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	form := func(b []byte) ([]byte, error) {
		if bytes.Contains(b, []byte("!")) {
			return nil, errors.New("no form")
		}
		return bytes.ReplaceAll(b, []byte(" "), nil), nil
	}
	keep := func(m Meta) bool { return m.ID != "d1" }
	got, err := s.Matching("p", [][]byte{[]byte(" A"), []byte("B "), []byte("A"), []byte("A"), []byte("C"), []byte("D"), []byte("E")}, form, keep)
	if err != nil {
		t.Fatal(err)
	}
	// Two records hold A: two of the three A's find one each.
	if got[0] == got[2] || got[0] == "" || got[2] == "" || got[0][0] != 'a' || got[2][0] != 'a' || got[0] == "a3" || got[2] == "a3" ||
		got[1] != "b1" || got[3] != "" || got[4] != "" || got[5] != "" || got[6] != "" {
		t.Fatalf("matching: %q", got)
	}
	if _, err := s.Matching("p", [][]byte{[]byte("!")}, form, keep); err == nil {
		t.Fatal("a content without a form matched")
	}
}

// TestPatients: each patient with records here once, in key order, a
// patient whose pseudonym is another's prefix included.
func TestPatients(t *testing.T) {
	s := mustOpen(t, t.TempDir(), mustUnsealer(t, t.TempDir()))
	if ps, err := s.Patients(); err != nil || len(ps) != 0 {
		t.Fatalf("an empty store: %v, %v", ps, err)
	}
	for _, r := range []struct{ id, patient string }{{"r1", "p1"}, {"r2", "p10"}, {"r3", "p1"}, {"r4", "p2"}, {"r5", "p10"}} {
		if _, err := s.Put(Meta{ID: r.id, Patient: r.patient}, sentinel); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := s.Patients()
	if err != nil || !slices.Equal(ps, []string{"p1", "p10", "p2"}) {
		t.Fatalf("patients %v, %v", ps, err)
	}
}
