package devices_test

import (
	"encoding/hex"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
)

// A ward's device reporting every minute for a week: 10,080 readings.
const week = 7 * 24 * 60

// BenchmarkVerifyReading checks one reading's inclusion in a week's log
// (target: well under 50 µs).
func BenchmarkVerifyReading(b *testing.B) {
	log := readings(week, 0)
	root, _ := anchor.Root(log)
	p, _ := anchor.Prove(log, 4321)
	b.ResetTimer()
	for range b.N {
		if err := anchor.Verify(log[4321], 4321, week, p, root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBatch is the ledger's check of a batch: an hour's 60
// readings appended to a week's log, its consistency proof verified.
func BenchmarkVerifyBatch(b *testing.B) {
	log := readings(week+60, 0)
	old, _ := anchor.Root(log[:week])
	next, err := devices.Next(log, &devices.Entry{Seq: 1, Size: week, Root: hex.EncodeToString(old)})
	if err != nil {
		b.Fatal(err)
	}
	root, _ := hex.DecodeString(next.Root)
	proof := make([][]byte, len(next.Consistency))
	for i, h := range next.Consistency {
		proof[i], _ = hex.DecodeString(h)
	}
	b.ResetTimer()
	for range b.N {
		if err := anchor.VerifyConsistency(week, week+60, old, root, proof); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildBatch is a device's side: the root and consistency proof
// of a week's log after an hour more.
func BenchmarkBuildBatch(b *testing.B) {
	log := readings(week+60, 0)
	old, _ := anchor.Root(log[:week])
	latest := &devices.Entry{Seq: 1, Size: week, Root: hex.EncodeToString(old)}
	b.ResetTimer()
	for range b.N {
		if _, err := devices.Next(log, latest); err != nil {
			b.Fatal(err)
		}
	}
}
