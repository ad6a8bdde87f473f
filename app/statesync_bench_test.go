package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/supply"
)

// scaleEnv reads a size from the environment (the scale figures in
// docs/operations.md set them), or def.
func scaleEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkStateSync measures what a joining node saves by state sync. It
// builds a state of PRIMUM_SCALE_PACKS commissioned packs (default 20,000)
// and PRIMUM_SCALE_PATIENTS patients (default 2,000) by executing blocks of
// real transactions (replay-s: what a node replaying those blocks does at
// least; a real replay also fetches and checks each block), then, each
// iteration, takes a snapshot of it (snapshot-s, snapshot-MB) and restores
// the snapshot into a new node (restore-s). It also takes a backup of the
// state (backup-s, backup-MB) and restores it (backup-restore-s: a copy,
// opened). docs/operations.md quotes it at
// 1,000,000 packs and 100,000 patients:
//
//	PRIMUM_SCALE_PACKS=1000000 PRIMUM_SCALE_PATIENTS=100000 go test ./app -run '^$' -bench BenchmarkStateSync -benchtime 1x -timeout 60m
func BenchmarkStateSync(b *testing.B) {
	packs, patients := scaleEnv("PRIMUM_SCALE_PACKS", 20_000), scaleEnv("PRIMUM_SCALE_PATIENTS", 2_000)
	src := newHarness(b)
	src.mustOK(src.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
		Member: newMember("Acme Pharma", "manufacturer", manufacturerKey, nil, 0)}),
		src.tx(hospital2Key, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}),
		src.tx(pharmacyKey, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}),
		src.tx(regulatorKey, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}))
	const gtin = "09506000134352"
	src.mustOK(src.tx(manufacturerKey, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}),
		src.tx(manufacturerKey, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}))

	// The blocks, signed before any is timed.
	var blocks [][][]byte
	for made := 0; made < packs; {
		var txs [][]byte
		for range 10 {
			n := min(supply.MaxCodes, packs-made)
			if n == 0 {
				break
			}
			serials := make([]string, n)
			for i := range serials {
				// Serials are random, as GS1 asks of them (a guessable
				// serial is a counterfeiter's): they do not compress.
				sum := sha256.Sum256(fmt.Appendf(nil, "serial %d", made+i))
				serials[i] = strings.ToUpper(hex.EncodeToString(sum[:8]))
			}
			txs = append(txs, src.tx(manufacturerKey, supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: fmt.Sprintf("L%06d", made/supply.MaxCodes),
				Expiry: "2029-12-31", Serials: serials}))
			made += n
		}
		blocks = append(blocks, txs)
	}
	for made := 0; made < patients; {
		var txs [][]byte
		for ; made < patients && len(txs) < 1000; made++ {
			txs = append(txs, src.tx(testKey(fmt.Sprintf("scale-patient-%d", made)), identity.TypeRegisterPatient, struct{}{}))
		}
		blocks = append(blocks, txs)
	}
	start := time.Now()
	for _, txs := range blocks {
		src.mustOK(txs...)
	}
	replay := time.Since(start)

	dir := filepath.Join(b.TempDir(), "snapshots")
	if err := src.app.EnableSnapshots(SnapshotOptions{Dir: dir, Interval: 1, Keep: 1}); err != nil {
		b.Fatal(err)
	}
	// A backup of the state (Pebble's checkpoint, as primum backup takes
	// it) copied to another folder file by file, as primum restore does,
	// then opened (which checks it against its app hash).
	ckpt := filepath.Join(b.TempDir(), "checkpoint")
	start = time.Now()
	if _, _, err := src.store.Checkpoint(ckpt); err != nil {
		b.Fatal(err)
	}
	backupSecs := time.Since(start).Seconds()
	start = time.Now()
	restored := filepath.Join(b.TempDir(), "restored")
	backupBytes := copyDir(b, ckpt, restored)
	st, err := store.Open(restored)
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	restoreCopySecs := time.Since(start).Seconds()

	b.ResetTimer()
	var snapSecs, restoreSecs float64
	var size int64
	var keys uint64
	for range b.N {
		start := time.Now()
		src.block()
		snap := waitSnapshot(b, src.app, uint64(src.height))
		snapSecs += time.Since(start).Seconds()
		m, err := parseMeta(snap.Metadata)
		if err != nil {
			b.Fatal(err)
		}
		size, keys = m.Bytes, m.Keys
		dst := openHarness(b, b.TempDir(), false)
		start = time.Now()
		if res, err := dst.app.OfferSnapshot(context.Background(), &abci.OfferSnapshotRequest{Snapshot: snap, AppHash: m.AppHash}); err != nil || res.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
			b.Fatalf("offer: %v %v", res, err)
		}
		for i := range snap.Chunks {
			c, _ := src.app.LoadSnapshotChunk(context.Background(), &abci.LoadSnapshotChunkRequest{Height: snap.Height, Format: snap.Format, Chunk: i})
			res, err := dst.app.ApplySnapshotChunk(context.Background(), &abci.ApplySnapshotChunkRequest{Index: i, Chunk: c.Chunk})
			if err != nil || res.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
				b.Fatalf("chunk %d: %v %v", i, res, err)
			}
		}
		restoreSecs += time.Since(start).Seconds()
		dst.store.Close()
	}
	b.StopTimer()
	b.ReportMetric(replay.Seconds(), "replay-s")
	b.ReportMetric(snapSecs/float64(b.N), "snapshot-s")
	b.ReportMetric(restoreSecs/float64(b.N), "restore-s")
	b.ReportMetric(float64(size)/(1<<20), "snapshot-MB")
	b.ReportMetric(float64(keys), "state-keys")
	b.ReportMetric(backupSecs, "backup-s")
	b.ReportMetric(float64(backupBytes)/(1<<20), "backup-MB")
	b.ReportMetric(restoreCopySecs, "backup-restore-s")
	b.ReportMetric(0, "ns/op")
}

// copyDir copies a folder's files (a backup's restore: a real copy, not the
// hard links a checkpoint makes) and answers the bytes copied.
func copyDir(b *testing.B, from, to string) int64 {
	var n int64
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n += int64(len(data))
		return os.WriteFile(filepath.Join(to, rel), data, 0o600)
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
