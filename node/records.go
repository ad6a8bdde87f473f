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
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
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
	erasures chan string
	done     chan struct{}
}

// close stops the worker (after consensus has stopped) and the store.
func (r *recordStore) close() error {
	close(r.erasures)
	<-r.done
	return r.Store.Close()
}

// openRecords opens the node's record store and keeps it in step with
// erasures on the ledger.
func openRecords(home string, a *app.App, log *slog.Logger) (*recordStore, error) {
	docs, err := docstore.Open(filepath.Join(home, docstoreDir), newUnsealFiles(home))
	if err != nil {
		return nil, err
	}
	rs := &recordStore{Store: docs, erasures: make(chan string, 1024), done: make(chan struct{})}
	erasures := rs.erasures
	a.OnCommit(func(results []app.TxResult) {
		for _, r := range results {
			for _, ev := range r.Events {
				if ev.Type == "records.erased" {
					select {
					case erasures <- attr(ev, "patient"):
					default: // the sweep at the next start catches up
						log.Error("erasure queue full; the next start will finish it")
					}
				}
			}
		}
	})
	go func() {
		defer close(rs.done)
		for patient := range erasures {
			erasePatient(docs, patient, log)
		}
	}()
	// Erasures committed while the node was down, or before it crashed
	// mid-way, are finished now.
	if err := sweepErasures(a, docs, log); err != nil {
		rs.close()
		return nil, err
	}
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

func erasePatient(docs *docstore.Store, patient string, log *slog.Logger) {
	n, err := docs.ErasePatient(patient, time.Now())
	if err != nil {
		log.Error("cannot erase a patient's records", "patient", patient, "err", err)
		return
	}
	if n > 0 {
		log.Info("erased records at the patient's request (keys destroyed)", "patient", patient, "records", n)
	}
}

// sweepErasures erases every record held here whose patient asked for
// erasure on the ledger.
func sweepErasures(a *app.App, docs *docstore.Store, log *slog.Logger) error {
	erasures, err := records.Erasures(a.Store().Committed())
	if err != nil {
		return err
	}
	for _, e := range erasures {
		erasePatient(docs, e.Patient, log)
	}
	return nil
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
