package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/klauspost/compress/zstd"

	"github.com/primum-health/primum/identity"
)

// waitSnapshot waits until the app's snapshot folder lists a snapshot of
// height h (they are written in the background; a large state's takes
// seconds).
func waitSnapshot(t testing.TB, a *App, h uint64) *abci.Snapshot {
	t.Helper()
	for range 60_000 {
		res, err := a.ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Snapshots {
			if s.Height == h {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no snapshot of height %d was taken", h)
	return nil
}

// snapshotChain runs a chain with patients over several blocks, taking a
// snapshot every 3 blocks and keeping 2.
func snapshotChain(t *testing.T) (*harness, *abci.Snapshot) {
	t.Helper()
	h := newHarness(t)
	if err := h.app.EnableSnapshots(SnapshotOptions{Dir: filepath.Join(t.TempDir(), "snapshots"), Interval: 3, Keep: 2}); err != nil {
		t.Fatal(err)
	}
	for b := range 7 {
		var txs [][]byte
		for i := range 40 {
			txs = append(txs, h.tx(testKey(fmt.Sprintf("patient-%d-%d", b, i)), identity.TypeRegisterPatient, struct{}{}))
		}
		h.mustOK(txs...)
		if h.height%3 == 0 {
			waitSnapshot(t, h.app, uint64(h.height))
		}
	}
	return h, waitSnapshot(t, h.app, 6)
}

// restoreInto offers snap to a and applies its chunks as CometBFT's
// syncer would, loading them from src; it answers the last result.
func restoreInto(t *testing.T, a, src *App, snap *abci.Snapshot, appHash []byte, alter func(i int, chunk []byte) []byte) (abci.OfferSnapshotResult, abci.ApplySnapshotChunkResult) {
	t.Helper()
	ctx := context.Background()
	offer, err := a.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: snap, AppHash: appHash})
	if err != nil {
		t.Fatal(err)
	}
	if offer.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		return offer.Result, 0
	}
	var last abci.ApplySnapshotChunkResult
	for i := range snap.Chunks {
		c, err := src.LoadSnapshotChunk(ctx, &abci.LoadSnapshotChunkRequest{Height: snap.Height, Format: snap.Format, Chunk: i})
		if err != nil || len(c.Chunk) == 0 {
			t.Fatalf("chunk %d: %v", i, err)
		}
		chunk := c.Chunk
		if alter != nil {
			chunk = alter(int(i), chunk)
		}
		res, err := a.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: i, Chunk: chunk, Sender: "peer"})
		if err != nil {
			t.Fatal(err)
		}
		if last = res.Result; last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			return offer.Result, last
		}
	}
	return offer.Result, last
}

// TestSnapshotRestore: a node restored from another's snapshot reports the
// snapshot's height and app hash, reads the same state, and executes the
// next block to the same app hash as the node it came from.
func TestSnapshotRestore(t *testing.T) {
	src, snap := snapshotChain(t)
	// Snapshots are kept as configured: 3 was pruned once 6 was taken.
	if list, _ := src.app.ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{}); len(list.Snapshots) != 2 {
		t.Fatalf("snapshots kept: %d, want 2", len(list.Snapshots))
	}
	// The app hash of height 6 is in block 7's header: the harness's store
	// is at 7, so ask a restored copy of height 6 for it by the metadata.
	m, err := parseMeta(snap.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	dst := openHarness(t, t.TempDir(), false)
	if o, c := restoreInto(t, dst.app, src.app, snap, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_ACCEPT || c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restore: offer %v, last chunk %v", o, c)
	}
	info, _ := dst.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != 6 || !bytes.Equal(info.LastBlockAppHash, m.AppHash) {
		t.Fatalf("restored info: %d %X, want 6 %X", info.LastBlockHeight, info.LastBlockAppHash, m.AppHash)
	}
	if dst.app.ChainID() != testChain || !dst.app.LastBlockTime().Equal(m.BlockTime) {
		t.Fatalf("restored chain %q at %v", dst.app.ChainID(), dst.app.LastBlockTime())
	}
	if got := dst.identity(testKey("patient-5-39")); got.Kind != "patient" {
		t.Fatalf("a patient of block 6: %+v", got)
	}
	// Block 7, executed on the restored node, gives the source's app hash.
	var block7 []byte
	srcInfo, _ := src.app.Info(context.Background(), &abci.InfoRequest{})
	block7 = srcInfo.LastBlockAppHash
	dst.height, dst.now = 6, src.now.Add(-time.Second)
	var txs [][]byte
	for i := range 40 {
		txs = append(txs, dst.tx(testKey(fmt.Sprintf("patient-6-%d", i)), identity.TypeRegisterPatient, struct{}{}))
	}
	dst.mustOK(txs...)
	if info, _ := dst.app.Info(context.Background(), &abci.InfoRequest{}); !bytes.Equal(info.LastBlockAppHash, block7) {
		t.Fatalf("block 7 on the restored node: %X, on the source %X", info.LastBlockAppHash, block7)
	}
}

// TestSnapshotRefusals: a snapshot that does not commit to the verified app
// hash, a chunk that is not the one listed, a chunk that does not decode and
// a restore over a state are all refused; a refused snapshot leaves the
// node free to take another.
func TestSnapshotRefusals(t *testing.T) {
	src, snap := snapshotChain(t)
	m, _ := parseMeta(snap.Metadata)
	dst := openHarness(t, t.TempDir(), false)

	wrong := bytes.Clone(m.AppHash)
	wrong[0] ^= 1
	if o, _ := restoreInto(t, dst.app, src.app, snap, wrong, nil); o != abci.OFFER_SNAPSHOT_RESULT_REJECT {
		t.Fatalf("snapshot of another app hash: %v", o)
	}
	other := *snap
	other.Format = 2
	if o, _ := restoreInto(t, dst.app, src.app, &other, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT {
		t.Fatalf("format 2: %v", o)
	}
	other = *snap
	other.Metadata = append(bytes.Clone(snap.Metadata[:len(snap.Metadata)-1]), ',', '}')
	sum := sha256.Sum256(other.Metadata)
	other.Hash = sum[:]
	if o, _ := restoreInto(t, dst.app, src.app, &other, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_REJECT {
		t.Fatalf("metadata that does not parse: %v", o)
	}
	flip := func(i int, c []byte) []byte { c = bytes.Clone(c); c[len(c)/2] ^= 1; return c }
	if _, c := restoreInto(t, dst.app, src.app, snap, m.AppHash, flip); c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY {
		t.Fatalf("altered chunk: %v", c)
	}
	// A chunk listed by a lying snapshot, whose hash matches but whose
	// state does not hash to the app hash.
	forged, chunk := forgeSnapshot(t, src, snap)
	if _, c := restoreInto(t, dst.app, src.app, forged, m.AppHash, func(int, []byte) []byte { return chunk }); c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
		t.Fatalf("forged state: %v", c)
	}
	// A snapshot that holds more keys than it announced.
	few := *m
	few.Keys = 10
	under := *snap
	under.Metadata = mustJSON(t, &few)
	sum = sha256.Sum256(under.Metadata)
	under.Hash = sum[:]
	if _, c := restoreInto(t, dst.app, src.app, &under, m.AppHash, nil); c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
		t.Fatalf("more keys than announced: %v", c)
	}
	// After all that, the true snapshot restores.
	if o, c := restoreInto(t, dst.app, src.app, snap, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_ACCEPT || c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restore after refusals: offer %v, chunk %v", o, c)
	}
	if o, _ := restoreInto(t, dst.app, src.app, snap, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_ABORT {
		t.Fatalf("restore over a state: %v", o)
	}
}

// forgeSnapshot is snap with one chunk holding a single made-up key, its
// metadata listing that chunk's hash (what a lying peer can serve).
func forgeSnapshot(t *testing.T, src *harness, snap *abci.Snapshot) (*abci.Snapshot, []byte) {
	t.Helper()
	dir := t.TempDir()
	st := openHarness(t, dir, false)
	st.store.Staged().Set([]byte("meta/chain_id"), []byte(testChain))
	st.store.Commit()
	exp, err := st.store.Export()
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	s := newSnapshots(SnapshotOptions{Dir: filepath.Join(dir, "snaps")})
	os.MkdirAll(s.o.Dir, 0o700)
	meta, err := s.write(exp, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	chunk, err := os.ReadFile(filepath.Join(s.o.Dir, "1", chunkName(0)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseMeta(snap.Metadata)
	m.ChunkHashes = meta.ChunkHashes
	forged := *snap
	forged.Chunks = 1
	forged.Metadata = mustJSON(t, m)
	sum := sha256.Sum256(forged.Metadata)
	forged.Hash = sum[:]
	return &forged, chunk
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSnapshotAfterUpgrade: a node restored from a snapshot taken after an
// upgrade reports the upgraded app version (CometBFT checks it against the
// header's); a binary that does not carry the upgrade refuses the state.
func TestSnapshotAfterUpgrade(t *testing.T) {
	src := newHarness(t)
	runs := 0
	src.carry("v2", 2, &runs)
	src.scheduleUpgrade("v2", 5)
	if err := src.app.EnableSnapshots(SnapshotOptions{Dir: filepath.Join(t.TempDir(), "snapshots"), Interval: 6, Keep: 1}); err != nil {
		t.Fatal(err)
	}
	for src.height < 6 {
		src.block()
	}
	snap := waitSnapshot(t, src.app, 6)
	m, _ := parseMeta(snap.Metadata)

	dst := openHarness(t, t.TempDir(), false)
	dst.carry("v2", 2, new(int))
	if o, c := restoreInto(t, dst.app, src.app, snap, m.AppHash, nil); o != abci.OFFER_SNAPSHOT_RESULT_ACCEPT || c != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restore: offer %v, chunk %v", o, c)
	}
	if v := dst.info().AppVersion; v != 2 {
		t.Fatalf("restored app version %d, want 2", v)
	}

	old := openHarness(t, t.TempDir(), false)
	offer, err := old.app.OfferSnapshot(context.Background(), &abci.OfferSnapshotRequest{Snapshot: snap, AppHash: m.AppHash})
	if err != nil || offer.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatal(offer, err)
	}
	c, _ := src.app.LoadSnapshotChunk(context.Background(), &abci.LoadSnapshotChunkRequest{Height: 6, Format: SnapshotFormat, Chunk: 0})
	if _, err := old.app.ApplySnapshotChunk(context.Background(), &abci.ApplySnapshotChunkRequest{Index: 0, Chunk: c.Chunk}); err == nil || !strings.Contains(err.Error(), "v2") {
		t.Fatalf("a binary without the upgrade restored its state: %v", err)
	}
}

// TestChunkBounds: a chunk of more keys than any real chunk holds is
// refused before it is restored.
func TestChunkBounds(t *testing.T) {
	s := newSnapshots(SnapshotOptions{})
	enc, _ := zstd.NewWriter(nil)
	raw := make([]byte, 2*(maxChunkPairs+1))
	if _, _, err := s.decodeChunk(enc.EncodeAll(raw, nil)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("a chunk of %d empty keys: %v", maxChunkPairs+1, err)
	}
	if keys, _, err := s.decodeChunk(enc.EncodeAll(raw[:2*maxChunkPairs], nil)); err != nil || len(keys) != maxChunkPairs {
		t.Fatalf("a chunk of %d empty keys: %d, %v", maxChunkPairs, len(keys), err)
	}
}
