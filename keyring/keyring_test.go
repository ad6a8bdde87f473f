package keyring

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEncryptedAtRest(t *testing.T) {
	d := Dir(t.TempDir())
	f, err := d.Add("alice", "correct horse", false)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := d.Path("alice")
	raw, _ := os.ReadFile(path)
	key, err := f.Open("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), hex.EncodeToString(key.Seed())) || f.PrivateKey != "" {
		t.Fatal("the private key is in the file in clear")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	cases := []struct {
		name string
		pass string
		want error
	}{
		{"right passphrase", "correct horse", nil},
		{"wrong passphrase", "wrong", ErrWrongPassphrase},
		{"empty passphrase", "", ErrWrongPassphrase},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, _ := d.Get("alice")
			k, err := g.Open(c.pass)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err == nil && !k.Equal(key) {
				t.Fatal("different key")
			}
		})
	}
}

func TestKeyringRules(t *testing.T) {
	d := Dir(t.TempDir())
	if _, err := d.Add("bob", "", false); !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
	f, err := d.Add("bob", "", true)
	if err != nil || f.Encrypted || !strings.Contains(f.Warning, "UNENCRYPTED") {
		t.Fatalf("unencrypted key must say so: %+v %v", f, err)
	}
	if _, err := d.Add("bob", "x", false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	for _, bad := range []string{"", "../etc", "a/b", strings.Repeat("x", 65)} {
		if _, err := d.Add(bad, "", true); !errors.Is(err, ErrBadName) {
			t.Fatalf("name %q: %v", bad, err)
		}
	}
	key, _ := f.Open("")
	if _, err := d.Import("bob2", key, "pw", false); err != nil {
		t.Fatal(err)
	}
	list, err := d.List()
	if err != nil || len(list) != 2 || list[0].Name != "bob" || list[1].Address != f.Address {
		t.Fatalf("list: %+v %v", list, err)
	}
	tampered, _ := d.Get("bob2")
	tampered.PublicKey = hex.EncodeToString(make([]byte, ed25519.PublicKeySize))
	if _, err := tampered.Open("pw"); err == nil {
		t.Fatal("a key file whose public key was swapped opened")
	}
}

// An import is a key file, as exported, or a hex seed; anything else is
// refused. IsPath tells a key file's path from a key's name.
func TestParse(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	sealed, err := Seal("alice", key, "pass", false)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := json.Marshal(sealed)
	for _, tc := range []struct {
		name string
		in   []byte
		pass string
	}{
		{"key file", exported, "pass"},
		{"hex seed", []byte(" " + hex.EncodeToString(key.Seed()) + "\n"), ""},
	} {
		f, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := f.Open(tc.pass)
		if err != nil || !got.Equal(key) {
			t.Fatalf("%s: opened %v", tc.name, err)
		}
	}
	for _, bad := range []string{"", "not a key", hex.EncodeToString(key.Seed()[:31]), `{"name":"x"}`} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrNotAKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for ref, path := range map[string]bool{"operator": false, "demo/keys/acme.json": true, "acme.json": true, "st-lukes": false} {
		if IsPath(ref) != path {
			t.Errorf("IsPath(%q) = %v", ref, !path)
		}
	}
}

// A patient's key file remembers where they hold pseudonyms, once each,
// and still opens with its passphrase afterwards.
func TestAddPseudonyms(t *testing.T) {
	d := Dir(t.TempDir())
	f, err := d.Add("p", "a passphrase", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, orgs := range [][]string{{"org-a"}, {"org-b", "org-a"}, {"org-b"}} {
		if err := d.AddPseudonyms("p", orgs...); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Get("p")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Pseudonyms, ",") != "org-a,org-b" || got.PublicKey != f.PublicKey {
		t.Fatalf("key file after: %+v", got)
	}
	if _, err := got.Open("a passphrase"); err != nil {
		t.Fatalf("the key no longer opens: %v", err)
	}
	// A field this version does not know (a portal backup's version, a
	// later format's) survives, as does the file's mode.
	path, _ := d.Path("p")
	b, _ := os.ReadFile(path)
	b = []byte(strings.Replace(string(b), "{", `{"version": 7,`, 1))
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := d.AddPseudonyms("p", "org-c"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	st, _ := os.Stat(path)
	if !strings.Contains(string(b), `"version": 7`) || !strings.Contains(string(b), "org-c") || st.Mode().Perm() != 0o640 {
		t.Fatalf("rewritten as %o:\n%s", st.Mode().Perm(), b)
	}
	if left, _ := filepath.Glob(filepath.Join(string(d), ".*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// A key is unlocked by its name or its file's path, with PRIMUM_PASSPHRASE
// when it is encrypted; an unencrypted key needs none, and a wrong
// passphrase opens nothing.
func TestUnlock(t *testing.T) {
	d := Dir(t.TempDir())
	sealed, err := d.Add("sealed", "right", false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := d.Add("plain", "", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ref, pass string
		want            *File
	}{
		{"by name", "sealed", "right", sealed},
		{"by path", filepath.Join(string(d), "sealed.json"), "right", sealed},
		{"unencrypted", "plain", "anything", plain},
		{"a wrong passphrase", "sealed", "wrong", nil},
	} {
		t.Setenv("PRIMUM_PASSPHRASE", c.pass)
		key, err := d.Unlock(c.ref)
		switch {
		case c.want == nil && err == nil:
			t.Errorf("%s: opened", c.name)
		case c.want != nil && (err != nil || hex.EncodeToString(key.Public().(ed25519.PublicKey)) != c.want.PublicKey):
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// A key is imported from a key file (encrypted or not, with where it holds
// pseudonyms) or a hex seed, sealed anew unless asked not to; a file that
// is neither is refused naming it.
func TestImportFile(t *testing.T) {
	t.Setenv("PRIMUM_PASSPHRASE", "pw")
	from, to := Dir(t.TempDir()), Dir(t.TempDir())
	sealed, err := from.Add("sealed", "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := from.Add("plain", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := from.AddPseudonyms("plain", "org-1"); err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(t.TempDir(), "seed.hex")
	_, key, _ := ed25519.GenerateKey(nil)
	junk := filepath.Join(t.TempDir(), "junk.txt")
	if os.WriteFile(seed, []byte(hex.EncodeToString(key.Seed())+"\n"), 0o600) != nil || os.WriteFile(junk, []byte("hello"), 0o600) != nil {
		t.Fatal("cannot write the files to import")
	}
	for _, c := range []struct {
		name, path  string
		unencrypted bool
		pub         string
		pseudonyms  []string
		err         string
	}{
		{"an encrypted key file", filepath.Join(string(from), "sealed.json"), false, sealed.PublicKey, nil, ""},
		{"a key file with pseudonyms", filepath.Join(string(from), "plain.json"), true, plain.PublicKey, []string{"org-1"}, ""},
		{"a hex seed", seed, false, hex.EncodeToString(key.Public().(ed25519.PublicKey)), nil, ""},
		{"neither", junk, false, "", nil, "junk.txt is neither a key file"},
	} {
		f, err := to.ImportFile(strings.ReplaceAll(c.name, " ", "-"), c.path, c.unencrypted)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err != nil || f.PublicKey != c.pub || f.Encrypted == c.unencrypted {
			t.Errorf("%s: %+v, %v", c.name, f, err)
			continue
		}
		back, err := to.Get(f.Name)
		if err != nil || !slices.Equal(back.Pseudonyms, c.pseudonyms) {
			t.Errorf("%s: stored %+v, %v", c.name, back, err)
		}
	}
}

// A key is recognised by the start of its public key; what is not an
// Ed25519 key's 64 hex digits is shown whole.
func TestShortKey(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{strings.Repeat("ab", 32), "abababababababab…"},
		{"abc", "abc"},
		{"", ""},
	} {
		if got := (&File{PublicKey: c.key}).ShortKey(); got != c.want {
			t.Errorf("%q: %q, want %q", c.key, got, c.want)
		}
	}
}

// A new key is sealed with the passphrase asked (PRIMUM_PASSPHRASE here),
// or stored in clear when asked to; a name taken or not a name is
// refused. Listed, keys show their name, address, public key and whether they are
// encrypted, and an empty folder lists none (not null).
func TestAddNewAndListing(t *testing.T) {
	d := Dir(filepath.Join(t.TempDir(), "keys"))
	if rows, err := d.Listing(); err != nil || rows == nil || len(rows) != 0 {
		t.Fatalf("no keys: %#v %v", rows, err)
	}
	t.Setenv("PRIMUM_PASSPHRASE", "pw")
	for _, c := range []struct {
		name        string
		unencrypted bool
		err         error
	}{
		{"sealed", false, nil},
		{"plain", true, nil},
		{"sealed", false, ErrExists},
		{"../etc", true, ErrBadName},
	} {
		f, err := d.AddNew(c.name, c.unencrypted)
		if !errors.Is(err, c.err) || (err == nil && f.Encrypted == c.unencrypted) {
			t.Errorf("%s: %+v %v, want %v", c.name, f, err, c.err)
		}
	}
	if key, err := d.Unlock("sealed"); err != nil || key == nil {
		t.Errorf("sealed with PRIMUM_PASSPHRASE: %v", err)
	}
	plain, _ := d.Get("plain")
	rows, err := d.Listing()
	if want := (Listed{"plain", plain.Address, plain.PublicKey, false}); err != nil || len(rows) != 2 || rows[0] != want || rows[1].Name != "sealed" || !rows[1].Encrypted {
		t.Errorf("listing: %+v %v", rows, err)
	}
	b, _ := json.Marshal(rows[0])
	if !strings.Contains(string(b), `"public_key":"`+plain.PublicKey+`"`) || strings.Contains(string(b), "secret") {
		t.Errorf("a listed key as JSON: %s", b)
	}
}
