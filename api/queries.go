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
		// Sealed page tokens are opened before the handler sees them, and
		// the next page's is sealed (pagetoken.go).
		query := r.URL.Query()
		for k, vs := range query {
			for i, v := range vs {
				opened, err := s.pages.open(v)
				if err != nil {
					writeError(w, err)
					return
				}
				query[k][i] = opened
			}
		}
		req := &ledger.Request{State: s.Ledger.Committed(), Path: r.PathValue, Query: query,
			Now: time.Now(), BlockTime: s.Ledger.LastBlockTime()}
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
				param := p.NextParam
				if param == "" {
					param = "after"
				}
				nq := r.URL.Query()
				nq.Set(param, s.pages.seal(p.Next))
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
