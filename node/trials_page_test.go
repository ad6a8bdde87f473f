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
	_, n, c, f := demotest.Seeded(t, ctx)
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
	// The sponsor's view: the institute registers a trial from the page,
	// then amends it; the registry has it at version 2.
	t.Run("sponsor", func(t *testing.T) {
		b := browser(t)
		protocol := `{"title":"Page trial","conditions":["Asthma"],"interventions":["budesonide"],"inclusion":"adults","exclusion":"smokers",` +
			`"sample_size":80,"primary_outcomes":[{"id":"fev1","measure":"FEV1","time_frame":"12 weeks"}],"sites":["` + f.Member("St Luke's Hospital").Address +
			`"],"protocol_commitment":"` + strings.Repeat("cd", 32) + `"}`
		var result, amended string
		if err := chromedp.Run(b,
			chromedp.Navigate(n.APIURL()+"/trials.html"),
			chromedp.Evaluate(`document.getElementById("sponsor").open = true`, nil),
			chromedp.SendKeys("#token", f.Member(demo.Institute).APIToken),
			chromedp.Click("#signin-button"),
			chromedp.WaitVisible("#protocol-form"),
			chromedp.SendKeys("#trial-id", "PRM-PAGE-1"),
			chromedp.SetValue("#protocol-json", protocol),
			chromedp.Click("#protocol-button"),
			chromedp.Poll(`document.getElementById("protocol-result").textContent.includes("registered (block")`, nil),
			chromedp.Text("#protocol-result", &result),
			chromedp.Poll(`document.getElementById("protocol-button").textContent === "Save as version 2"`, nil),
			chromedp.Evaluate(`{ const j = document.getElementById("protocol-json"); j.value = j.value.replace('"sample_size": 80', '"sample_size": 120'); }`, nil),
			chromedp.SendKeys("#amend-reason", "a second site's patients"),
			chromedp.Click("#protocol-button"),
			chromedp.Poll(`document.getElementById("protocol-result").textContent.includes("amended (block")`, nil),
			chromedp.Text("#protocol-result", &amended),
		); err != nil {
			t.Fatalf("sponsor: %v (%q, %q)", err, result, amended)
		}
		var tr struct {
			Version  int64
			Protocol struct {
				SampleSize int64 `json:"sample_size"`
			}
		}
		if err := c.Get(ctx, "/api/v1/trials/PRM-PAGE-1", &tr); err != nil || tr.Version != 2 || tr.Protocol.SampleSize != 120 {
			t.Fatalf("the page's trial: %+v %v", tr, err)
		}
	})
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			b := browser(t)
			var rows, flags, outcomes, score, history string
			checkPage(t, b, axe, "trials-"+size.name, []chromedp.Action{chromedp.Navigate(n.APIURL() + "/trials.html")},
				`document.querySelectorAll("#trials tbody tr").length === 3`, []chromedp.Action{
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
