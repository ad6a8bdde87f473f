package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/records"
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
		if w.streams[d], _, _, err = signBatches(chainID, key, d, perDevice, 147842); err != nil {
			return nil, err
		}
	}
	if len(w.streams[0]) == 0 {
		return nil, fmt.Errorf("no device batches")
	}
	return w, nil
}

// signBatches signs device key's first n batches of an hour's readings of
// code each (the d-th device's values), and answers them with the log
// they commit and each batch as the ledger will have it.
func signBatches(chainID string, key ed25519.PrivateKey, d, n int, code uint32) (txs, log [][]byte, entries []devices.Entry, err error) {
	var latest *devices.Entry
	for b := range n {
		for m := range ReadingsPerBatch {
			minute := int64(b*ReadingsPerBatch + m)
			log = append(log, devices.Reading{Time: 1_790_000_000 + minute*60, Code: code, Value: 60_00 + (minute*37+int64(d))%4000}.Encode())
		}
		next, err := devices.Next(log, latest)
		if err != nil {
			return nil, nil, nil, err
		}
		raw, err := envelope.Build(chainID, key, uint64(b), devices.TypeBatch, next)
		if err != nil {
			return nil, nil, nil, err
		}
		txs = append(txs, raw)
		e := devices.Entry{Seq: uint64(b + 1), Size: next.Size, Root: next.Root}
		if latest != nil {
			e.From = latest.Size
		}
		entries = append(entries, e)
		latest = &e
	}
	return txs, log, entries, nil
}

// Wearables: patients' watches commit an hour of heart rate a batch and
// upload each batch's readings to the keeper their patient named (a
// clinic, admitted by admitMembers, whose key the first node holds for a
// service token), whose node keeps them as the patient's records and
// indexes them on the ledger itself (records.register, then
// devices.kept): the upload is the device's, the two transactions are
// the keeper's node's. Meanwhile more patients name that clinic keeper of
// their wearables.
const benchWearables = 8

type wearablesWorkload struct {
	keeper  ed25519.PublicKey
	keys    []ed25519.PrivateKey // the watches uploading
	streams [][][]byte           // their batches, in nonce order
	logs    [][][]byte           // their readings
	entries [][]devices.Entry    // their batches as the ledger has them
	namings [][]byte             // patients naming the keeper (one signer each: the pool)
}

// prepareWearables has the node at home hold the keeper's key (a service
// token's), registers benchWearables patients and their watches, each
// watch kept by the keeper from the start with n batches to commit and
// upload, and namings more patients with a watch each, whose naming of the
// keeper is in the run.
func prepareWearables(ctx context.Context, c *client.Client, chainID, home string, n, namings int, progress func(string, ...any)) (*wearablesWorkload, error) {
	keeper := benchKey("wearables-keeper", 0)
	if _, err := keyring.Dir(filepath.Join(home, "keys")).Import("bench-clinic", keeper, "", true); err != nil {
		return nil, err
	}
	if _, _, err := tokens.Create(home, filepath.Join("keys", "bench-clinic.json"), []string{tokens.ScopeRead}, 24*time.Hour, "wearables' keeper", time.Now()); err != nil {
		return nil, err
	}
	// The clinic keeps wearables' readings, as many as it may (a long run
	// uploads more than a day's worth at a reading a second).
	info, err := c.Self(ctx, keeper)
	if err != nil {
		return nil, err
	}
	raw, err := envelope.Build(chainID, keeper, info.Nonce, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: devices.MaxReadingsPerDay})
	if err != nil {
		return nil, err
	}
	if err := submitRetrying(ctx, c, raw); err != nil {
		return nil, err
	}
	perWatch := max(1, n/benchWearables)
	progress("registering %d patients with a watch, %d of them kept by the hospital, %d batches of %d readings to upload…",
		benchWearables+namings, benchWearables, perWatch*benchWearables, ReadingsPerBatch)
	w := &wearablesWorkload{keeper: keeper.Public().(ed25519.PublicKey)}
	patients := make([]ed25519.PrivateKey, benchWearables+namings)
	watches := make([]ed25519.PrivateKey, len(patients))
	step := func(build func(i int) ([]byte, error)) error {
		var last []byte
		for i := range patients {
			raw, err := build(i)
			if err != nil {
				return err
			}
			if raw == nil {
				continue
			}
			if err := submitRetrying(ctx, c, raw); err != nil {
				return err
			}
			last = raw
		}
		return waitCommitted(ctx, c, last)
	}
	if err := step(func(i int) ([]byte, error) {
		patients[i], watches[i] = benchKey("wearable-patient", i), benchKey("wearable", i)
		return envelope.Build(chainID, patients[i], 0, identity.TypeRegisterPatient, struct{}{})
	}); err != nil {
		return nil, err
	}
	if err := step(func(i int) ([]byte, error) {
		return envelope.Build(chainID, patients[i], 1, identity.TypeRegisterDevice, identity.RegisterDevice{Key: hex.EncodeToString(watches[i].Public().(ed25519.PublicKey)),
			DeviceType: "smartwatch", Proof: identity.ProvePossession(watches[i], chainID, identity.ProofDevice, benchAddr(patients[i]))})
	}); err != nil {
		return nil, err
	}
	name := func(i int) ([]byte, error) {
		return envelope.Build(chainID, patients[i], 2, devices.TypeKeeper, devices.Keep{Device: benchAddr(watches[i]), Keeper: benchAddr(keeper)})
	}
	if err := step(func(i int) ([]byte, error) {
		if i >= benchWearables {
			return nil, nil
		}
		return name(i)
	}); err != nil {
		return nil, err
	}
	for i := benchWearables; i < len(patients); i++ {
		raw, err := name(i)
		if err != nil {
			return nil, err
		}
		w.namings = append(w.namings, raw)
	}
	for i, key := range watches[:benchWearables] {
		txs, log, entries, err := signBatches(chainID, key, i, perWatch, 147842)
		if err != nil {
			return nil, err
		}
		w.keys, w.streams, w.logs, w.entries = append(w.keys, key), append(w.streams, txs), append(w.logs, log), append(w.entries, entries)
	}
	return w, nil
}

// upload has each watch upload each of its batches to the keeper's node
// (api) once committed, until ctx ends, telling done of each upload.
func (w *wearablesWorkload) upload(ctx context.Context, api string, done func(readings int, took time.Duration, err error)) {
	c := client.New(api)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, key := range w.keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			device := benchAddr(key)
			dc := c.WithKey(key)
			for b, raw := range w.streams[i] {
				if err := waitCommitted(ctx, c, raw); err != nil {
					if ctx.Err() == nil {
						done(0, 0, err)
					}
					return
				}
				e := w.entries[i][b]
				u, err := devices.UploadOf(w.logs[i], &e)
				if err != nil {
					done(0, 0, err)
					return
				}
				start := time.Now()
				for {
					_, err = dc.KeepReadings(ctx, device, e.Seq, u)
					var p *client.Problem
					if ctx.Err() != nil {
						return
					}
					if errors.As(err, &p) && (p.Code == "rate_limited" || p.Code == "mempool_full") {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					break
				}
				done(int(e.Size-e.From), time.Since(start), err)
			}
		}()
	}
}

// caused names the transactions the keeper's node signs for an upload.
func (w *wearablesWorkload) caused(tx *envelope.Tx) bool {
	return tx.Signer.Equal(w.keeper) && (tx.Type == records.TypeRegister || tx.Type == devices.TypeKept)
}
