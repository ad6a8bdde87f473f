package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
)

// TestPortalPairwisePseudonyms: the demo's Patient 2 holds a pseudonym at
// each hospital, made from their one key, whose key file lists them. Signed
// in with that key, the portal finds both, shows both hospitals' records as
// theirs, enrols at a third institution with its voucher (remembered for
// the next visit), grants a consent from the institution chosen and
// revokes it as that pseudonym. The browser derives the same pseudonym
// keys as Go does (identity.PairwiseKey).
func TestPortalPairwisePseudonyms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	p2 := f.Member("Patient 2")
	if len(p2.Pseudonyms) != 2 {
		t.Fatalf("Patient 2's pseudonyms: %v", p2.Pseudonyms)
	}
	b := browser(t)
	evaluate := func(expr string, out any) chromedp.Action {
		return chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })
	}
	rows := func(table string) string {
		return fmt.Sprintf(`document.querySelectorAll("%s tbody tr").length`, table)
	}
	var records, pseudonyms string
	if err := chromedp.Run(b,
		chromedp.Navigate(n.APIURL()+"/patient.html"),
		chromedp.WaitVisible("#key-file"),
		chromedp.SetUploadFiles("#key-file", []string{p2.KeyFile}),
		chromedp.WaitVisible("#pseudonyms-card"),
		chromedp.Poll(rows("#records")+" === 2 && "+rows("#pseudonyms")+" === 2", nil),
		chromedp.Text("#records", &records),
		chromedp.Text("#pseudonyms", &pseudonyms),
	); err != nil {
		t.Fatal(err)
	}
	for org, id := range p2.Pseudonyms {
		if !strings.Contains(pseudonyms, id) || !strings.Contains(records, org) {
			t.Fatalf("the portal does not show %s's pseudonym %s or its record:\n%s\n%s", org, id, pseudonyms, records)
		}
	}

	// The same derivation as Go's, on the pinned vector's seed.
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	custodian := "017c6718c2f9caed5ad0d6462f4b16eddc25793e"
	want := hex.EncodeToString(identity.PairwiseKey(ed25519.NewKeyFromSeed(seed), "primum-demo", custodian).Public().(ed25519.PublicKey))
	var got string
	if err := chromedp.Run(b, evaluate(fmt.Sprintf(`(async () => {
		const k = await fromSeed(unhex(%q), %q);
		const saved = myKey.current;
		myKey.current = k;
		try { return (await myKey.derive("primum-demo", %q)).pub; } finally { myKey.current = saved; }
	})()`, hex.EncodeToString(seed), hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)), custodian), &got)); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("the browser derives %s, Go %s", got, want)
	}

	// Enrol at a pharmacy with a voucher: a third pseudonym, on the ledger
	// as a patient of its own.
	pharmacy := f.Member("Central Pharmacy").Address
	var enrolled string
	if err := chromedp.Run(b,
		chromedp.Poll(`[...document.querySelectorAll("#enrol-org option")].some(o => o.value === "`+pharmacy+`")`, nil),
		chromedp.SetValue("#enrol-org", pharmacy, chromedp.ByID),
		chromedp.SendKeys("#enrol-voucher", f.Vouchers[0], chromedp.ByID),
		chromedp.Click("#enrol-button", chromedp.ByID),
		chromedp.Poll(`document.getElementById("enrol-message").textContent !== ""`, nil),
		chromedp.Text("#enrol-message", &enrolled),
		chromedp.Poll(rows("#pseudonyms")+" === 3", nil),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(enrolled, "Enrolled") {
		t.Fatalf("enrolment: %q", enrolled)
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, err := demoKey(p2.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	atPharmacy := identity.PairwiseKey(key, chainID, pharmacy)
	if info, err := c.Self(ctx, atPharmacy); err != nil || info.Identity == nil || !strings.Contains(enrolled, info.Identity.ID) {
		t.Fatalf("the pharmacy pseudonym on the ledger: %+v, %v (page said %q)", info, err, enrolled)
	}

	// The enrolment is remembered with the key in this browser: a new
	// visit finds all three, asking about no other institution.
	if err := chromedp.Run(b,
		chromedp.Reload(), // still signed in with the key, in this tab
		chromedp.WaitVisible("#pseudonyms-card"),
		chromedp.Poll(rows("#pseudonyms")+" === 3", nil),
	); err != nil {
		t.Fatal(err)
	}

	// A consent is granted by the pseudonym of the institution chosen, and
	// revoked by it.
	doctor := f.Member("Dr Lena Fischer").Address
	riverside := p2.Pseudonyms["Riverside General Hospital"]
	if err := chromedp.Run(b,
		chromedp.Poll(scopesReady, nil),
		chromedp.SetValue("#grantee", doctor, chromedp.ByID),
		chromedp.SetValue("#grant-at", riverside, chromedp.ByID),
		chromedp.Click("#grant-button", chromedp.ByID),
		chromedp.Poll(`document.getElementById("consent-message").textContent.startsWith("Consent granted")`, nil),
		// Beside the consents the demo's claims story had Patient 2 give
		// (treatment at the three hospitals, payment by CareShield).
		chromedp.Poll(`[...document.querySelectorAll("#consents tbody tr")].filter(r => r.textContent.includes("Fischer")).length === 1`, nil),
	); err != nil {
		t.Fatal(err)
	}
	atRiverside := identity.PairwiseKey(key, chainID, f.Member("Riverside General Hospital").Address)
	cs, err := c.WithKey(atRiverside).Consents(ctx, riverside)
	if err != nil || len(cs) != 1 || cs[0].Grantee != doctor || cs[0].Status != "active" {
		t.Fatalf("Riverside pseudonym's consents: %+v, %v", cs, err)
	}
	for _, id := range []string{p2.Address, ledgerID(atPharmacy)} {
		k := key
		if id != p2.Address {
			k = atPharmacy
		}
		others, err := c.WithKey(k).Consents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range others { // the patient's own identity holds the claims story's consents
			if o.Grantee == doctor {
				t.Fatalf("pseudonym %s granted too: %+v", id, o)
			}
		}
	}
	if err := chromedp.Run(b,
		chromedp.Evaluate(`[...document.querySelectorAll("#consents tbody tr")].find(r => r.textContent.includes("Fischer")).querySelector("button.revoke").click()`, nil),
		chromedp.Poll(`document.getElementById("consent-message").textContent.startsWith("Consent revoked")`, nil),
	); err != nil {
		t.Fatal(err)
	}
	if cs, err := c.WithKey(atRiverside).Consents(ctx, riverside); err != nil || len(cs) != 1 || cs[0].Status != "revoked" {
		t.Fatalf("after the revoke: %+v, %v", cs, err)
	}
}

// demoKey opens a demo person's key file (unencrypted).
func demoKey(path string) (ed25519.PrivateKey, error) {
	f, err := keyring.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return f.Open("")
}

func ledgerID(k ed25519.PrivateKey) string { return ledger.Address(k.Public().(ed25519.PublicKey)) }
