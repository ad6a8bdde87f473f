package node_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestResearchPage: the demo's federated learning task and research query
// in a real Chromium, at phone and desktop sizes with axe. The institute
// sees the task's eight rounds with the three hospitals, the accuracy
// curve and each site's contributions, and its released query (the
// age bands' noisy counts) and budget; a pharmacy, neither researcher nor
// custodian, sees the task but no query.
func TestResearchPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// The release through the FHIR facade, as an R4 MeasureReport: to the
	// researcher, valid; to a pharmacy, refused.
	raw := mustCall(t, 200, "GET", n.APIURL()+"/fhir/MeasureReport/research-"+demo.ResearchQuery, f.Member(demo.Institute).APIToken, nil)
	if problems := conformance.LoadFHIR(t).Validate(raw); len(problems) > 0 || !strings.Contains(string(raw), `"initial-population"`) {
		t.Errorf("the release as a MeasureReport: %v\n%s", problems, raw)
	}
	mustCall(t, 403, "GET", n.APIURL()+"/fhir/MeasureReport/research-"+demo.ResearchQuery, f.Member("Central Pharmacy").APIToken, nil)
	signIn := func(who string) []chromedp.Action {
		return []chromedp.Action{chromedp.Navigate(n.APIURL() + "/research.html"), chromedp.WaitVisible("#token"),
			chromedp.SendKeys("#token", f.Member(who).APIToken), chromedp.Click("#signin-button")}
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			b := browser(t)
			var rounds, accounts, queries, budgets string
			var curve bool
			checkPage(t, b, axe, "research-"+size.name, signIn(demo.Institute),
				`document.querySelectorAll("#tasks tbody tr").length === 1 && document.querySelectorAll("#queries tbody tr").length === 1`, []chromedp.Action{
					chromedp.Evaluate(`document.querySelector('#tasks button[aria-label="Open task `+demo.FLTask+`"]').click()`, nil),
					chromedp.Poll(`document.querySelectorAll("#rounds tbody tr").length === 8`, nil),
					chromedp.Text("#rounds tbody", &rounds),
					chromedp.Text("#accounts tbody", &accounts),
					chromedp.Evaluate(`document.querySelector("#curve svg polyline") !== null`, &curve),
					chromedp.Poll(`document.querySelector("#budgets tbody").textContent.includes("`+demo.Dataset+`")`, nil),
					chromedp.Text("#queries tbody", &queries),
					chromedp.Text("#budgets tbody", &budgets),
				}, size)
			if !strings.Contains(rounds, "Eastfield Hospital") || strings.Count(rounds, "St Luke's Hospital") != 8 || !curve {
				t.Errorf("rounds (curve %v):\n%s", curve, rounds)
			}
			if strings.Count(accounts, "8") < 3 {
				t.Errorf("each site's rounds:\n%s", accounts)
			}
			if !strings.Contains(queries, demo.ResearchQuery) || !strings.Contains(queries, "65+:") || !strings.Contains(queries, "released") {
				t.Errorf("the institute's query:\n%s", queries)
			}
			if !strings.Contains(budgets, "3") || !strings.Contains(budgets, "2") {
				t.Errorf("the institute's budget (3 granted, 1 spent, 2 left):\n%s", budgets)
			}
		})
	}
	t.Run("pharmacy", func(t *testing.T) {
		b := browser(t)
		var msg string
		if err := chromedp.Run(b, append(signIn("Central Pharmacy"),
			chromedp.Poll(`document.querySelectorAll("#tasks tbody tr").length === 1 && document.getElementById("queries-message").textContent !== ""`, nil),
			chromedp.Text("#queries-message", &msg))...); err != nil {
			t.Fatal(err)
		}
		if msg != "No query you may read." {
			t.Errorf("the pharmacy's queries: %q", msg)
		}
	})
}
