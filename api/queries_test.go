package api

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

// TestQueryWrapper: what the API does around every module query, from its
// declaration alone — a page's Link header names the next page with the
// query's own paging parameter and keeps the caller's other parameters, a
// nil list answers [], a coded error answers its problem, and an access
// rule other than Public needs a token (and an unknown rule refuses all).
func TestQueryWrapper(t *testing.T) {
	a := testLedger(t)
	_, key, _ := ed25519.GenerateKey(nil)
	s := &server{Backend: Backend{Ledger: a, Signers: map[string]ed25519.PrivateKey{"tok": key}}, pages: newPageTokens()}
	cases := []struct {
		name       string
		q          ledger.Query
		target     string
		token      string
		wantStatus int
		wantBody   string
		wantLink   string
	}{
		{"page, before", ledger.Query{Read: ledger.Public, Answer: ledger.Page{NextParam: "before"}, Handle: func(q *ledger.Request) (any, error) {
			return ledger.Page{Items: []int{1, 2}, Next: "k/2"}, nil
		}}, "/x?outcome=refused&before=k/9", "", 200, "[\n  1,\n  2\n]\n", `</x?before=k%2F2&outcome=refused>; rel="next"`},
		{"page, after by default", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return ledger.Page{Items: []int{1}, Next: "7"}, nil
		}}, "/x", "", 200, "[\n  1\n]\n", `</x?after=7>; rel="next"`},
		{"an escaped path stays escaped", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return ledger.Page{Items: []int{1}, Next: "7"}, nil
		}}, "/epcs/urn:x%3E;%20rel=%22evil%22/events", "", 200, "[\n  1\n]\n", `</epcs/urn:x%3E;%20rel=%22evil%22/events?after=7>; rel="next"`},
		{"a sealed token is opened for the handler", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return []string{q.Query.Get("after")}, nil
		}}, "/x?after=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x", nil), "after")), "", 200, `"rec/hidden-0001"`, ""},
		{"a token from another path stays shut", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran with another listing's token")
			return nil, nil
		}}, "/y?after=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x", nil), "after")), "", 400, `"code":"bad_request"`, ""},
		{"a token in another parameter is not opened", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return []string{q.Query.Get("code")}, nil
		}}, "/x?code=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x", nil), "after")), "", 200, `"~`, ""},
		{"a token from another patient's listing stays shut", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran with another listing's token")
			return nil, nil
		}}, "/x?patient=B&after=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x?patient=A", nil), "after")), "", 400, `"code":"bad_request"`, ""},
		{"the page size may change", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return []string{q.Query.Get("after")}, nil
		}}, "/x?patient=A&limit=5&after=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x?patient=A&limit=2", nil), "after")), "", 200, `"rec/hidden-0001"`, ""},
		{"a query that does not page opens nothing", ledger.Query{Read: ledger.Public, Answer: &struct{}{}, Handle: func(q *ledger.Request) (any, error) {
			return []string{q.Query.Get("after")}, nil
		}}, "/x?after=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x", nil), "after")), "", 200, `"~`, ""},
		{"a token for after does not open as before", ledger.Query{Read: ledger.Public, Answer: ledger.Page{NextParam: "before"}, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran with another parameter's token")
			return nil, nil
		}}, "/x?before=" + url.QueryEscape(s.pages.seal("rec/hidden-0001", httptest.NewRequest("GET", "/x", nil), "after")), "", 400, `"code":"bad_request"`, ""},
		{"a position the caller names is taken as written", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return []string{q.Query.Get("after")}, nil
		}}, "/x?after=42", "", 200, `"42"`, ""},
		{"a token this server did not seal", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran with a forged token")
			return nil, nil
		}}, "/x?after=~AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", 400, `"code":"bad_request"`, ""},
		{"last page: no link", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return ledger.Page{Items: []int(nil)}, nil
		}}, "/x", "", 200, "[]\n", ""},
		{"nil list", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return []string(nil), nil
		}}, "/x", "", 200, "[]\n", ""},
		{"coded error", ledger.Query{Read: ledger.Public, Handle: func(q *ledger.Request) (any, error) {
			return nil, ledger.ErrBadRequest.Wrapf("limit must be 1-10")
		}}, "/x", "", 400, `"code":"bad_request"`, ""},
		{"members without a token", ledger.Query{Read: ledger.Members, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran without a token")
			return nil, nil
		}}, "/x", "", 401, `"code":"token_required"`, ""},
		{"members, unregistered key", ledger.Query{Read: ledger.Members, Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran for an unregistered key")
			return nil, nil
		}}, "/x", "tok", 401, `"code":"token_required"`, ""},
		{"unknown rule", ledger.Query{Read: "friends", Handle: func(q *ledger.Request) (any, error) {
			t.Error("handler ran under an unknown rule")
			return nil, nil
		}}, "/x", "tok", 404, `"code":"no_such_route"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", c.target, nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			s.query(c.q)(rec, req)
			body := rec.Body.String()
			if rec.Code != c.wantStatus || !strings.Contains(body, c.wantBody) {
				t.Fatalf("HTTP %d %q, want %d with %q", rec.Code, body, c.wantStatus, c.wantBody)
			}
			// The token in the link is sealed: it reads as the handler's
			// only through the server's key.
			link := rec.Header().Get("Link")
			if i := strings.Index(link, "="+sealMark); i >= 0 {
				end := i + 1 + strings.IndexAny(link[i+1:], "&>")
				param := link[strings.LastIndexAny(link[:i], "?&")+1 : i]
				opened, err := s.pages.open(link[i+1:end], req, param)
				if err != nil {
					t.Fatalf("Link %q: %v", link, err)
				}
				link = link[:i+1] + url.QueryEscape(opened) + link[end:]
			} else if link != "" {
				t.Fatalf("Link %q: the token is not sealed", link)
			}
			if link != c.wantLink {
				t.Fatalf("Link %q, want %q", link, c.wantLink)
			}
		})
	}
}

// testLedger is a real app over a store in t's temporary folder, at
// height 0 (no chain yet): what the API reads, without a consensus engine.
func testLedger(t *testing.T) *app.App {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := app.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return a
}
