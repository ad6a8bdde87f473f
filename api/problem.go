package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// Errors only the HTTP edge produces.
var (
	errBadRequest   = ledger.ErrBadRequest
	errDuplicateTx  = ledger.NewError("api", 2, "duplicate_tx", http.StatusConflict, "this exact transaction was already submitted")
	errMempoolFull  = ledger.NewError("api", 3, "mempool_full", http.StatusServiceUnavailable, "the node is busy; retry shortly")
	errTimeout      = ledger.NewError("api", 4, "commit_timeout", http.StatusAccepted, "accepted but not committed before the timeout; poll /api/v1/txs/{hash}")
	errBodyTooLarge = ledger.NewError("api", 5, "body_too_large", http.StatusRequestEntityTooLarge, "request body too large")
	errNoRoute      = ledger.NewError("api", 6, "no_such_route", http.StatusNotFound, "no such API route")
	errUnavailable  = ledger.NewError("api", 7, "unavailable", http.StatusServiceUnavailable, "the node cannot answer right now")
)

func newAPIError(code uint32, name string, status int, msg string) *ledger.Error {
	return ledger.NewError("api", code, name, status, msg)
}

// tooLarge reports whether err is a request body over its limit
// (http.MaxBytesReader's error, however wrapped).
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func problemOf(err error) wire.Problem {
	if tooLarge(err) {
		err = errBodyTooLarge
	}
	e := ledger.AsError(err)
	detail := err.Error()
	if e == ledger.ErrInternal {
		detail = "internal error; see the node's log"
	}
	return wire.Problem{Type: "https://primum.dev/problems/" + e.Name, Title: e.Msg, Status: e.HTTPStatus,
		Detail: detail, Code: e.Name, Codespace: e.Codespace, ABCICode: e.Code}
}

func writeProblem(w http.ResponseWriter, p wire.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeError(w http.ResponseWriter, err error) { writeProblem(w, problemOf(err)) }

// writeJSON answers with v as JSON, indented for people reading it.
func writeJSON(w http.ResponseWriter, status int, v any) { encodeJSON(w, status, v, "  ") }

// writeCompactJSON answers with v as JSON without indentation, for large
// answers that programs read (a batch's results): indenting them cost more
// than encoding them.
func writeCompactJSON(w http.ResponseWriter, status int, v any) { encodeJSON(w, status, v, "") }

func encodeJSON(w http.ResponseWriter, status int, v any, indent string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	_ = enc.Encode(v)
}

// linkNext points a listing's answer at its next page: the request's
// path, as the client escaped it (an EPC or Digital Link in the path keeps
// its escaping, and cannot end the link's brackets), with the query q,
// which carries the next page's token (RFC 8288, rel="next").
func linkNext(w http.ResponseWriter, r *http.Request, q url.Values) {
	w.Header().Set("Link", "<"+r.URL.EscapedPath()+"?"+q.Encode()+`>; rel="next"`)
}
