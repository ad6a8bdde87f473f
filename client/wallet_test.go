package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/primum-health/primum/consent"
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

// A patient's consents are every pseudonym's, each read as itself (a
// signed request; one without a key goes as the client is), each list
// checked, when a check is given and the list is not empty, before it joins
// the answer; a failed check stops the listing.
func TestConsentsEach(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/patients/"), "/consents")
		signed := r.Header.Get("Signature") != ""
		var out []*consent.Consent
		switch id {
		case "own", "pairwise":
			if !signed {
				http.Error(w, `{"code":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			out = []*consent.Consent{{ID: id + "-1"}, {ID: id + "-2"}}
		case "anyone":
			out = []*consent.Consent{{ID: "anyone-1"}}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	_, k1, _ := ed25519.GenerateKey(nil)
	_, k2, _ := ed25519.GenerateKey(nil)
	ps := []Pseudonym{{ID: "own", Key: k1}, {ID: "none", Key: k1}, {ID: "pairwise", Key: k2, Custodian: "org"}, {ID: "anyone"}}
	dropFirst := func(_ *Client, id string, cs []*consent.Consent) ([]*consent.Consent, error) {
		if id == "none" {
			t.Error("an empty list was checked")
		}
		return cs[1:], nil
	}
	refuse := func(_ *Client, id string, _ []*consent.Consent) ([]*consent.Consent, error) {
		return nil, errors.New("not proven: " + id)
	}
	for _, c := range []struct {
		name  string
		check func(*Client, string, []*consent.Consent) ([]*consent.Consent, error)
		want  string
		err   string
	}{
		{"unchecked", nil, "own-1 own-2 pairwise-1 pairwise-2 anyone-1", ""},
		{"checked", dropFirst, "own-2 pairwise-2", ""},
		{"refused", refuse, "", "not proven: own"},
	} {
		cs, err := New(srv.URL).ConsentsEach(context.Background(), ps, c.check)
		var ids []string
		for _, x := range cs {
			ids = append(ids, x.ID)
		}
		if got := strings.Join(ids, " "); got != c.want || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
}
