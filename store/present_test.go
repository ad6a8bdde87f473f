package store

import (
	"fmt"
	"testing"
)

// TestPresentKeysNeverHideAKey: every key the state held when it opened or
// was written since is a "maybe"; most keys it never held are answered
// absent, once the keys on disk are loaded; filters are added as it fills.
func TestPresentKeysNeverHideAKey(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := func(prefix string, i int) []byte { return fmt.Appendf(nil, "%s/%06d", prefix, i) }
	for i := range 3000 {
		s.Staged().Set(key("old", i), []byte("v"))
	}
	s.Staged().Set([]byte("gone"), []byte("v"))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Staged().Delete([]byte("gone"))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir)
	// A small first filter, so that writes after opening fill it.
	s.present.close()
	s.present = newPresentKeys(uint(s.count), 1000)
	if s.present.absent([]byte("never")) {
		t.Fatal("answered before the keys on disk were loaded")
	}
	it, err := flatKeys(s.db)
	if err != nil {
		t.Fatal(err)
	}
	go s.present.load(it)
	<-s.present.done
	for i := range 5000 {
		s.Staged().Set(key("new", i), []byte("v"))
	}
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.present.filters); n < 2 {
		t.Fatalf("%d filters after 8,000 keys in one sized for 6,000", n)
	}
	for _, c := range []struct {
		prefix string
		n      int
	}{{"old", 3000}, {"new", 5000}} {
		for i := range c.n {
			if k := key(c.prefix, i); s.present.absent(k) {
				t.Fatalf("%s answered absent", k)
			}
			if v, err := s.Committed().Get(key(c.prefix, i)); err != nil || string(v) != "v" {
				t.Fatalf("%s read %q, %v", key(c.prefix, i), v, err)
			}
		}
	}
	if v, err := s.Committed().Get([]byte("gone")); err != nil || v != nil {
		t.Fatalf("deleted key read %q, %v", v, err)
	}
	absent := 0
	for i := range 1000 {
		if s.present.absent(key("never", i)) {
			absent++
		}
		if v, err := s.Committed().Get(key("never", i)); err != nil || v != nil {
			t.Fatalf("never-written key read %q, %v", v, err)
		}
	}
	if absent < 950 {
		t.Fatalf("only %d of 1000 never-written keys answered absent", absent)
	}
}

// BenchmarkCommittedGetAbsent looks up keys the state does not hold, as
// CheckTx does for every new patient, with the filter and without it.
func BenchmarkCommittedGetAbsent(b *testing.B) {
	for _, filter := range []bool{true, false} {
		b.Run(fmt.Sprintf("filter=%v", filter), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			for i := range 100_000 {
				s.Staged().Set(fmt.Appendf(nil, "k/%08d", i), []byte("v"))
			}
			if _, _, err := s.Commit(); err != nil {
				b.Fatal(err)
			}
			s.waitSaved()
			<-s.present.done
			s.present.ready.Store(filter)
			r := s.Committed()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if v, _ := r.Get(fmt.Appendf(nil, "absent/%08d", i)); v != nil {
					b.Fatal("found")
				}
			}
		})
	}
}
