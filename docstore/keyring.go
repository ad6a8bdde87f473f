package docstore

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

const keyringFile = "kek.sealed"

// ErrSealed means the keyring file does not open with the unseal key given.
var ErrSealed = errors.New("docstore: the KEK keyring does not open with this node's unseal key")

// keyring holds the KEK terms in memory. On disk it exists only sealed:
// AES-256-GCM under the unseal key, with the file's purpose as additional
// data.
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

func openKeyring(path string, unseal []byte) (*keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := &keyring{path: path, unseal: unseal, Active: 1, Terms: []kekTerm{{Term: 1, Key: newKey()}}}
		return k, k.save()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the KEK keyring: %w", err)
	}
	var f sealedFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != "primum-kek-v1" {
		return nil, fmt.Errorf("cannot read the KEK keyring %q: not a sealed keyring", path)
	}
	plain, err := open(unseal, f.Sealed, ringAD)
	if err != nil {
		return nil, ErrSealed
	}
	k := &keyring{path: path, unseal: unseal}
	if err := json.Unmarshal(plain, k); err != nil {
		return nil, ErrSealed
	}
	if _, ok := k.term(k.Active); !ok {
		return nil, ErrSealed
	}
	return k, nil
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

// rotated is a copy with a new active term.
func (k *keyring) rotated() (*keyring, error) {
	n := &keyring{path: k.path, unseal: k.unseal, Terms: append([]kekTerm{}, k.Terms...)}
	sort.Slice(n.Terms, func(i, j int) bool { return n.Terms[i].Term < n.Terms[j].Term })
	n.Active = n.Terms[len(n.Terms)-1].Term + 1
	n.Terms = append(n.Terms, kekTerm{Term: n.Active, Key: newKey()})
	return n, nil
}

// only is a copy holding just one term.
func (k *keyring) only(t uint32) *keyring {
	key, _ := k.term(t)
	return &keyring{path: k.path, unseal: k.unseal, Active: t, Terms: []kekTerm{{Term: t, Key: key}}}
}

// save writes the sealed keyring atomically.
func (k *keyring) save() error {
	plain, err := json.Marshal(k)
	if err != nil {
		return err
	}
	b, err := json.Marshal(sealedFile{Format: "primum-kek-v1", Sealed: seal(k.unseal, plain, ringAD)})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), ".kek-*")
	if err != nil {
		return fmt.Errorf("cannot write the KEK keyring: %w", err)
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
	return os.Rename(tmp.Name(), k.path)
}
