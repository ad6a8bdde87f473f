package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/primum-health/primum/identity"
)

// A custodian is named by its id or by the name of the only active
// organisation that has it, in any case; an organisation that keeps no
// records, a name nobody has and a name several share are refused saying
// so, as a *NameError.
func TestCustodian(t *testing.T) {
	orgs := []*identity.Identity{
		{ID: "slh", Name: "St Luke's", OrgType: "hospital", Status: identity.StatusActive},
		{ID: "acme", Name: "Acme Pharma", OrgType: "manufacturer", Status: identity.StatusActive},
		{ID: "old", Name: "Riverside", OrgType: "clinic", Status: "suspended"},
		{ID: "rv1", Name: "Riverside", OrgType: "clinic", Status: identity.StatusActive},
		{ID: "fj1", Name: "Fjord", OrgType: "clinic", Status: identity.StatusActive},
		{ID: "fj2", Name: "fjord", OrgType: "lab", Status: identity.StatusActive},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/identities" || r.URL.Query().Get("kind") != "organisation" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(orgs)
	}))
	defer srv.Close()
	c := New(srv.URL)
	for _, tc := range []struct{ in, want, err string }{
		{"slh", "slh", ""},
		{"st luke's", "slh", ""},
		{"Riverside", "rv1", ""}, // the active one
		{"old", "old", ""},       // by id, whatever its status
		{"Acme Pharma", "", "keeps no patient records"},
		{"Nowhere", "", "no active organisation of that name or id"},
		{"FJORD", "", `2 organisations have that name (fj1, fj2): give its id`},
	} {
		got, err := c.Custodian(context.Background(), tc.in)
		var bad *NameError
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Custodian(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (!errors.As(err, &bad) || bad.Name != tc.in || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Custodian(%q) = %q, %v; want a NameError saying %q", tc.in, got, err, tc.err)
		}
	}
}
