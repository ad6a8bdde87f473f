// Package keyring keeps Ed25519 signing keys at rest: one JSON file per key,
// the private key sealed with AES-256-GCM under a key derived from a
// passphrase with Argon2id. A key may be stored unencrypted only when the
// caller asks for it explicitly (demo and test networks), and the file says so.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/primum-health/primum/ledger"
)

// File is a key file's format. It must stay readable forever.
type File struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	Encrypted bool   `json:"encrypted"`
	// Unencrypted keys: the 32-byte seed, hex.
	PrivateKey string `json:"private_key,omitempty"`
	// Encrypted keys.
	KDF        string `json:"kdf,omitempty"` // "argon2id"
	Time       uint32 `json:"argon2_time,omitempty"`
	Memory     uint32 `json:"argon2_memory_kib,omitempty"`
	Threads    uint8  `json:"argon2_threads,omitempty"`
	Salt       string `json:"salt,omitempty"`
	Nonce      string `json:"nonce,omitempty"`
	Ciphertext string `json:"ciphertext,omitempty"`
	Warning    string `json:"warning,omitempty"`

	// A key made in the patient portal and saved as its backup (kind
	// "primum-key-backup": the seed sealed with AES-256-GCM under
	// PBKDF2-SHA256 of the passphrase; web/static/keys.js) is read as an
	// encrypted key file with kdf "pbkdf2-sha256".
	Kind       string `json:"kind,omitempty"`
	Iterations int    `json:"iterations,omitempty"`
	IV         string `json:"iv,omitempty"`

	// Pseudonyms, for a patient's key, are the organisations at which the
	// patient holds a pseudonym derived from it (identity.PairwiseKey):
	// the patient's own list, so that finding them asks a node about no
	// other organisation (which would show it the keys for those too).
	Pseudonyms []string `json:"pseudonyms,omitempty"`
}

// ShortKey is the start of the public key, to recognise it by (the whole
// key when it is not an Ed25519 key's 64 hex digits).
func (f *File) ShortKey() string {
	if len(f.PublicKey) == 2*ed25519.PublicKeySize {
		return f.PublicKey[:16] + "…"
	}
	return f.PublicKey
}

// Errors.
var (
	ErrWrongPassphrase = errors.New("wrong passphrase (or the key file is damaged)")
	ErrExists          = errors.New("a key with this name already exists")
	ErrNotFound        = errors.New("no such key")
	ErrBadName         = errors.New("key names are 1-64 characters of letters, digits, '.', '_' or '-'")
	ErrNoPassphrase    = errors.New("a passphrase is required to encrypt the key (or choose --unencrypted)")
)

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Seal makes a key file; an empty passphrase with unencrypted=false is an error.
func Seal(name string, key ed25519.PrivateKey, passphrase string, unencrypted bool) (*File, error) {
	pub := key.Public().(ed25519.PublicKey)
	f := &File{Name: name, Address: ledger.Address(pub), PublicKey: hex.EncodeToString(pub)}
	if unencrypted {
		f.PrivateKey = hex.EncodeToString(key.Seed())
		f.Warning = "UNENCRYPTED: anyone who can read this file can sign as this identity"
		return f, nil
	}
	if passphrase == "" {
		return nil, ErrNoPassphrase
	}
	f.Encrypted, f.KDF, f.Time, f.Memory, f.Threads = true, "argon2id", 3, 64*1024, 2
	salt := make([]byte, 16)
	nonce := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	aead, err := f.aead(passphrase, salt)
	if err != nil {
		return nil, err
	}
	f.Salt, f.Nonce = hex.EncodeToString(salt), hex.EncodeToString(nonce)
	f.Ciphertext = hex.EncodeToString(aead.Seal(nil, nonce, key.Seed(), []byte(f.Address)))
	return f, nil
}

func (f *File) aead(passphrase string, salt []byte) (cipher.AEAD, error) {
	if f.Time == 0 || f.Time > 20 || f.Memory == 0 || f.Memory > 4<<20 || f.Threads == 0 {
		return nil, fmt.Errorf("key file has unreasonable argon2 parameters")
	}
	k := argon2.IDKey([]byte(passphrase), salt, f.Time, f.Memory, f.Threads, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Open returns the private key.
func (f *File) Open(passphrase string) (ed25519.PrivateKey, error) {
	var seed []byte
	if !f.Encrypted {
		b, err := hex.DecodeString(f.PrivateKey)
		if err != nil || len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("key file %q: private_key is not a 32-byte hex seed", f.Name)
		}
		seed = b
	} else if f.Kind == "primum-key-backup" {
		var err error
		if seed, err = f.openBackup(passphrase); err != nil {
			return nil, err
		}
	} else {
		if f.KDF != "argon2id" {
			return nil, fmt.Errorf("key file %q: unknown kdf %q", f.Name, f.KDF)
		}
		salt, err1 := hex.DecodeString(f.Salt)
		nonce, err2 := hex.DecodeString(f.Nonce)
		ct, err3 := hex.DecodeString(f.Ciphertext)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("key file %q is damaged: %w", f.Name, err)
		}
		aead, err := f.aead(passphrase, salt)
		if err != nil {
			return nil, err
		}
		if len(nonce) != aead.NonceSize() {
			return nil, ErrWrongPassphrase
		}
		seed, err = aead.Open(nil, nonce, ct, []byte(f.Address))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, ErrWrongPassphrase
		}
	}
	key := ed25519.NewKeyFromSeed(seed)
	if hex.EncodeToString(key.Public().(ed25519.PublicKey)) != f.PublicKey {
		return nil, fmt.Errorf("key file %q: private key does not match public_key", f.Name)
	}
	return key, nil
}

// WriteFile saves a key file with owner-only permissions, refusing to overwrite.
func WriteFile(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return err
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// ReadFile loads a key file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("cannot parse key file %s: %w", path, err)
	}
	if f.Kind == "primum-key-backup" { // the patient portal's
		f.Encrypted = true
		if f.Name == "" {
			f.Name = strings.TrimSuffix(filepath.Base(path), ".json")
		}
	}
	return &f, nil
}

// Dir is a folder of named key files (HOME/keys).
type Dir string

// Path is where a named key lives.
func (d Dir) Path(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", ErrBadName
	}
	return filepath.Join(string(d), name+".json"), nil
}

// Add creates a new key.
func (d Dir) Add(name, passphrase string, unencrypted bool) (*File, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return d.Import(name, key, passphrase, unencrypted)
}

// Import stores an existing key under name.
func (d Dir) Import(name string, key ed25519.PrivateKey, passphrase string, unencrypted bool) (*File, error) {
	path, err := d.Path(name)
	if err != nil {
		return nil, err
	}
	f, err := Seal(name, key, passphrase, unencrypted)
	if err != nil {
		return nil, err
	}
	return f, WriteFile(path, f)
}

// Get reads a named key file.
func (d Dir) Get(name string) (*File, error) {
	path, err := d.Path(name)
	if err != nil {
		return nil, err
	}
	return ReadFile(path)
}

// ErrNotAKey is an import that is neither a key file nor a hex seed.
var ErrNotAKey = errors.New("neither a key file nor a 64-character hex seed")

// Parse reads a key to import: a key file (as 'primum keys export' prints
// it, encrypted or not), or a 32-byte Ed25519 seed in hex, which it
// answers as an unencrypted key file.
func Parse(b []byte) (*File, error) {
	var f File
	if json.Unmarshal(b, &f) == nil && f.PublicKey != "" {
		return &f, nil
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, ErrNotAKey
	}
	return Seal("", ed25519.NewKeyFromSeed(seed), "", true)
}

// IsPath reports whether ref names a key file by its path (it holds a
// path separator or ends in .json), not a key by its name in a Dir.
func IsPath(ref string) bool {
	return strings.ContainsRune(ref, os.PathSeparator) || strings.HasSuffix(ref, ".json")
}

// AddPseudonyms records in the key file ref names (as Find) that the
// patient holds a pseudonym at each of orgs (File.Pseudonyms). The file is
// rewritten whole, keeping every field it holds (known or not), its mode,
// and the file a symbolic link points to: a new file beside it, synced,
// renamed over the old (never half written; two runs at once each write a
// whole file).
func (d Dir) AddPseudonyms(ref string, orgs ...string) error {
	path := ref
	if !IsPath(ref) {
		var err error
		if path, err = d.Path(ref); err != nil {
			return err
		}
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("cannot parse key file %s: %w", path, err)
	}
	var list []string
	if raw, ok := fields["pseudonyms"]; ok {
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("key file %s: pseudonyms: %w", path, err)
		}
	}
	n := len(list)
	for _, org := range orgs {
		if !slices.Contains(list, org) {
			list = append(list, org)
		}
	}
	if len(list) == n {
		return nil
	}
	if fields["pseudonyms"], err = json.Marshal(list); err != nil {
		return err
	}
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone once renamed; left over on a failure
	if _, err := tmp.Write(append(out, '\n')); err == nil {
		err = tmp.Chmod(st.Mode().Perm())
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Find reads the key file ref names: a path to a key file (such as a demo
// member's), or a key's name in d.
func (d Dir) Find(ref string) (*File, error) {
	if IsPath(ref) {
		return ReadFile(ref)
	}
	return d.Get(ref)
}

// List reads every key file, by name.
func (d Dir) List() ([]*File, error) {
	entries, err := os.ReadDir(string(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f, err := ReadFile(filepath.Join(string(d), e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Listed is a key as 'primum keys list' shows it: its name, address and
// public key, and whether it is encrypted at rest; never the key itself.
type Listed struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	Encrypted bool   `json:"encrypted"`
}

// Listing is every key, by name, as listed (none: empty, not nil).
func (d Dir) Listing() ([]Listed, error) {
	files, err := d.List()
	if err != nil {
		return nil, err
	}
	rows := []Listed{}
	for _, f := range files {
		rows = append(rows, Listed{f.Name, f.Address, f.PublicKey, f.Encrypted})
	}
	return rows, nil
}

// openBackup opens a patient portal's key backup (see File.Kind).
func (f *File) openBackup(passphrase string) ([]byte, error) {
	salt, err1 := base64.StdEncoding.DecodeString(f.Salt)
	iv, err2 := base64.StdEncoding.DecodeString(f.IV)
	ct, err3 := base64.StdEncoding.DecodeString(f.Ciphertext)
	if err := errors.Join(err1, err2, err3); err != nil || f.KDF != "pbkdf2-sha256" || f.Iterations < 100_000 || f.Iterations > 10_000_000 {
		return nil, fmt.Errorf("key backup %q is damaged or of an unknown kind", f.Name)
	}
	k, err := pbkdf2.Key(sha256.New, passphrase, salt, f.Iterations, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil || len(iv) != gcm.NonceSize() {
		return nil, ErrWrongPassphrase
	}
	seed, err := gcm.Open(nil, iv, ct, nil)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, ErrWrongPassphrase
	}
	return seed, nil
}
