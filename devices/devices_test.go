package devices_test

import (
	"encoding/hex"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
)

func readings(n int, from int64) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = devices.Reading{Time: 1_790_000_000 + from + int64(i)*60, Code: 147842, Value: 60_00 + int64(i)*10}.Encode()
	}
	return out
}

// TestBatches: a device commits its log in batches, each consistent with
// the one before; a log that dropped or rewrote a committed reading, that
// shrinks, or a batch not signed by a device, is refused with its own
// code and changes nothing.
func TestBatches(t *testing.T) {
	w := moduletest.New(t, devices.Declare(), identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.Commit()
	w.AddPatient("alice")
	w.AddDevice("watch", "alice", "wearable")
	w.AddDevice("pump", "hosp", "infusion_pump")
	log := readings(5, 0)
	first, err := devices.Next(log[:3], nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := devices.Next(log, &devices.Entry{Seq: 1, Size: 3, Root: first.Root})
	if err != nil || len(second.Consistency) == 0 {
		t.Fatalf("%+v %v", second, err)
	}
	// A log whose second reading was dropped, then grown: its batch
	// carries a proof from its own prefix, which is not the committed one.
	dropped := append(append([][]byte{}, log[0]), log[2:]...)
	dropped = append(dropped, readings(3, 9_000)...)
	forged := forge(t, dropped, 3)
	latest := func(want uint64) func(t *testing.T) {
		return func(t *testing.T) {
			e, err := devices.Latest(w.St.Committed(), w.ID("watch"))
			if err != nil || e == nil || e.Size != want {
				t.Fatalf("latest %+v %v; want size %d", e, err, want)
			}
		}
	}
	steps := []struct {
		name, as string
		body     any
		want     error
		then     func(t *testing.T)
	}{
		{"an organisation signs no batch", "hosp", *first, ledger.ErrUnauthorized, nil},
		{"a first batch with a proof", "watch", devices.Batch{Size: 3, Root: first.Root, Consistency: second.Consistency}, devices.ErrBadBatch, nil},
		{"a root that is not hex", "watch", devices.Batch{Size: 3, Root: "zz"}, devices.ErrBadBatch, nil},
		{"an empty log", "watch", devices.Batch{Size: 0, Root: first.Root}, devices.ErrBadBatch, nil},
		{"the first batch", "watch", *first, nil, func(t *testing.T) {
			latest(3)(t)
			e, _ := devices.GetBatch(w.St.Committed(), w.ID("watch"), 1)
			if e.Owner != w.ID("alice") || e.OwnerKind != "patient" || e.From != 0 {
				t.Fatalf("entry %+v", e)
			}
		}},
		{"the same size again", "watch", *first, devices.ErrShrinking, latest(3)},
		{"a log that dropped a committed reading", "watch", forged, devices.ErrInconsistent, latest(3)},
		{"a wrong proof", "watch", devices.Batch{Size: 5, Root: second.Root, Consistency: []string{first.Root}}, devices.ErrInconsistent, latest(3)},
		{"the second batch", "watch", *second, nil, func(t *testing.T) {
			latest(5)(t)
			e, _ := devices.GetBatch(w.St.Committed(), w.ID("watch"), 2)
			if e.Seq != 2 || e.From != 3 || e.Root != second.Root {
				t.Fatalf("entry %+v", e)
			}
		}},
		{"an organisation's device", "pump", *first, nil, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, devices.TypeBatch, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
	// Every reading of the log is provable against the second batch.
	root, _ := hex.DecodeString(second.Root)
	for i := range log {
		p, err := anchor.Prove(log, uint64(i))
		if err != nil || anchor.Verify(log[i], uint64(i), 5, p, root) != nil {
			t.Fatalf("reading %d: %v", i, err)
		}
	}
}

// forge is a batch of log with a consistency proof from log's own first
// old readings (which differ from what was committed).
func forge(t *testing.T, log [][]byte, old uint64) devices.Batch {
	t.Helper()
	root, _ := anchor.Root(log)
	p, err := anchor.ProveConsistency(log, old)
	if err != nil {
		t.Fatal(err)
	}
	b := devices.Batch{Size: uint64(len(log)), Root: hex.EncodeToString(root)}
	for _, h := range p {
		b.Consistency = append(b.Consistency, hex.EncodeToString(h))
	}
	return b
}

func TestReadings(t *testing.T) {
	for _, c := range []struct {
		name string
		r    devices.Reading
		ok   bool
	}{
		{"a heart rate", devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 72_00}, true},
		{"an SpO2", devices.Reading{Time: 1_790_000_000, Code: 150456, Value: 97_50}, true},
		{"an unknown code", devices.Reading{Time: 1_790_000_000, Code: 1, Value: 1}, false},
		{"an impossible heart rate", devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 900_00}, false},
		{"a negative SpO2", devices.Reading{Time: 1_790_000_000, Code: 150456, Value: -1}, false},
		{"a time in 1970", devices.Reading{Time: 0, Code: 147842, Value: 72_00}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := devices.Decode(c.r.Encode())
			if (err == nil) != c.ok || (c.ok && got != c.r) {
				t.Fatalf("decode: %+v %v", got, err)
			}
		})
	}
	if _, err := devices.Decode([]byte{2, 0}); err == nil {
		t.Fatal("a short reading of another version decoded")
	}
}
