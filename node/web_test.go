package node_test

import (
	"context"
	"crypto/ed25519"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// chromium finds the browser; a missing browser fails the test (CI installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PRIMUM_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is required for the web tests: install it (apt-get install chromium) or set PRIMUM_CHROMIUM")
	return ""
}

// browser starts headless Chromium for a test; extra options (a fake
// camera) come after the defaults.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes can still be writing the
	// profile a moment after the browser exits, which would fail the test
	// in cleanup. Remove it with a few retries instead (registered first,
	// so it runs after the browser is stopped).
	profile, err := os.MkdirTemp("", "primum-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile))
	opts = append(opts, extra...)
	// Chromium now and then exits as it starts on a loaded machine (its
	// launcher script or crash handler): it is started here, once more if
	// it does, so that a test fails for what the page does.
	for attempt := 1; ; attempt++ {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		// The protocol bindings lag the browser: unknown new enum values
		// are logged, not fatal; keep them with the test log.
		ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
		ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
		err := chromedp.Run(ctx)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
			if err != nil {
				t.Fatalf("starting Chromium: %v", err)
			}
			return ctx
		}
		t.Logf("Chromium did not start (attempt %d), again: %v", attempt, err)
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	}
}

// TestDispenseFromTheVerdict: a pharmacist signs in on the scanning page,
// scans a pack their pharmacy holds, and dispenses it from the verdict; the
// page then shows it dispensed. A pack the pharmacy does not hold, or an
// anonymous check, offers no button.
func TestDispenseFromTheVerdict(t *testing.T) {
	n, c, m := startSupplyNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	maker, ph := m["manufacturer"], m["pharmacy"]
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "GOOD", Expiry: "2030-01-31", Serials: []string{"D1", "D2"}}},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)D1"}, To: ph.id}},
		{ph, supply.TypeReceive, supply.Receive{Codes: []string{"(01)09506000134352(21)D1"}}},
	})
	b := browser(t)
	offered := func(code string) bool {
		t.Helper()
		var hidden bool
		if err := chromedp.Run(b,
			chromedp.Evaluate(`delete document.getElementById("verdict").dataset.verdict`, nil),
			chromedp.SetValue("#code", code),
			chromedp.Click("#verify-button"),
			chromedp.Poll(`document.getElementById("verdict").dataset.verdict !== undefined && !document.getElementById("result").hidden`, nil),
			chromedp.Evaluate(`document.getElementById("dispense-row").hidden`, &hidden),
		); err != nil {
			t.Fatalf("scan %s: %v", code, err)
		}
		return !hidden
	}
	if err := chromedp.Run(b, chromedp.Navigate(n.APIURL()+"/verify.html"), chromedp.WaitVisible("#code"),
		chromedp.Poll(`document.querySelectorAll("#as option").length > 3`, nil)); err != nil {
		t.Fatal(err)
	}
	if offered("(01)09506000134352(21)D1") {
		t.Fatal("an anonymous check offers to dispense")
	}
	var as string
	if err := chromedp.Run(b,
		chromedp.Click("#dispense-signin summary"),
		chromedp.SendKeys("#token", ph.token),
		chromedp.Click("#signin-button"),
		chromedp.WaitVisible("#signed-in"),
		chromedp.Value("#as", &as),
	); err != nil {
		t.Fatal(err)
	}
	if as != ph.id {
		t.Fatalf("signed in as the pharmacy, the page scans as %q", as)
	}
	if offered("(01)09506000134352(21)D2") {
		t.Fatal("offers to dispense a pack the pharmacy does not hold")
	}
	if !offered("(01)09506000134352(21)D1") {
		t.Fatal("no dispense button on the pharmacy's genuine pack")
	}
	var headline, tone string
	if err := chromedp.Run(b,
		chromedp.Click("#dispense"),
		chromedp.Poll(`document.getElementById("verdict").textContent === "✓ Dispensed by you just now"`, nil),
		chromedp.Text("#verdict", &headline),
		chromedp.Evaluate(`document.getElementById("result").className`, &tone),
	); err != nil {
		t.Fatalf("dispense: %v (%q)", err, headline)
	}
	if tone != "card verdict-ok" {
		t.Fatalf("after dispensing the page says %q in %q, not as the pharmacist's own act", headline, tone)
	}
	var obj supply.ObjectAnswer
	if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape("(01)09506000134352(21)D1"), &obj); err != nil || obj.Object.Status != supply.StatusDispensed {
		t.Fatalf("on the ledger: %+v, %v", obj.Object, err)
	}
	// Dispensed in error: taken back from the verdict, within the window.
	var undone string
	if err := chromedp.Run(b,
		chromedp.WaitVisible("#undo-dispense"),
		chromedp.Click("#undo-dispense"),
		chromedp.Poll(`document.getElementById("message").textContent.includes("Dispense taken back")`, nil),
		chromedp.AttributeValue("#verdict", "data-verdict", &undone, nil),
	); err != nil || undone != supply.VerdictDispensable {
		t.Fatalf("undo the dispense: verdict %q, %v", undone, err)
	}
	if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape("(01)09506000134352(21)D1"), &obj); err != nil || obj.Object.Status != supply.StatusActive {
		t.Fatalf("on the ledger after the undo: %+v, %v", obj.Object, err)
	}
}

// TestRegulatorDashboard: the regulator's page counts recalls, suspect and
// quarantined packs at a glance, downloads each table as CSV, and, signed
// in as the regulator, recalls a lot and releases a quarantine; the counts
// follow. The audit's tiles appear only once signed in.
func TestRegulatorDashboard(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"manufacturer", "manufacturer"}, {"pharmacy", "pharmacy"}, {"regulator", "regulator"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	maker, ph := m["manufacturer"], m["pharmacy"]
	r1, r2 := "(01)09506000134352(21)R1", "(01)09506000134352(21)R2"
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "LOTR", Expiry: "2030-01-31", Serials: []string{"R1", "R2"}}},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{r1, r2}, To: ph.id}},
		{ph, supply.TypeReceive, supply.Receive{Codes: []string{r1, r2}}},
		{ph, supply.TypeReportSuspect, supply.ReportSuspect{Code: r1, Reason: "=cmd|' /C calc'!A0"}},
	})
	b := browser(t)
	tiles := func(want string) {
		t.Helper()
		if err := chromedp.Run(b, chromedp.Poll(`["n-recalls","n-suspects","n-quarantined"].map(id => document.getElementById(id).textContent).join(" ") === "`+want+`"`, nil, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			var got string
			_ = chromedp.Run(b, chromedp.Evaluate(`["n-recalls","n-suspects","n-quarantined"].map(id => document.getElementById(id).textContent).join(" ")`, &got))
			t.Fatalf("tiles %q, want %q: %v", got, want, err)
		}
	}
	var csv string
	var auditShown bool
	if err := chromedp.Run(b, chromedp.Navigate(n.APIURL()+"/regulator.html")); err != nil {
		t.Fatal(err)
	}
	tiles("0 1 1")
	if err := chromedp.Run(b,
		chromedp.Evaluate(`tableCSV(document.getElementById("suspects"))`, &csv),
		chromedp.Evaluate(`[...document.querySelectorAll(".audit-only")].some(e => !e.hidden)`, &auditShown),
	); err != nil {
		t.Fatal(err)
	}
	// A reason a spreadsheet would run as a formula is written as text.
	if !strings.HasPrefix(csv, `"Pack","Lot","Reason","Quarantined","Held by","Action"`+"\r\n") || !strings.Contains(csv, `"LOTR","'=cmd|' /C calc'!A0","yes","pharmacy"`) {
		t.Fatalf("suspects as CSV:\n%s", csv)
	}
	if auditShown {
		t.Fatal("the audit's counts show before the regulator signs in")
	}
	var result string
	if err := chromedp.Run(b,
		chromedp.SendKeys("#token", m["regulator"].token),
		chromedp.Click("#signin-button"),
		chromedp.WaitVisible("#recall-form"),
		chromedp.WaitVisible("#n-refused-7"),
		chromedp.Evaluate(`window.confirm = () => true`, nil),
		chromedp.SendKeys("#recall-gtin", testGTIN),
		chromedp.SendKeys("#recall-lot", "LOTR"),
		chromedp.SendKeys("#recall-reason", "sterility failure"),
		chromedp.Click("#recall-button"),
		chromedp.Poll(`document.getElementById("recall-result").textContent.includes("recalled (block")`, nil),
		chromedp.Text("#recall-result", &result),
	); err != nil {
		t.Fatalf("recall: %v (%s)", err, result)
	}
	tiles("1 1 1")
	// The audit's chart, and a filter: rows that do not match are hidden,
	// and left out of the CSV.
	var summary, filtered string
	if err := chromedp.Run(b,
		chromedp.Poll(`document.getElementById("chart-summary").textContent !== ""`, nil),
		chromedp.Text("#chart-summary", &summary),
		chromedp.SendKeys("#recalls-filter", "no such lot"),
		chromedp.Poll(`[...document.querySelectorAll("#recalls tbody tr")].every(tr => tr.hidden)`, nil),
		chromedp.Evaluate(`tableCSV(document.getElementById("recalls"))`, &filtered),
		chromedp.Evaluate(`{ const f = document.getElementById("recalls-filter"); f.value = ""; f.dispatchEvent(new Event("input")); }`, nil),
		chromedp.Poll(`[...document.querySelectorAll("#recalls tbody tr")].some(tr => !tr.hidden)`, nil),
	); err != nil {
		t.Fatalf("chart and filter: %v", err)
	}
	if summary != "0 emergency and 0 refused reads in the last 30 days; busiest day 1 of either." || strings.Count(filtered, "\r\n") != 1 {
		t.Fatalf("chart %q; CSV of a filter matching nothing:\n%s", summary, filtered)
	}
	// Suspend a practitioner, signed as the regulator.
	doctor := newKey(t)
	if _, err := c.RegisterPractitioner(ctx, ph.key, doctor, identity.RegisterPractitioner{Licence: "PH-1", Profession: "pharmacist",
		ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
		t.Fatal(err)
	}
	doctorID := ledger.Address(doctor.Public().(ed25519.PublicKey))
	var changed string
	if err := chromedp.Run(b,
		chromedp.Evaluate(`practitioners()`, nil),
		chromedp.Poll(`[...document.querySelectorAll("#prac option")].some(o => o.value === "`+doctorID+`")`, nil),
		chromedp.SetValue("#prac", doctorID),
		chromedp.SetValue("#prac-status", "suspended"),
		chromedp.SendKeys("#prac-note", "under review"),
		chromedp.Click("#prac-button"),
		chromedp.Poll(`document.getElementById("prac-result").textContent.includes("(block")`, nil),
		chromedp.Text("#prac-result", &changed),
	); err != nil {
		t.Fatalf("suspend: %v (%s)", err, changed)
	}
	var who identity.Identity
	if err := c.Get(ctx, "/api/v1/identities/"+doctorID, &who); err != nil || who.Status != identity.StatusSuspended {
		t.Fatalf("the practitioner after the regulator's suspension: %+v %v (page: %q)", who, err, changed)
	}
	// From the recalled lot to every pack of it and who holds it, as CSV.
	var lot, lotCSV string
	if err := chromedp.Run(b,
		chromedp.Poll(`[...document.querySelectorAll("#recalls button")].some(b => b.getAttribute("aria-label") === "Packs of lot LOTR")`, nil),
		chromedp.Evaluate(`[...document.querySelectorAll("#recalls button")].find(b => b.getAttribute("aria-label") === "Packs of lot LOTR").click()`, nil),
		chromedp.Poll(`document.getElementById("lot-summary").textContent.includes("packs (")`, nil),
		chromedp.Text("#lot-summary", &lot),
		chromedp.Evaluate(`tableCSV(document.getElementById("lot-packs"))`, &lotCSV),
	); err != nil {
		t.Fatalf("the lot's packs: %v (%s)", err, lot)
	}
	if !strings.HasPrefix(lot, "Lot LOTR of Amoxicillin 500 mg: 2 packs (2 active, 1 quarantined). Recalled") || !strings.HasSuffix(lot, "by regulator: sterility failure.") ||
		!strings.HasPrefix(lotCSV, `"Pack","Status","Held by","Shipped to","In case","Quarantined","Dispensed"`+"\r\n") ||
		!strings.Contains(lotCSV, `"R1","active — lot recalled","pharmacy","","","yes: =cmd|' /C calc'!A0",""`) || !strings.Contains(lotCSV, `"R2","active — lot recalled","pharmacy","","","",""`) {
		t.Fatalf("lot LOTR: %q\n%s", lot, lotCSV)
	}
	if err := chromedp.Run(b,
		chromedp.Poll(`[...document.querySelectorAll("#suspects button")].some(b => b.textContent === "Release")`, nil),
		chromedp.Evaluate(`[...document.querySelectorAll("#suspects button")].find(b => b.textContent === "Release").click()`, nil),
		chromedp.Poll(`document.getElementById("suspect-result").textContent.startsWith("Released")`, nil),
	); err != nil {
		t.Fatalf("release: %v", err)
	}
	tiles("1 0 0")
	var v supply.Verdict
	if err := c.Get(ctx, "/api/v1/verify?code="+url.QueryEscape(r2), &v); err != nil || v.Verdict != supply.VerdictRecalled {
		t.Fatalf("a pack of the lot after the page's recall: %+v %v", v, err)
	}
}

// TestPharmacyAndRegulatorPages drives the pages in a real Chromium: a
// pharmacist pastes scanned codes and sees verdicts and the custody trail;
// the regulator page lists the recall and the suspect pack.
func TestPharmacyAndRegulatorPages(t *testing.T) {
	n, c, m := startSupplyNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	maker, ph := m["manufacturer"], m["pharmacy"]
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "GOOD", Expiry: "2030-01-31", Serials: []string{"W1", "W2"}}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "BAD", Expiry: "2030-01-31", Serials: []string{"W3"}}},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)W1", "(01)09506000134352(21)W2", "(01)09506000134352(21)W3"}, To: ph.id}},
		{ph, supply.TypeReceive, supply.Receive{Codes: []string{"(01)09506000134352(21)W1", "(01)09506000134352(21)W2", "(01)09506000134352(21)W3"}}},
		{ph, supply.TypeDispense, supply.Dispense{Code: "(01)09506000134352(21)W2"}},
		{maker, supply.TypeRecall, supply.RecallLot{GTIN: testGTIN, Lot: "BAD", Reason: "label misprint"}},
		{ph, supply.TypeReportSuspect, supply.ReportSuspect{Code: "(01)09506000134352(21)W1", Reason: "torn seal"}},
	})
	b := browser(t)
	scan := func(code string) (verdict, message string, rows int, held, focused, headline string, empty []string) {
		t.Helper()
		var found bool
		err := chromedp.Run(b,
			chromedp.Navigate(n.APIURL()+"/verify.html?as="+ph.id),
			chromedp.WaitVisible("#code"),
			chromedp.Poll(`document.querySelectorAll("#as option").length > 3 && document.getElementById("as").value !== ""`, nil),
			chromedp.SendKeys("#code", code),
			chromedp.Click("#verify-button"),
			chromedp.WaitVisible("#result"),
			chromedp.Poll(`document.getElementById("verdict").dataset.verdict !== undefined`, nil),
			chromedp.AttributeValue("#verdict", "data-verdict", &verdict, &found),
			chromedp.Text("#message", &message),
			chromedp.Evaluate(`document.querySelectorAll("#trail tbody tr").length`, &rows),
			chromedp.Text("#custodian", &held),
			chromedp.Evaluate(`document.activeElement.id`, &focused),
			chromedp.Text("#verdict", &headline),
			// Lines with nothing to say are hidden, headings and all.
			chromedp.Evaluate(`[...document.querySelectorAll("#result dt")].filter(dt => !dt.hidden && dt.nextElementSibling.textContent === "").map(dt => dt.textContent)`, &empty),
		)
		if err != nil {
			t.Fatalf("scan %q: %v", code, err)
		}
		return
	}
	cases := []struct {
		code, want string
		rows       int
		held       string // how the holder's line reads
		headline   string // what the page says to do
	}{
		{"(01)09506000134352(21)W2", supply.VerdictDispensed, 4, "(dispensed)", "Already dispensed: do not dispense again"},
		{"https://id.gs1.org/01/09506000134352/21/W3", supply.VerdictRecalled, 3, "(lot recalled)", "Recalled lot: do not dispense"},
		{"(01)09506000134352(21)W1", supply.VerdictQuarantined, 4, "(quarantined as suspect)", "Quarantined as suspect"},
		{"(01)09506000134352(21)NOPE", supply.VerdictUnknown, 0, "", "Unknown serial"},
		{"(01)12345", supply.VerdictBadCode, 0, "", "scan again"},
	}
	for _, cs := range cases {
		v, msg, rows, held, focused, headline, empty := scan(cs.code)
		if v != cs.want || msg == "" || rows != cs.rows || !strings.Contains(held, cs.held) || !strings.Contains(headline, cs.headline) || len(empty) > 0 {
			t.Errorf("%s: page shows %q %q (%q) held %q with %d trail rows, empty lines %q; want %s, %q, %q with %d", cs.code, v, headline, msg, held, rows, empty, cs.want, cs.headline, cs.held, cs.rows)
		}
		// The next scan replaces this one: the field has the focus.
		if focused != "code" {
			t.Errorf("%s: focus on %q after the verdict, want the code field", cs.code, focused)
		}
	}
	// The recent scans, newest first, each in words.
	var recent string
	if err := chromedp.Run(b, chromedp.Text("#recent tbody", &recent)); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(recent, "\n"); len(lines) != len(cases) || !strings.Contains(lines[len(lines)-1], "Amoxicillin · W2\t✗ Already dispensed") ||
		!strings.Contains(lines[1], "NOPE\t✗ Unknown serial") {
		t.Errorf("recent scans:\n%s", recent)
	}
	var recalls, suspects string
	err := chromedp.Run(b,
		chromedp.Navigate(n.APIURL()+"/regulator.html"),
		chromedp.Poll(`document.querySelectorAll("#recalls tbody tr").length > 0 && document.querySelectorAll("#suspects tbody tr").length > 0`, nil),
		chromedp.Text("#recalls", &recalls),
		chromedp.Text("#suspects", &suspects),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(recalls, "label misprint") || !strings.Contains(recalls, "Amoxicillin") || !strings.Contains(recalls, "manufacturer") {
		t.Errorf("regulator recalls: %q", recalls)
	}
	if !strings.Contains(suspects, "torn seal") || !strings.Contains(suspects, "yes") {
		t.Errorf("regulator suspects: %q", suspects)
	}
}

// TestPagesFitAPhone: every page, with content, fits a 390 px phone and a
// desktop: no horizontal scroll (the page's scroll width is the viewport's).
func TestPagesFitAPhone(t *testing.T) {
	n, c, m := startSupplyNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	maker, ph := m["manufacturer"], m["pharmacy"]
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}},
		{maker, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: "LOT-LONG-NAME-00001", Expiry: "2030-01-31", Serials: []string{"PHONE-SERIAL-0000001"}}},
		{maker, supply.TypeShip, supply.Ship{Codes: []string{"(01)09506000134352(21)PHONE-SERIAL-0000001"}, To: ph.id}},
		{ph, supply.TypeReceive, supply.Receive{Codes: []string{"(01)09506000134352(21)PHONE-SERIAL-0000001"}}},
		{maker, supply.TypeRecall, supply.RecallLot{GTIN: testGTIN, Lot: "LOT-LONG-NAME-00001", Reason: "out-of-specification dissolution at the 12-month stability point"}},
	})
	b := browser(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct {
		path  string
		ready string // a script true once the page has its content
		then  []chromedp.Action
	}{
		{"/", `document.querySelectorAll("table tbody tr").length > 0`, nil},
		{"/verify.html?as=" + ph.id, `document.querySelectorAll("#as option").length > 3`, []chromedp.Action{
			chromedp.SendKeys("#code", "(01)09506000134352(21)PHONE-SERIAL-0000001"),
			chromedp.Click("#verify-button"),
			chromedp.Poll(`document.querySelectorAll("#trail tbody tr").length > 0`, nil),
		}},
		{"/regulator.html", `document.querySelectorAll("#recalls tbody tr").length > 0`, nil},
		{"/patient.html", `document.readyState === "complete"`, nil},
		{"/practitioner.html", `document.readyState === "complete"`, nil},
	}
	for _, size := range phoneAndDesktop {
		for _, p := range pages {
			name := strings.Trim(strings.NewReplacer("/", "-", ".html", "").Replace(strings.SplitN(p.path, "?", 2)[0]), "-")
			if name == "" {
				name = "index"
			}
			t.Run(size.name+" "+p.path, func(t *testing.T) {
				checkPage(t, b, axe, name, []chromedp.Action{chromedp.Navigate(n.APIURL() + p.path)}, p.ready, p.then, size)
			})
		}
	}
}

// step is one transaction a test sends as a member.
type step struct {
	key  *member
	typ  string
	body any
}

// sendAll sends each step and waits for its block, failing on a refusal.
func sendAll(ctx context.Context, t *testing.T, c *client.Client, steps []step) {
	t.Helper()
	for _, s := range steps {
		if _, err := c.Send(ctx, s.key.key, s.typ, s.body, true); err != nil {
			t.Fatalf("%s: %v", s.typ, err)
		}
	}
}

// screen is a viewport a page must fit.
type screen struct {
	name          string
	width, height int64
}

var phoneAndDesktop = []screen{{"phone", 390, 844}, {"desktop", 1280, 900}}

// checkPage opens a page at the screen's size (open: navigate, sign in),
// waits until ready is true and runs then; the page must not be wider than
// the screen, and axe-core (testdata/axe, pinned) must find no serious or
// critical violation. Its screenshot is kept as name.
func checkPage(t *testing.T, b context.Context, axe []byte, name string, open []chromedp.Action, ready string, then []chromedp.Action, size screen) {
	t.Helper()
	var scroll, inner int
	actions := append([]chromedp.Action{chromedp.EmulateViewport(size.width, size.height)}, open...)
	actions = append(actions, chromedp.Poll(ready, nil))
	actions = append(actions, then...)
	var shot []byte
	actions = append(actions,
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scroll),
		chromedp.Evaluate(`window.innerWidth`, &inner),
		chromedp.FullScreenshot(&shot, 100))
	if err := chromedp.Run(b, actions...); err != nil {
		t.Fatal(err)
	}
	// Screenshots are kept where PRIMUM_ARTEFACTS says (CI's
	// artefacts), to look at what a phone shows.
	if dir := os.Getenv("PRIMUM_ARTEFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, size.name+"-"+name+".png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
	// Accessibility: axe-core (testdata/axe, pinned) in the page;
	// a serious or critical violation fails.
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	if err := chromedp.Run(b,
		chromedp.Evaluate(string(axe), nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({target: n.target.map(String)}))})))`, &violations,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	); err != nil {
		t.Fatalf("axe: %v", err)
	}
	t.Logf("axe: %d violations (moderate and minor are logged only)", len(violations))
	for _, v := range violations {
		t.Logf("axe %s %s: %s", v.Impact, v.ID, v.Help)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("accessibility (%s) %s: %s, at %v", v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	if scroll > inner {
		var wide string
		_ = chromedp.Run(b, chromedp.Evaluate(`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 6).map(e => e.tagName + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "") + " " + Math.round(e.getBoundingClientRect().right)).join(", ")`, &wide))
		t.Errorf("scroll width %d at a viewport of %d: wider than the screen: %s", scroll, inner, wide)
	}
}
