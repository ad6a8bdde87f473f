package node

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/wire"
)

// Paths of the record store and its unseal key inside a home. The unseal
// key is kept out of the store's folder (see unsealFiles).
const (
	docstoreDir    = "data/records"
	unsealFile     = "config/record-store-unseal.json"
	unsealNextFile = "config/record-store-unseal.next.json"
)

// unsealFiles keeps the record store's unseal key outside the store's
// folder, like a member key: encrypted with PRIMUM_PASSPHRASE, or plainly
// marked UNENCRYPTED when there is none (the demo and testnet homes). Every
// KEK rotation (each erasure, and rotate-kek) replaces it: the replacement is
// written beside it (unsealNextFile) and renamed over it once the keyring is
// resealed, so a copy of the store taken before the rotation does not open
// with the key that remains.
type unsealFiles struct {
	home, passphrase string
}

func newUnsealFiles(home string) unsealFiles {
	return unsealFiles{home: home, passphrase: os.Getenv("PRIMUM_PASSPHRASE")}
}

var _ docstore.Unsealer = unsealFiles{}

func (u unsealFiles) Keys() (current, next []byte, err error) {
	path := filepath.Join(u.home, unsealFile)
	current, err = u.read(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, keyring.ErrNotFound) {
		current, err = u.write(path) // first start
	}
	if err != nil {
		return nil, nil, err
	}
	next, err = u.read(filepath.Join(u.home, unsealNextFile))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, keyring.ErrNotFound) {
		return current, nil, nil
	}
	return current, next, err
}

func (u unsealFiles) Prepare() ([]byte, error) {
	return u.write(filepath.Join(u.home, unsealNextFile))
}

func (u unsealFiles) Commit() error {
	dir := filepath.Join(u.home, filepath.Dir(unsealFile))
	if err := os.Rename(filepath.Join(u.home, unsealNextFile), filepath.Join(u.home, unsealFile)); err != nil {
		return fmt.Errorf("cannot replace the record store's unseal key: %w", err)
	}
	return docstore.SyncDir(dir)
}

// read opens an unseal key file.
func (u unsealFiles) read(path string) ([]byte, error) {
	f, err := keyring.ReadFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := f.Open(u.passphrase)
	if err != nil {
		return nil, fmt.Errorf("cannot open the record store's unseal key %q (PRIMUM_PASSPHRASE): %w", path, err)
	}
	return hkdf.Key(sha256.New, priv.Seed(), nil, "primum/record-store-unseal/v1", 32)
}

// write makes a new unseal key file at path, replacing any there, durably:
// the keyring is sealed under it only after this returns.
func (u unsealFiles) write(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f, err := keyring.Seal("record-store-unseal", priv, u.passphrase, u.passphrase == "")
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := docstore.WriteFileDurably(path, append(b, '\n')); err != nil {
		return nil, fmt.Errorf("cannot write the record store's unseal key %q: %w", path, err)
	}
	return hkdf.Key(sha256.New, priv.Seed(), nil, "primum/record-store-unseal/v1", 32)
}

// recordStore is the node's record store and the worker that carries out
// erasures as their blocks commit.
type recordStore struct {
	*docstore.Store
	// patients are those whose erasure a committed block advanced; ticks
	// say a block committed, so retention holds may have ended.
	patients chan string
	ticks    chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

// close stops the worker (after consensus has stopped) and the store.
func (r *recordStore) close() error {
	close(r.stop)
	<-r.done
	return r.Store.Close()
}

// openRecords opens the node's record store and keeps it in step with the
// ledger: it destroys exactly the records the ledger marks erased, as
// their blocks commit (erasures) or as the block time passes the end of a
// retention hold.
func openRecords(home string, a *app.App, log *slog.Logger) (*recordStore, error) {
	docs, err := docstore.Open(filepath.Join(home, docstoreDir), newUnsealFiles(home))
	if err != nil {
		return nil, err
	}
	rs := &recordStore{Store: docs, patients: make(chan string, 1024), ticks: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	a.OnCommit(func(results []wire.TxResult) {
		for _, r := range results {
			for _, ev := range r.Events {
				if ev.Type == "records.erased" && attr(ev, "records") != "0" {
					select {
					case rs.patients <- attr(ev, "patient"):
					default: // the sweep at the next start catches up
						log.Error("erasure queue full; the next start will finish it")
					}
				}
			}
		}
		select {
		case rs.ticks <- struct{}{}:
		default: // a sweep is already due
		}
	})
	// Erasures committed while the node was down, or before it crashed
	// mid-way, and holds that ended meanwhile, are finished now.
	swept, err := sweepErasures(a, docs, log)
	if err != nil {
		docs.Close()
		return nil, err
	}
	go func() {
		defer close(rs.done)
		for {
			select {
			case <-rs.stop:
				return
			case p := <-rs.patients:
				// One erasure (one KEK rotation) for every patient queued.
				batch := []string{p}
				for more := true; more; {
					select {
					case p := <-rs.patients:
						batch = append(batch, p)
					default:
						more = false
					}
				}
				eraseRecords(a, docs, log, batch, nil)
			case <-rs.ticks:
				now := a.LastBlockTime()
				if !now.After(swept) {
					continue
				}
				ended, err := records.EndedHolds(a.Store().Committed(), swept, now)
				if err != nil {
					log.Error("cannot list ended retention holds", "err", err)
					continue
				}
				// With no hold ended this erases nothing, but it still
				// finishes a KEK rotation an earlier erasure owes.
				if eraseRecords(a, docs, log, nil, ended) {
					swept = now
				}
			}
		}
	}()
	return rs, nil
}

func attr(ev ledger.Event, key string) string {
	for _, kv := range ev.Attrs {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}

// eraseRecords erases, of the records held here (the given patients' and
// the given ids), exactly those the ledger marks erased at its last block
// time: never a record retained under a hold. It reports whether it
// finished.
func eraseRecords(a *app.App, docs *docstore.Store, log *slog.Logger, patients, ids []string) bool {
	committed, now := a.Store().Committed(), a.LastBlockTime()
	candidates := slices.Clone(ids)
	for _, p := range patients {
		metas, err := docs.Records(p)
		if err != nil {
			log.Error("cannot list a patient's records", "patient", p, "err", err)
			return false
		}
		for _, m := range metas {
			candidates = append(candidates, m.ID)
		}
	}
	var erased []string
	for _, id := range candidates {
		on, err := records.IsErased(committed, id, now)
		if err != nil {
			log.Error("cannot read a record's status", "record", id, "err", err)
			return false
		}
		if on {
			erased = append(erased, id)
		}
	}
	n, err := docs.Erase(erased, time.Now())
	if err != nil {
		log.Error("cannot erase records", "records", len(erased), "err", err)
		return false
	}
	if n > 0 {
		log.Info("erased records as the ledger says (keys destroyed)", "records", n, "patients", len(patients))
	}
	return true
}

// sweepErasures erases every record held here that the ledger marks erased
// at its last block time: those of every patient who asked for erasure, and
// those whose retention hold has ended. It returns the block time up to
// which ended holds are done.
func sweepErasures(a *app.App, docs *docstore.Store, log *slog.Logger) (time.Time, error) {
	committed, now := a.Store().Committed(), a.LastBlockTime()
	erasures, err := records.Erasures(committed)
	if err != nil {
		return time.Time{}, err
	}
	patients := make([]string, len(erasures))
	for i, e := range erasures {
		patients[i] = e.Patient
	}
	ended, err := records.EndedHolds(committed, time.Time{}, now)
	if err != nil {
		return time.Time{}, err
	}
	if !eraseRecords(a, docs, log, patients, ended) {
		// Logged; the next block's sweep tries the holds again, the next
		// start everything. Nothing erased on the ledger is released
		// meanwhile: the ledger refuses every access to it.
		return time.Time{}, nil
	}
	return now, nil
}

// RotateKEK replaces the record store's key-encryption key of a stopped
// node: every record's data key is rewrapped under a new KEK, the records
// themselves are not re-encrypted, and the old KEK and the old unseal key
// are forgotten. It returns the new KEK term.
func RotateKEK(home string) (term uint32, err error) {
	docs, err := docstore.Open(filepath.Join(home, docstoreDir), newUnsealFiles(home))
	if err != nil {
		return 0, fmt.Errorf("cannot open the record store (is the node still running?): %w", err)
	}
	defer docs.Close()
	return docs.Rotate()
}
