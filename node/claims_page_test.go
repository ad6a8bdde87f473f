package node_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestClaimsEndToEnd: a provider's FHIR Claim goes in through the facade
// and comes back as the ledger's ClaimResponse; the insurer pays it on
// its page (in a real Chromium); the patient sees the paid claim in the
// portal and reads its ExplanationOfBenefit; every resource is valid R4;
// another patient, and a pharmacy, find no such claim. Then the insurer's
// page and the portal's claims on a phone and a desktop, with axe.
func TestClaimsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	base := n.APIURL()
	fhirV := conformance.LoadFHIR(t)
	valid := func(what string, raw []byte) {
		t.Helper()
		if problems := fhirV.Validate(raw); len(problems) > 0 {
			t.Errorf("%s: %v\n%s", what, problems, raw)
		}
	}
	day := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
	patient := f.Member("Patient 1").Address
	// The claim's supporting record: one St Luke's holds for the patient
	// (the provider treats them: without one, or a treatment consent, the
	// claim is refused).
	held, err := c.WithToken(f.Member("Patient 1").APIToken).Records(ctx, patient)
	if err != nil {
		t.Fatal(err)
	}
	record := ""
	for _, r := range held {
		if r.Custodian == f.Member("St Luke's Hospital").Address {
			record = r.ID
		}
	}
	claim := `{"resourceType":"Claim","status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},
	  "use":"claim","identifier":[{"system":"https://stlukes.example/claims","value":"SLH-FHIR-1"}],"patient":{"reference":"Patient/` + patient + `"},
	  "created":"` + day + `","provider":{"reference":"Organization/` + f.Member("St Luke's Hospital").Address + `"},
	  "priority":{"coding":[{"code":"normal"}]},"careTeam":[{"sequence":1,"provider":{"reference":"Practitioner/` + f.Member("Dr Amara Okafor").Address + `"}}],
	  "insurance":[{"sequence":1,"focal":true,"coverage":{"reference":"Coverage/` + demo.DemoCoverage + `"}}],
	  "supportingInfo":[{"sequence":1,"category":{"coding":[{"code":"info"}]},"valueReference":{"reference":"DocumentReference/` + record + `"}}],
	  "diagnosis":[{"sequence":1,"diagnosisCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}],
	  "item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"99213"}]},"servicedDate":"` + day + `",
	     "quantity":{"value":1},"net":{"value":150.00,"currency":"USD"},"diagnosisSequence":[1]},
	    {"sequence":2,"productOrService":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"83036"}]},"servicedDate":"` + day + `",
	     "quantity":{"value":1},"net":{"value":45.5,"currency":"USD"},"diagnosisSequence":[1]}]}`
	valid("the Claim sent", []byte(claim))
	stLukes := f.Member("St Luke's Hospital").APIToken
	// Refused before the ledger: an estimate is not a claim; amounts are
	// dollars. Refused by the ledger: Riverside does not treat the patient.
	for _, tc := range []struct {
		from, to, token, says string
		status                int
	}{
		{`"use":"claim"`, `"use":"predetermination"`, stLukes, "predetermination", 400},
		{`"currency":"USD"}`, `"currency":"EUR"}`, stLukes, "EUR", 400},
		{`"supportingInfo"`, `"_supportingInfo"`, f.Member("Riverside General Hospital").APIToken, "no_treatment_relation", 403},
	} {
		body := strings.Replace(claim, tc.from, tc.to, 1)
		if strings.Contains(tc.to, "supportingInfo") { // Riverside bills, with no practitioner of St Luke's named
			body = strings.Replace(body, `"careTeam"`, `"_careTeam"`, 1)
		}
		if status, out := call(t, "POST", base+"/fhir/Claim", tc.token, []byte(body)); status != tc.status || !strings.Contains(string(out), tc.says) {
			t.Errorf("%s: %d %s", tc.to, status, out)
		}
	}
	out := mustCall(t, 201, "POST", base+"/fhir/Claim", stLukes, []byte(claim))
	valid("ClaimResponse", out)
	var resp map[string]any
	_ = json.Unmarshal(out, &resp)
	if resp["outcome"] != "complete" || !strings.Contains(string(out), `"value": 92.00`) || !strings.Contains(string(out), "rule-set-hash") {
		t.Errorf("ClaimResponse: %s", out)
	}
	// The same claim again: refused with its code, as an OperationOutcome.
	if status, again := call(t, "POST", base+"/fhir/Claim", stLukes, []byte(claim)); status != 409 || !strings.Contains(string(again), "claim_exists") {
		t.Errorf("the same claim twice: %d %s", status, again)
	}
	for _, typ := range []string{"Claim", "ClaimResponse", "ExplanationOfBenefit"} {
		valid(typ, mustCall(t, 200, "GET", base+"/fhir/"+typ+"/SLH-FHIR-1", f.Member("Patient 1").APIToken, nil))
		mustCall(t, 404, "GET", base+"/fhir/"+typ+"/SLH-FHIR-1", f.Member("Patient 3").APIToken, nil)
		mustCall(t, 404, "GET", base+"/fhir/"+typ+"/SLH-FHIR-1", f.Member("Central Pharmacy").APIToken, nil)
	}
	// The patient finds their explanations of benefit by searching.
	var eobs struct {
		Total int
		Entry []struct{ Resource map[string]any }
	}
	found := mustCall(t, 200, "GET", base+"/fhir/ExplanationOfBenefit?patient="+patient, f.Member("Patient 1").APIToken, nil)
	valid("the EOB searchset", found)
	if _ = json.Unmarshal(found, &eobs); eobs.Total != 8 || eobs.Entry[0].Resource["id"] != "SLH-FHIR-1" {
		t.Errorf("the patient's EOBs: %d, the first %v", eobs.Total, eobs.Entry[0].Resource["id"])
	}
	mustCall(t, 403, "GET", base+"/fhir/ExplanationOfBenefit?patient="+patient, f.Member("CareShield Insurance").APIToken, nil)
	valid("Coverage", mustCall(t, 200, "GET", base+"/fhir/Coverage/"+demo.DemoCoverage, f.Member("CareShield Insurance").APIToken, nil))
	mustCall(t, 404, "GET", base+"/fhir/Coverage/"+demo.DemoCoverage, f.Member(demo.SecondInsurer).APIToken, nil)

	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// The insurer pays it on its page.
	t.Run("insurer pays", func(t *testing.T) {
		b := browser(t)
		var result string
		if err := chromedp.Run(b,
			chromedp.Navigate(base+"/claims.html#SLH-FHIR-1"),
			chromedp.SendKeys("#token", f.Member("CareShield Insurance").APIToken),
			chromedp.Click("#signin-button"),
			chromedp.WaitVisible("#pay-form"),
			chromedp.SendKeys("#remittance", "EFT-PAGE-1"),
			chromedp.Click("#pay-button"),
			chromedp.Poll(`document.getElementById("claim-result").textContent.startsWith("Paid (block")`, nil),
			chromedp.Text("#claim-fields", &result),
		); err != nil {
			t.Fatalf("paying: %v (%q)", err, result)
		}
		var cl claims.Claim
		if err := c.WithToken(stLukes).Get(ctx, "/api/v1/claims/SLH-FHIR-1", &cl); err != nil || cl.Status != claims.StatusPaid || cl.Remittance != "EFT-PAGE-1" {
			t.Fatalf("after paying: %+v %v", cl, err)
		}
	})
	eob := mustCall(t, 200, "GET", base+"/fhir/ExplanationOfBenefit/SLH-FHIR-1", f.Member("Patient 1").APIToken, nil)
	valid("the paid EOB", eob)
	if !strings.Contains(string(eob), `"payment"`) || !strings.Contains(string(eob), "EFT-PAGE-1") {
		t.Errorf("the paid EOB: %s", eob)
	}

	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			b := browser(t)
			var queue, lines, signals string
			var outliers []string
			checkPage(t, b, axe, "claims-"+size.name, []chromedp.Action{
				chromedp.Navigate(base + "/claims.html"),
				chromedp.SendKeys("#token", f.Member("CareShield Insurance").APIToken),
				chromedp.Click("#signin-button"),
			}, `document.querySelectorAll("#queue tbody tr").length === 2 && document.querySelectorAll("#signals tbody tr").length >= 2 && document.querySelectorAll("#policies tbody tr").length === 2`,
				[]chromedp.Action{
					chromedp.Text("#queue", &queue),
					chromedp.Text("#signals", &signals),
					chromedp.Poll(`document.querySelectorAll("#em tbody tr").length >= 3`, nil),
					chromedp.Evaluate(`[...document.querySelectorAll("#em tbody tr")].filter(r => r.textContent.includes("far above peers")).map(r => r.cells[0].textContent)`, &outliers),
					chromedp.Evaluate(`[...document.querySelectorAll("#queue button")].find(b => b.getAttribute("aria-label") === "Open claim `+demo.DemoClaims[1]+`").click()`, nil),
					chromedp.WaitVisible("#review-form"),
					chromedp.Text("#lines", &lines),
				}, size)
			if !strings.Contains(queue, demo.DemoClaims[1]) || !strings.Contains(queue, demo.DemoClaims[2]) {
				t.Errorf("the queue:\n%s", queue)
			}
			if !strings.Contains(signals, "cross payer duplicate") || !strings.Contains(signals, "unbundling") {
				t.Errorf("signals:\n%s", signals)
			}
			// This month's office visits: Eastfield far above its two peers.
			if !slices.Equal(outliers, []string{demo.ThirdHospital}) {
				t.Errorf("visit-level outliers: %q", outliers)
			}
			if !strings.Contains(lines, "pended") || !strings.Contains(lines, "CO-133 (pending further review)") || !strings.Contains(lines, "high-level-visit-review") {
				t.Errorf("the pended claim's lines:\n%s", lines)
			}
			// The patient's claims in the portal, and one as its EOB.
			p := browser(t)
			var mine, eobText string
			checkPage(t, p, axe, "portal-claims-"+size.name, []chromedp.Action{
				chromedp.Navigate(base + "/patient.html"),
				chromedp.WaitVisible("#token"),
				chromedp.SendKeys("#token", f.Member("Patient 1").APIToken),
				chromedp.Click("#signin-button"),
			}, `document.querySelectorAll("#my-claims tbody tr").length === 8`, []chromedp.Action{
				chromedp.Text("#my-claims", &mine),
				chromedp.Evaluate(`[...document.querySelectorAll("#my-claims button")].find(b => b.getAttribute("aria-label").includes("`+paidDemoClaimDay()+`")).click()`, nil),
				chromedp.Poll(`!document.getElementById("eob").hidden && document.getElementById("eob-summary").textContent !== ""`, nil),
				chromedp.Text("#eob", &eobText),
			}, size)
			if !strings.Contains(mine, "paid") || !strings.Contains(mine, "waiting for review") || !strings.Contains(mine, "Northstar Health") {
				t.Errorf("the portal's claims:\n%s", mine)
			}
			if !strings.Contains(eobText, "you owe") || !strings.Contains(eobText, "towards your deductible") || !strings.Contains(eobText, "Office visit") {
				t.Errorf("the EOB:\n%s", eobText)
			}
		})
	}
}

// paidDemoClaimDay is the service date of the demo's paid claim.
func paidDemoClaimDay() string {
	return time.Now().UTC().AddDate(0, 0, -20).Format(time.DateOnly)
}
