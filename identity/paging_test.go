package identity_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// TestIdentityListPages: the identity list pages with the caller's filter
// inside the page, so a page is full of what the caller may see and the
// walk reaches every such identity: a stranger sees organisations and
// practitioners and no patient, the regulator every patient, a patient
// only themselves and their own device.
func TestIdentityListPages(t *testing.T) {
	w := setup(t)
	for i := range 12 {
		w.AddPatient(fmt.Sprint("p", i))
	}
	w.AddPractitioner("drA", "hosp")
	w.AddDevice("watch", "p3", "wearable")
	w.Commit()
	var list ledger.Query
	for _, q := range identity.Declare().Queries {
		if q.Name == "list" {
			list = q
		}
	}
	for _, c := range []struct {
		name, who, kind string
		want            int
	}{
		{"a stranger, every kind", "", "", 5}, // 4 organisations and drA
		{"a stranger, patients", "", "patient", 0},
		{"the regulator, patients", "reg", "patient", 12},
		{"a patient, every kind", "p3", "", 7}, // the 5 public, p3 and the watch
		{"a patient, devices", "p3", "device", 1},
		{"a stranger, devices", "", "device", 0},
		{"organisations", "", "organisation", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			var caller ledger.Signer
			if c.who != "" {
				var err error
				if caller, err = w.Signer(c.who); err != nil {
					t.Fatal(err)
				}
			}
			seen := 0
			after := ""
			for pages := 0; pages == 0 || after != ""; pages++ {
				out, err := list.Handle(&ledger.Request{State: w.St.Committed(), Caller: caller,
					Query: url.Values{"kind": {c.kind}, "limit": {"2"}, "after": {after}}})
				if err != nil {
					t.Fatal(err)
				}
				page := out.(ledger.Page)
				items := page.Items.([]*identity.Identity)
				if len(items) > 2 || pages > 20 {
					t.Fatalf("page %d: %d items", pages, len(items))
				}
				if len(items) < 2 && page.Next != "" {
					t.Fatalf("page %d: short (%d) with more to come", pages, len(items))
				}
				seen += len(items)
				after = page.Next
			}
			if seen != c.want {
				t.Fatalf("saw %d, want %d", seen, c.want)
			}
		})
	}
}
