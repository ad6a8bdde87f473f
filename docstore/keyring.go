package docstore

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

const keyringFile = "kek.sealed"

// ErrSealed means the keyring file does not open with the unseal key given.
var ErrSealed = errors.New("docstore: the KEK keyring does not open with this node's unseal key")

// Unsealer keeps the unseal key, the key that seals the KEK keyring, outside
// the record store's folder, and replaces it at every KEK rotation. A copy of
// the folder taken before a rotation therefore holds a keyring that the keys
// existing after it do not open.
//
// A replacement is made in two steps so that a crash between them loses
// nothing: Prepare keeps the new key durably beside the current one before
// the keyring is resealed under it, and Commit makes it current (destroying
// the old one) only after the resealed keyring is durable.
type Unsealer interface {
	// Keys returns the unseal key in use and the replacement made by a
	// Prepare that no Commit followed (nil when there is none).
	Keys() (current, next []byte, err error)
	// Prepare makes a fresh replacement key, keeps it durably, and returns it.
	Prepare() ([]byte, error)
	// Commit makes the prepared key the one in use and destroys the old one.
	Commit() error
}

// keyring holds the KEK terms in memory. On disk it exists only sealed:
// AES-256-GCM under the unseal key, with the file's purpose as additional
// data. Active is the term new data keys are wrapped under; any other term
// belongs to a rotation that has not finished yet.
type keyring struct {
	path   string
	unseal []byte
	Terms  []kekTerm `json:"terms"`
	Active uint32    `json:"active"`
}

type kekTerm struct {
	Term uint32 `json:"term"`
	Key  []byte `json:"key"`
}

var ringAD = []byte("primum/docstore-keyring/v1")

// sealedFile is the keyring file's format.
type sealedFile struct {
	Format string `json:"format"`
	Sealed []byte `json:"sealed"`
}

// openKeyring opens the keyring at path with the current unseal key or, when
// a rotation stopped after resealing the keyring but before committing its
// new unseal key, with the next one (usedNext then says so). A missing file
// is a new store: it gets a fresh KEK sealed under the current key.
func openKeyring(path string, current, next []byte) (k *keyring, usedNext bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := &keyring{path: path, unseal: current, Active: 1, Terms: []kekTerm{{Term: 1, Key: newKey()}}}
		return k, false, k.save()
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot read the KEK keyring %q: %w", path, err)
	}
	var f sealedFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != "primum-kek-v1" {
		return nil, false, fmt.Errorf("cannot read the KEK keyring %q: not a sealed keyring", path)
	}
	unseal := current
	plain, err := open(unseal, f.Sealed, ringAD)
	if err != nil && len(next) == 32 {
		unseal, usedNext = next, true
		plain, err = open(unseal, f.Sealed, ringAD)
	}
	if err != nil {
		return nil, false, ErrSealed
	}
	k = &keyring{path: path, unseal: unseal}
	if err := json.Unmarshal(plain, k); err != nil {
		return nil, false, ErrSealed
	}
	if _, ok := k.term(k.Active); !ok {
		return nil, false, ErrSealed
	}
	return k, usedNext, nil
}

func newKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}

func (k *keyring) active() (uint32, []byte) {
	key, _ := k.term(k.Active)
	return k.Active, key
}

func (k *keyring) term(t uint32) ([]byte, bool) {
	for _, x := range k.Terms {
		if x.Term == t {
			return x.Key, true
		}
	}
	return nil, false
}

// retiring reports whether t is a term of this keyring that new keys are no
// longer wrapped under.
func (k *keyring) retiring(t uint32) bool {
	_, ok := k.term(t)
	return ok && t != k.Active
}

// rotated is a copy with a new active term; the old terms stay until every
// key wrapped under them has been rewrapped.
func (k *keyring) rotated() *keyring {
	n := &keyring{path: k.path, unseal: k.unseal, Terms: slices.Clone(k.Terms)}
	slices.SortFunc(n.Terms, func(a, b kekTerm) int { return int(int64(a.Term) - int64(b.Term)) })
	n.Active = n.Terms[len(n.Terms)-1].Term + 1
	n.Terms = append(n.Terms, kekTerm{Term: n.Active, Key: newKey()})
	return n
}

// only is a copy holding just the active term, sealed under unseal.
func (k *keyring) only(unseal []byte) *keyring {
	t, key := k.active()
	return &keyring{path: k.path, unseal: unseal, Active: t, Terms: []kekTerm{{Term: t, Key: key}}}
}

// save writes the sealed keyring atomically and durably: when save returns,
// a crash leaves either this keyring or the previous one, never neither.
func (k *keyring) save() error {
	plain, err := json.Marshal(k)
	if err != nil {
		return err
	}
	b, err := json.Marshal(sealedFile{Format: "primum-kek-v1", Sealed: seal(k.unseal, plain, ringAD)})
	if err != nil {
		return err
	}
	if err := WriteFileDurably(k.path, b); err != nil {
		return fmt.Errorf("cannot write the KEK keyring %q: %w", k.path, err)
	}
	return nil
}

// WriteFileDurably replaces path with b (owner-only): a temporary file,
// synced, renamed over path, and the folder synced so that the rename itself
// survives a power cut. A crash leaves the old file or the new one, never
// neither: the keyring and the unseal key files depend on it.
func WriteFileDurably(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
