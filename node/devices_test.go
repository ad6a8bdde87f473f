package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// TestDeviceReadingProvenOffline: a patient's wearable commits its log in
// two batches; a reading is proven in a bundle that checks offline
// against the genesis validators, and a tampered reading, a reading moved
// to another place, a tampered entry and an untrusted validator set each
// fail at their own step. A log that dropped a committed reading cannot
// be committed; a stranger cannot read the wearable's batches.
func TestDeviceReadingProvenOffline(t *testing.T) {
	org := newKey(t)
	n, c := startSingle(t, org)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	patient, watch, stranger := newKey(t), newKey(t), newKey(t)
	for _, k := range []ed25519.PrivateKey{patient, stranger} {
		if _, err := c.Send(ctx, k, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RegisterDevice(ctx, patient, watch, "wearable", true); err != nil {
		t.Fatal(err)
	}
	device := ledger.Address(watch.Public().(ed25519.PublicKey))
	logPath := filepath.Join(t.TempDir(), "watch.log")
	record := func(from, n int) {
		for i := from; i < from+n; i++ {
			if err := devices.Append(logPath, devices.Reading{Time: 1_790_000_000 + int64(i)*60, Code: 147842, Value: 60_00 + int64(i)*25}); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit := func() error {
		log, err := devices.ReadLogFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		latest := &devices.Entry{}
		var problem *client.Problem
		if err := c.WithKey(watch).Get(ctx, "/api/v1/devices/"+device+"/latest", latest); errors.As(err, &problem) && problem.Code == devices.ErrUnknownBatch.Name {
			latest = nil
		} else if err != nil {
			t.Fatal(err)
		}
		next, err := devices.Next(log, latest)
		if err != nil {
			return err
		}
		_, err = c.Send(ctx, watch, devices.TypeBatch, next, true)
		return err
	}
	record(0, 3)
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	record(3, 4)
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	log, _ := devices.ReadLogFile(logPath)

	// The patient proves reading 4 (in batch 2), and 1 (in batch 1 and 2).
	p, err := prove.New(ctx, c.WithKey(patient), n.RPCAddr(), prove.TrustRoot{Genesis: n.Comet.GenesisDoc()})
	if err != nil {
		t.Fatal(err)
	}
	chain := n.Comet.GenesisDoc().ChainID
	trusted, err := prove.TrustedValidators(n.Comet.GenesisDoc())
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Bundle(ctx, device, 2, log, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := prove.VerifyBundle(b, chain, trusted)
	if err != nil || got.Reading.Value != 60_00+4*25 || got.Batch.Seq != 2 || got.Signers < 1 {
		t.Fatalf("bundle: %+v, %v", got, err)
	}
	early, err := p.Bundle(ctx, device, 1, log, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prove.VerifyBundle(early, chain, trusted); err != nil {
		t.Fatalf("a reading of the first batch: %v", err)
	}
	if _, err := p.Bundle(ctx, device, 1, log, 4); err == nil {
		t.Fatal("a reading proven in a batch that does not hold it")
	}
	second, err := p.Bundle(ctx, device, 2, log, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A header over a later state (a block that changed it since).
	if _, err := c.Send(ctx, newKey(t), identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	later, err := p.Bundle(ctx, device, 2, log, 4)
	if err != nil {
		t.Fatal(err)
	}
	if later.State.AppHash == b.State.AppHash {
		t.Fatal("the state did not change")
	}
	for _, tc := range []struct {
		name   string
		change func(b *prove.Bundle)
		want   error
	}{
		{"a tampered reading", func(b *prove.Bundle) {
			b.Reading = hexOf(devices.Reading{Time: 1_790_000_240, Code: 147842, Value: 99_00}.Encode())
		}, prove.ErrBundleInclusion},
		{"a reading moved to another place", func(b *prove.Bundle) { b.Index = 3 }, prove.ErrBundleInclusion},
		{"a reading moved to another batch", func(b *prove.Bundle) { *b = *second; b.State = early.State }, prove.ErrBundleInclusion},
		{"a batch that does not hold the reading", func(b *prove.Bundle) { b.State = early.State }, prove.ErrBundleEntry},
		{"an entry under another key", func(b *prove.Bundle) { b.State.Key = devices.BatchKey(device, 1) }, prove.ErrBundleEntry},
		{"a proof of another state", func(b *prove.Bundle) { b.State.Proof = early.State.Proof }, prove.ErrBundleState},
		{"a header of another state", func(b *prove.Bundle) { b.LightBlock = later.LightBlock }, prove.ErrBundleHeader},
		{"not a bundle", func(b *prove.Bundle) { b.Format = "x" }, prove.ErrBundleFormat},
		{"another chain's", func(b *prove.Bundle) { b.ChainID = "primum-staging" }, prove.ErrBundleTrust},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := *b
			tc.change(&bad)
			if _, err := prove.VerifyBundle(&bad, chain, trusted); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := prove.VerifyBundle(b, chain, make([]byte, 32)); !errors.Is(err, prove.ErrBundleTrust) {
		t.Fatalf("validators not trusted: %v", err)
	}

	// A log that dropped its second reading, then grew: refused.
	dropped := append(append([][]byte{}, log[0]), log[2:]...)
	dropped = append(dropped, devices.Reading{Time: 1_790_009_000, Code: 147842, Value: 70_00}.Encode(), devices.Reading{Time: 1_790_009_060, Code: 147842, Value: 71_00}.Encode())
	if _, err := devices.Next(dropped, &devices.Entry{Seq: 2, Size: 7, Root: got.Batch.Root}); !errors.Is(err, devices.ErrInconsistent) {
		t.Fatalf("the client built a batch of a log that dropped a reading: %v", err)
	}
	// Sent anyway, with a proof from the rewritten log's own prefix.
	forged := forgeBatch(t, dropped, 7)
	var problem *client.Problem
	if _, err := c.Send(ctx, watch, devices.TypeBatch, forged, true); !errors.As(err, &problem) || problem.Code != devices.ErrInconsistent.Name {
		t.Fatalf("a rewritten log committed: %v", err)
	}
	// The wearable's batches are the patient's: a stranger reads none, and
	// is answered as for a device without batches.
	var entries []*devices.Entry
	if err := c.WithKey(stranger).Get(ctx, "/api/v1/devices/"+device+"/batches", &entries); !errors.As(err, &problem) || problem.Code != devices.ErrUnknownBatch.Name {
		t.Fatalf("a stranger read the wearable's batches: %v", err)
	}
	if err := c.WithKey(watch).Get(ctx, "/api/v1/devices/"+device+"/latest", new(devices.Entry)); err != nil {
		t.Fatalf("the device its own latest batch: %v", err)
	}
	// A log that is not the device's cannot be bundled.
	if _, err := p.Bundle(ctx, device, 2, dropped, 1); err == nil {
		t.Fatal("a bundle made from another log")
	}
	if err := c.WithKey(patient).Get(ctx, "/api/v1/devices/"+device+"/batches", &entries); err != nil || len(entries) != 2 {
		t.Fatalf("the patient's own: %d, %v", len(entries), err)
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// forgeBatch is a batch of log with a consistency proof from log's own
// first old readings.
func forgeBatch(t *testing.T, log [][]byte, old uint64) devices.Batch {
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
