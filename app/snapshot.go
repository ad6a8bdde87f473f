package app

// State-sync snapshots (CometBFT's ABCI snapshot connection): every
// SnapshotOptions.Interval blocks the node writes its committed state as
// chunks under its snapshot folder, keeps the newest few, and serves them
// to nodes that join; a joining node restores one instead of replaying every
// block since genesis.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/klauspost/compress/zstd"

	"github.com/primum-health/primum/store"
)

// SnapshotFormat is the one format of Primum's snapshots: chunks of the
// state's keys and values in key order (uvarint-length-prefixed key, then
// value), each zstd-compressed, described by a JSON snapshotMeta.
const SnapshotFormat = 1

const (
	// chunkRaw is the uncompressed size a chunk is cut at: compressed (or
	// not, for data that does not compress) it stays under CometBFT's 16 MB
	// chunk message with room for one more key and value.
	chunkRaw = 4 << 20
	// chunkRawMax bounds what a received chunk may decode to (a state
	// value is far smaller than this, so a chunk is at most chunkRaw plus
	// one value).
	chunkRawMax = 12 << 20
	// maxChunkPairs bounds the keys one chunk may hold: a chunk cut at
	// chunkRaw holds tens of thousands of real entries, and a lying peer's
	// chunk of millions of empty ones would cost the node gigabytes of
	// memory before its state is found wrong.
	maxChunkPairs = 1 << 18
	// maxChunks bounds a snapshot offered (2 MiB of chunk hashes in its
	// metadata, under CometBFT's 4 MB snapshot message; 256 GiB of state).
	maxChunks = 1 << 16
)

// SnapshotOptions say when a node takes snapshots and where it keeps them.
type SnapshotOptions struct {
	Dir      string
	Interval int64 // blocks between snapshots; 0: none taken (restoring still works)
	Keep     int   // snapshots kept (at least 1)
}

// snapshotMeta is a snapshot's metadata, and its file meta.json.
type snapshotMeta struct {
	Height    int64     `json:"height"`
	AppHash   []byte    `json:"app_hash"`
	BlockTime time.Time `json:"block_time"`
	Keys      uint64    `json:"keys"`
	Bytes     int64     `json:"bytes"` // the chunks' total, compressed
	// ChunkHashes are the chunks' SHA-256 hashes, concatenated.
	ChunkHashes []byte `json:"chunk_hashes"`
}

func (m *snapshotMeta) chunks() int { return len(m.ChunkHashes) / sha256.Size }

func (m *snapshotMeta) chunkHash(i int) []byte {
	return m.ChunkHashes[i*sha256.Size : (i+1)*sha256.Size]
}

// snapshots is the app's side of the snapshot connection.
type snapshots struct {
	o      SnapshotOptions
	taking sync.Mutex // one snapshot written at a time; TryLock skips one due while another is written
	mu     sync.Mutex // restore and the folder's listing
	dec    *zstd.Decoder
	// restore is the snapshot being restored (OfferSnapshot accepted it).
	restore *restoring
}

type restoring struct {
	meta snapshotMeta
	next int    // the chunk expected next
	keys uint64 // keys restored so far
}

// EnableSnapshots makes the app take snapshots as o says and serve them
// (before the node starts); without it the app serves none, but still
// restores a snapshot it is offered.
func (a *App) EnableSnapshots(o SnapshotOptions) error {
	if o.Keep < 1 {
		o.Keep = 1
	}
	if o.Dir == "" {
		return errors.New("snapshots need a folder")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	// A snapshot a crash left half written is of no use.
	tmp, _ := filepath.Glob(filepath.Join(o.Dir, "*.tmp"))
	for _, t := range tmp {
		_ = os.RemoveAll(t)
	}
	a.snaps.mu.Lock()
	a.snaps.o = o
	a.snaps.mu.Unlock()
	return nil
}

func newSnapshots(o SnapshotOptions) *snapshots {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(chunkRawMax), zstd.WithDecoderConcurrency(1))
	if err != nil {
		panic(err) // only for bad options
	}
	return &snapshots{o: o, dec: dec}
}

// snapshotDue starts writing a snapshot of the version Commit just made,
// if one is due and none is being written. It runs on the consensus thread:
// the version is pinned here (waiting for its write to reach the disk),
// and written out in the background while blocks go on.
func (a *App) snapshotDue(height int64) {
	s := a.snaps
	if s.o.Interval <= 0 || height%s.o.Interval != 0 {
		return
	}
	if !s.taking.TryLock() {
		a.log.Warn("snapshot skipped: the previous one is still being written", "height", height)
		return
	}
	exp, err := a.store.Export()
	if err != nil {
		s.taking.Unlock()
		a.log.Error("cannot take a snapshot", "height", height, "err", err)
		return
	}
	blockTime := a.LastBlockTime()
	go func() {
		defer s.taking.Unlock()
		defer exp.Close()
		start := time.Now()
		meta, err := s.write(exp, blockTime)
		if err != nil {
			a.log.Error("cannot write a snapshot", "height", height, "err", err)
			return
		}
		a.metrics.snapshotHeight.Set(float64(height))
		a.log.Info("snapshot taken", "height", height, "keys", meta.Keys, "chunks", meta.chunks(), "bytes", meta.Bytes,
			"seconds", time.Since(start).Seconds())
		s.prune()
	}()
}

// write writes exp as a snapshot folder named after its height (through a
// .tmp folder renamed at the end, so a listed snapshot is whole).
func (s *snapshots) write(exp *store.Export, blockTime time.Time) (*snapshotMeta, error) {
	final := filepath.Join(s.o.Dir, strconv.FormatInt(exp.Version, 10))
	tmp := final + ".tmp"
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	meta := &snapshotMeta{Height: exp.Version, AppHash: exp.Hash, BlockTime: blockTime.UTC()}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	raw := make([]byte, 0, chunkRaw+64<<10)
	var out []byte
	flush := func() error {
		if len(raw) == 0 && meta.chunks() > 0 {
			return nil
		}
		out = enc.EncodeAll(raw, out[:0])
		h := sha256.Sum256(out)
		meta.ChunkHashes = append(meta.ChunkHashes, h[:]...)
		meta.Bytes += int64(len(out))
		raw = raw[:0]
		return os.WriteFile(filepath.Join(tmp, chunkName(meta.chunks()-1)), out, 0o600)
	}
	err = exp.Each(func(k, v []byte) error {
		raw = binary.AppendUvarint(raw, uint64(len(k)))
		raw = append(raw, k...)
		raw = binary.AppendUvarint(raw, uint64(len(v)))
		raw = append(raw, v...)
		meta.Keys++
		if len(raw) >= chunkRaw {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush() // the last (or, for an empty state, the only) chunk
	}
	if err == nil && meta.chunks() > maxChunks {
		err = fmt.Errorf("the state needs %d chunks, more than the %d a snapshot may have", meta.chunks(), maxChunks)
	}
	if err == nil {
		var b []byte
		if b, err = json.Marshal(meta); err == nil {
			err = os.WriteFile(filepath.Join(tmp, "meta.json"), b, 0o600)
		}
	}
	if err == nil {
		s.mu.Lock()
		err = os.Rename(tmp, final)
		s.mu.Unlock()
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	return meta, nil
}

func chunkName(i int) string { return fmt.Sprintf("%06d.zst", i) }

// heights lists the snapshots in the folder, newest first.
func (s *snapshots) heights() []int64 {
	entries, _ := os.ReadDir(s.o.Dir)
	var hs []int64
	for _, e := range entries {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && h > 0 && e.IsDir() {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	return hs
}

// prune removes all but the newest Keep snapshots.
func (s *snapshots) prune() {
	s.mu.Lock()
	defer s.mu.Unlock()
	hs := s.heights()
	for _, h := range hs[min(len(hs), s.o.Keep):] {
		_ = os.RemoveAll(filepath.Join(s.o.Dir, strconv.FormatInt(h, 10)))
	}
}

func (s *snapshots) readMeta(h int64) (*snapshotMeta, []byte, error) {
	b, err := os.ReadFile(filepath.Join(s.o.Dir, strconv.FormatInt(h, 10), "meta.json"))
	if err != nil {
		return nil, nil, err
	}
	m, err := parseMeta(b)
	return m, b, err
}

// parseMeta reads a snapshot's metadata, as sent by a peer: strictly, and
// bounded.
func parseMeta(b []byte) (*snapshotMeta, error) {
	var m snapshotMeta
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("the snapshot's metadata does not parse: %w", err)
	}
	switch {
	case m.Height <= 0:
		return nil, errors.New("the snapshot's metadata has no height")
	case len(m.AppHash) != sha256.Size:
		return nil, errors.New("the snapshot's metadata has no app hash")
	case len(m.ChunkHashes) == 0 || len(m.ChunkHashes)%sha256.Size != 0 || m.chunks() > maxChunks:
		return nil, errors.New("the snapshot's metadata lists no chunks, or too many")
	}
	return &m, nil
}

// ListSnapshots lists the snapshots this node serves.
func (a *App) ListSnapshots(context.Context, *abci.ListSnapshotsRequest) (*abci.ListSnapshotsResponse, error) {
	s := a.snaps
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &abci.ListSnapshotsResponse{}
	if s.o.Dir == "" {
		return res, nil
	}
	for _, h := range s.heights() {
		m, b, err := s.readMeta(h)
		if err != nil {
			a.log.Error("a snapshot cannot be served", "height", h, "err", err)
			continue
		}
		sum := sha256.Sum256(b)
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{Height: uint64(h), Format: SnapshotFormat,
			Chunks: uint32(m.chunks()), Hash: sum[:], Metadata: b})
	}
	return res, nil
}

// LoadSnapshotChunk reads one chunk of a snapshot this node serves.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.LoadSnapshotChunkRequest) (*abci.LoadSnapshotChunkResponse, error) {
	s := a.snaps
	if s.o.Dir == "" || req.Format != SnapshotFormat || req.Height == 0 || req.Height > 1<<62 || req.Chunk >= maxChunks {
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	b, err := os.ReadFile(filepath.Join(s.o.Dir, strconv.FormatUint(req.Height, 10), chunkName(int(req.Chunk))))
	if err != nil {
		// Pruned since it was listed, or never there: the peer asks another.
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	return &abci.LoadSnapshotChunkResponse{Chunk: b}, nil
}

// OfferSnapshot accepts a snapshot to restore this (empty) node from, if
// its metadata is whole and commits to the app hash CometBFT's light client
// verified for its height.
func (a *App) OfferSnapshot(_ context.Context, req *abci.OfferSnapshotRequest) (*abci.OfferSnapshotResponse, error) {
	reject := func(result abci.OfferSnapshotResult, why string) (*abci.OfferSnapshotResponse, error) {
		a.log.Info("snapshot refused", "height", req.GetSnapshot().GetHeight(), "why", why)
		return &abci.OfferSnapshotResponse{Result: result}, nil
	}
	snap := req.Snapshot
	if snap == nil {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "no snapshot")
	}
	if snap.Format != SnapshotFormat {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT, fmt.Sprintf("format %d", snap.Format))
	}
	if sum := sha256.Sum256(snap.Metadata); !bytes.Equal(sum[:], snap.Hash) {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "its hash is not its metadata's")
	}
	m, err := parseMeta(snap.Metadata)
	if err != nil {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, err.Error())
	}
	if uint64(m.Height) != snap.Height || uint32(m.chunks()) != snap.Chunks {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "its metadata disagrees with it")
	}
	if !bytes.Equal(m.AppHash, req.AppHash) {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, fmt.Sprintf("app hash %X, not the verified %X", m.AppHash, req.AppHash))
	}
	s := a.snaps
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := a.store.BeginImport(); errors.Is(err, store.ErrNotEmpty) {
		return reject(abci.OFFER_SNAPSHOT_RESULT_ABORT, "this node already has a state")
	} else if err != nil {
		return nil, fmt.Errorf("cannot prepare the state for a snapshot: %w", err)
	}
	s.restore = &restoring{meta: *m}
	a.log.Info("restoring a snapshot", "height", m.Height, "keys", m.Keys, "chunks", m.chunks(), "bytes", m.Bytes)
	return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_ACCEPT}, nil
}

// ApplySnapshotChunk restores one chunk of the accepted snapshot (CometBFT
// applies them in order); after the last, the state must hash to the
// verified app hash, or the snapshot is refused.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.ApplySnapshotChunkRequest) (*abci.ApplySnapshotChunkResponse, error) {
	s := a.snaps
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.restore
	if r == nil || int(req.Index) != r.next {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT}, nil
	}
	if sum := sha256.Sum256(req.Chunk); !bytes.Equal(sum[:], r.meta.chunkHash(r.next)) {
		// Not what the snapshot lists: ask another peer for it.
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: []string{req.Sender}}, nil
	}
	rejectSnapshot := func(why error) (*abci.ApplySnapshotChunkResponse, error) {
		a.log.Warn("snapshot refused", "height", r.meta.Height, "chunk", req.Index, "why", why)
		s.restore = nil
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT}, nil
	}
	keys, values, err := s.decodeChunk(req.Chunk)
	if err != nil {
		return rejectSnapshot(err)
	}
	// No more keys than the snapshot said it has (a peer that lies about
	// its state cannot fill this node's disk past what it announced).
	if r.keys += uint64(len(keys)); r.keys > r.meta.Keys {
		return rejectSnapshot(fmt.Errorf("more keys than the %d the snapshot announced", r.meta.Keys))
	}
	if err := a.store.ImportPairs(keys, values); errors.Is(err, store.ErrBadImport) {
		return rejectSnapshot(err)
	} else if err != nil {
		return nil, fmt.Errorf("cannot write a snapshot's chunk: %w", err)
	}
	r.next++
	if r.next < r.meta.chunks() {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
	}
	if err := a.store.FinishImport(r.meta.Height, r.meta.AppHash); errors.Is(err, store.ErrImportHash) {
		return rejectSnapshot(err)
	} else if err != nil {
		return nil, fmt.Errorf("cannot finish restoring a snapshot: %w", err)
	}
	if err := a.restored(r.meta.BlockTime); err != nil {
		// The state is in, but this node cannot go on from it (a binary
		// without an upgrade the state has been through): CometBFT's own
		// state is still empty, so the home must start over.
		return nil, fmt.Errorf("%w; the restored state cannot be used by this binary: delete the home's data folder and start again with the right Primum", err)
	}
	s.restore = nil
	a.log.Info("snapshot restored", "height", r.meta.Height, "keys", r.meta.Keys)
	return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
}

// decodeChunk reads a chunk's keys and values (bounded: chunkRawMax).
func (s *snapshots) decodeChunk(chunk []byte) (keys, values [][]byte, err error) {
	raw, err := s.dec.DecodeAll(chunk, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("the chunk does not decompress: %w", err)
	}
	if len(raw) > chunkRawMax {
		return nil, nil, errors.New("the chunk is too large")
	}
	next := func() ([]byte, error) {
		n, w := binary.Uvarint(raw)
		if w <= 0 || n > uint64(len(raw)-w) {
			return nil, errors.New("the chunk is cut short")
		}
		b := raw[w : w+int(n) : w+int(n)]
		raw = raw[w+int(n):]
		return b, nil
	}
	for len(raw) > 0 {
		if len(keys) == maxChunkPairs {
			return nil, nil, fmt.Errorf("the chunk holds more than %d keys", maxChunkPairs)
		}
		k, err := next()
		if err != nil {
			return nil, nil, err
		}
		v, err := next()
		if err != nil {
			return nil, nil, err
		}
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values, nil
}

// restored takes up the state a snapshot restored: its chain and the time
// of its last block (kept beside the state, as Commit keeps it).
func (a *App) restored(blockTime time.Time) error {
	id, err := a.store.Committed().Get(keyChainID)
	if err != nil {
		return err
	}
	a.setChainID(string(id))
	a.lastTime.Store(blockTime.UnixNano())
	bt, _ := blockTime.MarshalBinary()
	b := a.store.SideBatch()
	defer b.Close()
	if err := b.Set(a.store.SideKey(keyBlockTime), bt, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	// The state's app version, and whether this binary carries every
	// upgrade that state has been through.
	if err := a.loadAppVersion(); err != nil {
		return err
	}
	if err := a.CheckUpgrades(); err != nil {
		return err
	}
	v := a.store.Version()
	a.metrics.height.Set(float64(v))
	a.metrics.blockTime.Set(float64(blockTime.UnixNano()) / 1e9)
	return nil
}
