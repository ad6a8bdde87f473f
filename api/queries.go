package api

import (
	"net/http"
	"reflect"
	"time"

	"github.com/primum-health/primum/ledger"
)

// query serves a module's query (ledger.Query): who may call it is checked
// here, once, from its declaration; the handler reads one committed view
// and answers a value, which is written as JSON (a list never as null; a
// page with a Link header to the next).
func (s *server) query(q ledger.Query) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The paging parameter's sealed token is opened before the handler
		// sees it, and the next page's is sealed (pagetoken.go); no other
		// parameter is opened.
		param := pageParam(q)
		query := r.URL.Query()
		if vs := query[param]; param != "" && len(vs) > 0 {
			for i, v := range vs {
				opened, err := s.pages.open(v, r, param)
				if err != nil {
					writeError(w, err)
					return
				}
				vs[i] = opened
			}
		}
		height, _ := s.Ledger.CommittedVersion()
		req := &ledger.Request{State: s.Ledger.Committed(), Path: r.PathValue, Query: query,
			Now: time.Now(), BlockTime: s.Ledger.LastBlockTime(), Height: height}
		if err := s.authorise(r, req, q.Read, q.Subject); err != nil {
			writeError(w, err)
			return
		}
		out, err := q.Handle(req)
		if err != nil {
			writeError(w, err)
			return
		}
		if p, ok := out.(ledger.Page); ok {
			if p.Next != "" {
				nq := r.URL.Query()
				nq.Set(param, s.pages.seal(p.Next, r, param))
				linkNext(w, r, nq)
			}
			out = p.Items
		}
		if v := reflect.ValueOf(out); v.Kind() == reflect.Slice && v.IsNil() {
			out = []struct{}{}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// pageParam is the query parameter a query's pages are continued with: the
// one its declared answer names, "after" unless it says otherwise; "" for
// a query declared with another answer, which does not page (nothing is
// opened for it).
func pageParam(q ledger.Query) string {
	p, ok := q.Answer.(ledger.Page)
	switch {
	case !ok && q.Answer != nil:
		return ""
	case p.NextParam != "":
		return p.NextParam
	}
	return "after"
}
