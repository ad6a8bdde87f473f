package node_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/internal/demo/demotest"
)

// TestNodePage: the node page says the chain is healthy, names its
// validator by member, shows each proposal's deadline and voters, and
// finds a transaction by its hash (type, signer by name, outcome) and an
// organisation by its id; a patient's id finds nothing public.
func TestNodePage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, n, c, f := demotest.Seeded(t, ctx)
	hospital := f.Member("St Luke's Hospital")
	key, err := demoKey(hospital.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	codes, res, err := c.IssueVouchers(ctx, key, 1)
	if err != nil || len(codes) != 1 {
		t.Fatalf("a transaction to find: %v", err)
	}
	b := browser(t)
	find := func(q string) string {
		t.Helper()
		var out string
		if err := chromedp.Run(b,
			chromedp.SetValue("#search-q", q, chromedp.ByID),
			chromedp.Evaluate(`document.getElementById("search-result").replaceChildren()`, nil),
			chromedp.Click("#search-button", chromedp.ByID),
			chromedp.Poll(`document.getElementById("search-result").children.length > 0`, nil),
			chromedp.Text("#search-result", &out, chromedp.ByID),
		); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var health, validators string
	if err := chromedp.Run(b,
		chromedp.Navigate(n.APIURL()+"/"),
		chromedp.Poll(`document.getElementById("health").textContent === "healthy" && document.querySelectorAll("#validators tbody tr").length === 1`, nil),
		chromedp.Text("#health", &health, chromedp.ByID),
		chromedp.Text("#validators", &validators, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(validators, "St Luke's Hospital") || !strings.Contains(validators, "of the last") {
		t.Fatalf("the validator is not named, or its signatures not counted: %q", validators)
	}
	// The latest blocks: the vouchers' block by the kind of transaction
	// (no hash, no signer), the time between blocks drawn, the peers named.
	var blocks, times, peers string
	if err := chromedp.Run(b,
		chromedp.Poll(`[...document.querySelectorAll("#blocks tbody tr")].some(tr => tr.textContent.includes("1 × identity.issue_vouchers"))`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`document.querySelector("#sparkline polyline") !== null`, nil),
		chromedp.Text("#blocks", &blocks, chromedp.ByID),
		chromedp.Text("#block-times", &times, chromedp.ByID),
		chromedp.Text("#peers", &peers, chromedp.ByID),
	); err != nil {
		t.Fatalf("latest blocks: %v (%q)", err, blocks)
	}
	if strings.Contains(blocks, res.Hash) || strings.Contains(strings.ToLower(blocks), strings.ToLower(hospital.Address)) ||
		!strings.Contains(blocks, "St Luke's Hospital") || !strings.HasPrefix(times, "Time between the last ") || !strings.HasPrefix(peers, "No peers") {
		t.Fatalf("latest blocks %q, times %q, peers %q", blocks, times, peers)
	}
	if out := find(res.Hash); !strings.Contains(out, "identity.issue_vouchers") || !strings.Contains(out, "St Luke's Hospital") || !strings.Contains(out, "committed") {
		t.Fatalf("transaction search: %q", out)
	}
	if out := find(hospital.Address); !strings.Contains(out, "St Luke's Hospital") || !strings.Contains(out, "hospital") {
		t.Fatalf("identity search: %q", out)
	}
	if out := find(f.Member("Patient 1").Address); !strings.Contains(out, "nothing public") {
		t.Fatalf("a patient's id: %q", out)
	}

	// A software upgrade the members voted: the status says when, and
	// what to do; the proposal names it.
	var upgrade string
	if err := chromedp.Run(b, chromedp.Poll(`document.getElementById("upgrade").textContent === "none scheduled"`, nil)); err != nil {
		t.Fatalf("no upgrade yet: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	height := st.Height + 100_000
	if _, err := c.Send(ctx, key, governance.TypePropose, governance.Propose{Action: governance.ActionUpgrade,
		Upgrade: &governance.UpgradePlan{Name: "v9-page", Height: height, Info: "https://example.org/primum/v9"}}, true); err != nil {
		t.Fatal(err)
	}
	ps, err := c.Proposals(ctx)
	if err != nil || len(ps) == 0 {
		t.Fatalf("proposals: %v", err)
	}
	id := ps[0].ID
	for _, name := range []string{"Riverside General Hospital", "Central Pharmacy", "Acme Pharma", "MedLogistics", "CareShield Insurance", "National Medicines Agency"} {
		k, err := demoKey(f.Member(name).KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(ctx, k, governance.TypeVote, governance.Vote{ProposalID: id, Vote: "yes"}, true); err != nil {
			t.Fatalf("%s votes: %v", name, err)
		}
	}
	want := fmt.Sprintf("v9-page at height %d (in ", height)
	var proposals string
	if err := chromedp.Run(b,
		// The status comes first in a refresh, the proposals last.
		chromedp.Poll(fmt.Sprintf(`document.getElementById("upgrade").textContent.startsWith(%q) && document.getElementById("proposals").textContent.includes(%q)`,
			want, fmt.Sprintf("v9-page at height %d", height)), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text("#upgrade", &upgrade, chromedp.ByID),
		chromedp.Text("#proposals", &proposals, chromedp.ByID),
	); err != nil {
		t.Fatalf("the scheduled upgrade: %v", err)
	}
	if !strings.Contains(upgrade, "install the Primum that carries it") || !strings.Contains(upgrade, "https://example.org/primum/v9") ||
		!strings.Contains(proposals, fmt.Sprintf("v9-page at height %d", height)) {
		t.Fatalf("upgrade %q, proposals %q", upgrade, proposals)
	}
}
