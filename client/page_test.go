package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestProposalsPageFollowsTheLink: the client reads a paged listing's next
// page from the Link header the node sends (as api.linkNext writes it,
// with a token the client cannot read, as the node seals it), and walking
// it gets every proposal once, newest first.
func TestProposalsPageFollowsTheLink(t *testing.T) {
	const proposals = 7
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before, limit := proposals, 3
		if v := r.URL.Query().Get("before"); v != "" {
			before, _ = strconv.Atoi(strings.TrimPrefix(v, "~sealed-"))
		}
		if v := r.URL.Query().Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		var page []string
		for id := before; id > 0 && len(page) < limit; id-- {
			page = append(page, fmt.Sprintf(`{"id":%d}`, id))
		}
		if next := before - limit; next > 0 {
			q := r.URL.Query()
			q.Set("before", "~sealed-"+strconv.Itoa(next))
			w.Header().Set("Link", "<"+r.URL.EscapedPath()+"?"+q.Encode()+`>; rel="next"`)
		}
		fmt.Fprintf(w, "[%s]", strings.Join(page, ","))
	}))
	defer srv.Close()
	c := New(srv.URL)
	var got []uint64
	var before string
	for pages := 0; ; pages++ {
		list, next, err := c.ProposalsPage(context.Background(), before, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			got = append(got, p.ID)
		}
		if next == "" || pages > proposals {
			break
		}
		before = next
	}
	if fmt.Sprint(got) != "[7 6 5 4 3 2 1]" {
		t.Fatalf("walked %v", got)
	}
	if _, next, err := c.QueryPage(context.Background(), "/api/v1/proposals", map[string][]string{"limit": {"2"}}); err != nil || next.Get("before") != "~sealed-5" || next.Get("limit") != "2" {
		t.Fatalf("QueryPage: next %v, %v", next, err)
	}
}
