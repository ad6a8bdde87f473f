package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cosmos/iavl"
	ics23 "github.com/cosmos/ics23/go"
	"github.com/google/btree"

	"github.com/primum-health/primum/ledger"
)

// Store is the application state: a versioned IAVL tree in Pebble. One
// version per block; Commit makes the staged block durable.
type Store struct {
	db   *pebble.DB
	tree *iavl.MutableTree
	side *prefixDB

	mu        sync.RWMutex
	committed *iavl.ImmutableTree
	// saving is the version Commit is writing in the background, read
	// through its writes until committed catches up; saveErr is what the
	// last such write failed with.
	saving    *saving
	saveErr   error
	closeOnce sync.Once
	// beforeSave, if set (tests), runs before each background write.
	beforeSave func()

	flat *flatCache
	// present answers lookups of keys the state has never held.
	present *presentKeys
	// flatMu orders reads of the flat index against its update at Commit.
	flatMu      sync.RWMutex
	flatVersion int64
	// block holds the writes staged since the last Commit (nil: deleted),
	// for the flat cache and for reads of the block being executed.
	block map[string][]byte
	// pending are the keys of block not yet applied to the tree: writes
	// reach the tree once per key, in key order, when the block's hash is
	// taken (an organisation's identity record, which holds its nonce, is
	// written once per block, not once per transaction).
	pending map[string]struct{}
	// blockKeys orders the keys of block, so that iterating the block being
	// executed merges its writes into the committed state's order instead
	// of applying them to the tree first (which, between transactions,
	// would apply a block's writes piecemeal and cost a tree walk each).
	blockKeys *btree.BTreeG[string]
}

// saving is a committed version whose tree is still being written to disk:
// readers see it as its block's writes over the version before.
type saving struct {
	version int64
	hash    []byte
	writes  map[string][]byte // nil value: deleted
	keys    []string          // writes' keys, in order
	done    chan struct{}
}

// Options size the store's memory. The zero value means the defaults.
type Options struct {
	// NodeCache is how many tree nodes stay in memory (default 200,000,
	// roughly 60-80 MB once full).
	NodeCache int
	// BlockCacheMB is Pebble's block cache (default 256).
	BlockCacheMB int
	// FlatCache is how many keys' latest values stay in memory for reads
	// (default 262,144).
	FlatCache int
}

// Open opens (or creates) the state in dir with the default sizes.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens (or creates) the state in dir.
func OpenWith(dir string, o Options) (*Store, error) {
	if o.NodeCache <= 0 {
		o.NodeCache = nodeCacheSize
	}
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
	tree := iavl.NewMutableTree(&prefixDB{db: db, prefix: []byte("t")}, o.NodeCache, true, iavl.NewNopLogger(),
		iavl.AsyncPruningOption(false))
	if _, err := tree.Load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot load state tree: %w", err)
	}
	s := &Store{db: db, tree: tree, side: &prefixDB{db: db, prefix: []byte("x")},
		flat: newFlatCache(o.FlatCache, tree.Version()), block: map[string][]byte{}, pending: map[string]struct{}{},
		blockKeys: btree.NewOrderedG[string](32)}
	if err := s.refreshCommitted(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.openFlat(); err != nil {
		db.Close()
		return nil, err
	}
	var size int64
	if s.committed != nil {
		size = s.committed.Size()
	}
	s.present = newPresentKeys(uint(size), presentMinKeys)
	it, err := flatKeys(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	go s.present.load(it)
	return s, nil
}

func (s *Store) refreshCommitted() error {
	v := s.tree.Version()
	var imm *iavl.ImmutableTree
	var err error
	if v == 0 {
		imm, err = s.tree.GetImmutable(0)
		if err != nil {
			imm = nil
		}
	} else {
		imm, err = s.tree.GetImmutable(v)
		if err != nil {
			return fmt.Errorf("cannot read state version %d: %w", v, err)
		}
	}
	s.mu.Lock()
	s.committed = imm
	s.mu.Unlock()
	return nil
}

// Close closes the database, once the last commit is on disk; closing twice
// is harmless.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.waitSaved()
		s.present.close()
		err = errors.Join(err, s.tree.Close(), s.db.Close())
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
	return s.tree.Version()
}

// Hash is the app hash of Version.
func (s *Store) Hash() []byte {
	s.waitSaved()
	return s.tree.Hash()
}

// WorkingHash is the app hash of the committed state plus staged writes.
func (s *Store) WorkingHash() []byte {
	s.applyPending()
	return s.tree.WorkingHash()
}

// applyPending writes the block's pending keys to the tree in key order, so
// every node builds the same tree from the same block.
func (s *Store) applyPending() {
	// The tree is the background write's until it ends.
	if err := s.waitSaved(); err != nil {
		panic(fmt.Sprintf("store: %v", err))
	}
	if len(s.pending) == 0 {
		return
	}
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := s.block[k]; v != nil {
			if _, err := s.tree.Set([]byte(k), v); err != nil {
				panic(fmt.Sprintf("store: cannot stage write: %v", err))
			}
		} else if _, _, err := s.tree.Remove([]byte(k)); err != nil {
			panic(fmt.Sprintf("store: cannot stage delete: %v", err))
		}
	}
	clear(s.pending)
}

// Staged is the writer of the block being executed.
func (s *Store) Staged() ledger.Writer { return staged{s} }

// Commit makes the staged block the next version. Readers see it at once;
// its tree is written to disk in the background, while the next block
// executes (its transactions read and stage writes without the tree), and
// the next use of the tree waits for the write: at most the last committed
// version is not yet on disk.
//
// The write is synced: any side batch written before Commit, the tree and
// then the flat index share Pebble's write-ahead log, and one sync of the log
// at the end makes all of them durable, in order (a power cut before it
// loses a suffix, never a middle; a flat index left behind the tree is
// rebuilt at Open). After a crash, Version says which height is on disk and
// CometBFT replays the blocks after it.
func (s *Store) Commit() ([]byte, int64, error) {
	s.applyPending() // and waits for the previous write
	sv := &saving{version: s.tree.WorkingVersion(), hash: s.tree.WorkingHash(), writes: s.block,
		keys: make([]string, 0, len(s.block)), done: make(chan struct{})}
	written := make([]string, 0, len(s.block)) // not deleted
	s.blockKeys.Ascend(func(k string) bool {
		sv.keys = append(sv.keys, k)
		if s.block[k] != nil {
			written = append(written, k)
		}
		return true
	})
	s.block = make(map[string][]byte, len(sv.writes))
	s.blockKeys.Clear(true)
	s.flat.commit(sv.writes, sv.version)
	s.present.add(written) // before readers can see them
	s.mu.Lock()
	s.saving = sv
	s.mu.Unlock()
	go s.save(sv)
	return sv.hash, sv.version, nil
}

// save writes a committed version to disk, then lets readers read it from
// the tree.
func (s *Store) save(sv *saving) {
	defer close(sv.done)
	if s.beforeSave != nil {
		s.beforeSave()
	}
	err := func() error {
		hash, v, err := s.tree.SaveVersion()
		if err != nil {
			return fmt.Errorf("cannot write state version %d: %w", sv.version, err)
		}
		if v != sv.version || !bytes.Equal(hash, sv.hash) {
			return fmt.Errorf("state version %d was written as version %d with app hash %X instead of %X", sv.version, v, hash, sv.hash)
		}
		if err := s.writeFlat(sv.writes, v); err != nil {
			return fmt.Errorf("cannot write the flat index at version %d: %w", v, err)
		}
		if err := s.db.LogData(nil, pebble.Sync); err != nil {
			return fmt.Errorf("cannot sync state at version %d: %w", v, err)
		}
		return nil
	}()
	var imm *iavl.ImmutableTree
	if err == nil {
		if imm, err = s.tree.GetImmutable(sv.version); err != nil {
			err = fmt.Errorf("cannot read state version %d: %w", sv.version, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Readers keep reading the version through its writes; the next
		// use of the tree reports the error.
		s.saveErr = err
		return
	}
	s.committed, s.saving = imm, nil
}

// Rollback drops staged writes (a block that was executed but not committed,
// e.g. after a restart replays it).
func (s *Store) Rollback() {
	s.waitSaved()
	s.tree.Rollback()
	clear(s.block)
	clear(s.pending)
	s.blockKeys.Clear(true)
}

// CommittedVersion is the height and app hash of the state readers see.
func (s *Store) CommittedVersion() (int64, []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.saving != nil {
		return s.saving.version, s.saving.hash
	}
	if s.committed == nil {
		return 0, nil
	}
	return s.committed.Version(), s.committed.Hash()
}

// Committed returns a reader of the last committed state, safe to use
// concurrently with block execution.
func (s *Store) Committed() ledger.Reader { return s.reader() }

func (s *Store) reader() committedReader {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return committedReader{t: s.committed, s: s, over: s.saving}
}

// Proof returns the committed value of key with an ICS23 proof of membership
// (or of absence) against the app hash of the returned version.
func (s *Store) Proof(key []byte) (value []byte, proof *ics23.CommitmentProof, version int64, root []byte, err error) {
	if err := s.waitSaved(); err != nil {
		return nil, nil, 0, nil, err
	}
	s.mu.RLock()
	imm := s.committed
	s.mu.RUnlock()
	if imm == nil {
		return nil, nil, 0, nil, ledger.ErrNotFound.Wrapf("no committed state yet")
	}
	value, err = imm.Get(key)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	proof, err = imm.GetProof(key)
	return value, proof, imm.Version(), imm.Hash(), err
}

// SideGet reads the side index (outside the app hash).
func (s *Store) SideGet(key []byte) ([]byte, error) { return s.side.Get(key) }

// SideBatch is a batch of side-index writes; commit it without sync: it
// becomes durable with the next tree Commit (same write-ahead log).
func (s *Store) SideBatch() *pebble.Batch { return s.db.NewBatch() }

// SideKey prefixes a side-index key for use in a SideBatch.
func (s *Store) SideKey(k []byte) []byte { return s.side.key(k) }

// Metrics exposes Pebble's disk usage in bytes.
func (s *Store) DiskUsage() uint64 { return s.db.Metrics().DiskSpaceUsage() }

// pebbleOptions: a bounded block cache; 4 KiB blocks and no bloom filters.
// Nearly every read here is a point read of one small value (a tree node,
// a flat-index entry) that is not in memory once the state outgrows the
// caches: with 32 KiB blocks each such read decompressed and checksummed
// 32 KiB, and the table filters, read and checked on every lookup, never
// spare a tree-node read (nodes are only looked up when they exist) while
// lookups of absent keys are answered in memory by presentKeys (once it has
// loaded, in the background after Open; until then they read every level).
// Tables written with the old settings stay readable.
// BenchmarkCommitLargeState: 332 µs per write with 32 KiB blocks and
// filters, 204 with 4 KiB blocks and filters, 119 with neither.
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
// committed value.
func (w staged) Get(key []byte) ([]byte, error) {
	if v, ok := w.s.block[string(key)]; ok {
		return v, nil
	}
	return w.s.reader().Get(key)
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
		w.s.blockKeys.ReplaceOrInsert(k)
	}
	w.s.block[k] = value
	w.s.pending[k] = struct{}{}
}

// Iterate merges the block's own writes with the prefix into the committed
// state's order.
func (w staged) Iterate(prefix []byte, fn func(k, v []byte) bool) error {
	var own []string
	w.s.blockKeys.AscendGreaterOrEqual(string(prefix), func(k string) bool {
		if !strings.HasPrefix(k, string(prefix)) {
			return false
		}
		own = append(own, k)
		return true
	})
	block := w.s.block
	return ledger.MergeIterate(w.s.reader(), prefix, own, func(k string) []byte { return block[k] }, fn)
}

// committedReader reads a committed version: the tree t, or, while the
// version's tree is being written, the block's writes over over t.
type committedReader struct {
	t    *iavl.ImmutableTree
	s    *Store
	over *saving
}

// Get reads the memory cache, then the flat index, and walks the tree only
// for a version older than the newest.
func (r committedReader) Get(key []byte) ([]byte, error) {
	if r.over != nil {
		if value, ok := r.over.writes[string(key)]; ok {
			return value, nil
		}
	}
	if r.t == nil {
		return nil, nil
	}
	// v is the version read; the key has the same value in base, the
	// tree's, unless the block being written changed it (answered above).
	base := r.t.Version()
	v := base
	if r.over != nil {
		v = r.over.version
	}
	if value, ok := r.s.flat.get(key, v); ok {
		return value, nil
	}
	if r.s.present.absent(key) {
		return nil, nil
	}
	value, ok, err := r.s.flatGet(key, base)
	if err != nil {
		return nil, err
	}
	if !ok {
		if value, err = r.t.Get(key); err != nil {
			return nil, err
		}
	}
	r.s.flat.remember(key, value, v)
	return value, nil
}

func (r committedReader) Iterate(prefix []byte, fn func(k, v []byte) bool) error {
	if r.over != nil {
		keys := r.over.keys
		from, _ := slices.BinarySearch(keys, string(prefix))
		to := from
		for to < len(keys) && strings.HasPrefix(keys[to], string(prefix)) {
			to++
		}
		writes := r.over.writes
		return ledger.MergeIterate(committedReader{t: r.t, s: r.s}, prefix, keys[from:to],
			func(k string) []byte { return writes[k] }, fn)
	}
	if r.t == nil {
		return nil
	}
	it, err := r.t.Iterator(prefix, prefixEndOrNil(prefix), true)
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !bytes.HasPrefix(it.Key(), prefix) {
			break
		}
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return it.Error()
}

func prefixEndOrNil(prefix []byte) []byte {
	if len(prefix) == 0 {
		return nil
	}
	return prefixEnd(prefix)
}

// QuietLogger keeps Pebble's informational chatter out of the node's log; a fatal
// error still panics.
type QuietLogger struct{}

func (QuietLogger) Infof(string, ...any)  {}
func (QuietLogger) Errorf(string, ...any) {}
func (QuietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// nodeCacheSize is how many IAVL nodes stay in memory, for the paths of
// writes (reads mostly hit the flat cache). About 300 bytes a node, so near
// 60 MB; 1,000,000 was no faster once reads stopped walking the tree, and
// every garbage collection scans the cache (docs/performance.md).
const nodeCacheSize = 200_000

// flatCacheSize is how many keys the flat read cache holds (two generations
// of half each); with Primum's values of a few hundred bytes, under 100 MB.
const flatCacheSize = 1 << 18
