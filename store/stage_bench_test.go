package store

import (
	"fmt"
	"testing"
)

// BenchmarkStage stages a busy block's writes (new keys, in the random order
// of their hashes) and drops them: the cost a write adds to execution
// before the block is hashed; with a listing of a prefix every 20 writes
// (as shipments of cases list their contents), and without.
func BenchmarkStage(b *testing.B) {
	const per = 20_000
	for _, every := range []int{0, 20} {
		b.Run(fmt.Sprintf("list-every=%d", every), func(b *testing.B) {
			s := mustOpen(b, b.TempDir())
			val := []byte("value")
			keys := make([][]byte, per)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "obj/%016x", uint64(i)*0x9E3779B97F4A7C15)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := s.Staged()
				for i, k := range keys {
					w.Set(k, val)
					if every > 0 && i%every == 0 {
						if err := w.Iterate(k[:8], func(_, _ []byte) bool { return true }); err != nil {
							b.Fatal(err)
						}
					}
				}
				s.Rollback()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/write")
		})
	}
}
