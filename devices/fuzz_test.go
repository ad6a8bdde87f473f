package devices_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
)

// FuzzLog: a device's log file never panics the reader, and every reading
// it accepts is plausible and encodes back to the same bytes.
func FuzzLog(f *testing.F) {
	good := devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 72_00}.Encode()
	f.Add([]byte(hex.EncodeToString(good) + "\n"))
	f.Add([]byte(hex.EncodeToString(good) + "\n\n" + hex.EncodeToString(good)))
	f.Add([]byte("zz\n"))
	f.Add([]byte("01" + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := devices.ReadLog(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, b := range log {
			r, err := devices.Decode(b)
			if err != nil || r.Check() != nil || !bytes.Equal(r.Encode(), b) {
				t.Fatalf("accepted %x: %+v %v", b, r, err)
			}
		}
	})
}

// FuzzCheckUpload: an upload of a batch's readings (the JSON a device
// sends its keeper) never panics the keeper, and one it accepts is exactly
// the batch: as many plausible readings as it added, whose leaves lead
// from the frontier to its root.
func FuzzCheckUpload(f *testing.F) {
	var log [][]byte
	for i := range 5 {
		log = append(log, devices.Reading{Time: 1_790_000_000 + int64(i)*60, Code: 147842, Value: 60_00 + int64(i)}.Encode())
	}
	root := func(n int) string { r, _ := anchor.Root(log[:n]); return hex.EncodeToString(r) }
	prev := &devices.Entry{Seq: 1, Size: 2, Root: root(2)}
	e := &devices.Entry{Seq: 2, From: 2, Size: 5, Root: root(5)}
	good, _ := devices.UploadOf(log, e)
	seed, _ := json.Marshal(good)
	f.Add(seed)
	f.Add([]byte(`{"readings":["zz"]}`))
	f.Add([]byte(`{"frontier":["` + root(1) + `"],"readings":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u devices.Upload
		if json.Unmarshal(data, &u) != nil {
			return
		}
		rs, err := devices.CheckUpload(&u, e, prev)
		if err != nil {
			return
		}
		if len(rs) != 3 {
			t.Fatalf("accepted %d readings for a batch of 3", len(rs))
		}
		for i, r := range rs {
			if !bytes.Equal(r.Encode(), log[2+i]) {
				t.Fatalf("accepted reading %d: %+v", i, r)
			}
		}
	})
}
