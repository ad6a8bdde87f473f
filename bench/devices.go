package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
)

// A ward's devices: each reports a reading a minute and commits an hour
// of them a batch — one small transaction per device per batch, however
// many readings it represents.
const (
	benchDevices     = 20
	ReadingsPerBatch = 60
)

// devicesWorkload is each device's batches, in its nonce order.
type devicesWorkload struct {
	streams [][][]byte
}

// prepareDevices registers the ward's devices (by the capacity hospital,
// admitted by admitMembers) and signs each one's batches, n in all: each
// an hour's readings more, with its consistency proof.
func prepareDevices(ctx context.Context, c *client.Client, chainID string, n int, progress func(string, ...any)) (*devicesWorkload, error) {
	perDevice := max(1, n/benchDevices)
	progress("registering %d devices, %d batches of %d readings…", benchDevices, perDevice*benchDevices, ReadingsPerBatch)
	hospital := benchKey("capacity-hospital", 0)
	owner, err := c.Self(ctx, hospital)
	if err != nil {
		return nil, err
	}
	nonce := owner.Nonce
	var last []byte
	keys := make([]ed25519.PrivateKey, benchDevices)
	for i := range keys {
		keys[i] = benchKey("ward-device", i)
		raw, err := envelope.Build(chainID, hospital, nonce, identity.TypeRegisterDevice, identity.RegisterDevice{Key: hex.EncodeToString(keys[i].Public().(ed25519.PublicKey)),
			DeviceType: "vital-signs-monitor", Proof: identity.ProvePossession(keys[i], chainID, identity.ProofDevice, owner.Identity.ID)})
		if err != nil {
			return nil, err
		}
		nonce++
		if err := submitRetrying(ctx, c, raw); err != nil {
			return nil, err
		}
		last = raw
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	w := &devicesWorkload{streams: make([][][]byte, benchDevices)}
	for d, key := range keys {
		var log [][]byte
		var latest *devices.Entry
		for b := range perDevice {
			for m := range ReadingsPerBatch {
				minute := int64(b*ReadingsPerBatch + m)
				log = append(log, devices.Reading{Time: 1_790_000_000 + minute*60, Code: 147842, Value: 60_00 + (minute*37+int64(d))%4000}.Encode())
			}
			next, err := devices.Next(log, latest)
			if err != nil {
				return nil, err
			}
			raw, err := envelope.Build(chainID, key, uint64(b), devices.TypeBatch, next)
			if err != nil {
				return nil, err
			}
			w.streams[d] = append(w.streams[d], raw)
			latest = &devices.Entry{Seq: uint64(b + 1), Size: next.Size, Root: next.Root}
		}
	}
	if len(w.streams[0]) == 0 {
		return nil, fmt.Errorf("no device batches")
	}
	return w, nil
}
