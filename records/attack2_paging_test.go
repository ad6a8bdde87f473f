package records_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestAttackPageTokenLeaksHiddenRecordIDs: a caller with standing that may
// see only some of a patient's records (drB: her consent covers
// conditions) walks the listing with limit=1 and reads, from the Link
// tokens, the id of every record it may not see (the psychiatric one at
// another custodian included), and how many there are. Before paging the
// answer was only the visible records.
func TestAttackPageTokenLeaksHiddenRecordIDs(t *testing.T) {
	w := setup(t)
	alice := w.ID("alice")
	must(t, w.Do("hosp", records.TypeRegister, register(w, "",
		newRecord(w, "hosp-psych-0001", "alice", "observation"))))
	year := w.Now.AddDate(1, 0, 0).UTC().Format("2006-01-02T15:04:05Z")
	must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drB"), Scope: consent.Scope{Categories: []string{"condition"}}, Purpose: "treatment", Expires: year}))
	var list ledger.Query
	for _, q := range records.New().Declare().Queries {
		if q.Name == "list" {
			list = q
		}
	}
	committed := w.St.Committed()
	caller, err := w.Signer("drB")
	must(t, err)
	view, err := records.ViewOf(committed, caller, alice, w.Now)
	must(t, err)
	var seen, tokens []string
	for after, pages := "", 0; pages == 0 || after != ""; pages++ {
		out, err := list.Handle(&ledger.Request{State: committed, Path: func(string) string { return alice },
			Query: url.Values{"limit": {"1"}, "after": {after}}, Viewer: view, Caller: caller, BlockTime: w.Now})
		must(t, err)
		for _, r := range out.(ledger.Page).Items.([]*records.Record) {
			seen = append(seen, r.ID)
		}
		after = out.(ledger.Page).Next
		if after != "" {
			tokens = append(tokens, after)
		}
	}
	t.Logf("drB sees %v; the tokens it was handed: %v", seen, tokens)
	for _, id := range tokens {
		if !slices.Contains(seen, id) {
			t.Errorf("a page token names the record %q, which drB may not see", id)
		}
	}
}

// TestAttackTrailTokenLeaksOthersAccesses: drB sees only its own entries
// in alice's trail, but each page token names the next entry, whoever made
// it: the height (when) and id of drA's access to her record.
func TestAttackTrailTokenLeaksOthersAccesses(t *testing.T) {
	w := setup(t)
	alice := w.ID("alice")
	year := w.Now.AddDate(1, 0, 0).UTC().Format("2006-01-02T15:04:05Z")
	must(t, w.Do("alice", consent.TypeGrant, consent.Grant{Grantee: w.ID("drB"), Scope: consent.Scope{Categories: []string{"condition"}}, Purpose: "treatment", Expires: year}))
	req := &requests{w: w}
	must(t, w.Do("hosp", records.TypeAccess, req.make("drB", "cond-1", "treatment", nil)))
	must(t, w.Do("hosp", records.TypeAccess, req.make("drA", "obs-1", "treatment", nil))) // drA at hosp, alice's custodian
	var trail ledger.Query
	for _, q := range records.New().Declare().Queries {
		if q.Name == "trail" {
			trail = q
		}
	}
	committed := w.St.Committed()
	all, err := records.TrailOf(committed, alice)
	must(t, err)
	caller, err := w.Signer("drB")
	must(t, err)
	view, err := records.ViewOf(committed, caller, alice, w.Now)
	must(t, err)
	out, err := trail.Handle(&ledger.Request{State: committed, Path: func(string) string { return alice },
		Query: url.Values{"limit": {"1"}}, Viewer: view, Caller: caller, BlockTime: w.Now})
	must(t, err)
	items := out.(ledger.Page).Items.([]*records.Access)
	next := out.(ledger.Page).Next
	t.Logf("drB's page: %d entries (requester %s); token %q", len(items), items[0].Requester, next)
	for _, a := range all {
		if a.Requester == w.ID("drA") && next != "" && len(next) > len(a.ID) && next[len(next)-len(a.ID):] == a.ID {
			t.Errorf("the token %q names drA's access %s (height %d), which drB may not see", next, a.ID, a.Height)
		}
	}
}
