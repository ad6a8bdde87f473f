package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/modules"
)

// TestPageTokensAreBoundToTheirListing: through the real routes, a token
// opens only on the listing that gave it — not on another patient's FHIR
// search (the patient is a parameter there, not the path), not on another
// resource type, and not on another route whose decoded path is the same
// (an object's children and an object whose code holds a slash).
func TestPageTokensAreBoundToTheirListing(t *testing.T) {
	a := testLedger(t)
	s := &server{Backend: Backend{Ledger: a, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, pages: newPageTokens(),
		limiter: newKeyLimiter(100, 100), ipLimiter: newKeyLimiter(100, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/{type}", s.fhirSearch)
	for _, q := range modules.Queries() {
		mux.HandleFunc("GET "+q.Path, s.query(q))
	}
	// sealed is the token a listing at target (served by pattern) hands out.
	sealed := func(pattern, target, param string) string {
		r := httptest.NewRequest("GET", target, nil)
		r.Pattern = pattern
		return url.QueryEscape(s.pages.seal("hidden-entry", r, param))
	}
	for _, tc := range []struct {
		name, target string
		shut         bool
	}{
		{"patient A's search token on patient B's", "/fhir/DocumentReference?patient=B&_after=" + sealed("GET /fhir/{type}", "/fhir/DocumentReference?patient=A", "_after"), true},
		{"a Consent search token on DocumentReference", "/fhir/DocumentReference?patient=A&_after=" + sealed("GET /fhir/{type}", "/fhir/Consent?patient=A", "_after"), true},
		{"children's token on the object route", "/api/v1/supply/objects/X%2Fchildren?after=" + sealed("GET /api/v1/supply/objects/{code}/children", "/api/v1/supply/objects/X/children", "after"), true},
		{"the search's own token, another page size", "/fhir/DocumentReference?patient=A&_count=5&_after=" + sealed("GET /fhir/{type}", "/fhir/DocumentReference?patient=A&_count=2", "_after"), false},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
		if shut := strings.Contains(rec.Body.String(), "a page token is good on the node that gave it"); shut != tc.shut {
			t.Errorf("%s: shut %v, want %v: %d %s", tc.name, shut, tc.shut, rec.Code, rec.Body)
		}
	}
}
