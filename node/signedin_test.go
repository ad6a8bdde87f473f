package node_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestSignedInPagesFitAPhone: each page as the people who use it see it,
// signed in, on the demo's data — a patient holding two pseudonyms with
// the pseudonym card, consents and trail; a doctor; the regulator with
// the audit; a pharmacy with a verdict — fits a phone and a desktop and
// passes axe-core without a serious or critical violation.
func TestSignedInPagesFitAPhone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// Signed in as a person does: the form, with their token.
	withToken := func(token string, open ...chromedp.Action) []chromedp.Action {
		return append(open, chromedp.WaitVisible("#token"), chromedp.SendKeys("#token", token), chromedp.Click("#signin-button"),
			chromedp.WaitVisible("#signed-in"))
	}
	pages := []struct {
		name, path string
		signIn     []chromedp.Action
		ready      string
	}{
		{"patient", "/patient.html", []chromedp.Action{
			chromedp.WaitVisible("#key-file"),
			chromedp.SetUploadFiles("#key-file", []string{f.Member("Patient 2").KeyFile}),
		}, `document.querySelectorAll("#pseudonyms tbody tr").length === 2 && document.querySelectorAll("#records tbody tr").length === 2`},
		{"doctor", "/practitioner.html", withToken(f.Member("Dr Lena Fischer").APIToken),
			`!document.getElementById("signed-in").hidden`},
		{"regulator", "/regulator.html", withToken(f.Member("National Medicines Agency").APIToken),
			`!document.getElementById("signed-in").hidden && document.querySelectorAll("#recalls tbody tr").length > 0`},
		{"pharmacy", "/verify.html", append(withToken(f.Member("Central Pharmacy").APIToken, chromedp.Click("#dispense-signin summary")),
			chromedp.WaitVisible("#code"),
			chromedp.SendKeys("#code", "(01)09506000134352(21)DEMO004"),
			chromedp.Click("#verify-button"),
			chromedp.Poll(`!document.getElementById("result").hidden`, nil),
		), `!document.getElementById("signed-in").hidden`},
	}
	for _, size := range phoneAndDesktop {
		for _, p := range pages {
			t.Run(size.name+" "+p.name, func(t *testing.T) {
				b := browser(t) // a fresh browser: nobody signed in yet
				open := append([]chromedp.Action{chromedp.Navigate(n.APIURL() + p.path)}, p.signIn...)
				checkPage(t, b, axe, "signed-in-"+p.name, open, p.ready, nil, size)
			})
		}
	}
}
