package records_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// walk follows a paged listing's tokens from the first page to the last,
// each page of at most limit through a counting reader, and returns the
// ids it saw in order and the most reads a page cost.
func walk(t *testing.T, r ledger.Reader, limit int, page func(r ledger.Reader, after string) (ids []string, next string, err error)) (ids []string, maxReads int) {
	t.Helper()
	for after, pages := "", 0; pages == 0 || after != ""; pages++ {
		if pages > 100 {
			t.Fatal("the pages do not end")
		}
		st := &statetest.Counting{R: r}
		got, next, err := page(st, after)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > limit {
			t.Fatalf("a page of %d, limit %d", len(got), limit)
		}
		ids, after, maxReads = append(ids, got...), next, max(maxReads, st.Reads)
	}
	return ids, maxReads
}

// TestPatientListingsPage: a patient's records (those an erasure reached
// and those since, from two indexes, in one id order), trail and consents
// page from a token, and a page costs what it holds, however many the
// patient has: walked to the end, the pages are the whole listing, once
// and in order.
func TestPatientListingsPage(t *testing.T) {
	w := setup(t)
	alice := w.ID("alice")
	// Even ids, then an erasure reaches them (they move to the index of
	// reached records), then odd ids: in id order the two interleave.
	var even, odd []records.NewRecord
	for i := range 30 {
		if i%2 == 0 {
			even = append(even, newRecord(w, fmt.Sprintf("r-%02d", i), "alice", "observation"))
		} else {
			odd = append(odd, newRecord(w, fmt.Sprintf("r-%02d", i), "alice", "observation"))
		}
	}
	must(t, w.Do("hosp", records.TypeRegister, register(w, "", even...)))
	must(t, w.Do("alice", records.TypeErase, records.Erase{}))
	must(t, w.Do("hosp", records.TypeRegister, register(w, "", odd...)))
	req := &requests{w: w}
	for range 20 {
		must(t, w.Do("hosp", records.TypeAccess, req.make("alice", "r-01", "patient", nil)))
	}
	year := w.Now.AddDate(1, 0, 0).UTC().Format("2006-01-02T15:04:05Z")
	for _, g := range []string{"drA", "drB", "drR", "clinic", "research", "hosp", "maker"} {
		for _, purpose := range []string{"treatment", "research", "second_opinion"} {
			must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID(g), Scope: consent.Scope{All: true}, Purpose: purpose, Expires: year}))
		}
	}
	committed := w.St.Committed()
	all, err := records.OfPatient(committed, alice)
	must(t, err)
	trail, err := records.TrailOf(committed, alice)
	must(t, err)
	consents, err := consent.OfPatient(committed, alice)
	must(t, err)
	idsOf := func(n int, id func(i int) string) []string {
		var out []string
		for i := range n {
			out = append(out, id(i))
		}
		return out
	}
	const limit = 7
	for _, c := range []struct {
		name string
		want []string
		page func(r ledger.Reader, after string) ([]string, string, error)
	}{
		{"records", idsOf(len(all), func(i int) string { return all[i].ID }), func(r ledger.Reader, after string) ([]string, string, error) {
			page, next, err := records.OfPatientPage(r, alice, after, limit, nil)
			return idsOf(len(page), func(i int) string { return page[i].ID }), next, err
		}},
		{"trail, oldest first", idsOf(len(trail), func(i int) string { return trail[i].ID }), func(r ledger.Reader, after string) ([]string, string, error) {
			page, next, err := records.AccessPage(r, alice, after, false, limit, nil)
			return idsOf(len(page), func(i int) string { return page[i].ID }), next, err
		}},
		{"consents", idsOf(len(consents), func(i int) string { return consents[i].ID }), func(r ledger.Reader, after string) ([]string, string, error) {
			page, next, err := consent.OfPatientPage(r, alice, after, limit, nil)
			return idsOf(len(page), func(i int) string { return page[i].ID }), next, err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.want) <= 2*limit {
				t.Fatalf("%d entries: too few to page", len(c.want))
			}
			got, reads := walk(t, committed, limit, c.page)
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("walked %v\nwant   %v", got, c.want)
			}
			// Per entry its index key and the entry, and a look ahead (in
			// each of the two indexes of records).
			if reads > 2*limit+3 {
				t.Fatalf("%d reads for a page of %d", reads, limit)
			}
		})
	}
	if len(all) != 32 || all[2].ID != "r-00" || all[3].ID != "r-01" {
		t.Fatalf("alice's records: %d, from %s %s", len(all), all[2].ID, all[3].ID)
	}
	// A filter that keeps few answers short pages and where to go on.
	var kept []string
	for after, pages := "", 0; pages == 0 || after != ""; pages++ {
		page, next, err := records.OfPatientPage(committed, alice, after, 2, func(rec *records.Record) bool { return rec.ID >= "r-25" })
		must(t, err)
		for _, rec := range page {
			kept = append(kept, rec.ID)
		}
		after = next
	}
	if fmt.Sprint(kept) != "[r-25 r-26 r-27 r-28 r-29]" {
		t.Fatalf("filtered: %v", kept)
	}
}

// TestPatientQueriesPage: the patient's records index and trail, as the
// API serves them, answer a page narrowed to what the caller may see, and
// a Link token to the next; walked to the end they are what the caller saw
// whole before, each page reading what it holds.
func TestPatientQueriesPage(t *testing.T) {
	w := setup(t)
	alice := w.ID("alice")
	var recs []records.NewRecord
	for i := range 25 {
		category := "observation"
		if i%5 == 0 {
			category = "condition"
		}
		recs = append(recs, newRecord(w, fmt.Sprintf("r-%02d", i), "alice", category))
	}
	must(t, w.Do("hosp", records.TypeRegister, register(w, "", recs...)))
	year := w.Now.AddDate(1, 0, 0).UTC().Format("2006-01-02T15:04:05Z")
	must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drB"), Scope: consent.Scope{Categories: []string{"condition"}}, Purpose: "treatment", Expires: year}))
	req := &requests{w: w}
	for i := range 12 {
		who := "alice"
		if i%3 == 0 {
			who = "drB"
		}
		must(t, w.Do("hosp", records.TypeAccess, req.make(who, "r-00", map[string]string{"alice": "patient", "drB": "treatment"}[who], nil)))
	}
	queries := map[string]ledger.Query{}
	for _, q := range records.New().Declare().Queries {
		queries[q.Name] = q
	}
	committed := w.St.Committed()
	ids := func(out any) []string {
		var got []string
		switch items := out.(ledger.Page).Items.(type) {
		case []*records.Record:
			for _, r := range items {
				got = append(got, r.ID)
			}
		case []*records.Access:
			for _, a := range items {
				got = append(got, a.Requester[:6]+"/"+a.Record)
			}
		}
		return got
	}
	for _, c := range []struct {
		query, who string
		want       int // items seen, walked to the end
	}{
		{"list", "alice", 27},   // her 25 and setup's two
		{"list", "drB", 6},      // the conditions her consent covers
		{"trail", "alice", 12},  // every access
		{"trail", "drB", 4},     // drB's own
		{"list", "research", 0}, // no standing: nothing (the API refuses before)
	} {
		t.Run(c.query+" as "+c.who, func(t *testing.T) {
			caller, err := w.Signer(c.who)
			must(t, err)
			view, err := records.ViewOf(committed, caller, alice, w.Now)
			must(t, err)
			var seen []string
			for after, pages := "", 0; pages == 0 || after != ""; pages++ {
				st := &statetest.Counting{R: committed}
				out, err := queries[c.query].Handle(&ledger.Request{State: st, Path: func(string) string { return alice },
					Query: url.Values{"limit": {"5"}, "after": {after}}, Viewer: view, Caller: caller, BlockTime: w.Now})
				must(t, err)
				page := ids(out)
				// The patient sees every entry: a page reads its own (a
				// narrower view examines more, at most ledger.MaxPageScan).
				if len(page) > 5 || c.who == "alice" && st.Reads > 2*5+3 || pages > 40 {
					t.Fatalf("page %d: %d items, %d reads", pages, len(page), st.Reads)
				}
				seen, after = append(seen, page...), out.(ledger.Page).Next
			}
			if len(seen) != c.want {
				t.Fatalf("saw %d: %v", len(seen), seen)
			}
		})
	}
	if _, err := queries["list"].Handle(&ledger.Request{State: committed, Path: func(string) string { return alice },
		Query: url.Values{"limit": {"10001"}}}); !errors.Is(err, ledger.ErrBadRequest) {
		t.Fatalf("limit 10001: %v", err)
	}
}
