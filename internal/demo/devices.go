package demo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/ledger"
)

// DeviceLogs is where the demo's devices keep their logs, under the demo
// home: the files a device (or its gateway) keeps, which the tour proves
// readings from.
const DeviceLogs = "demo/devices"

// demoDevice is a device of the demo: its name (its key's), its owner, its
// type, and the readings of each of its batches (made once, then read back
// from its log).
type demoDevice struct {
	name, owner, kind, log string
	// keeper keeps a wearable's readings (its owner names it).
	keeper  string
	batches []func(start time.Time) []devices.Reading
}

// deviceReadings: Patient 1's watch (a wearable: its batches are Patient
// 1's to read) with two batches, the second consistent with the first,
// whose readings St Luke's keeps as Patient 1's records; and St Luke's ward
// monitor with one batch of an hour of minute readings.
func deviceReadings(ctx context.Context, env *Env) error {
	minutes := func(code uint32, from, n int, value func(i int) int64) func(time.Time) []devices.Reading {
		return func(start time.Time) []devices.Reading {
			out := make([]devices.Reading, n)
			for i := range n {
				out[i] = devices.Reading{Time: start.Add(time.Duration(from+i) * time.Minute).Unix(), Code: code, Value: value(from + i)}
			}
			return out
		}
	}
	list := []demoDevice{
		{"Patient 1 watch", "Patient 1", "wearable", "patient-1-watch.log", "St Luke's Hospital", []func(time.Time) []devices.Reading{
			minutes(147842, 0, 30, func(i int) int64 { return 6800 + int64(i%9)*100 }),
			minutes(150456, 30, 30, func(i int) int64 { return 9650 + int64(i%4)*50 }),
		}},
		{"St Luke's ward 3 monitor", "St Luke's Hospital", "patient-monitor", "ward-3-monitor.log", "", []func(time.Time) []devices.Reading{
			minutes(147842, 0, 60, func(i int) int64 { return 7200 + int64(i%11)*100 }),
		}},
	}
	dir := filepath.Join(env.Home, DeviceLogs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	for _, d := range list {
		if err := d.run(ctx, env, filepath.Join(dir, d.log), start); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return nil
}

// run registers the device if it is not, writes the readings of its
// batches not yet in its log, and commits each batch the ledger lacks.
func (d demoDevice) run(ctx context.Context, env *Env, path string, start time.Time) error {
	owner, err := env.Key(d.owner)
	if err != nil {
		return err
	}
	key, err := env.Key(d.name)
	if err != nil {
		return err
	}
	id := ledger.Address(key.Public().(ed25519.PublicKey))
	if done, err := env.registered(ctx, key); err != nil {
		return err
	} else if !done {
		if _, err := env.Client.RegisterDevice(ctx, owner, key, d.kind, true); err != nil {
			return err
		}
	}
	log, err := devices.ReadLogFile(path)
	if os.IsNotExist(err) {
		log, err = nil, nil
	}
	if err != nil {
		return err
	}
	// The device reads its own batches (a wearable's are its patient's and
	// its own to read).
	c := env.Client.WithKey(key)
	size := 0
	for seq, batch := range d.batches {
		rs := batch(start)
		size += len(rs)
		if len(log) < size {
			if err := devices.Append(path, rs[len(log)-(size-len(rs)):]...); err != nil {
				return err
			}
			if log, err = devices.ReadLogFile(path); err != nil {
				return err
			}
		}
		var latest devices.Entry
		if err := c.Get(ctx, fmt.Sprintf("/api/v1/devices/%s/latest", id), &latest); absent(err) != nil {
			return err
		}
		if latest.Seq > uint64(seq) {
			continue // committed before
		}
		var prev *devices.Entry
		if latest.Seq > 0 {
			prev = &latest
		}
		b, err := devices.Next(log[:size], prev)
		if err != nil {
			return err
		}
		if _, err := env.Client.Send(ctx, key, devices.TypeBatch, b, true); err != nil {
			return err
		}
	}
	if d.keeper == "" {
		return nil
	}
	// The patient names the keeper once; the watch uploads what it does
	// not keep yet (this node holds the keeper's key).
	var k devices.Keeper
	if err := c.Get(ctx, fmt.Sprintf("/api/v1/devices/%s/keeper", id), &k); absent(err) != nil {
		return err
	}
	if k.Keeper == "" {
		keeper, err := env.Key(d.keeper)
		if err != nil {
			return err
		}
		// The keeper keeps wearables' readings, up to one a second a
		// wearable, before any patient can name it.
		if _, err := env.Client.Send(ctx, keeper, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}, true); err != nil {
			return err
		}
		if _, err := env.Client.Send(ctx, owner, devices.TypeKeeper, devices.Keep{Device: id, Keeper: ledger.Address(keeper.Public().(ed25519.PublicKey))}, true); err != nil {
			return err
		}
	}
	// Kept already if the keeper said so of the latest batch.
	var latest devices.Entry
	if err := c.Get(ctx, fmt.Sprintf("/api/v1/devices/%s/latest", id), &latest); err != nil {
		return err
	}
	if err := c.Get(ctx, fmt.Sprintf("/api/v1/devices/%s/kept/%d", id, latest.Seq), &devices.KeptBatch{}); absent(err) != nil {
		return err
	} else if err == nil {
		return nil
	}
	_, err = c.KeepLog(ctx, id, log, c)
	return err
}
