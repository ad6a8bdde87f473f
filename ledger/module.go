package ledger

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Module declares one capability of the ledger once: its transactions and
// its queries. The app routes transactions from it, the API mounts its
// queries and documents them (OpenAPI), the CLI gets its commands, and the
// permission, route, body and OpenAPI tests iterate it: a module without
// rows fails them. The list of modules is in one file
// (package modules).
type Module struct {
	// Name is the module's name and the codespace of its errors
	// (NewError's first argument).
	Name string
	// Doc says in a sentence what the module is for (CLI help, API docs).
	Doc string
	// Txs are the module's transaction types.
	Txs []Route
	// Queries are the module's reads of committed state.
	Queries []Query
	// Keys say who may read each of the module's state key spaces
	// through a proof (GET /api/v1/proof): a key no module declares is
	// proven to no one.
	Keys []KeySpace
	// Genesis, if set, is the module's section of the genesis document
	// (app_state.modules.<Name>): what a new consortium starts with beyond
	// its founding members.
	Genesis *Genesis
	// Migrations rewrite the module's state for a software upgrade (see
	// app/upgrade.go): each runs once, at the start of the block at the
	// upgrade's height, on every node, before that block's transactions.
	Migrations []Migration
}

// Migration is one module's part of a software upgrade: what changes in
// its state when the consortium moves to the binary that carries the
// upgrade named Upgrade (a state encoding, a new index).
//
// Unlike a handler, a migration's work is not bounded by a transaction: it
// may read and rewrite all of the module's state, once. It runs inside one
// block, so a migration over a large key space makes that block slow on
// every node; it must be deterministic like a handler (no clock, no
// randomness, no map order) and return an error only for what it cannot
// do: the app stops the node rather than commit half a migration.
type Migration struct {
	Upgrade string
	Run     func(w Writer) error
}

// Genesis is a module's section of the genesis document. Sections are
// JSON, decoded strictly (DecodeBody: unknown fields are errors), so a
// misspelt setting stops the chain from starting instead of being ignored.
type Genesis struct {
	// Default is the section a new consortium gets (primum init, the
	// demo) when the document leaves it out.
	Default func() any
	// Validate checks a section without writing anything (primum init
	// and the genesis checks run it before a chain starts).
	Validate func(raw []byte) error
	// Init writes a valid section into the first block's state.
	Init func(w Writer, raw []byte) error
	// Export reads the section back from state: Init of an Export on a
	// fresh chain writes the same state under the module's genesis keys,
	// and exports the same section (the app's round-trip test).
	Export func(r Reader) (any, error)
}

// KeySpace is a prefix of state keys and who may read the keys under it.
type KeySpace struct {
	Prefix string
	// Read is the rule, as for a query: Public, Regulator, or a
	// patient rule (PatientSelf, PatientCircle, PatientAudit), for which
	// Subject names the patient a key is about.
	Read Access
	// Subject names the patient key (the whole key) is about; "" when it
	// is about no patient (an organisation's identity, say), which makes
	// it public. Required for patient rules.
	Subject func(r Reader, key string) (patient string, err error)
}

// Handler runs a transaction type's body, decoded. Make one with Handle.
type Handler struct {
	newBody func() any
	exec    func(ctx *Context, body any) error
}

// Handle declares a typed handler: the app decodes the body into a T once
// (strictly: unknown fields and trailing data are refused), before the
// transaction reaches a block, and hands the same value to fn when the
// block executes it. fn must not modify the body: the node may read it on
// another core at the same time (to read ahead what it will need).
func Handle[T any](fn func(ctx *Context, body *T) error) Handler {
	return Handler{
		newBody: func() any { return new(T) },
		exec:    func(ctx *Context, body any) error { return fn(ctx, body.(*T)) },
	}
}

// Decode decodes a body for this handler (strictly, see DecodeBody).
func (h Handler) Decode(body []byte) (any, error) {
	v := h.newBody()
	if err := DecodeBody(body, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Exec runs the handler on a body Decode returned.
func (h Handler) Exec(ctx *Context, body any) error { return h.exec(ctx, body) }

// Run decodes a body and runs the handler on it (for tests and tools:
// the app decodes once, ahead, and calls Exec).
func (h Handler) Run(ctx *Context, body []byte) error {
	v, err := h.Decode(body)
	if err != nil {
		return err
	}
	return h.Exec(ctx, v)
}

// Body returns a new zero value of the body's type (for documentation and
// codec tests).
func (h Handler) Body() any { return h.newBody() }

// Defined reports whether the handler was declared.
func (h Handler) Defined() bool { return h.exec != nil }

// ReadsOf declares a route's read-ahead hint over its typed body.
func ReadsOf[T any](fn func(body *T) [][]byte) func(body any) [][]byte {
	return func(body any) [][]byte { return fn(body.(*T)) }
}

// Access says who may call a query. The API enforces it before the
// handler runs, in one place.
type Access string

const (
	// Public: anyone who reaches the node, without a token.
	Public Access = "public"
	// Members: a caller with the token of an identity this node holds
	// (an organisation, a practitioner, a patient or a device).
	Members Access = "members"
	// PatientSelf: the patient the query is about (Query.Subject, by
	// default the path's {id}), signing for themself, and no one else.
	PatientSelf Access = "patient_self"
	// PatientCircle: the patient the query is about and those with
	// standing with them (a grantee of a consent in force, a custodian of
	// their records, a practitioner in an emergency access: see
	// records.View); the handler narrows the answer to what the caller
	// may see (Request.Viewer). For the records index.
	PatientCircle Access = "patient_circle"
	// PatientAudit: PatientCircle and the regulator. For the trail,
	// consents and cases: what an audit of access needs.
	PatientAudit Access = "patient_audit"
	// Regulator: a regulator organisation only (the global audit).
	Regulator Access = "regulator"
)

// Describe says who the rule lets read, for people (CLI help, the API
// document).
func (a Access) Describe() string {
	switch a {
	case Public:
		return "anyone"
	case Members:
		return "any registered identity, signing the request (or with a token)"
	case PatientSelf:
		return "the patient themself"
	case PatientCircle:
		return "the patient and those with standing with them (a consent in force, a custodian of their records, an emergency access), each seeing what that standing covers"
	case PatientAudit:
		return "the patient, those with standing with them (each seeing what that standing covers) and the regulator"
	case Regulator:
		return "a regulator"
	}
	return "no one (an access rule the API does not know)"
}

// Viewer says whether the caller may see one item of a patient's data (a
// record's index entry, a consent, a trail entry, a case). The API sets
// it on a request to a PatientCircle or PatientAudit query.
type Viewer interface {
	Sees(item any) bool
}

// Visible keeps the items of list the request's caller may see.
func Visible[T any](q *Request, list []T) []T {
	out := list[:0:0]
	for _, x := range list {
		if q.Sees(x) {
			out = append(out, x)
		}
	}
	return out
}

// Sees says whether the request's caller may see item (no Viewer: no).
// A paged listing keeps what it says yes to.
func (q *Request) Sees(item any) bool { return q.Viewer != nil && q.Viewer.Sees(item) }

// Query is a read of committed state: an HTTP route of the API, a command
// of the CLI. Its handler sees a read-only view and the request's
// parameters, never net/http.
type Query struct {
	// Method is GET unless set.
	Method string
	// Path is the route, with {name} path parameters, e.g.
	// "/api/v1/supply/products/{gtin}".
	Path string
	// Name is the CLI verb under the module's noun, e.g. "product"; two
	// words put it in a group of verbs ("policy show": primum claims
	// policy show ID).
	Name string
	// Doc is a sentence for the API document and the CLI help.
	Doc string
	// Read says who may call it.
	Read Access
	// Subject names the patient a patient rule (PatientSelf,
	// PatientCircle, PatientAudit) is about; the path's {id} when nil. A
	// coded error (ErrNotFound) is answered as it is, before any check of
	// standing, and only to an authenticated caller.
	Subject func(q *Request) (patient string, err error)
	// Params documents the query-string parameters it reads.
	Params []Param
	// Answer is a zero value of what it answers with (for the API
	// document's schema): a struct, a slice, or a Page of a slice.
	Answer any
	// Handle answers the query. A coded error (NewError) becomes a
	// problem with its status; a Page adds a Link header to the next page.
	Handle func(q *Request) (any, error)
	// Columns, for an answer that is a list, are how the command line
	// shows it as a table (its JSON stays for -o json).
	Columns []Column
	// Orgs names the path parameters that hold organisations' ids: the
	// command line takes an organisation's name there too.
	Orgs []string
}

// Column is one column of a list answer shown as a table: Head over each
// item's JSON field Field ("scope.categories" reads into an object; a list
// is shown comma-separated, yes/no as yes or nothing). Who marks an
// identity's id (or a list of them), shown with the name of a public
// identity.
type Column struct {
	Head, Field string
	Who         bool
	// Cents marks an amount in cents, shown as units with two decimals
	// (the JSON keeps the integer).
	Cents bool
}

// Cols declares columns as pairs of head and field, a field starting with
// "@" an identity's id, one starting with "$" an amount in cents:
// Cols("RECORD", "id", "CUSTODIAN", "@custodian", "CHARGE", "$charge").
func Cols(pairs ...string) []Column {
	out := make([]Column, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		field, who := strings.CutPrefix(pairs[i+1], "@")
		field, cents := strings.CutPrefix(field, "$")
		out = append(out, Column{Head: pairs[i], Field: field, Who: who, Cents: cents})
	}
	return out
}

// PathParams lists the names of the query's {name} path parameters, in
// order.
func (q Query) PathParams() []string {
	var out []string
	for _, part := range strings.Split(q.Path, "/") {
		if name, ok := strings.CutPrefix(part, "{"); ok && strings.HasSuffix(name, "}") {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// Param is a documented query-string parameter.
type Param struct {
	Name     string
	Doc      string
	Required bool
}

// Request is what a query handler may use.
type Request struct {
	// State is the committed state, read-only, one view for the request.
	State Reader
	// Path returns a path parameter ({name} in the route).
	Path func(name string) string
	// Query are the query-string parameters.
	Query url.Values
	// Now is the wall clock (queries may read it; transactions never do).
	Now time.Time
	// BlockTime is the time of the last committed block.
	BlockTime time.Time
	// Height is the last committed block's height (how old a report is,
	// in blocks).
	Height int64
	// Caller is the identity that signed the request, or whose token
	// came with it (zero when there is none).
	Caller Signer
	// Viewer, on PatientCircle and PatientAudit queries, says what the
	// caller may see of the patient's data (see Visible).
	Viewer Viewer
	// MayRead says whether the caller may read about a patient (standing
	// as PatientAudit has it); handlers of public queries use it for the
	// items that are about a patient (a patient's identity entry).
	MayRead func(patient string) error
}

// Limit reads the query's limit parameter: 1 to max, def when absent.
func (q *Request) Limit(def, max int) (int, error) {
	v := q.Query.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, ErrBadRequest.Wrapf("limit must be 1-%d", max)
	}
	return n, nil
}

// Paging reads a listing's limit (see Limit) and its page token, the
// after parameter (from a previous answer's Link header).
func (q *Request) Paging(def, max int) (limit int, after string, err error) {
	if limit, err = q.Limit(def, max); err != nil {
		return 0, "", err
	}
	after = q.Query.Get("after")
	if len(after) > 256 {
		return 0, "", ErrBadRequest.Wrapf("after must be a page token from a Link header")
	}
	return limit, after, nil
}

// Page is one page of a listing: its items (a slice, or an answer that
// holds one page of a listing, such as an object with a page of its
// trail) and, if there are more, the token of the next page, which the API
// hands back in a Link header as the query parameter NextParam ("after"
// unless set). The NextParam that counts is the one on the query's
// declared Answer: the API opens that parameter's token, and only that one.
type Page struct {
	Items     any
	Next      string
	NextParam string
}
