// Package tokens keeps a node's service tokens: bearer secrets an
// integration (an EHR posting FHIR, a warehouse posting EPCIS) sends so
// that the node signs for a member key it holds. Only each secret's
// SHA-256 is stored (HOME/config/tokens.json), with the key it names, the
// operations it may do, when it expires and a label; the secret is shown
// once, when it is made. The operator makes, lists and revokes tokens with
// `primum tokens`, while the node runs: the node reads the file again when
// it changes.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/primum-health/primum/keyring"
)

// Scopes a token may carry: what the node may do with the key it names.
const (
	ScopeRead         = "read"          // reads as the key's identity (queries, FHIR reads, proofs, /me)
	ScopeAct          = "act"           // POST /api/v1/act: any transaction the identity may send
	ScopeRecordsRead  = "records.read"  // POST /api/v1/records/{id}/read: fetch and decrypt a record
	ScopeFHIRCreate   = "fhir.create"   // POST /fhir: import records as their custodian
	ScopeEPCISCapture = "epcis.capture" // POST /epcis/capture
	ScopeExport       = "export"        // GET /api/v1/patients/{id}/export
	// ScopeAll is every scope (the legacy api_tokens of config/primum.json,
	// the demo's people).
	ScopeAll = "*"
)

// Scopes lists the scopes a token may be given.
var Scopes = []string{ScopeRead, ScopeAct, ScopeRecordsRead, ScopeFHIRCreate, ScopeEPCISCapture, ScopeExport, ScopeAll}

// Token is one service token as stored: never its secret.
type Token struct {
	ID      string    `json:"id"`
	Hash    string    `json:"sha256"` // of the secret
	Key     string    `json:"key"`    // key file, relative to the home or absolute
	Scopes  []string  `json:"scopes"`
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// Allows reports whether the token carries scope.
func (t *Token) Allows(scope string) bool {
	return slices.Contains(t.Scopes, ScopeAll) || slices.Contains(t.Scopes, scope)
}

// State says whether the token is usable at now: "active", "expired" or
// "revoked".
func (t *Token) State(now time.Time) string {
	switch {
	case !t.Revoked.IsZero():
		return "revoked"
	case !now.Before(t.Expires):
		return "expired"
	}
	return "active"
}

type file struct {
	Tokens []*Token `json:"tokens"`
}

// Path is where a home keeps its tokens.
func Path(home string) string { return filepath.Join(home, "config", "tokens.json") }

// MaxLife bounds a token's life: a secret in an integration's
// configuration is rotated at least yearly.
const MaxLife = 366 * 24 * time.Hour

var (
	ErrUnknown  = errors.New("no such token")
	ErrExpired  = errors.New("the token has expired")
	ErrRevoked  = errors.New("the token was revoked")
	ErrBadScope = fmt.Errorf("unknown scope: the scopes are %s", strings.Join(Scopes, ", "))
)

var mu sync.Mutex // one writer at a time in this process

func load(path string) (*file, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &file{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

func save(path string, f *file) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// HeldKey is the key file a token names for ref, a key this node holds:
// its name in home's keyring (keys/NAME.json) or a key file's path (from
// home, unless absolute). A key file that is not there is refused.
func HeldKey(home, ref string) (string, error) {
	key := ref
	if !keyring.IsPath(key) {
		key = filepath.Join("keys", key+".json")
	}
	full := key
	if !filepath.IsAbs(full) {
		full = filepath.Join(home, full)
	}
	if _, err := os.Stat(full); err != nil {
		return "", fmt.Errorf("no key file %s: the token must name a key this node holds", full)
	}
	return key, nil
}

// Create makes a token for the key file key with scopes, valid for life
// from now, and returns its secret (shown once: only its hash is kept).
func Create(home, key string, scopes []string, life time.Duration, label string, now time.Time) (secret string, t *Token, err error) {
	if len(scopes) == 0 {
		return "", nil, fmt.Errorf("a token needs at least one scope (%s)", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return "", nil, fmt.Errorf("%q: %w", s, ErrBadScope)
		}
	}
	if life <= 0 || life > MaxLife {
		return "", nil, fmt.Errorf("a token lives from a minute to %d days", int(MaxLife.Hours()/24))
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	secret = "pt_" + base64.RawURLEncoding.EncodeToString(raw[:])
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", nil, err
	}
	sorted := slices.Clone(scopes)
	sort.Strings(sorted)
	t = &Token{ID: "tok_" + hex.EncodeToString(id[:]), Hash: hash(secret), Key: key, Scopes: slices.Compact(sorted), Label: label,
		Created: now.UTC().Truncate(time.Second), Expires: now.Add(life).UTC().Truncate(time.Second)}
	mu.Lock()
	defer mu.Unlock()
	f, err := load(Path(home))
	if err != nil {
		return "", nil, err
	}
	f.Tokens = append(f.Tokens, t)
	return secret, t, save(Path(home), f)
}

// List returns the home's tokens, in the order they were made.
func List(home string) ([]*Token, error) {
	f, err := load(Path(home))
	if err != nil {
		return nil, err
	}
	return f.Tokens, nil
}

// Revoke revokes a token by its id, at once for a running node (it reads
// the file again within a second).
func Revoke(home, id string, now time.Time) (*Token, error) {
	mu.Lock()
	defer mu.Unlock()
	f, err := load(Path(home))
	if err != nil {
		return nil, err
	}
	for _, t := range f.Tokens {
		if t.ID == id {
			if t.Revoked.IsZero() {
				t.Revoked = now.UTC().Truncate(time.Second)
			}
			return t, save(Path(home), f)
		}
	}
	return nil, fmt.Errorf("%s: %w", id, ErrUnknown)
}

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Watcher answers which token a secret is, from a home's file, reading it
// again when it changes (checked at most once a second).
type Watcher struct {
	path    string
	mu      sync.Mutex
	checked time.Time
	mod     time.Time
	size    int64
	byHash  map[string]*Token
}

// Watch watches home's tokens file (which need not exist yet).
func Watch(home string) (*Watcher, error) {
	w := &Watcher{path: Path(home)}
	return w, w.reload(true)
}

func (w *Watcher) reload(force bool) error {
	st, err := os.Stat(w.path)
	if errors.Is(err, os.ErrNotExist) {
		w.byHash, w.mod, w.size = map[string]*Token{}, time.Time{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	if !force && st.ModTime().Equal(w.mod) && st.Size() == w.size {
		return nil
	}
	f, err := load(w.path)
	if err != nil {
		return err
	}
	byHash := make(map[string]*Token, len(f.Tokens))
	for _, t := range f.Tokens {
		byHash[t.Hash] = t
	}
	w.byHash, w.mod, w.size = byHash, st.ModTime(), st.Size()
	return nil
}

// refresh reads the file again if it changed, at most once a second. A
// file that no longer reads (a hand edit gone wrong) refuses every token
// until it is fixed: a revocation it holds must not be ignored. The
// caller holds mu.
func (w *Watcher) refresh(now time.Time) {
	if now.Sub(w.checked) < time.Second {
		return
	}
	w.checked = now
	if err := w.reload(false); err != nil {
		w.byHash, w.mod, w.size = map[string]*Token{}, time.Time{}, 0
	}
}

// Active lists the tokens usable at now, from the table read last (read
// again if the file changed).
func (w *Watcher) Active(now time.Time) []*Token {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refresh(now)
	var out []*Token
	for _, t := range w.byHash {
		if t.State(now) == "active" {
			out = append(out, t)
		}
	}
	return out
}

// Lookup finds the token whose secret this is, usable at now.
func (w *Watcher) Lookup(secret string, now time.Time) (*Token, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refresh(now)
	h := hash(secret)
	t, ok := w.byHash[h]
	if !ok || subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return nil, ErrUnknown
	}
	switch t.State(now) {
	case "revoked":
		return nil, ErrRevoked
	case "expired":
		return nil, ErrExpired
	}
	return t, nil
}
