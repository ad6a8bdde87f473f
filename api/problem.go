package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// Errors only the HTTP edge produces.
var (
	errBadRequest   = ledger.NewError("api", 1, "bad_request", http.StatusBadRequest, "bad request")
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

// writeItem answers a read of one item: the error as a problem, or the
// item as JSON.
func writeItem(w http.ResponseWriter, item any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

// writeList answers a list read: the error as a problem, or the list as a
// JSON array (never null, even when empty).
func writeList[T any](w http.ResponseWriter, list []T, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, list)
}

// pageParams reads a listing's limit (1 to max, default def) and its page
// token after (from a previous answer's Link header).
func pageParams(r *http.Request, def, max int) (limit int, after string, err error) {
	q := r.URL.Query()
	limit = def
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > max {
			return 0, "", errBadRequest.Wrapf("limit must be 1-%d", max)
		}
	}
	after = q.Get("after")
	if len(after) > 256 {
		return 0, "", errBadRequest.Wrapf("after must be a page token from a Link header")
	}
	return limit, after, nil
}

// writePage answers one page of a listing, with a Link rel="next" header
// naming the following page when there is one.
func writePage[T any](w http.ResponseWriter, r *http.Request, page []*T, next string, err error) {
	if err == nil && next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	writeList(w, page, err)
}
