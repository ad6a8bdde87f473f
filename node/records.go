package node

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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

// Paths of the record store and its unseal key inside a home.
const (
	docstoreDir = "data/records"
	unsealFile  = "config/record-store-unseal.json"
)

// unsealKey opens (creating on first start) the key that seals the record
// store's KEK keyring. It is kept like a member key: encrypted with
// PRIMUM_PASSPHRASE, or plainly marked UNENCRYPTED when there is none (the
// demo and testnet homes).
func unsealKey(home string) ([]byte, error) {
	path := filepath.Join(home, unsealFile)
	passphrase := os.Getenv("PRIMUM_PASSPHRASE")
	f, err := keyring.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, keyring.ErrNotFound) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		if f, err = keyring.Seal("record-store-unseal", priv, passphrase, passphrase == ""); err != nil {
			return nil, err
		}
		if err = keyring.WriteFile(path, f); err != nil {
			return nil, fmt.Errorf("cannot write the record store's unseal key: %w", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the record store's unseal key: %w", err)
	}
	priv, err := f.Open(passphrase)
	if err != nil {
		return nil, fmt.Errorf("cannot open the record store's unseal key %s (PRIMUM_PASSPHRASE): %w", path, err)
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
	key, err := unsealKey(home)
	if err != nil {
		return nil, err
	}
	docs, err := docstore.Open(filepath.Join(home, docstoreDir), key)
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
// themselves are not re-encrypted, and the old KEK is forgotten. It returns
// the new KEK term and how many records the store holds.
func RotateKEK(home string) (term uint32, err error) {
	key, err := unsealKey(home)
	if err != nil {
		return 0, err
	}
	docs, err := docstore.Open(filepath.Join(home, docstoreDir), key)
	if err != nil {
		return 0, fmt.Errorf("cannot open the record store (is the node still running?): %w", err)
	}
	defer docs.Close()
	return docs.Rotate()
}
