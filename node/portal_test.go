package node_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/records"
)

// TestPortalGrantReadRevoke drives the patient portal and the practitioner
// view in a real Chromium: the patient grants a practitioner access, the
// practitioner reads the record, the patient revokes, the practitioner is
// refused; an emergency read is highlighted in the patient's trail and on
// the regulator's page.
// scopesReady is true once the patient page's Scope list is up to date
// (aria-busy, set while it is rebuilt): Grant waits for it.
const scopesReady = `document.querySelector("#scope:not([aria-busy])") !== null`

func TestPortalGrantReadRevoke(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	patient := m["patient"].id
	out := mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["stlukes"].token, sentinelObservation())
	var docRef struct{ ID string }
	_ = json.Unmarshal(out, &docRef)

	b := browser(t)
	if err := chromedp.Run(b); err != nil { // start the browser; the tabs share it
		t.Fatal(err)
	}
	patientTab, cancelP := chromedp.NewContext(b)
	defer cancelP()
	doctorTab, cancelD := chromedp.NewContext(b)
	defer cancelD()
	signIn := func(tab context.Context, page, token string) {
		t.Helper()
		if err := chromedp.Run(tab,
			chromedp.Navigate(base+page),
			chromedp.WaitVisible("#token"),
			chromedp.SendKeys("#token", token),
			chromedp.Click("#signin-button"),
			chromedp.WaitVisible("#signed-in"),
		); err != nil {
			t.Fatalf("sign in on %s: %v", page, err)
		}
	}
	readAs := func(purpose, reason string) (outcome, refusal, record string) {
		t.Helper()
		if err := chromedp.Run(doctorTab,
			chromedp.Evaluate(`document.getElementById("result").removeAttribute("data-outcome")`, nil),
			chromedp.SetValue("#purpose", purpose),
			chromedp.SetValue("#reason", reason),
			chromedp.Click("button.read"),
			chromedp.Poll(`document.getElementById("result").dataset.outcome !== undefined`, nil),
			chromedp.Evaluate(`document.getElementById("result").dataset.outcome`, &outcome),
			chromedp.Evaluate(`document.getElementById("result").dataset.refusal || ""`, &refusal),
			chromedp.TextContent("#record", &record),
		); err != nil {
			t.Fatalf("read: %v", err)
		}
		return
	}

	signIn(patientTab, "/patient.html", m["patient"].token)
	if err := chromedp.Run(patientTab,
		chromedp.Poll(`document.querySelectorAll("#records tbody tr").length === 1 && document.querySelectorAll("#grantee option").length >= 2`, nil),
		chromedp.Poll(scopesReady, nil),
		chromedp.SetValue("#grantee", m["drremote"].id),
		chromedp.SetValue("#purpose", "treatment"),
		chromedp.SetValue("#scope", "record:"+docRef.ID), // one record only
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.querySelectorAll("#consents button.revoke").length === 1`, nil),
	); err != nil {
		t.Fatalf("grant: %v", err)
	}

	signIn(doctorTab, "/practitioner.html?patient="+patient, m["drremote"].token)
	// Before any click, the page says what the consent allows: this record,
	// for treatment; not for research.
	access := func(purpose, want string) {
		t.Helper()
		var text string
		if err := chromedp.Run(doctorTab,
			chromedp.SetValue("#purpose", purpose),
			chromedp.Evaluate(`document.getElementById("purpose").dispatchEvent(new Event("change"))`, nil),
			chromedp.Poll(`document.querySelectorAll("#records button.read").length === 1 && document.querySelector("#records tbody tr td:nth-child(4)").textContent.startsWith(`+"`"+want+"`"+`)`, nil,
				chromedp.WithPollingTimeout(10*time.Second)),
		); err != nil {
			_ = chromedp.Run(doctorTab, chromedp.Text("#records tbody", &text, chromedp.ByQuery))
			t.Fatalf("for %s the page says %q, want %q (%v)", purpose, text, want, err)
		}
	}
	access("research", "not covered for research")
	access("treatment", "covered for treatment by the patient's consent until")
	var words string
	if outcome, _, record := readAs("treatment", ""); outcome != "granted" || !strings.Contains(record, sentinel) ||
		chromedp.Run(doctorTab, chromedp.Text("#result-text", &words)) != nil || words != "blood glucose "+sentinel {
		t.Fatalf("read with consent: %s %q, shown as %q", outcome, record, words)
	}
	// The same record read by its id (as from a referral letter).
	var byID string
	if err := chromedp.Run(doctorTab,
		chromedp.Evaluate(`document.getElementById("result").removeAttribute("data-outcome")`, nil),
		chromedp.SendKeys("#record-id", docRef.ID),
		chromedp.Click("#by-id-button"),
		chromedp.Poll(`document.getElementById("result").dataset.outcome !== undefined`, nil),
		chromedp.Evaluate(`document.getElementById("result").dataset.outcome`, &byID),
	); err != nil || byID != "granted" {
		t.Fatalf("read by id: %s, %v", byID, err)
	}

	if err := chromedp.Run(patientTab,
		chromedp.Click("#consents button.revoke"),
		chromedp.Poll(`document.querySelectorAll("#consents button.revoke").length === 0`, nil),
	); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if outcome, refusal, record := readAs("treatment", ""); outcome != "refused" || refusal != "no_consent" || strings.Contains(record, sentinel) {
		t.Fatalf("read after revocation: %s %s %q", outcome, refusal, record)
	}

	if outcome, _, _ := readAs("emergency", "life_threatening"); outcome != "granted" {
		t.Fatalf("emergency read: %s", outcome)
	}
	// Looked up again (the emergency access gives standing for a day), the
	// record is no longer covered for treatment: the consent was revoked.
	if err := chromedp.Run(doctorTab, chromedp.Click("#lookup-button")); err != nil {
		t.Fatal(err)
	}
	access("treatment", "not covered for treatment")

	var emergencyRows, trailRows, regulatorRows int
	if err := chromedp.Run(patientTab,
		chromedp.Reload(),
		chromedp.Poll(`document.querySelectorAll("#trail tbody tr").length === 4`, nil), // read, read by id, refused, emergency
		chromedp.Evaluate(`document.querySelectorAll("#trail tbody tr.emergency").length`, &emergencyRows),
		chromedp.Evaluate(`document.querySelectorAll("#trail tbody tr").length`, &trailRows),
	); err != nil {
		t.Fatalf("trail: %v", err)
	}
	if emergencyRows != 1 || trailRows != 4 {
		t.Fatalf("trail shows %d rows, %d highlighted as emergency", trailRows, emergencyRows)
	}
	// The inbox says it in words, marks it new until seen.
	var inbox, fresh string
	var stillNew int
	if err := chromedp.Run(patientTab,
		chromedp.Text("#inbox", &inbox),
		chromedp.Text("#inbox-new", &fresh),
		chromedp.Click("#inbox-seen"),
		chromedp.Poll(`document.getElementById("inbox-new").hidden`, nil),
		chromedp.Evaluate(`document.querySelectorAll("#inbox li.new").length`, &stillNew),
	); err != nil {
		t.Fatalf("inbox: %v", err)
	}
	if !strings.Contains(inbox, "EMERGENCY: doctor MD-drremote read") || !strings.Contains(inbox, "was refused (no consent)") ||
		strings.Count(inbox, "doctor MD-drremote read") != 3 || fresh != "4 new" || stillNew != 0 {
		t.Fatalf("inbox (%q, then %d new):\n%s", fresh, stillNew, inbox)
	}
	// The emergency list is the regulator's audit: the regulator signs in.
	regulatorTab, cancelR := chromedp.NewContext(b)
	defer cancelR()
	signIn(regulatorTab, "/regulator.html", m["agency"].token)
	if err := chromedp.Run(regulatorTab,
		chromedp.Poll(`document.querySelectorAll("#emergencies tbody tr").length > 0`, nil),
		chromedp.Evaluate(`document.querySelectorAll("#emergencies tbody tr").length`, &regulatorRows),
	); err != nil || regulatorRows != 1 {
		t.Fatalf("regulator's emergency list: %d rows, %v", regulatorRows, err)
	}

	// A study on St Luke's records, with the patient's research consent:
	// the trail and the inbox say the records were used in it.
	mustCall(t, 200, "POST", base+"/api/v1/act", m["stlukes"].token, map[string]any{"type": federated.TypeTask,
		"body": federated.Task{ID: "t2d-records", Title: "On records", Features: []string{"age", "bmi"}, Label: "diabetes", LearningRate: 500_000,
			LocalEpochs: 1, Clip: 1 << 18, Rounds: 1, RoundBlocks: 100, Participants: []string{m["stlukes"].id, m["riverside"].id}, Consented: true}})
	// A scope chosen and then no longer offered (here a record the list
	// does not hold) is not quietly replaced by "all my records": the
	// list asks to choose again, and Grant refuses until the patient has.
	var refused string
	if err := chromedp.Run(patientTab,
		chromedp.Reload(),
		chromedp.WaitVisible("#grant"),
		chromedp.Poll(`[...document.querySelectorAll("#grantee option")].some(o => o.value === "`+m["stlukes"].id+`")`, nil),
		chromedp.SetValue("#grantee", m["stlukes"].id),
		chromedp.Evaluate(`(() => { const s = document.getElementById("scope"); s.appendChild(new Option("gone", "record:gone")); s.value = "record:gone";
			s.dispatchEvent(new Event("change")); document.getElementById("purpose").dispatchEvent(new Event("change")); })()`, nil),
		chromedp.Poll(`document.getElementById("scope").value === "" && document.getElementById("scope").options[0].textContent.startsWith("choose again")`, nil),
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.getElementById("consent-message").textContent !== ""`, nil),
		chromedp.Text("#consent-message", &refused),
	); err != nil || refused != "Choose under Scope what the consent covers." {
		t.Fatalf("a scope no longer offered: %v (%q)", err, refused)
	}
	// A list that could not be brought up to date (the node out of reach
	// for the tasks) says so, and Grant waits for one that could.
	var failed, refusedFailed string
	if err := chromedp.Run(patientTab,
		chromedp.Evaluate(`window.realFetch = window.fetch;
			window.fetch = (u, o) => String(u).includes("/api/v1/fl/tasks") ? Promise.reject(new Error("network down")) : window.realFetch(u, o);
			document.getElementById("purpose").value = "research"; document.getElementById("purpose").dispatchEvent(new Event("change"));`, nil),
		chromedp.Poll(`document.getElementById("consent-message").textContent.startsWith("Could not list")`, nil),
		chromedp.Text("#consent-message", &failed),
		chromedp.Evaluate(`document.getElementById("consent-message").textContent = ""`, nil),
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.getElementById("consent-message").textContent !== ""`, nil),
		chromedp.Text("#consent-message", &refusedFailed),
		chromedp.Evaluate(`window.fetch = window.realFetch; const s = document.getElementById("scope"); s.value = "all"; s.dispatchEvent(new Event("change"));
			document.getElementById("purpose").value = "treatment"; document.getElementById("purpose").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`document.getElementById("consent-message").textContent === "" && document.getElementById("grant-summary").textContent.includes("for treatment")`, nil),
	); err != nil || !strings.Contains(failed, "network down") || refusedFailed != failed {
		t.Fatalf("a list that could not be brought up to date: %v (%q, then %q)", err, failed, refusedFailed)
	}
	// The patient gives the consent on the page: research, the task as
	// the scope, St Luke's as the grantee. The study is offered only to
	// an institution that trains in it: not to St Luke's doctor.
	var said, notTrains string
	if err := chromedp.Run(patientTab,
		chromedp.Reload(),
		chromedp.WaitVisible("#grant"),
		chromedp.Poll(`[...document.querySelectorAll("#grantee option")].some(o => o.value === "`+m["stlukes"].id+`")`, nil),
		chromedp.SetValue("#grantee", m["stlukes"].id),
		chromedp.SetValue("#purpose", "research"),
		chromedp.Evaluate(`document.getElementById("purpose").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`[...document.querySelectorAll("#scope option")].some(o => o.value === "study:fl:t2d-records")`, nil),
		chromedp.SetValue("#grantee", m["drlocal"].id),
		chromedp.Evaluate(`document.getElementById("grantee").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`![...document.querySelectorAll("#scope option")].some(o => o.value === "study:fl:t2d-records")`, nil),
		chromedp.Text("#grant-summary", &notTrains),
		chromedp.SetValue("#grantee", m["stlukes"].id),
		chromedp.Evaluate(`document.getElementById("grantee").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`[...document.querySelectorAll("#scope option")].some(o => o.value === "study:fl:t2d-records")`, nil),
		chromedp.SetValue("#scope", "study:fl:t2d-records"),
		chromedp.Evaluate(`document.getElementById("scope").dispatchEvent(new Event("change"))`, nil),
		// Away from research the study is not offered, and the list says
		// to choose again; back at research it is chosen again.
		chromedp.SetValue("#purpose", "treatment"),
		chromedp.Evaluate(`document.getElementById("purpose").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`document.getElementById("scope").value === ""`, nil),
		chromedp.SetValue("#purpose", "research"),
		chromedp.Evaluate(`document.getElementById("purpose").dispatchEvent(new Event("change"))`, nil),
		chromedp.Poll(`document.getElementById("scope").value === "study:fl:t2d-records"`, nil),
		chromedp.Text("#grant-summary", &said),
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.getElementById("consent-message").textContent === "Consent granted."`, nil),
	); err != nil {
		var msg string
		_ = chromedp.Run(patientTab, chromedp.Text("#consent-message", &msg))
		t.Fatalf("a study consent on the page: %v (%q)", err, msg)
	}
	if !strings.Contains(notTrains, "trains in no learning task") {
		t.Fatalf("the research consent to a doctor is said as %q", notTrains)
	}
	if !strings.Contains(said, "use your records in the learning task “On records” (t2d-records)") {
		t.Fatalf("the grant's summary: %q", said)
	}
	mustCall(t, 200, "POST", base+"/api/v1/act", m["stlukes"].token, map[string]any{"type": records.TypeUse,
		"body": records.Use{Study: "fl:t2d-records", Patients: []string{patient}}})
	var used, told string
	if err := chromedp.Run(patientTab,
		chromedp.Reload(),
		chromedp.Poll(`document.querySelectorAll("#trail tbody tr").length === 5`, nil),
		chromedp.Text("#trail tbody tr:first-child", &used),
		chromedp.Text("#inbox", &told),
	); err != nil {
		t.Fatalf("a study's use: %v", err)
	}
	if !strings.Contains(used, "used in the learning task t2d-records") || !strings.Contains(used, "your records there") ||
		!strings.Contains(told, "used your records in the learning task t2d-records") {
		t.Fatalf("a study's use: the trail shows %q, the inbox %q", used, told)
	}

	// Erasure from the portal: St Luke's keeps observations under a legal
	// duty, Riverside has no policy. The page shows the erasure complete,
	// Riverside's record erased and St Luke's kept, why and until when.
	mustCall(t, 200, "POST", base+"/api/v1/act", m["stlukes"].token, map[string]any{"type": records.TypeSetRetention,
		"body": records.SetRetention{Holds: []records.Hold{{Category: "observation", Basis: "legal_obligation", Years: 10}}}})
	mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["riverside"].token, sentinelObservation())
	var retained, index string
	if err := chromedp.Run(patientTab,
		chromedp.Reload(),
		chromedp.Poll(`document.querySelectorAll("#records tbody tr").length === 2 && document.getElementById("erasure").dataset.state === "none"`, nil),
		chromedp.Click("#erase"),
		chromedp.WaitVisible("#erase-panel"),
		chromedp.SendKeys("#erase-confirm", "ERAS"),
		chromedp.Poll(`document.getElementById("erase-go").disabled`, nil),
		chromedp.SendKeys("#erase-confirm", "E"),
		chromedp.Poll(`!document.getElementById("erase-go").disabled`, nil),
		chromedp.Click("#erase-go"),
		chromedp.Poll(`document.getElementById("erasure").dataset.state === "complete" && document.querySelectorAll("#retained tbody tr").length === 1`, nil),
		chromedp.Text("#retained", &retained),
		chromedp.Poll(`document.querySelectorAll("#records td.status-erased").length === 1`, nil),
		chromedp.Text("#records", &index),
	); err != nil {
		var msg, st, html string
		_ = chromedp.Run(patientTab, chromedp.Text("#rights-message", &msg), chromedp.Evaluate(`document.getElementById("erasure").dataset.state`, &st),
			chromedp.Evaluate(`document.getElementById("erasure").outerHTML + document.getElementById("records").outerHTML`, &html))
		t.Fatalf("erasure: %v; page says %q, state %q\n%s", err, msg, st, html)
	}
	if !strings.Contains(retained, "Measurements and results") || strings.Contains(retained, docRef.ID) || !strings.Contains(retained, "legal obligation") || !strings.Contains(index, "kept until") {
		t.Fatalf("the page shows retained %q, records %q", retained, index)
	}
}

// TestSignInSaysWhyNot: a token the node does not know is refused on the
// sign-in form in words (the API answers token_required, as for no token,
// which read as if none had been typed), and so is an empty one. Every
// portal page signs in through common.js; the patient's stands for them.
func TestSignInSaysWhyNot(t *testing.T) {
	n, _, _ := startMembers(t, [][2]string{{"hospital", "hospital"}})
	b := browser(t)
	for _, c := range []struct{ token, want string }{
		{strings.Repeat("ab", 24), "Sign-in failed: that token is not valid on this node"},
		{"", "Sign-in failed: enter your access token"},
	} {
		var said string
		if err := chromedp.Run(b,
			chromedp.Navigate(n.APIURL()+"/patient.html"),
			chromedp.WaitVisible("#token"),
			chromedp.SendKeys("#token", c.token),
			chromedp.Click("#signin-button"),
			chromedp.Poll(`document.getElementById("signin-error").textContent !== ""`, nil),
			chromedp.Text("#signin-error", &said),
		); err != nil {
			t.Fatalf("sign in with %q: %v", c.token, err)
		}
		if !strings.HasPrefix(said, c.want) {
			t.Errorf("with token %q the page says %q, want %q", c.token, said, c.want)
		}
	}
}

// TestShareByCode: nobody types an id. The practitioner's page shows a
// sharing code (a QR code of a link to the patient portal with them
// chosen); the patient opens it, the grant form has the practitioner
// chosen and says in words what Grant will do, and the consent lands. The
// patient's own code opens them in the practitioner's view.
func TestShareByCode(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	b := browser(t)
	if err := chromedp.Run(b); err != nil {
		t.Fatal(err)
	}
	doctorTab, cancelD := chromedp.NewContext(b)
	defer cancelD()
	patientTab, cancelP := chromedp.NewContext(b)
	defer cancelP()
	var link, qr string
	if err := chromedp.Run(doctorTab,
		chromedp.Navigate(base+"/practitioner.html"),
		chromedp.SendKeys("#token", m["drremote"].token),
		chromedp.Click("#signin-button"),
		chromedp.WaitVisible("#share-card"),
		chromedp.Evaluate(`document.getElementById("share-link").href`, &link),
		chromedp.Evaluate(`document.getElementById("share-qr").src`, &qr),
	); err != nil {
		t.Fatal(err)
	}
	if link != base+"/patient.html#share-with="+m["drremote"].id || !strings.HasPrefix(qr, "data:image/gif;base64,") || len(qr) < 500 {
		t.Fatalf("the practitioner's sharing code: link %q, image %.40q…", link, qr)
	}
	var asked, summary, myLink string
	if err := chromedp.Run(patientTab,
		chromedp.Navigate(link),
		chromedp.SendKeys("#token", m["patient"].token),
		chromedp.Click("#signin-button"),
		chromedp.Poll(`document.getElementById("grantee").value === "`+m["drremote"].id+`" && document.getElementById("grant-summary").textContent !== ""`, nil),
		chromedp.Poll(scopesReady, nil),
		chromedp.Text("#consent-message", &asked),
		chromedp.SetValue("#days", "10"),
		chromedp.Evaluate(`document.getElementById("days").dispatchEvent(new Event("input"))`, nil),
		chromedp.Text("#grant-summary", &summary),
		chromedp.Click("#grant-button"),
		chromedp.Poll(`document.querySelectorAll("#consents button.revoke").length === 1`, nil),
		chromedp.Evaluate(`document.getElementById("my-link").href`, &myLink),
	); err != nil {
		t.Fatal(err)
	}
	until := time.Now().AddDate(0, 0, 10).Format("2006")
	if !strings.Contains(asked, "asked you to share") || !strings.HasPrefix(summary, "doctor MD-drremote at riverside can read all your records for treatment until ") || !strings.Contains(summary, until) {
		t.Fatalf("the patient's page: %q, summary %q", asked, summary)
	}
	// Search by name: the list keeps what matches, and the first match is chosen.
	var chosen string
	var visible int
	if err := chromedp.Run(patientTab,
		chromedp.SetValue("#grantee", ""),
		chromedp.SendKeys("#grantee-search", "MD-DRLOCAL"),
		chromedp.Evaluate(`document.getElementById("grantee").value`, &chosen),
		chromedp.Evaluate(`[...document.querySelectorAll("#grantee option")].filter(o => o.value && !o.hidden).length`, &visible),
	); err != nil || chosen != m["drlocal"].id || visible != 1 {
		t.Fatalf("search MD-DRLOCAL: chose %q, %d shown, %v", chosen, visible, err)
	}
	if myLink != base+"/practitioner.html?patient="+m["patient"].id {
		t.Fatalf("the patient's code links %q", myLink)
	}
	var shown string
	if err := chromedp.Run(doctorTab,
		chromedp.Navigate(myLink),
		chromedp.Poll(`document.querySelectorAll("#records tbody tr").length > 0 || document.getElementById("patient").value !== ""`, nil),
		chromedp.Value("#patient", &shown),
	); err != nil || shown != m["patient"].id {
		t.Fatalf("the patient's code opened %q in the practitioner's view: %v", shown, err)
	}
}
