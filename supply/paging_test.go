package supply_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// growTrail adds 2 × pairs steps to code's trail (packed into a case and
// taken out again), MaxCaptureEvents a capture: what any member holding a
// pack can do, some 200 steps a transaction.
func growTrail(tb testing.TB, w *world, code string, pairs int) {
	tb.Helper()
	var events []supply.CaptureEvent
	for i := range pairs {
		events = append(events, supply.CaptureEvent{Step: "pack", Parent: sscc(1), Codes: []string{code}},
			supply.CaptureEvent{Step: "unpack", Parent: sscc(1)})
		if len(events) == supply.MaxCaptureEvents || i == pairs-1 {
			if err := w.Do("maker", supply.TypeCapture, supply.Capture{Events: events}); err != nil {
				tb.Fatal(err)
			}
			events = nil
		}
	}
}

// summary renders a supply query's answer as the test compares it: the
// seqs of the trail shown, its length, the contents shown and the
// listing's next page.
func summary(out any) string {
	next := ""
	if p, ok := out.(ledger.Page); ok {
		out, next = p.Items, p.Next
	}
	seqs := func(steps []*supply.Step) string {
		if len(steps) == 0 {
			return "none"
		}
		return fmt.Sprintf("%d-%d", steps[0].Seq, steps[len(steps)-1].Seq)
	}
	switch a := out.(type) {
	case *supply.Verdict:
		return fmt.Sprintf("trail %s of %d", seqs(a.Trail), a.TrailSteps)
	case *supply.ObjectAnswer:
		return fmt.Sprintf("trail %s of %d, %d children (next %q), next %q", seqs(a.Trail), a.Object.Steps, len(a.Children), a.ChildrenNext, next)
	case []string:
		return fmt.Sprintf("%d children, next %q", len(a), next)
	case []*supply.Recall:
		return fmt.Sprintf("%d recalls, next %q", len(a), next)
	}
	return fmt.Sprintf("%T", out)
}

// TestReadsFollowThePage: the supply reads that list (the public verify
// and object answers, a container's contents, the recalls) answer a page
// and where the next one starts, and read what the page holds, not the
// whole trail, container or recall list behind it.
func TestReadsFollowThePage(t *testing.T) {
	w := setup(t)
	growTrail(t, w, pack1, 150) // 301 steps: 0-300
	inside := commissionMany(t, w, "C", 30)
	must(t, w.Do("maker", supply.TypePack, supply.Pack{Parent: sscc(50), Children: inside}))
	for i := range 25 {
		must(t, w.Do("maker", supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: fmt.Sprintf("R%02d", i), Reason: "contaminated"}))
	}
	queries := map[string]ledger.Query{}
	for _, q := range supply.Declare().Queries {
		queries[q.Name] = q
	}
	caseKey := "sscc:" + sscc(50)[4:]
	cases := []struct {
		name, query, code string
		params            url.Values
		want              string
		err               error
		reads             int // at most
	}{
		{"verify shows the latest steps", "verify", "", url.Values{"code": {pack1}}, "trail 251-300 of 301", nil, supply.VerifyTrailSteps + 5},
		{"verify of a short trail shows it all", "verify", "", url.Values{"code": {pack2}}, "trail 0-0 of 1", nil, 5},
		{"object: the first page", "object", pack1, nil, `trail 0-99 of 301, 0 children (next ""), next "100"`, nil, 100 + 5},
		{"object: a page from a step", "object", pack1, url.Values{"limit": {"10"}, "after": {"150"}}, `trail 150-159 of 301, 0 children (next ""), next "160"`, nil, 10 + 5},
		{"object: the last page", "object", pack1, url.Values{"limit": {"10"}, "after": {"295"}}, `trail 295-300 of 301, 0 children (next ""), next ""`, nil, 10 + 5},
		{"object: past the end", "object", pack1, url.Values{"after": {"301"}}, `trail none of 301, 0 children (next ""), next ""`, nil, 5},
		{"object: a container's first contents", "object", caseKey, url.Values{"limit": {"10"}}, `trail 0-0 of 1, 10 children (next "sgtin:09506000134352.C18"), next ""`, nil, 2*10 + 5},
		{"children: a page", "children", caseKey, url.Values{"limit": {"10"}, "after": {"sgtin:09506000134352.C18"}}, `10 children, next "sgtin:09506000134352.C27"`, nil, 10 + 5},
		{"children: the last page", "children", caseKey, url.Values{"after": {"sgtin:09506000134352.C5"}}, `5 children, next ""`, nil, 10},
		{"recalls: a page", "recalls", "", url.Values{"limit": {"10"}}, `10 recalls, next "09506000134352/R10"`, nil, 10 + 2},
		{"recalls: the last page", "recalls", "", url.Values{"limit": {"10"}, "after": {"09506000134352/R20"}}, `5 recalls, next ""`, nil, 10 + 2},
		{"object: after is a step number", "object", pack1, url.Values{"after": {"ten"}}, "", ledger.ErrBadRequest, 0},
		{"object: limit at most 1000", "object", pack1, url.Values{"limit": {"1001"}}, "", ledger.ErrBadRequest, 0},
		{"children: limit at most 10000", "children", caseKey, url.Values{"limit": {"10001"}}, "", ledger.ErrBadRequest, 0},
		{"children of no object", "children", "sscc:106141410000009999", nil, "", supply.ErrUnknownObject, 5},
		{"recalls: a token is short", "recalls", "", url.Values{"after": {string(make([]byte, 300))}}, "", ledger.ErrBadRequest, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &statetest.Counting{R: w.St.Committed()}
			out, err := queries[c.query].Handle(&ledger.Request{State: st, Path: func(string) string { return c.code }, Query: c.params, Now: w.Now})
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if err == nil && summary(out) != c.want {
				t.Fatalf("%s\nwant %s", summary(out), c.want)
			}
			if st.Reads > c.reads {
				t.Fatalf("%d reads, want at most %d", st.Reads, c.reads)
			}
		})
	}
	// Walked by its tokens, the trail is the whole trail, once and in
	// order; so are the contents.
	var seq uint64
	for after := "0"; after != ""; {
		out, err := queries["object"].Handle(&ledger.Request{State: w.St.Committed(), Path: func(string) string { return pack1 },
			Query: url.Values{"limit": {"64"}, "after": {after}}, Now: w.Now})
		if err != nil {
			t.Fatal(err)
		}
		page := out.(ledger.Page)
		for _, s := range page.Items.(*supply.ObjectAnswer).Trail {
			if s.Seq != seq {
				t.Fatalf("step %d where %d was due", s.Seq, seq)
			}
			seq++
		}
		after = page.Next
	}
	if seq != 301 {
		t.Fatalf("walked %d steps, want 301", seq)
	}
	var got []string
	for after, pages := "", 0; pages == 0 || after != ""; pages++ {
		children, next, err := supply.ChildrenPage(w.St.Committed(), caseKey, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		got, after = append(got, children...), next
	}
	if len(got) != len(inside) {
		t.Fatalf("walked %d children, want %d", len(got), len(inside))
	}
}

// TestLotPacks: a lot's packs, wherever each is now, walked a page at a
// time: every pack of the lot once, no pack of another lot, each page
// bounded; a malformed GTIN or lot is bad_code.
func TestLotPacks(t *testing.T) {
	w := setup(t) // S1-S3 in lot L1
	must(t, w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L2", Expiry: "2027-12-31", Serials: []string{"S4", "S5"}}))
	must(t, w.Do("maker", supply.TypeShip, supply.Ship{Codes: []string{pack1}, To: w.ID("pharmacy")}))
	var lot ledger.Query
	for _, q := range supply.Declare().Queries {
		if q.Name == "lot" {
			lot = q
		}
	}
	walk := func(l string, limit int) (serials []string, pages int) {
		for after := ""; pages == 0 || after != ""; pages++ {
			st := &statetest.Counting{R: w.St.Committed()}
			out, err := lot.Handle(&ledger.Request{State: st, Query: url.Values{"limit": {fmt.Sprint(limit)}, "after": {after}}, Now: w.Now,
				Path: func(name string) string { return map[string]string{"gtin": gtin, "lot": l}[name] }})
			if err != nil {
				t.Fatal(err)
			}
			if st.Reads > ledger.MaxPageScan+1 {
				t.Fatalf("a page read %d entries, past the bound of %d", st.Reads, ledger.MaxPageScan)
			}
			page := out.(ledger.Page)
			for _, o := range page.Items.([]*supply.Object) {
				if o.Lot != l {
					t.Fatalf("lot %s lists %s of lot %s", l, o.Key, o.Lot)
				}
				serials = append(serials, o.Serial+"@"+o.Status)
			}
			after = page.Next
		}
		return serials, pages
	}
	if got, _ := walk("L1", 1000); fmt.Sprint(got) != "[S1@in_transit S2@active S3@active]" {
		t.Fatalf("lot L1: %v", got)
	}
	if got, pages := walk("L2", 1); fmt.Sprint(got) != "[S4@active S5@active]" || pages < 2 {
		t.Fatalf("lot L2 a pack a page: %v in %d pages", got, pages)
	}
	for _, bad := range [][2]string{{"0950600013435", "L1"}, {gtin, ""}, {gtin, "L1\x00"}, {gtin, strings.Repeat("L", 21)}} {
		_, err := lot.Handle(&ledger.Request{State: w.St.Committed(), Now: w.Now,
			Path: func(name string) string { return map[string]string{"gtin": bad[0], "lot": bad[1]}[name] }})
		if !errors.Is(err, supply.ErrBadCode) {
			t.Fatalf("GTIN %q lot %q: %v, want bad_code", bad[0], bad[1], err)
		}
	}
}
