package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkHashLargeState measures the app hash of a block (2,000 or 20,000
// writes, half new keys, half rewrites of random ones) over a state of a
// million keys whose hash index is mostly on disk: the rebuild of the
// buckets the block changes, timed alone.
func BenchmarkHashLargeState(b *testing.B) {
	for _, per := range []int{2000, 20_000} {
		b.Run(fmt.Sprintf("writes=%d", per), func(b *testing.B) { benchmarkHashLargeState(b, per) })
	}
}

func benchmarkHashLargeState(b *testing.B, per int) {
	const initial = 1_000_000
	s := openLargeState(b, 64, initial, 20_000)
	key, val, n := largeStateKey, largeStateValue, uint64(initial)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		b.StopTimer()
		s.waitSaved()
		w, committed := s.Staged(), n
		for i := 0; i < per; i += 2 {
			w.Set(key(n), val)
			n++
			w.Set(key(rng.Uint64N(committed)), val)
		}
		b.StartTimer()
		s.WorkingHash()
		b.StopTimer()
		if _, _, err := s.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per)/1000, "µs/write")
}
