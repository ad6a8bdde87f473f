package devices_test

import (
	"bytes"
	"encoding/hex"
	"testing"

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
