package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	sm "github.com/cometbft/cometbft/state"
	cmtstore "github.com/cometbft/cometbft/store"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/store"
)

// ManifestFile is the file a backup describes itself in; it is written
// last, so a folder without it is not a finished backup.
const ManifestFile = "backup.json"

// backupFormat names the layout of a backup: a home's own layout (the
// folders and files a node reads, under the same paths), with the
// databases as Pebble checkpoints.
const backupFormat = "primum-backup/1"

// Manifest is a backup's backup.json.
type Manifest struct {
	Format  string `json:"format"`
	ChainID string `json:"chain_id"`
	NodeID  string `json:"node_id"`
	// Online says the node ran while it was taken; PauseMS is then how long
	// its block execution stopped for the copy of its ledger.
	Online  bool    `json:"online"`
	PauseMS float64 `json:"pause_ms,omitempty"`
	// The ledger's heights in the copy: the app state's (with its app
	// hash), CometBFT's state's and its block store's. A restored node
	// starts from them as after a crash at that moment: it executes the
	// block store's last block again, then catches up from its peers.
	AppHeight   int64  `json:"app_height"`
	AppHash     string `json:"app_hash"`
	StateHeight int64  `json:"state_height"`
	BlockHeight int64  `json:"block_height"`
	// Created is when the ledger was copied (this machine's clock).
	Created time.Time `json:"created"`
	// Version is the Primum that took it.
	Version string `json:"primum_version"`
	// Files are every file of the backup but this manifest.
	Files []BackupFile `json:"files"`
}

// BackupFile is one file of a backup, by its path (slash-separated,
// relative to the backup's folder and to the home it restores).
type BackupFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Size is the backup's size in bytes.
func (m *Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Errors of backups and restores.
var (
	ErrOutNotEmpty = errors.New("the backup folder is not empty: give a new or empty folder")
	ErrBackupBusy  = errors.New("a backup of this node is already running")
	// ErrNoBlock: a running node copies its ledger between two blocks, and
	// none came.
	ErrNoBlock = errors.New("the node executed no block to pause at (a halted chain, or a node still catching up)")
)

// backupPauseWait bounds how long a running node's backup waits for a
// block to pause at: an idle chain makes an empty block every
// create_empty_blocks_interval (5 s by default).
const backupPauseWait = 30 * time.Second

// cometDBNames are CometBFT's databases; a backup copies those the node
// has opened (tx_index only with an indexer).
var cometDBNames = []string{"blockstore", "state", "evidence", "tx_index"}

// cometStores opens CometBFT's databases (cometDBs) and keeps a handle on
// each, so that a backup can copy them while the node runs.
type cometStores struct {
	mu  sync.Mutex
	dbs map[string]dbm.DB
}

func (c *cometStores) open(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cometDBs(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dbs == nil {
		c.dbs = map[string]dbm.DB{}
	}
	c.dbs[ctx.ID] = db
	return db, nil
}

func (c *cometStores) get(id string) dbm.DB {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dbs[id]
}

// homePaths are where a home's node keeps what a backup copies, relative
// to the home (CometBFT's follow its config.toml).
type homePaths struct {
	home      string
	cometDB   string // CometBFT's db_dir
	privState string // priv_validator_state.json
	wal       string // the consensus WAL's folder: not copied
}

func pathsOf(home string, cfg *cmtcfg.Config) (homePaths, error) {
	p := homePaths{home: home}
	for _, f := range []struct {
		to   *string
		path string
		key  string
	}{{&p.cometDB, cfg.DBDir(), "db_dir"}, {&p.privState, cfg.PrivValidatorStateFile(), "priv_validator_state_file"},
		{&p.wal, filepath.Dir(cfg.Consensus.WalFile()), "consensus.wal_file"}} {
		rel, err := filepath.Rel(home, f.path)
		if err != nil || !filepath.IsLocal(rel) {
			return p, fmt.Errorf("%s in config.toml (%s) is outside the home: primum backup copies a home's own folders only", f.key, f.path)
		}
		*f.to = rel
	}
	return p, nil
}

// ledgerCopy is what a backup's copy of the ledger holds.
type ledgerCopy struct {
	appHeight, stateHeight, blockHeight int64
	appHash                             []byte
	pause                               time.Duration
}

// Home is the node's home folder.
func (n *Node) Home() string { return n.home }

// Backup writes a consistent copy of the running node to out (a new or
// empty folder outside the home): see backup.
func (n *Node) Backup(ctx context.Context, out string) (*Manifest, error) {
	if !n.backupMu.TryLock() {
		return nil, ErrBackupBusy
	}
	defer n.backupMu.Unlock()
	return backup(n.home, out, true, func(staging string, p homePaths) (ledgerCopy, error) {
		return n.copyLedger(ctx, staging, p)
	}, func(staging string) error {
		return n.Docs.Checkpoint(filepath.Join(staging, docstoreDir), func() error { return copyUnsealKeys(n.home, staging) })
	})
}

// copyLedger copies the app state, CometBFT's databases and the signing
// state. The app state, CometBFT's state and its block store are copied
// with block execution stopped (app.PauseBeforeBlock), so that their
// heights agree as CometBFT's handshake requires at the next start; the
// copies are Pebble checkpoints in the home's data folder (hard links of
// immutable files and a few small files, synced). The evidence and
// transaction index databases, which no height ties to the others, and
// the signing state are copied once blocks go on: a signing state copied
// later is only more cautious (the node refuses to sign at or below its
// height).
func (n *Node) copyLedger(ctx context.Context, staging string, p homePaths) (ledgerCopy, error) {
	dbs := map[string]*pebble.DB{}
	for _, id := range cometDBNames {
		db := n.comet.get(id)
		if db == nil {
			continue
		}
		pdb, ok := db.(*dbm.PebbleDB)
		if !ok {
			return ledgerCopy{}, fmt.Errorf("CometBFT's %s database is not Pebble (db_backend in config.toml): a running node's backup needs pebbledb, Primum's default; stop the node and copy its home instead", id)
		}
		dbs[id] = pdb.DB()
	}
	if dbs["state"] == nil || dbs["blockstore"] == nil {
		return ledgerCopy{}, errors.New("CometBFT's state or block store is not open")
	}
	checkpoint := func(id string) error {
		// CometBFT writes them synced: nothing to flush first.
		if err := dbs[id].Checkpoint(filepath.Join(staging, p.cometDB, id+".db")); err != nil {
			return fmt.Errorf("cannot copy CometBFT's %s database: %w", id, err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, backupPauseWait)
	defer cancel()
	resume, err := n.App.PauseBeforeBlock(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return ledgerCopy{}, fmt.Errorf("%w within %s: stop the node and run primum backup again (a stopped node is copied as it is)", ErrNoBlock, backupPauseWait)
	}
	if err != nil {
		return ledgerCopy{}, err
	}
	start := time.Now()
	defer resume()
	var c ledgerCopy
	if c.appHeight, c.appHash, err = n.store.Checkpoint(filepath.Join(staging, stateDir)); err != nil {
		return c, err
	}
	for _, id := range []string{"state", "blockstore"} {
		if err := checkpoint(id); err != nil {
			return c, err
		}
	}
	if c.stateHeight, c.blockHeight, err = cometHeights(n.comet.get("state"), n.comet.get("blockstore")); err != nil {
		return c, err
	}
	resume()
	c.pause = time.Since(start)
	for _, id := range []string{"evidence", "tx_index"} {
		if dbs[id] == nil {
			continue
		}
		if err := checkpoint(id); err != nil {
			return c, err
		}
	}
	if err := copyFile(filepath.Join(n.home, p.privState), filepath.Join(staging, p.privState)); err != nil {
		return c, fmt.Errorf("cannot copy the validator's signing state: %w", err)
	}
	return c, nil
}

// cometHeights reads the heights of CometBFT's state and block store.
func cometHeights(state, blocks dbm.DB) (stateHeight, blockHeight int64, err error) {
	if state == nil || blocks == nil {
		return 0, 0, errors.New("CometBFT's state or block store is not open")
	}
	s, err := sm.NewStore(state, sm.StoreOptions{}).Load()
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read CometBFT's state: %w", err)
	}
	return s.LastBlockHeight, cmtstore.LoadBlockStoreState(blocks).Height, nil
}

// BackupStopped writes a copy of the stopped node in home to out. It opens
// each database as the node would (taking its lock: it fails while the
// node runs) and checkpoints it. The app state's lock is held until the
// backup ends, so that neither a node nor another backup starts on the
// home meanwhile: the staging folders it finds in the data folder are
// then leftovers of a backup that crashed, and it removes them.
func BackupStopped(home, out string) (*Manifest, error) {
	home, err := filepath.Abs(home) // as backup names its staging folder
	if err != nil {
		return nil, err
	}
	var st *store.Store
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	return backup(home, out, false, func(staging string, p homePaths) (c ledgerCopy, err error) {
		if st, err = store.Open(filepath.Join(home, stateDir)); err != nil {
			return c, fmt.Errorf("%w (is the node running? primum backup reaches a running node through %s)", err, adminSocket)
		}
		if _, err := removeBackupLeftovers(home, staging); err != nil {
			return c, err
		}
		if c.appHeight, c.appHash, err = st.Checkpoint(filepath.Join(staging, stateDir)); err != nil {
			return c, err
		}
		cfg, err := CometConfig(home)
		if err != nil {
			return c, err
		}
		if dbm.BackendType(cfg.DBBackend) != dbm.PebbleDBBackend {
			return c, fmt.Errorf("db_backend %q in config.toml: primum backup copies pebbledb, Primum's default; copy the stopped node's home instead", cfg.DBBackend)
		}
		open := map[string]dbm.DB{}
		defer func() {
			for _, db := range open {
				db.Close()
			}
		}()
		for _, id := range cometDBNames {
			if _, err := os.Stat(filepath.Join(cfg.DBDir(), id+".db")); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			db, err := cometDBs(&cmtcfg.DBContext{ID: id, Config: cfg})
			if err != nil {
				return c, fmt.Errorf("cannot open CometBFT's %s database: %w", id, err)
			}
			open[id] = db
			if err := db.(*dbm.PebbleDB).DB().Checkpoint(filepath.Join(staging, p.cometDB, id+".db")); err != nil {
				return c, fmt.Errorf("cannot copy CometBFT's %s database: %w", id, err)
			}
		}
		if c.stateHeight, c.blockHeight, err = cometHeights(open["state"], open["blockstore"]); err != nil {
			return c, err
		}
		if err := copyFile(filepath.Join(home, p.privState), filepath.Join(staging, p.privState)); err != nil {
			return c, fmt.Errorf("cannot copy the validator's signing state: %w", err)
		}
		return c, nil
	}, func(staging string) error {
		if _, err := os.Stat(filepath.Join(home, docstoreDir)); errors.Is(err, fs.ErrNotExist) {
			return nil // a node never started has none yet
		}
		if err := docstore.CheckpointClosed(filepath.Join(home, docstoreDir), filepath.Join(staging, docstoreDir)); err != nil {
			return err
		}
		return copyUnsealKeys(home, staging)
	})
}

// backup writes a backup of home to out:
//
//  1. the ledger (app state, CometBFT's databases, the validator's signing
//     state) in one consistent copy, by copyLedger;
//  2. the record store with the unseal key files it opens with, by
//     copyRecords, while no KEK rotation runs;
//  3. every other file of the home but the data folder (config/, keys/,
//     …): a node's whole identity, its private keys included, through
//     symbolic links (copyTree);
//  4. every folder made 0700 and every file 0600 (ownerOnly), and a check
//     that restore will find the files it needs (checkRequired);
//  5. the manifest, last.
//
// The databases are checkpointed into a folder beside them (the same file
// system: hard links) and moved into out, or copied there when out is on
// another disk; CometBFT's consensus WAL is left out (a node starts without
// one, and the signing state guards against signing twice).
func backup(home, out string, online bool, copyLedger func(staging string, p homePaths) (ledgerCopy, error), copyRecords func(staging string) error) (*Manifest, error) {
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	if !Initialized(home) {
		return nil, fmt.Errorf("%s holds no node", home)
	}
	if err := newBackupFolder(home, out); err != nil {
		return nil, err
	}
	cfg, err := CometConfig(home)
	if err != nil {
		return nil, err
	}
	p, err := pathsOf(home, cfg)
	if err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(filepath.Join(home, "data"), backupStagingPrefix)
	if err != nil {
		return nil, fmt.Errorf("cannot make a folder for the copy in %s: %w", filepath.Join(home, "data"), err)
	}
	defer os.RemoveAll(staging)
	m := &Manifest{Format: backupFormat, Online: online, Version: Version()}
	c, err := copyLedger(staging, p)
	if err != nil {
		return nil, err
	}
	m.Created = time.Now().UTC()
	m.AppHeight, m.AppHash, m.StateHeight, m.BlockHeight = c.appHeight, hex.EncodeToString(c.appHash), c.stateHeight, c.blockHeight
	if online {
		m.PauseMS = float64(c.pause.Microseconds()) / 1000
	}
	if err := checkHeights(m); err != nil {
		return nil, fmt.Errorf("the copy is not consistent, it was discarded: %w", err)
	}
	if err := copyRecords(staging); err != nil {
		return nil, err
	}
	skip := []string{"data", p.cometDB, p.wal, stateDir, docstoreDir, unsealFile, unsealNextFile, p.privState}
	if err := copyTree(home, out, func(rel string) bool { return slices.Contains(skip, rel) }); err != nil {
		return nil, err
	}
	if err := moveTree(staging, out); err != nil {
		return nil, err
	}
	if err := ownerOnly(out); err != nil {
		return nil, err
	}
	if m.NodeID, m.ChainID, err = identityOf(out); err != nil {
		return nil, err
	}
	if m.Files, err = listFiles(out); err != nil {
		return nil, err
	}
	if err := checkRequired(m.Files); err != nil {
		return nil, fmt.Errorf("the copy of %s is incomplete, no manifest was written: %w", home, err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := docstore.WriteFileDurably(filepath.Join(out, ManifestFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// checkHeights checks that a copy's heights are those CometBFT's handshake
// accepts at a restored node's start.
func checkHeights(m *Manifest) error {
	if m.AppHeight > m.StateHeight+1 || m.StateHeight > m.BlockHeight || m.BlockHeight > m.StateHeight+1 || m.AppHeight > m.BlockHeight {
		return fmt.Errorf("app state at height %d, CometBFT's state at %d, its block store at %d", m.AppHeight, m.StateHeight, m.BlockHeight)
	}
	return nil
}

// newBackupFolder makes out, refusing one that holds anything (a backup
// never mixes with other files) or lies inside the home.
func newBackupFolder(home, out string) error {
	if !filepath.IsAbs(out) {
		return fmt.Errorf("the backup folder %q must be an absolute path", out)
	}
	if rel, err := filepath.Rel(home, out); err == nil && filepath.IsLocal(rel) {
		return fmt.Errorf("the backup folder %s is inside the home %s: put it outside (on another disk, to survive the loss of this one)", out, home)
	}
	entries, err := os.ReadDir(out)
	if err == nil && len(entries) > 0 {
		return fmt.Errorf("%w (%s)", ErrOutNotEmpty, out)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	return os.Chmod(out, 0o700) // as secret as the home
}

// copyUnsealKeys copies the record store's unseal key files (the store's
// Checkpoint calls it while no rotation can replace them).
func copyUnsealKeys(home, staging string) error {
	for _, f := range []string{unsealFile, unsealNextFile} {
		err := copyFile(filepath.Join(home, f), filepath.Join(staging, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot copy the record store's unseal key: %w", err)
		}
	}
	return nil
}

// identityOf reads a backup's (or home's) node id and chain id.
func identityOf(dir string) (nodeID, chainID string, err error) {
	nk, err := p2p.LoadNodeKey(filepath.Join(dir, "config", "node_key.json"))
	if err != nil {
		return "", "", fmt.Errorf("cannot read the node key: %w", err)
	}
	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(dir, "config", "genesis.json"))
	if err != nil {
		return "", "", fmt.Errorf("cannot read the genesis: %w", err)
	}
	return string(nk.ID()), doc.ChainID, nil
}

// copyFile copies a regular file, owner-only (a backup is as secret as the
// home), and syncs it.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyTree copies the regular files under from into to (folders 0700,
// files 0600), leaving out the paths (relative to from) skip names.
//
// Symbolic links are followed, wherever they point (inside the home or
// out of it), and what they lead to is copied as a regular file or
// folder: operators link keys and configuration in from elsewhere (a
// Kubernetes secret mounted as config/priv_validator_key.json or keys/),
// and a backup without them would not restore. Names beginning with ".."
// are left out: they are Kubernetes' own copies behind a mounted secret's
// links (..data, ..2025_01_02_…), whose files the links already bring.
// Sockets (data/admin.sock), pipes and devices hold nothing to copy. A
// link to nothing, or one that loops back to a folder above it, fails the
// copy: a backup never leaves out silently what it was told to hold.
func copyTree(from, to string, skip func(rel string) bool) error {
	return copyDir(from, to, "", skip, map[string]bool{})
}

// copyDir copies the folder from (rel in the tree) into to; above holds
// the real paths of the folders it is in, to find links that loop.
func copyDir(from, to, rel string, skip func(rel string) bool, above map[string]bool) error {
	real, err := filepath.EvalSymlinks(from)
	if err != nil {
		return err
	}
	if above[real] {
		return fmt.Errorf("cannot copy %s: a symbolic link loops back to %s, a folder it is in", from, real)
	}
	above[real] = true
	defer delete(above, real)
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		r := filepath.Join(rel, e.Name())
		if skip(r) || strings.HasPrefix(e.Name(), "..") {
			continue
		}
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		fi, err := os.Stat(src) // through links
		if err != nil {
			if target, lerr := os.Readlink(src); lerr == nil {
				return fmt.Errorf("cannot copy %s: it is a symbolic link to %s, which cannot be read (%w): fix the link or remove it, then back up again", src, target, err)
			}
			return fmt.Errorf("cannot copy %s: %w", src, err)
		}
		switch {
		case fi.IsDir():
			if err := copyDir(src, dst, r, skip, above); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(src, dst); err != nil {
				return fmt.Errorf("cannot copy %s: %w", src, err)
			}
		}
	}
	return nil
}

// ownerOnly makes every folder of dir 0700 and every file 0600, as secret
// as the home. The databases' checkpoints keep the modes Pebble gave them
// (folders 0755, files 0644), which would let any account on the machine
// read the ledger and the record store's sealed data. Where the backup is
// on the home's file system, a checkpoint's files are hard links to the
// live databases' immutable files, which thus become owner-only too: the
// node, which runs as the owner, reads them as before.
func ownerOnly(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			mode = 0o700
		case !d.Type().IsRegular():
			return nil
		}
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("cannot make the backup owner-only: %w", err)
		}
		return nil
	})
}

// restoreNeeds are the files without which Restore refuses a backup.
var restoreNeeds = []string{"config/genesis.json", "config/node_key.json", "config/priv_validator_key.json"}

// checkRequired checks that a backup's files hold every file Restore
// needs: a backup that restore would refuse must fail when it is taken,
// not on the day it is needed.
func checkRequired(files []BackupFile) error {
	for _, need := range restoreNeeds {
		if !slices.ContainsFunc(files, func(f BackupFile) bool { return f.Path == need }) {
			return fmt.Errorf("it holds no %s, which primum restore needs: check that the home's %s is a readable file (or a symbolic link to one)", need, filepath.FromSlash(need))
		}
	}
	return nil
}

// backupStagingPrefix begins the name of the folder in the home's data
// folder that a backup checkpoints the databases into before moving them
// out.
const backupStagingPrefix = ".backup-"

// removeBackupLeftovers removes the staging folders of backups that did
// not end (a crash, a kill) from home's data folder, but keep: they hold
// copies of the databases and of the unseal keys. Only a process holding
// the app state's lock may call it (no backup then runs on the home but
// its own); it returns what it removed.
func removeBackupLeftovers(home, keep string) ([]string, error) {
	found, err := filepath.Glob(filepath.Join(home, "data", backupStagingPrefix+"*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, dir := range found {
		if dir == keep {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, fmt.Errorf("cannot remove %s, left by a backup that did not end (it holds copies of the databases and keys): %w", dir, err)
		}
		removed = append(removed, dir)
	}
	return removed, nil
}

// moveTree moves what from holds into to: a rename where both are on one
// file system, a copy where they are not.
func moveTree(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		if _, err := os.Stat(dst); err == nil {
			if err := moveTree(src, dst); err != nil { // e.g. data/ of both
				return err
			}
			continue
		}
		err := os.Rename(src, dst)
		if errors.Is(err, syscall.EXDEV) {
			err = copyTree(src, dst, func(string) bool { return false })
		}
		if err != nil {
			return fmt.Errorf("cannot move the copy into %s: %w", to, err)
		}
	}
	return nil
}

// listFiles lists a backup's files, with their sizes and SHA-256 digests.
func listFiles(dir string) ([]BackupFile, error) {
	var files []BackupFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == ManifestFile {
			return err
		}
		sum, size, err := digest(path)
		if err != nil {
			return err
		}
		files = append(files, BackupFile{Path: filepath.ToSlash(rel), Size: size, SHA256: sum})
		return nil
	})
	return files, err
}

func digest(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), size, err
}

// Version is this Primum's version, as the Go toolchain recorded it: the
// module version and the commit it was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return strings.TrimSpace(v)
}
