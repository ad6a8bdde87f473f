package node_test

import (
	"context"
	"encoding/json"
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

// TestTrialRegistry: the demo's registry in a real Chromium, on a phone and
// a desktop: the two trials, the switched one flagged by the ledger with
// the version and time of the switch; its page shows the outcomes against
// the results (one missing, one added), its score, and every version with
// what changed.
func TestTrialRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, n, c, _ := demotest.Seeded(t, ctx)
	// Through the FHIR facade: the flagged trial as an R4 ResearchStudy,
	// its outcomes and the flag as extensions, valid against R4.
	var study map[string]any
	if err := c.Get(ctx, "/fhir/ResearchStudy/"+demo.SwitchedTrial, &study); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(study)
	if problems := conformance.LoadFHIR(t).Validate(raw); len(problems) > 0 {
		t.Errorf("ResearchStudy: %v", problems)
	}
	if !strings.Contains(string(raw), `"valueCode":"primary_outcome_switched"`) || !strings.Contains(string(raw), `"versionId":"2"`) || study["status"] != "completed" {
		t.Errorf("ResearchStudy: %s", raw)
	}
	var bundle struct{ Total int }
	if err := c.Get(ctx, "/fhir/ResearchStudy", &bundle); err != nil || bundle.Total != 2 {
		t.Errorf("ResearchStudy search: %+v %v", bundle, err)
	}
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			b := browser(t)
			var rows, flags, outcomes, score, history string
			checkPage(t, b, axe, "trials-"+size.name, []chromedp.Action{chromedp.Navigate(n.APIURL() + "/trials.html")},
				`document.querySelectorAll("#trials tbody tr").length === 2`, []chromedp.Action{
					chromedp.Text("#trials tbody", &rows),
					chromedp.Evaluate(`[...document.querySelectorAll("#trials button")].find(b => b.getAttribute("aria-label") === "Open trial `+demo.SwitchedTrial+`").click()`, nil),
					chromedp.Poll(`document.querySelectorAll("#history tbody tr").length === 2`, nil),
					chromedp.Text("#trial-flags", &flags),
					chromedp.Text("#outcomes", &outcomes),
					chromedp.Text("#trial-score", &score),
					chromedp.Text("#history", &history),
				}, size)
			if !strings.Contains(rows, demo.CleanTrial) || !strings.Contains(rows, demo.Institute) || strings.Count(rows, "2 flags") != 1 {
				t.Errorf("the registry:\n%s", rows)
			}
			if !strings.Contains(flags, "Primary outcome switched after enrolment began (version 2, ") || !strings.Contains(flags, "added: fpg; dropped: hba1c") ||
				!strings.Contains(flags, "Outcome reported that was never registered") {
				t.Errorf("flags: %q", flags)
			}
			if !strings.Contains(outcomes, "fasting glucose -1.1 mmol/l") || !strings.Contains(outcomes, "missing from the results") || !strings.Contains(outcomes, "added in the results") {
				t.Errorf("outcomes:\n%s", outcomes)
			}
			if !strings.HasPrefix(score, "1 of 2 registered outcomes reported, 1 missing, 1 added; primary outcome switched") {
				t.Errorf("score: %q", score)
			}
			if !strings.Contains(history, "shorter follow-up after slow recruitment") || !strings.Contains(history, `⚑ primary outcome added: fpg "change in fasting plasma glucose" (12 weeks)`) {
				t.Errorf("history:\n%s", history)
			}
		})
	}
}
