package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/primum-health/primum/claims"
)

// A claim is replayed against the version of its policy it was decided
// under, not the newest; a version the policy does not have is refused.
func TestClaimToReplay(t *testing.T) {
	policy := []*claims.Policy{{ID: "basic", Version: 1, Hash: "v1"}, {ID: "basic", Version: 2, Hash: "v2"}}
	claimsByID := map[string]claims.Claim{
		"C1": {ID: "C1", Policy: "basic", PolicyVersion: 1},
		"C2": {ID: "C2", Policy: "basic", PolicyVersion: 2},
		"C9": {ID: "C9", Policy: "basic", PolicyVersion: 9},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/claim-policies/basic":
			_ = json.NewEncoder(w).Encode(policy)
		case strings.HasPrefix(r.URL.Path, "/api/v1/claims/"):
			_ = json.NewEncoder(w).Encode(claimsByID[strings.TrimPrefix(r.URL.Path, "/api/v1/claims/")])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, c := range []struct{ id, hash, err string }{
		{"C1", "v1", ""},
		{"C2", "v2", ""},
		{"C9", "", "policy basic has no version 9"},
	} {
		claim, p, err := New(srv.URL).ClaimToReplay(context.Background(), c.id)
		switch {
		case c.err == "" && (err != nil || claim.ID != c.id || p.Hash != c.hash):
			t.Errorf("%s: %+v %+v %v", c.id, claim, p, err)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: %v, want %q", c.id, err, c.err)
		}
	}
}
