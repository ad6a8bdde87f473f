package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
	if !strings.Contains(validators, "St Luke's Hospital") {
		t.Fatalf("the validator is not named: %q", validators)
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
}
