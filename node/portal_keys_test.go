package node_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/keyring"
)

// TestPortalKeyInBrowser: a patient enrols in the portal in a real
// Chromium, in a consortium that asks for vouchers. Their key is made in
// the page (WebCrypto Ed25519, not extractable, kept in IndexedDB); without
// a voucher the page keeps the key and says what is missing; with the
// voucher St Luke's gave them, the page registers them, grants a
// practitioner a consent and revokes it, each transaction and each read
// signed in the page. The node's home and log hold no copy of the key. On
// a second device (another browser profile) the encrypted backup the page
// offered signs the same patient in.
func TestPortalKeyInBrowser(t *testing.T) {
	base, m, _, home := recordsNodeGenesis(t, func(g *app.Genesis) { g.PatientRegistration = identity.PolicyVoucher })
	const passphrase = "correct horse battery"
	code, err := identity.NewVoucher()
	if err != nil {
		t.Fatal(err)
	}
	mustCall(t, 200, "POST", base+"/api/v1/act", m["stlukes"].token, map[string]any{"type": identity.TypeIssueVouchers,
		"body": identity.IssueVouchers{Vouchers: []string{identity.VoucherHash(code)}}})

	b := browser(t)
	var who, backup, refusal string
	if err := chromedp.Run(b,
		chromedp.Navigate(base+"/patient.html"),
		chromedp.WaitVisible("#key-create"),
		chromedp.SendKeys("#key-passphrase", passphrase),
		chromedp.Click("#key-create"),
		chromedp.Poll(`document.getElementById("signin-error").textContent.includes("need a voucher")`, nil),
		chromedp.Text("#signin-error", &refusal),
		chromedp.SendKeys("#key-voucher", code),
		chromedp.Click("#key-create"),
		chromedp.WaitVisible("#signed-in"),
		chromedp.Text("#who", &who),
		// Once signed in, the backup is still offered (outside the sign-in form).
		chromedp.WaitVisible("#key-backup"),
		chromedp.Evaluate(`fetch(document.getElementById("key-backup").href).then(r => r.text())`, &backup, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	); err != nil {
		t.Fatalf("enrol: %v", err)
	}
	if !strings.HasPrefix(who, "patient ") || !strings.Contains(who, "your key, in this browser") || !strings.Contains(refusal, "need a voucher") {
		t.Fatalf("signed in as %q (first %q)", who, refusal)
	}
	patient := strings.Fields(who)[1]

	// The backup opens with the passphrase, and its key is the patient's.
	seed := openBackup(t, backup, passphrase)
	key := ed25519.NewKeyFromSeed(seed)
	c := client.New(base).WithKey(key)
	if me, err := c.Identity(context.Background(), patient); err != nil || me.Key != hex.EncodeToString(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("the backup's key is not the patient's: %+v, %v", me, err)
	}

	// Grant and revoke, from the page.
	if err := chromedp.Run(b,
		chromedp.Poll(`[...document.querySelectorAll("#grantee option")].some(o => o.value === "`+m["drremote"].id+`")`, nil),
		chromedp.Poll(scopesReady, nil), // the form is wired
		chromedp.SetValue("#grantee", m["drremote"].id),
		chromedp.SetValue("#purpose", "treatment"),
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.querySelectorAll("#consents button.revoke").length === 1`, nil),
		chromedp.Click("#consents button.revoke"),
		chromedp.Poll(`document.querySelectorAll("#consents button.revoke").length === 0 && document.querySelectorAll("#consents tbody tr").length === 1`, nil),
	); err != nil {
		t.Fatalf("grant and revoke: %v", err)
	}
	cons, err := c.Consents(context.Background(), patient)
	if err != nil {
		t.Fatal(err)
	}
	if err != nil || len(cons) != 1 || cons[0].Grantee != m["drremote"].id || cons[0].Status != consent.StatusRevoked {
		t.Fatalf("the ledger's consents: %+v, %v", cons, err)
	}

	// No copy of the key anywhere in the node's home (state, blocks,
	// record store, configuration) or its log.
	forms := [][]byte{seed, []byte(hex.EncodeToString(seed)), []byte(base64.StdEncoding.EncodeToString(seed)), []byte(base64.RawURLEncoding.EncodeToString(seed))}
	files := 0
	if err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 { // the admin socket holds nothing
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, f := range forms {
			if bytes.Contains(content, f) {
				t.Errorf("%s holds the patient's private key", path)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "node.log")); err != nil || files < 10 {
		t.Fatalf("looked in %d files, the log: %v", files, err)
	}

	// A second device: another browser profile opens the backup.
	backupFile := filepath.Join(t.TempDir(), "primum-key-backup.json")
	if err := os.WriteFile(backupFile, []byte(backup), 0o600); err != nil {
		t.Fatal(err)
	}
	// The command line opens the same backup (primum … --from it), so a
	// patient enrolled in a browser can export with the CLI.
	f, err := keyring.ReadFile(backupFile)
	if err != nil || !f.Encrypted {
		t.Fatalf("the CLI reads the backup: %+v, %v", f, err)
	}
	if _, err := f.Open("wrong passphrase"); !errors.Is(err, keyring.ErrWrongPassphrase) {
		t.Fatalf("a wrong passphrase: %v", err)
	}
	if k, err := f.Open(passphrase); err != nil || !k.Equal(key) {
		t.Fatalf("the CLI opens the backup: %v", err)
	}
	other := browser(t)
	var again string
	if err := chromedp.Run(other,
		chromedp.Navigate(base+"/patient.html"),
		chromedp.WaitVisible("#key-file"),
		chromedp.SendKeys("#key-passphrase", passphrase),
		chromedp.SetUploadFiles("#key-file", []string{backupFile}),
		chromedp.WaitVisible("#signed-in"),
		chromedp.Text("#who", &again),
		chromedp.Poll(`document.querySelectorAll("#consents tbody tr").length === 1`, nil),
	); err != nil {
		t.Fatalf("second device: %v", err)
	}
	if strings.Fields(again)[1] != patient {
		t.Fatalf("the backup signed in %q, not %s", again, patient)
	}
}

// openBackup decrypts a key backup the portal made (PBKDF2-SHA256, AES-GCM).
func openBackup(t *testing.T, text, passphrase string) []byte {
	t.Helper()
	var f struct {
		Kind, KDF            string
		Iterations           int
		Salt, IV, Ciphertext string
	}
	if err := json.Unmarshal([]byte(text), &f); err != nil || f.Kind != "primum-key-backup" || f.Iterations < 600000 {
		t.Fatalf("backup %q: %v", text, err)
	}
	raw := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	k, err := pbkdf2.Key(sha256.New, passphrase, raw(f.Salt), f.Iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(block)
	seed, err := gcm.Open(nil, raw(f.IV), raw(f.Ciphertext), nil)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("the backup does not open with its passphrase: %v", err)
	}
	return seed
}

// TestPortalDemoKeyFile: a demo person's key file (as primum demo writes
// them, unencrypted) signs the patient in the moment it is chosen, with no
// passphrase, and the portal shows their consents.
func TestPortalDemoKeyFile(t *testing.T) {
	base, m, _, _ := recordsNodeGenesis(t, nil)
	file := keyFile(t, "patient", m["patient"].key)
	b := browser(t)
	var who, failed string
	if err := chromedp.Run(b,
		chromedp.Navigate(base+"/patient.html"),
		chromedp.WaitVisible("#key-file"),
		chromedp.SetUploadFiles("#key-file", []string{file}),
		chromedp.Poll(`!document.getElementById("signed-in").hidden || document.getElementById("signin-error").textContent !== ""`, nil),
		chromedp.Text("#signin-error", &failed),
		chromedp.Text("#who", &who),
	); err != nil {
		t.Fatal(err)
	}
	if failed != "" || m["patient"].id == "" || !strings.Contains(who, m["patient"].id) {
		t.Fatalf("signed in as %q, error %q", who, failed)
	}
}

// TestPortalReadsRecordsInThePage: a patient signed in with their own key
// reads a record in the portal as words ("Blood pressure 142/91 mmHg"),
// not as an id: the request is signed in the page and the record arrives
// sealed to a one-time key the page made (the Go record opener compiled to
// WebAssembly), is opened there and checked against the ledger's
// commitment. The read is the patient's own access entry on the ledger.
func TestPortalReadsRecordsInThePage(t *testing.T) {
	base, m, _, _ := recordsNodeGenesis(t, nil)
	patient := m["patient"].id
	bp := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},"effectiveDateTime":"2026-11-02T15:10:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":142,"unit":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":91,"unit":"mm[Hg]"}}]}`
	mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["stlukes"].token, []byte(bp))
	file := keyFile(t, "patient", m["patient"].key)
	b := browser(t)
	var row, message, detail, raw string
	if err := chromedp.Run(b,
		chromedp.Navigate(base+"/patient.html"),
		chromedp.WaitVisible("#key-file"),
		chromedp.SetUploadFiles("#key-file", []string{file}),
		chromedp.WaitVisible("#signed-in"),
		chromedp.Poll(`document.querySelectorAll("#records button.read").length === 1`, nil),
		chromedp.Text("#records tbody tr", &row),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row, "Not read yet") || strings.Contains(row, "observation-") {
		t.Fatalf("before reading, the row shows %q (no record id on the surface)", row)
	}
	if err := chromedp.Run(b,
		chromedp.Click("#records button.read"),
		chromedp.Poll(`document.getElementById("records-message").textContent.startsWith("Blood pressure") || document.getElementById("records-message").textContent.startsWith("Could not")`, nil),
		chromedp.Text("#records-message", &message),
		chromedp.Text("#records tbody tr", &row),
		chromedp.Click("#records button.secondary"),
		chromedp.WaitVisible("#record-detail"),
		chromedp.Text("#record-detail-fields", &detail),
		chromedp.TextContent("#record-detail-json", &raw),
	); err != nil {
		t.Fatal(err)
	}
	var opened bool
	if err := chromedp.Run(b, chromedp.Evaluate(`typeof primumRelease === "object"`, &opened)); err != nil || !opened {
		t.Fatalf("the record was not opened by the page's record opener: %v", err)
	}
	if !strings.HasPrefix(message, "Blood pressure 142/91 mmHg · ") || !strings.HasSuffix(message, " · stlukes") ||
		!strings.Contains(row, "Blood pressure 142/91 mmHg") || !strings.Contains(row, "Measurements and results") {
		t.Fatalf("read: message %q, row %q", message, row)
	}
	if !strings.Contains(detail, "loinc.org") || !strings.Contains(detail, "85354-9 — Blood pressure panel") || !strings.Contains(raw, `"8480-6"`) {
		t.Fatalf("details: %q\n%s", detail, raw)
	}
	// The trail hides the patient's own reads unless asked.
	var hidden string
	var shownRows int
	if err := chromedp.Run(b,
		chromedp.Poll(`document.getElementById("own-count").textContent !== ""`, nil),
		chromedp.Text("#own-count", &hidden),
		chromedp.Click("#show-own"),
		chromedp.Poll(`document.querySelectorAll("#trail tbody tr").length === 1`, nil),
		chromedp.Evaluate(`document.querySelectorAll("#trail tbody tr").length`, &shownRows),
	); err != nil || hidden != "(1 of your own reads hidden)" {
		t.Fatalf("own reads in the trail: %q, %d rows shown when asked: %v", hidden, shownRows, err)
	}
	// On the ledger: the patient's own read, granted.
	var trail []struct{ Requester, Purpose, Outcome string }
	if err := json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/access", m["patient"].token, nil), &trail); err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 || trail[0].Requester != patient || trail[0].Purpose != "patient" || trail[0].Outcome != "granted" {
		t.Fatalf("the trail after the read: %+v", trail)
	}
}

// keyFile writes key as a demo person's key file (unencrypted, as primum
// demo writes them).
func keyFile(t *testing.T, name string, key ed25519.PrivateKey) string {
	t.Helper()
	f, err := keyring.Seal(name, key, "", true)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".json")
	if err := keyring.WriteFile(file, f); err != nil {
		t.Fatal(err)
	}
	return file
}
