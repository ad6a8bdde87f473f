package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store/stateproof"
)

// Store is the application state: the newest value of every key in Pebble
// (the flat index), under a Merkle commitment (commitment.go). One version
// per block; Commit makes the staged block durable.
type Store struct {
	db   *pebble.DB
	side *prefixDB

	mu sync.RWMutex
	// version, hash and count (of keys) describe the version on disk.
	version int64
	hash    []byte
	count   uint64
	// saving is the version Commit is writing in the background, read
	// through its writes until it is on disk; saveErr is what the last such
	// write failed with.
	saving    *saving
	saveErr   error
	closeOnce sync.Once
	// beforeSave, if set (tests), runs before each background write.
	beforeSave func()
	readFault  func(key []byte) error // Options.ReadFault

	// proofMu keeps proofs from reading the hash index and cur while a
	// background write changes them.
	proofMu sync.Mutex
	// cur is the top of the tree of the version on disk; work that of the
	// block being executed. They differ only in the nodes of changed.
	cur, work *levels

	flat *flatCache
	// present answers lookups of keys the state has never held.
	present *presentKeys

	// The block being executed (the consensus thread's alone).
	//
	// block holds the writes staged since the last Commit (nil: deleted).
	block map[string][]byte
	// keys are block's keys, so that iterating the block being executed
	// merges its writes into the committed state's order; fresh are the
	// keys new to block since its hash was last taken, and dirty says
	// whether anything was staged since.
	keys  ledger.OrderedKeys
	fresh []string
	dirty bool
	// hashes are the key and leaf hashes of block's keys, taken with the
	// block's hash; buckets groups block's keys by bucket.
	hashes  map[string]*keyHashes
	buckets map[uint32][]string
	// changed are the nodes of work the block changed, added how many keys
	// its writes add to the state (less those they delete); set with the
	// block's hash.
	changed [bucketBits + 1][]uint32
	added   int64

	// imp is a state being restored into the store (snapshot.go).
	imp *importing
}

type keyHashes struct{ hk, leaf [hashLen]byte }

// saving is a committed version whose writes are still going to disk:
// readers see it as its block's writes over the version before.
type saving struct {
	version int64
	hash    []byte
	count   uint64
	writes  map[string][]byte // nil value: deleted
	keys    []string          // writes' keys, in order
	hashes  map[string]*keyHashes
	changed [bucketBits + 1][]uint32
	done    chan struct{}
}

// Options size the store's memory. The zero value means the defaults.
type Options struct {
	// BlockCacheMB is Pebble's block cache (default 256).
	BlockCacheMB int
	// FlatCache is how many keys' latest values stay in memory for reads
	// (default 262,144).
	FlatCache int
	// ReadFault, if set (tests), is asked before each read of a value from
	// Pebble: an error it returns is the read's, as from a failing disk.
	ReadFault func(key []byte) error
}

// ErrOldFormat is returned by Open for a state written by a Primum from
// before the current state format (an IAVL tree).
var ErrOldFormat = errors.New("the state was written by an earlier Primum, in a format this one does not read (an IAVL tree)")

// Open opens (or creates) the state in dir with the default sizes.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens (or creates) the state in dir.
func OpenWith(dir string, o Options) (*Store, error) {
	if o.BlockCacheMB <= 0 {
		o.BlockCacheMB = 256
	}
	if o.FlatCache <= 0 {
		o.FlatCache = flatCacheSize
	}
	db, err := pebble.Open(dir, pebbleOptions(int64(o.BlockCacheMB)<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot open state store %q: %w", dir, err)
	}
	s := &Store{db: db, side: &prefixDB{db: db, prefix: []byte("x")}, cur: newLevels(), readFault: o.ReadFault,
		block:  map[string][]byte{},
		hashes: map[string]*keyHashes{}, buckets: map[uint32][]string{}}
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open state store %q: %w", dir, err)
	}
	s.work = s.cur.clone()
	s.flat = newFlatCache(o.FlatCache, s.version)
	s.present = newPresentKeys(uint(s.count), presentMinKeys)
	it, err := flatKeys(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	go s.present.load(it)
	return s, nil
}

// load reads the version on disk and rebuilds the top of its tree from the
// buckets' roots, checking it against the app hash recorded with them.
func (s *Store) load() error {
	val, closer, err := s.db.Get(stateMarker)
	if errors.Is(err, pebble.ErrNotFound) {
		// A new state, unless it holds the nodes of an IAVL tree ("t").
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("t"), UpperBound: []byte("u")})
		if err != nil {
			return err
		}
		old := it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return err
		}
		if old {
			return ErrOldFormat
		}
		s.cur.rehashAll()
		s.hash = s.cur.root()
		return nil
	}
	if err != nil {
		return err
	}
	rec := bytes.Clone(val)
	closer.Close()
	if len(rec) != 16+hashLen {
		return fmt.Errorf("the state record is damaged (%d bytes)", len(rec))
	}
	s.version = int64(binary.BigEndian.Uint64(rec))
	s.count = binary.BigEndian.Uint64(rec[8:])
	s.hash = rec[16:]
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: bucketPrefix, UpperBound: prefixEnd(bucketPrefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(bucketPrefix)+4 || len(v) != hashLen || binary.BigEndian.Uint32(k[len(bucketPrefix):]) >= bucketCount {
			it.Close()
			return fmt.Errorf("the state's bucket entry %X is damaged", k)
		}
		copy(s.cur.node(bucketBits, binary.BigEndian.Uint32(k[len(bucketPrefix):])), v)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	s.cur.rehashAll()
	if root := s.cur.root(); !bytes.Equal(root, s.hash) {
		return fmt.Errorf("the state is damaged: its buckets hash to %X, not to the app hash %X recorded for version %d", root, s.hash, s.version)
	}
	return nil
}

// Close closes the database, once the last commit is on disk; closing twice
// is harmless.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.waitSaved()
		s.present.close()
		err = errors.Join(err, s.db.Close())
	})
	return err
}

// waitSaved waits for the background write of the last commit, if any, and
// returns its error.
func (s *Store) waitSaved() error {
	s.mu.RLock()
	sv := s.saving
	s.mu.RUnlock()
	if sv != nil {
		<-sv.done
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saveErr
}

// Version is the last height on disk (what a restart resumes from).
func (s *Store) Version() int64 {
	s.waitSaved()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Hash is the app hash of Version.
func (s *Store) Hash() []byte {
	s.waitSaved()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.hash)
}

// WorkingHash is the app hash of the committed state plus staged writes.
func (s *Store) WorkingHash() []byte {
	s.hashBlock()
	return s.work.root()
}

// hashBlock brings the top of the tree (work) up to the block's writes:
// each bucket the block wrote to is rebuilt from its keys on disk and the
// block's, then the levels above the buckets.
func (s *Store) hashBlock() {
	// The hash index is the background write's until it ends.
	if err := s.waitSaved(); err != nil {
		panic(fmt.Sprintf("store: %v", err))
	}
	if !s.dirty {
		return
	}
	for _, k := range s.fresh {
		h := &keyHashes{hk: keyHash([]byte(k))}
		s.hashes[k] = h
		b := bucketOf(h.hk[:])
		s.buckets[b] = append(s.buckets[b], k)
	}
	s.fresh, s.dirty = s.fresh[:0], false
	buckets := make([]uint32, 0, len(s.buckets))
	for b := range s.buckets {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	// The buckets are independent: rebuilt in parts, one per core, when
	// there are enough to share (a block of thousands of transactions
	// changes tens of thousands). Each part writes only its own buckets.
	parts := min(runtime.GOMAXPROCS(0), max(1, len(buckets)/minBucketsPerPart))
	per := (len(buckets) + parts - 1) / parts
	addedBy := make([]int64, parts)
	var wg sync.WaitGroup
	for i := range parts {
		part := buckets[min(i*per, len(buckets)):min((i+1)*per, len(buckets))]
		wg.Go(func() { addedBy[i] = s.rebuildBuckets(part) })
	}
	wg.Wait()
	var added int64
	for _, a := range addedBy {
		added += a
	}
	s.added = added
	s.changed = s.work.rehash(buckets)
}

// minBucketsPerPart is the fewest changed buckets worth a core of their own.
const minBucketsPerPart = 512

// rebuildBuckets recomputes the roots of the given buckets (in ascending
// order) from their entries in the hash index and the block's writes, and
// returns how many keys the block adds to them.
func (s *Store) rebuildBuckets(buckets []uint32) (added int64) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: hashPrefix, UpperBound: prefixEnd(hashPrefix)})
	if err != nil {
		panic(fmt.Sprintf("store: cannot read the hash index: %v", err))
	}
	defer it.Close()
	var entries []leafEntry
	var after []byte
	for _, b := range buckets {
		entries = entries[:0]
		lo, hi := bucketBounds(b)
		// A bucket empty on disk has no entries to read.
		empty := bytes.Equal(s.cur.node(bucketBits, b), emptyHash[:])
		// Each step is a seek just past the entry read: Pebble then moves
		// each level's iterator forward from where it is (TrySeekUsingNext)
		// for this seek and for the next bucket's, where after a Next it
		// would search every level afresh.
		for ok := !empty && it.SeekGE(lo); ok && bytes.Compare(it.Key(), hi) < 0; ok = it.SeekGE(after) {
			entries = append(entries, hashEntry(it))
			after = append(append(after[:0], it.Key()...), 0)
		}
		if err := it.Error(); err != nil {
			panic(fmt.Sprintf("store: cannot read the hash index: %v", err))
		}
		for _, k := range s.buckets[b] {
			h := s.hashes[k]
			var isNew, removed bool
			if v := s.block[k]; v != nil {
				h.leaf = leafHash(h.hk[:], v)
				entries, isNew = setEntry(entries, leafEntry{hk: h.hk, leaf: h.leaf})
			} else {
				entries, removed = deleteEntry(entries, h.hk)
			}
			switch {
			case isNew:
				added++
			case removed:
				added--
			}
		}
		root := bucketRoot(entryLeaves(entries))
		copy(s.work.node(bucketBits, b), root[:])
	}
	return added
}

// Staged is the writer of the block being executed.
func (s *Store) Staged() ledger.Writer { return staged{s} }

// Commit makes the staged block the next version. Readers see it at once;
// its writes go to disk in the background, while the next block executes
// (its transactions read and stage writes without the hash index), and the
// next hash of a block waits for the write: at most the last committed
// version is not yet on disk.
//
// The write is one synced Pebble batch (the flat index, the hash index, the
// changed buckets' roots and the state record), after any side batch
// written before Commit: they share Pebble's write-ahead log, so a power cut
// loses a suffix of them, never a middle. After a crash, Version says which
// height is on disk and CometBFT replays the blocks after it.
func (s *Store) Commit() ([]byte, int64, error) {
	hash := s.WorkingHash() // and waits for the previous write
	sv := &saving{version: s.version + 1, hash: hash, count: uint64(int64(s.count) + s.added), writes: s.block,
		keys: s.keys.Take(), hashes: s.hashes, changed: s.changed, done: make(chan struct{})}
	written := make([]string, 0, len(sv.keys)) // not deleted
	for _, k := range sv.keys {
		if s.block[k] != nil {
			written = append(written, k)
		}
	}
	s.block = make(map[string][]byte, len(sv.writes))
	s.hashes = make(map[string]*keyHashes, len(sv.hashes))
	clear(s.buckets)
	s.changed, s.added = [bucketBits + 1][]uint32{}, 0
	s.flat.commit(sv.writes, sv.version)
	s.present.add(written) // before readers can see them
	s.mu.Lock()
	s.saving = sv
	s.mu.Unlock()
	go s.save(sv)
	return sv.hash, sv.version, nil
}

// save writes a committed version to disk, then lets readers read it there.
func (s *Store) save(sv *saving) {
	defer close(sv.done)
	if s.beforeSave != nil {
		s.beforeSave()
	}
	err := s.write(sv)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Readers keep reading the version through its writes; the next
		// use of the store reports the error.
		s.saveErr = fmt.Errorf("cannot write state version %d: %w", sv.version, err)
		return
	}
	s.version, s.hash, s.count, s.saving = sv.version, sv.hash, sv.count, nil
}

func (s *Store) write(sv *saving) error {
	b := s.db.NewBatchWithSize(batchSize(sv))
	defer b.Close()
	if err := s.fill(b, sv); err != nil {
		return err
	}
	s.proofMu.Lock()
	defer s.proofMu.Unlock()
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.cur.copyNodes(s.work, &sv.changed)
	return nil
}

// fill puts a version's writes in b: each key's value in the flat index and
// its entry in the hash index, the changed buckets' roots and the version's
// record.
func (s *Store) fill(b *pebble.Batch, sv *saving) error {
	for _, k := range sv.keys {
		v, h := sv.writes[k], sv.hashes[k]
		var err error
		if v == nil {
			err = errors.Join(batchDelete(b, flatPrefix, k), batchDelete(b, hashPrefix, h.hk[:]))
		} else {
			err = errors.Join(batchSet(b, flatPrefix, k, v, ""), batchSet(b, hashPrefix, h.hk[:], h.leaf[:], k))
		}
		if err != nil {
			return err
		}
	}
	for _, bk := range sv.changed[bucketBits] {
		var err error
		if root := s.work.node(bucketBits, bk); bytes.Equal(root, emptyHash[:]) {
			err = b.Delete(bucketKey(bk), nil)
		} else {
			err = b.Set(bucketKey(bk), root, nil)
		}
		if err != nil {
			return err
		}
	}
	return b.Set(stateMarker, stateRecord(sv.version, sv.count, sv.hash), nil)
}

// batchSet sets prefix‖key to value‖suffix in b, writing them into the
// batch itself rather than into buffers of their own that it would copy.
func batchSet[K string | []byte](b *pebble.Batch, prefix []byte, key K, value []byte, suffix string) error {
	op := b.SetDeferred(len(prefix)+len(key), len(value)+len(suffix))
	copy(op.Key[copy(op.Key, prefix):], key)
	copy(op.Value[copy(op.Value, value):], suffix)
	return op.Finish()
}

// batchDelete deletes prefix‖key in b, as batchSet writes.
func batchDelete[K string | []byte](b *pebble.Batch, prefix []byte, key K) error {
	op := b.DeleteDeferred(len(prefix) + len(key))
	copy(op.Key[copy(op.Key, prefix):], key)
	return op.Finish()
}

// batchSize is about what write puts in its batch, so that the batch is
// allocated once rather than doubled again and again (a block's batch is
// megabytes).
func batchSize(sv *saving) int {
	const perRecord = 1 + 2*binary.MaxVarintLen32 // kind, key and value lengths
	n := 12                                       // the batch header
	for _, k := range sv.keys {
		n += 2*perRecord + len(flatPrefix) + len(hashPrefix) + hashLen + 2*len(k) + hashLen + len(sv.writes[k])
	}
	n += len(sv.changed[bucketBits]) * (perRecord + len(bucketPrefix) + 4 + hashLen)
	return n + perRecord + len(stateMarker) + 64
}

// Rollback drops staged writes (a block that was executed but not committed,
// e.g. after a restart replays it).
func (s *Store) Rollback() {
	s.waitSaved()
	s.work.copyNodes(s.cur, &s.changed)
	s.changed, s.added = [bucketBits + 1][]uint32{}, 0
	clear(s.block)
	s.keys.Reset()
	s.fresh, s.dirty = s.fresh[:0], false
	clear(s.hashes)
	clear(s.buckets)
}

// CommittedVersion is the height and app hash of the state readers see.
func (s *Store) CommittedVersion() (int64, []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.saving != nil {
		return s.saving.version, s.saving.hash
	}
	if s.version == 0 {
		return 0, nil
	}
	return s.version, s.hash
}

// Committed returns a reader of the last committed state, safe to use
// concurrently with block execution.
func (s *Store) Committed() ledger.Reader { return s.reader() }

func (s *Store) reader() committedReader {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return committedReader{s: s, version: s.version, over: s.saving}
}

// Proof returns the committed value of key with an ICS23 proof of
// membership, or of absence (its neighbours redacted to hashes:
// stateproof.RedactedSpec), against the app hash of the returned version
// (stateproof.Verify checks it).
func (s *Store) Proof(key []byte) (value []byte, proof *ics23.CommitmentProof, version int64, root []byte, err error) {
	if err := s.waitSaved(); err != nil {
		return nil, nil, 0, nil, err
	}
	s.proofMu.Lock()
	defer s.proofMu.Unlock()
	s.mu.RLock()
	version, root, count := s.version, bytes.Clone(s.hash), s.count
	s.mu.RUnlock()
	if version == 0 || count == 0 {
		return nil, nil, 0, nil, ledger.ErrNotFound.Wrapf("no committed state yet")
	}
	hk := keyHash(key)
	if ex, err := s.existence(hk); err != nil || ex != nil {
		if err != nil {
			return nil, nil, 0, nil, err
		}
		return ex.Value, &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: ex}}, version, root, nil
	}
	non := &ics23.NonExistenceProof{Key: key}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: hashPrefix, UpperBound: prefixEnd(hashPrefix)})
	if err != nil {
		return nil, nil, 0, nil, err
	}
	defer it.Close()
	var left, right []byte
	if it.SeekLT(hashIndexKey(hk[:])) {
		left = bytes.Clone(it.Key()[len(hashPrefix):])
	}
	if it.SeekGE(hashIndexKey(hk[:])) {
		right = bytes.Clone(it.Key()[len(hashPrefix):])
	}
	if err := it.Error(); err != nil {
		return nil, nil, 0, nil, err
	}
	for _, n := range []struct {
		hk  []byte
		set **ics23.ExistenceProof
	}{{left, &non.Left}, {right, &non.Right}} {
		if n.hk == nil {
			continue
		}
		if *n.set, err = s.existence([hashLen]byte(n.hk)); err != nil {
			return nil, nil, 0, nil, err
		}
		if *n.set == nil {
			return nil, nil, 0, nil, fmt.Errorf("the state's hash index lost key hash %X", n.hk)
		}
	}
	// The neighbours' keys and values are given as hashes: in clear, a
	// proof of any absent key would show two other entries of the state.
	stateproof.Redact(non)
	return nil, &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Nonexist{Nonexist: non}}, version, root, nil
}

// existence proves the key with hash hk as it is on disk, or returns nil
// if there is none. The caller holds proofMu.
func (s *Store) existence(hk [hashLen]byte) (*ics23.ExistenceProof, error) {
	b := bucketOf(hk[:])
	lo, hi := bucketBounds(b)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	var entries []leafEntry
	at := -1
	for it.First(); it.Valid(); it.Next() {
		e := hashEntry(it)
		e.key = bytes.Clone(it.Value()[hashLen:])
		if e.hk == hk {
			at = len(entries)
		}
		entries = append(entries, e)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, err
	}
	if at < 0 {
		return nil, nil
	}
	value, err := s.flatGet(entries[at].key)
	if err != nil {
		return nil, err
	}
	if value == nil {
		return nil, fmt.Errorf("the state's flat index lost a key its hash index holds")
	}
	path := bucketPath(nil, entryLeaves(entries), at)
	path = s.cur.upperPath(path, b)
	return &ics23.ExistenceProof{Key: entries[at].key, Value: value, Path: path,
		Leaf: &ics23.LeafOp{Hash: ics23.HashOp_SHA256, PrehashKey: ics23.HashOp_SHA256,
			PrehashValue: ics23.HashOp_SHA256, Length: ics23.LengthOp_NO_PREFIX, Prefix: []byte{0}}}, nil
}

// SideGet reads the side index (outside the app hash).
func (s *Store) SideGet(key []byte) ([]byte, error) { return s.side.Get(key) }

// SideBatch is a batch of side-index writes; commit it without sync: it
// becomes durable with the next Commit (same write-ahead log).
func (s *Store) SideBatch() *pebble.Batch { return s.db.NewBatch() }

// SideKey prefixes a side-index key for use in a SideBatch.
func (s *Store) SideKey(k []byte) []byte { return s.side.key(k) }

// Metrics exposes Pebble's disk usage in bytes.
func (s *Store) DiskUsage() uint64 { return s.db.Metrics().DiskSpaceUsage() }

// pebbleOptions: a bounded block cache; 4 KiB blocks and no bloom filters.
// Nearly every read here is of a few hundred bytes — a point read of a flat-
// index value, or the seek to a bucket's handful of adjacent hash-index
// entries — that is not in memory once the state outgrows the caches: with
// 32 KiB blocks each such read decompressed and checksummed 32 KiB. Table
// filters never help a seek, and lookups of absent keys are answered in
// memory by presentKeys (once it has loaded, in the background after Open;
// until then they read every level). Measured with the IAVL tree this store
// had before (BenchmarkCommitLargeState: 332 µs per write with 32 KiB blocks
// and filters, 204 with 4 KiB blocks and filters, 119 with neither).
func pebbleOptions(blockCache int64) *pebble.Options {
	o := &pebble.Options{
		Logger:                      QuietLogger{},
		Cache:                       pebble.NewCache(blockCache),
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		MaxConcurrentCompactions:    func() int { return 2 },
	}
	o.Levels = make([]pebble.LevelOptions, 7)
	for i := range o.Levels {
		o.Levels[i].BlockSize = 4 << 10
		if i > 0 {
			o.Levels[i].TargetFileSize = o.Levels[i-1].TargetFileSize * 2
		} else {
			o.Levels[i].TargetFileSize = 8 << 20
		}
	}
	return o.EnsureDefaults()
}

// staged writes the block being executed. Block execution is serial: one
// staged writer at a time, never concurrently with Commit or Rollback.
type staged struct{ s *Store }

// Get reads the block's own writes first; any other key still has its
// committed value. A read the disk fails panics with a
// *ledger.StorageError (see there): the block cannot be executed as the
// other nodes execute it.
func (w staged) Get(key []byte) ([]byte, error) {
	if v, ok := w.s.block[string(key)]; ok {
		return v, nil
	}
	v, err := w.s.reader().Get(key)
	if err != nil {
		panic(&ledger.StorageError{Err: fmt.Errorf("cannot read %q: %w", key, err)})
	}
	return v, nil
}

func (w staged) Set(key, value []byte) {
	if value == nil {
		value = []byte{} // nil in block means deleted
	}
	w.stage(string(key), value)
}

func (w staged) Delete(key []byte) { w.stage(string(key), nil) }

func (w staged) stage(k string, value []byte) {
	if _, ok := w.s.block[k]; !ok {
		w.s.keys.Add(k)
		w.s.fresh = append(w.s.fresh, k)
	}
	w.s.block[k] = value
	w.s.dirty = true
}

// Iterate merges the block's own writes with the prefix into the committed
// state's order.
func (w staged) Iterate(prefix []byte, fn func(k, v []byte) bool) error {
	own := w.s.keys.WithPrefix(string(prefix))
	block := w.s.block
	if err := ledger.MergeIterate(w.s.reader(), prefix, own, func(k string) []byte { return block[k] }, fn); err != nil {
		panic(&ledger.StorageError{Err: fmt.Errorf("cannot list %q: %w", prefix, err)})
	}
	return nil
}

// Scan is Iterate from start, in either direction (ledger.Seeker).
func (w staged) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) bool) error {
	own := w.s.keys.WithPrefix(string(prefix))
	block := w.s.block
	if err := ledger.MergeScan(w.s.reader(), prefix, start, reverse, own, func(k string) []byte { return block[k] }, fn); err != nil {
		panic(&ledger.StorageError{Err: fmt.Errorf("cannot list %q: %w", prefix, err)})
	}
	return nil
}

// committedReader reads a committed version: the one on disk (version),
// or, while a version's writes are going to disk, its block's writes (over)
// over the one before. Only the newest version is kept on disk: a reader
// that outlives the write of the version after its own may read values of
// that newer version. Block execution and CheckTx never do (a block's reads
// end before its Commit, and CometBFT holds CheckTx during Commit); an API
// request that does reads a newer committed state.
type committedReader struct {
	s       *Store
	version int64
	over    *saving
}

// at is the version the reader reads.
func (r committedReader) at() int64 {
	if r.over != nil {
		return r.over.version
	}
	return r.version
}

// Get reads the block being written, then the memory cache, then the flat
// index.
func (r committedReader) Get(key []byte) ([]byte, error) {
	if r.over != nil {
		if value, ok := r.over.writes[string(key)]; ok {
			return value, nil
		}
	}
	v := r.at()
	if value, ok := r.s.flat.get(key, v); ok {
		return value, nil
	}
	if r.s.present.absent(key) {
		return nil, nil
	}
	value, err := r.s.flatGet(key)
	if err != nil {
		return nil, err
	}
	r.s.flat.remember(key, value, v)
	return value, nil
}

func (r committedReader) Iterate(prefix []byte, fn func(k, v []byte) bool) error {
	return r.Scan(prefix, nil, false, fn)
}

// Scan lists the keys with the prefix from start (ledger.Seeker): Pebble
// seeks to it, so a page costs what it returns wherever it starts.
func (r committedReader) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) bool) error {
	if r.over != nil {
		keys := r.over.keys
		from, _ := slices.BinarySearch(keys, string(prefix))
		to := from
		for to < len(keys) && strings.HasPrefix(keys[to], string(prefix)) {
			to++
		}
		writes := r.over.writes
		return ledger.MergeScan(committedReader{s: r.s, version: r.version}, prefix, start, reverse, keys[from:to],
			func(k string) []byte { return writes[k] }, fn)
	}
	lo := flatKey(prefix)
	it, err := r.s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	var valid bool
	switch {
	case start == nil && !reverse:
		valid = it.First()
	case start == nil:
		valid = it.Last()
	case !reverse:
		valid = it.SeekGE(flatKey(start))
	default:
		valid = it.SeekLT(append(flatKey(start), 0))
	}
	for ; valid; valid = step(it, reverse) {
		if !fn(bytes.Clone(it.Key()[len(flatPrefix):]), bytes.Clone(it.Value())) {
			break
		}
	}
	return it.Error()
}

func step(it *pebble.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}

// QuietLogger keeps Pebble's informational chatter (its jobs, the replay of
// its log at start) out of the node's log; its errors (a failed background
// compaction, a file it could not remove) go to the log, and a fatal error
// still panics.
type QuietLogger struct{}

func (QuietLogger) Infof(string, ...any) {}
func (QuietLogger) Errorf(format string, args ...any) {
	slog.Error("storage engine", "error", fmt.Sprintf(format, args...))
}
func (QuietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// flatCacheSize is how many keys the flat read cache holds (two generations
// of half each); with Primum's values of a few hundred bytes, under 100 MB.
const flatCacheSize = 1 << 18
