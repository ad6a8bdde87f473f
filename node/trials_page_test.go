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
	// The enrolments as FHIR R4 ResearchSubjects, to the sponsor: valid
	// against R4, the participant a pseudonym, each one readable by its id;
	// to a member that is neither sponsor nor site, refused.
	inst := c.WithToken(f.Member(demo.Institute).APIToken)
	var subjects struct {
		Total int
		Entry []struct{ Resource map[string]any }
	}
	if err := inst.Get(ctx, "/fhir/ResearchSubject?study="+demo.CleanTrial, &subjects); err != nil || subjects.Total != 1 {
		t.Fatalf("ResearchSubject search as the sponsor: %+v %v", subjects, err)
	}
	for _, e := range subjects.Entry {
		raw, _ := json.Marshal(e.Resource)
		if problems := conformance.LoadFHIR(t).Validate(raw); len(problems) > 0 {
			t.Errorf("ResearchSubject: %v\n%s", problems, raw)
		}
		var again map[string]any
		if err := inst.Get(ctx, "/fhir/ResearchSubject/"+e.Resource["id"].(string), &again); err != nil || again["status"] != "on-study" ||
			again["individual"].(map[string]any)["reference"] != "Patient/"+f.Member("Patient 3").Address {
			t.Errorf("ResearchSubject read: %v %v", again, err)
		}
	}
	if err := c.WithToken(f.Member("Central Pharmacy").APIToken).Get(ctx, "/fhir/ResearchSubject?study="+demo.CleanTrial, &subjects); err == nil {
		t.Error("a pharmacy, neither sponsor nor site, searched the trial's research subjects")
	}
	// The sponsor's view: the institute registers a trial from the page's
	// form, amends it, registers its results (one reported, one not, one
	// added), and reads the enrolments of its demo trial.
	t.Run("sponsor", func(t *testing.T) {
		b := browser(t)
		var result, amended, reported, enrolled string
		if err := chromedp.Run(b,
			chromedp.Navigate(n.APIURL()+"/trials.html"),
			chromedp.Evaluate(`document.getElementById("sponsor").open = true`, nil),
			chromedp.SendKeys("#token", f.Member(demo.Institute).APIToken),
			chromedp.Click("#signin-button"),
			chromedp.WaitVisible("#protocol-form"),
			chromedp.Poll(`document.querySelectorAll("#p-sites input").length > 3`, nil),
			chromedp.SendKeys("#trial-id", "PRM-PAGE-1"),
			chromedp.SendKeys("#p-title", "Page trial"),
			chromedp.SendKeys("#p-conditions", "Asthma"),
			chromedp.SendKeys("#p-interventions", "budesonide"),
			chromedp.SendKeys("#p-inclusion", "adults"),
			chromedp.SendKeys("#p-exclusion", "smokers"),
			chromedp.SendKeys("#p-sample", "80"),
			chromedp.SendKeys(`#p-primary [data-f="id"]`, "fev1"),
			chromedp.SendKeys(`#p-primary [data-f="measure"]`, "FEV1"),
			chromedp.SendKeys(`#p-primary [data-f="time_frame"]`, "12 weeks"),
			chromedp.Click("#add-secondary"),
			chromedp.SendKeys(`#p-secondary [data-f="id"]`, "exac"),
			chromedp.SendKeys(`#p-secondary [data-f="measure"]`, "exacerbations"),
			chromedp.SendKeys(`#p-secondary [data-f="time_frame"]`, "12 weeks"),
			chromedp.Evaluate(`document.querySelector('#p-sites input[value="`+f.Member("St Luke's Hospital").Address+`"]').checked = true`, nil),
			// The protocol document, committed in the page.
			chromedp.SetUploadFiles("#p-document", []string{writeFile(t, "protocol.pdf", "the full protocol")}),
			chromedp.Poll(`/^[0-9a-f]{64}$/.test(document.getElementById("p-commitment").value) && document.querySelector("#p-salt a") !== null`, nil),
			chromedp.Click("#protocol-button"),
			chromedp.Poll(`document.getElementById("protocol-result").textContent.includes("registered (block")`, nil),
			chromedp.Text("#protocol-result", &result),
			// After registering, an empty form for the next trial; amending
			// is a button of the sponsor's trials.
			chromedp.Poll(`document.getElementById("protocol-button").textContent === "Register" && document.getElementById("p-title").value === ""`, nil),
			chromedp.Evaluate(`[...document.querySelectorAll("#my-trials button")].find(b => b.textContent === "Amend PRM-PAGE-1").click()`, nil),
			chromedp.Poll(`document.getElementById("protocol-button").textContent === "Save as version 2" && document.getElementById("p-sample").value === "80"`, nil),
			chromedp.SetValue("#p-sample", "120"),
			chromedp.SendKeys("#amend-reason", "a second site's patients"),
			chromedp.Click("#protocol-button"),
			chromedp.Poll(`document.getElementById("protocol-result").textContent.includes("amended (block")`, nil),
			chromedp.Text("#protocol-result", &amended),
			// Results: the primary reported, the secondary not (a reason),
			// one outcome added.
			chromedp.Evaluate(`[...document.querySelectorAll("#my-trials button")].find(b => b.textContent === "Results of PRM-PAGE-1").click()`, nil),
			chromedp.WaitVisible("#results-form"),
			chromedp.SendKeys(`#results-outcomes fieldset[data-id="fev1"] [data-f="summary"]`, "+120 ml"),
			chromedp.SetUploadFiles(`#results-outcomes fieldset[data-id="fev1"] [data-f="doc"]`, []string{writeFile(t, "analysis.R", "lm(fev1 ~ arm)")}),
			chromedp.Poll(`/^[0-9a-f]{64}$/.test(document.querySelector('#results-outcomes fieldset[data-id="fev1"] [data-f="commitment"]').value)`, nil),
			chromedp.SetValue(`#results-outcomes fieldset[data-id="exac"] [data-f="how"]`, "not"),
			chromedp.SendKeys(`#results-outcomes fieldset[data-id="exac"] [data-f="reason"]`, "too few events"),
			chromedp.Click("#add-added"),
			chromedp.SendKeys(`#results-added [data-f="id"]`, "cough"),
			chromedp.SendKeys(`#results-added [data-f="measure"]`, "cough score"),
			chromedp.SendKeys(`#results-added [data-f="summary"]`, "-2 points"),
			chromedp.Click("#results-button"),
			chromedp.Poll(`document.getElementById("protocol-result").textContent.includes("Results of PRM-PAGE-1 registered (block")`, nil),
			chromedp.Text("#protocol-result", &reported),
			// The demo trial's enrolments, as its sponsor reads them.
			chromedp.Evaluate(`[...document.querySelectorAll("#my-trials button")].find(b => b.textContent === "Enrolments of `+demo.CleanTrial+`").click()`, nil),
			chromedp.Poll(`document.querySelectorAll("#enrolment-table tbody tr").length === 1 && document.querySelector("#enrolment-table tbody").textContent.includes("enrolled")`, nil),
			chromedp.Text("#enrolment-table tbody", &enrolled),
		); err != nil {
			t.Fatalf("sponsor: %v (%q, %q, %q)", err, result, amended, reported)
		}
		var tr struct {
			Version  int64
			Status   string
			Protocol struct {
				SampleSize int64                 `json:"sample_size"`
				Secondary  []struct{ ID string } `json:"secondary_outcomes"`
			}
			Score struct {
				Registered, Reported, Added int64
				NotReported                 int64 `json:"not_reported_with_reason"`
			}
		}
		if err := c.Get(ctx, "/api/v1/trials/PRM-PAGE-1", &tr); err != nil || tr.Version != 2 || tr.Protocol.SampleSize != 120 || len(tr.Protocol.Secondary) != 1 ||
			tr.Status != "reported" || tr.Score.Registered != 2 || tr.Score.Reported != 1 || tr.Score.NotReported != 1 || tr.Score.Added != 1 {
			t.Fatalf("the page's trial: %+v %v", tr, err)
		}
		if !strings.Contains(enrolled, "Riverside General Hospital") {
			t.Errorf("enrolments: %q", enrolled)
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
			// The sponsor's forms, signed in: the protocol form with a
			// secondary outcome added, then the results form of its
			// demo trial... closed already: of a page trial still
			// recruiting, if any; the enrolments table.
			checkPage(t, b, axe, "trials-sponsor-"+size.name, []chromedp.Action{chromedp.Navigate(n.APIURL() + "/trials.html"),
				chromedp.Evaluate(`document.getElementById("sponsor").open = true`, nil),
				chromedp.SendKeys("#token", f.Member(demo.Institute).APIToken),
				chromedp.Click("#signin-button")},
				`document.querySelectorAll("#p-sites input").length > 2 && document.querySelectorAll("#my-trials button").length > 2`, []chromedp.Action{
					chromedp.Click("#add-secondary"),
					chromedp.Evaluate(`[...document.querySelectorAll("#my-trials button")].find(b => b.textContent === "Enrolments of `+demo.CleanTrial+`").click()`, nil),
					chromedp.Poll(`document.activeElement.id === "enrolments-title" && document.querySelectorAll("#enrolment-table tbody tr").length === 1`, nil),
				}, size)
			if !strings.Contains(history, "shorter follow-up after slow recruitment") || !strings.Contains(history, `⚑ primary outcome added: fpg "change in fasting plasma glucose" (12 weeks)`) {
				t.Errorf("history:\n%s", history)
			}
		})
	}
}

// writeFile writes a file for a page to upload, in the test's folder.
func writeFile(t *testing.T, name, content string) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
