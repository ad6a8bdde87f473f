package node_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestCapacityEndToEnd: the demo's capacity picture on the dashboard in a
// real Chromium, at phone and desktop sizes with axe — the North short of
// ventilators on the map and in the table, a stale site, St Luke's west
// wing running out of oxygen first, the week's NHSN rows; St Luke's finds
// the nearest ICU bed with a ventilator and cannot hold more than is free;
// Eastfield records the transfer of the ventilator it confirmed, which
// moves to St Luke's.
func TestCapacityEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	base := n.APIURL()
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// The FHIR facade: SANER-style MeasureReports, Location,
	// HealthcareService and Device, valid R4.
	fhirV := conformance.LoadFHIR(t)
	reg := f.Member("National Medicines Agency").APIToken
	for _, path := range []string{"/fhir/MeasureReport/region-NORTH", "/fhir/MeasureReport/SLH-MAIN", "/fhir/MeasureReport/RGH-NORTHGATE",
		"/fhir/Location/SLH-MAIN", "/fhir/HealthcareService/EFH-MAIN", "/fhir/Device/EFH-VENT-03"} {
		raw := mustCall(t, 200, "GET", base+path, reg, nil)
		if problems := fhirV.Validate(raw); len(problems) > 0 {
			t.Errorf("%s: %v\n%s", path, problems, raw)
		}
		if path == "/fhir/MeasureReport/region-NORTH" && !strings.Contains(string(raw), `"shortage"`) {
			t.Errorf("%s: %s", path, raw)
		}
	}
	mustCall(t, 401, "GET", base+"/fhir/Location/SLH-MAIN", "", nil)
	signIn := func(who string) []chromedp.Action {
		return []chromedp.Action{
			chromedp.Navigate(base + "/capacity.html"),
			chromedp.WaitVisible("#token"),
			chromedp.SendKeys("#token", f.Member(who).APIToken),
			chromedp.Click("#signin-button"),
		}
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			b := browser(t)
			var regions, sitesText, oxygenFirst, nhsnRows string
			var shortRows []string
			checkPage(t, b, axe, "capacity-"+size.name, signIn("National Medicines Agency"),
				`document.querySelectorAll("svg.map circle").length === 5 && document.querySelectorAll("#nhsn tbody tr").length >= 4 && document.querySelectorAll("#oxygen tbody tr").length >= 4`,
				[]chromedp.Action{
					chromedp.Evaluate(`document.getElementById("map-svg-desc").textContent`, &regions),
					chromedp.Evaluate(`[...document.querySelectorAll("#shortages tbody tr.flagged")].map(r => r.cells[0].textContent + " " + r.cells[1].textContent)`, &shortRows),
					chromedp.Text("#sites", &sitesText),
					chromedp.Evaluate(`document.querySelector("#oxygen tbody tr").cells[0].textContent`, &oxygenFirst),
					chromedp.Evaluate(`String(document.querySelectorAll("#nhsn tbody tr").length)`, &nhsnRows),
				}, size)
			if !strings.Contains(regions, "NORTH: short of ventilators") || !strings.Contains(regions, "SOUTH: enough ventilators") {
				t.Errorf("the map's regions: %s", regions)
			}
			if !slices.Contains(shortRows, "NORTH ventilator") || slices.Contains(shortRows, "SOUTH ventilator") {
				t.Errorf("shortages flagged: %q", shortRows)
			}
			if !strings.Contains(sitesText, "never reported") {
				t.Errorf("no stale site shown:\n%s", sitesText)
			}
			if oxygenFirst != "St Luke's West Wing" {
				t.Errorf("runs out of oxygen first: %q", oxygenFirst)
			}
			if nhsnRows != "4" {
				t.Errorf("NHSN rows: %s", nhsnRows)
			}
		})
	}

	// St Luke's: the nearest ICU bed with a ventilator free, then a hold
	// for more ventilators than Eastfield has free, refused.
	t.Run("nearest and a refused hold", func(t *testing.T) {
		b := browser(t)
		var found []string
		var result string
		if err := chromedp.Run(b, append(signIn("St Luke's Hospital"),
			chromedp.WaitVisible("#near-form"),
			chromedp.Click("#near-button"),
			chromedp.Poll(`document.querySelectorAll("#nearest tbody tr").length === 2`, nil),
			chromedp.Evaluate(`[...document.querySelectorAll("#nearest tbody tr")].map(r => r.cells[0].textContent)`, &found),
			// The page fills both lists after its reads.
			chromedp.Poll(`[...document.querySelectorAll("#hold-site option")].some(o => o.value === "EFH-MAIN") && [...document.querySelectorAll("#hold-type option")].some(o => o.value === "ventilator")`, nil),
			chromedp.SetValue("#hold-site", "EFH-MAIN"),
			chromedp.SetValue("#hold-type", "ventilator"),
			chromedp.SetValue("#hold-units", "7"),
			chromedp.Click("#hold-button"),
			chromedp.Poll(`document.getElementById("hold-result").textContent !== ""`, nil),
			chromedp.Text("#hold-result", &result),
		)...); err != nil {
			t.Fatal(err)
		}
		// St Luke's main has no ventilator free; Riverside is nearer than Eastfield.
		if !slices.Equal(found, []string{"Riverside General Hospital", "Eastfield Hospital"}) {
			t.Errorf("nearest: %q", found)
		}
		if !strings.Contains(result, "unavailable") {
			t.Errorf("holding 7 of Eastfield's 6 free ventilators: %q", result)
		}
	})

	// Eastfield records the transfer it confirmed: the ventilator moves.
	t.Run("transfer", func(t *testing.T) {
		b := browser(t)
		var status string

		if err := chromedp.Run(b, append(signIn(demo.ThirdHospital),
			chromedp.Poll(`[...document.querySelectorAll("#holds button")].some(b => b.getAttribute("aria-label") === "Record transfer hold `+demo.DemoHold+`")`, nil),
			chromedp.Evaluate(`[...document.querySelectorAll("#holds button")].find(b => b.getAttribute("aria-label") === "Record transfer hold `+demo.DemoHold+`").click()`, nil),
			chromedp.Poll(`document.getElementById("hold-result").textContent.startsWith("Done")`, nil),
			chromedp.Poll(`[...document.querySelectorAll("#holds tbody tr")].some(r => r.cells[5].textContent === "transferred")`, nil),
			chromedp.Text("#holds", &status),
		)...); err != nil {
			t.Fatalf("%v (%s)", err, status)
		}
		var e capacity.Equipment
		if err := c.WithToken(f.Member("St Luke's Hospital").APIToken).Get(ctx, "/api/v1/capacity/equipment/EFH-VENT-03", &e); err != nil || e.Site != "SLH-MAIN" || e.Moves != 1 {
			t.Fatalf("the ventilator after its transfer: %+v %v", e, err)
		}
	})
}
