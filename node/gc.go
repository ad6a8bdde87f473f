package node

import (
	"os"
	"runtime/debug"
)

// TuneGC lets a node's heap grow to three times what is live before Go
// collects (GOGC=200 instead of 100) unless GOGC is set: most of that heap is
// long-lived caches (state tree nodes, flat read cache) that every collection
// scans again, and under load the collector took about a fifth of the node's
// CPU. A soft memory limit of 1200 MiB (unless GOMEMLIMIT is set) makes the
// collector work harder rather than let garbage pile up when a burst of
// writes (a million packs commissioned) churns the heap: that run peaked at
// 2.0 GB without it and stayed near 1.3 GB with it, at the same speed
// (docs/performance.md). Raise GOMEMLIMIT with the caches. It sets the
// process's collector: a program that runs a node calls it once, first.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1200 << 20)
	}
}
