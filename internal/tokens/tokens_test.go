package tokens

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/keyring"
)

// TestTokens: a token is kept only as its hash; it allows its scopes and
// no others; it stops working when it expires or is revoked, and a
// running node's Watcher sees a revocation made meanwhile by another
// process (the CLI) within a second; bad requests are refused with a
// reason.
func TestTokens(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(home+"/config", 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w, err := Watch(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Lookup("pt_nothing", now); !errors.Is(err, ErrUnknown) {
		t.Fatalf("no file: %v", err)
	}
	secret, tok, err := Create(home, "keys/ehr.json", []string{ScopeFHIRCreate, ScopeRead}, 30*24*time.Hour, "EHR import", now)
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := Create(home, "keys/wms.json", []string{ScopeEPCISCapture}, time.Minute, "", now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(Path(home))
	if strings.Contains(string(b), secret) || strings.Contains(string(b), short) || !strings.Contains(string(b), tok.Hash) {
		t.Fatalf("the file keeps a secret, or not its hash:\n%s", b)
	}
	if st, _ := os.Stat(Path(home)); st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file mode %v", st.Mode().Perm())
	}

	later := now.Add(2 * time.Second) // past the watcher's once-a-second check
	got, err := w.Lookup(secret, later)
	if err != nil || got.ID != tok.ID || got.Key != "keys/ehr.json" {
		t.Fatalf("lookup: %+v, %v", got, err)
	}
	for scope, want := range map[string]bool{ScopeFHIRCreate: true, ScopeRead: true, ScopeAct: false, ScopeExport: false} {
		if got.Allows(scope) != want {
			t.Errorf("scope %s: %v", scope, !want)
		}
	}
	if _, err := w.Lookup(secret+"x", later); !errors.Is(err, ErrUnknown) {
		t.Fatalf("a wrong secret: %v", err)
	}
	if _, err := Revoke(home, tok.ID, later); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Lookup(secret, later.Add(1100*time.Millisecond)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after revocation: %v", err)
	}
	if _, err := w.Lookup(short, now.Add(2*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("an expired token: %v", err)
	}
	list, err := List(home)
	if err != nil || len(list) != 2 || list[0].State(later) != "revoked" || list[1].State(now) != "active" {
		t.Fatalf("list: %+v, %v", list, err)
	}

	for _, bad := range []struct {
		scopes []string
		life   time.Duration
		says   string
	}{
		{nil, time.Hour, "at least one scope"},
		{[]string{"admin"}, time.Hour, "unknown scope"},
		{[]string{ScopeRead}, 0, "lives from"},
		{[]string{ScopeRead}, 400 * 24 * time.Hour, "lives from"},
	} {
		if _, _, err := Create(home, "keys/x.json", bad.scopes, bad.life, "", now); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%v %v: %v, want %q", bad.scopes, bad.life, err, bad.says)
		}
	}
	if _, err := Revoke(home, "tok_nope", now); !errors.Is(err, ErrUnknown) {
		t.Fatalf("revoking an unknown token: %v", err)
	}
}

// A token names a key the node holds: by its name in the home's keyring,
// or a key file's path from the home or absolute; a key file that is not
// there is refused.
func TestHeldKey(t *testing.T) {
	home := t.TempDir()
	if _, err := keyring.Dir(filepath.Join(home, "keys")).Add("st-lukes", "", true); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(home, "keys", "st-lukes.json")
	for _, c := range []struct{ ref, want, err string }{
		{"st-lukes", filepath.Join("keys", "st-lukes.json"), ""},
		{"keys/st-lukes.json", "keys/st-lukes.json", ""},
		{abs, abs, ""},
		{"nobody", "", "no key file " + filepath.Join(home, "keys", "nobody.json")},
		{"elsewhere/k.json", "", "the token must name a key this node holds"},
	} {
		got, err := HeldKey(home, c.ref)
		if c.err == "" && (err != nil || got != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("HeldKey(%q) = %q, %v", c.ref, got, err)
		}
	}
}
