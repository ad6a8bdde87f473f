package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/release"
	"github.com/primum-health/primum/wire"
)

// Errors of the record routes.
var (
	errTokenRequired  = newAPIError(30, "token_required", http.StatusUnauthorized, "this route needs 'Authorization: Bearer <token>' naming a member key this node holds (api_tokens in config/primum.json)")
	errNotHeldHere    = newAPIError(31, "not_held_here", http.StatusMisdirectedRequest, "this node does not hold the record; ask its custodian's endpoint (see the record's DocumentReference)")
	errKeyDigest      = newAPIError(32, "key_digest_mismatch", http.StatusBadRequest, "public_key does not match the request's key_digest")
	errAccessRefused  = newAPIError(33, "access_refused", http.StatusForbidden, "access refused; the refusal is on the ledger")
	errRecordCorrupt  = newAPIError(34, "record_corrupt", http.StatusInternalServerError, "the custodian's copy of the record does not decrypt: it was altered or damaged")
	errNoEndpoint     = newAPIError(35, "no_custodian_endpoint", http.StatusBadGateway, "the custodian has not published where its node answers")
	errCustodian      = newAPIError(36, "custodian_unreachable", http.StatusBadGateway, "the custodian's node could not be reached or answered wrongly")
	errNotYourPatient = newAPIError(37, "not_this_patient", http.StatusForbidden, "a patient may act only on their own records")
	errNoRecordStore  = newAPIError(38, "no_record_store", http.StatusServiceUnavailable, "this node has no record store")
)

// fetchRecord: POST /api/v1/records/{id}/fetch, on the custodian's node. The
// requester's signed request goes to the ledger as an access entry; only a
// committed, granted entry releases the record, sealed to the requester's
// one-time key.
func (s *server) fetchRecord(w http.ResponseWriter, r *http.Request) {
	var body release.FetchBody
	if err := decodeJSON(r.Body, &body); err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	if body.Request.Record != id {
		writeError(w, errBadRequest.Wrapf("the request names another record"))
		return
	}
	committed := s.App.Store().Committed()
	rec, err := records.Get(committed, id)
	if err != nil {
		writeError(w, records.ErrUnknownRecord.Wrapf("%q", id))
		return
	}
	key, ok := s.keyHolder(rec.Custodian)
	if !ok || s.Docs == nil {
		writeError(w, errNotHeldHere)
		return
	}
	if release.Digest(body.PublicKey) != body.Request.KeyDigest {
		writeError(w, errKeyDigest)
		return
	}
	// What cannot be attributed to a registered requester (a bad signature,
	// a replay) is refused here as the ledger would refuse it.
	// The block that logs it will carry about the current time.
	if _, err := records.Authenticate(committed, s.App.ChainID(), body.Request, body.Signature, time.Now()); err != nil {
		writeError(w, err)
		return
	}
	// Each request becomes a ledger transaction: one requester cannot
	// flood the custodian's key with them.
	if ok, delay := s.limiter.allow("fetch/" + body.Request.Requester); !ok {
		writeRateLimited(w, delay)
		return
	}
	res, err := s.sendAs(r.Context(), key, records.TypeAccess, records.AccessLog{Request: body.Request, Signature: body.Signature})
	if err != nil {
		writeError(w, err)
		return
	}
	entry, err := records.GetAccess(s.App.Store().Committed(), res.Hash[:32])
	if err != nil {
		writeError(w, err)
		return
	}
	s.release(w, entry, body.PublicKey)
}

// release is the only way out of the record store: it needs the committed
// access entry that grants this very request.
func (s *server) release(w http.ResponseWriter, entry *records.Access, public []byte) {
	if entry.Outcome != records.Granted {
		p := problemOf(errAccessRefused.Wrapf("%s", entry.Refusal))
		p.Refusal, p.Access = entry.Refusal, entry.ID
		writeProblem(w, p)
		return
	}
	if release.Digest(public) != entry.KeyDigest {
		writeError(w, errKeyDigest)
		return
	}
	rec, err := s.Docs.Get(entry.Record)
	switch {
	case errors.Is(err, docstore.ErrErased):
		writeError(w, records.ErrRecordErased)
		return
	case errors.Is(err, docstore.ErrCorrupt):
		s.log.Error("record does not decrypt", "record", entry.Record)
		writeError(w, errRecordCorrupt)
		return
	case errors.Is(err, docstore.ErrNotFound):
		writeError(w, errNotHeldHere)
		return
	case err != nil:
		writeError(w, err)
		return
	}
	sealed, err := release.Seal(public, release.Payload{Record: entry.Record, Access: entry.ID, Content: rec.Content, Salt: rec.Salt})
	if err != nil {
		writeError(w, errBadRequest.Wrapf("public_key: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, release.FetchAnswer{Access: *entry, Suite: release.Suite, Sealed: sealed})
}

// ReadRequest is the body of POST /api/v1/records/{id}/read.
type ReadRequest struct {
	Purpose         string `json:"purpose"`
	EmergencyReason string `json:"emergency_reason,omitempty"`
}

// ReadAnswer is a record read on a member's behalf, checked against its
// commitment.
type ReadAnswer struct {
	Record     json.RawMessage `json:"record"`
	Access     *records.Access `json:"access"`
	Custodian  string          `json:"custodian"`
	Commitment string          `json:"commitment"`
	Verified   bool            `json:"verified"`
}

// readRecord: POST /api/v1/records/{id}/read. The node acts for the
// token's holder: it signs the request with their key, fetches from the
// custodian, decrypts and checks the commitment.
func (s *server) readRecord(w http.ResponseWriter, r *http.Request) {
	key, ok := s.bearerKey(r)
	if !ok {
		writeError(w, errTokenRequired)
		return
	}
	var req ReadRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	ans, err := s.readAs(r.Context(), key, r.PathValue("id"), req)
	if err != nil {
		s.writeReadError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *server) readAs(ctx context.Context, key ed25519.PrivateKey, id string, req ReadRequest) (*ReadAnswer, error) {
	committed := s.App.Store().Committed()
	signer, err := identity.Resolve(committed, key.Public().(ed25519.PublicKey), s.App.LastBlockTime())
	if err != nil {
		return nil, err
	}
	rec, err := records.Get(committed, id)
	if err != nil {
		return nil, records.ErrUnknownRecord.Wrapf("%q", id)
	}
	endpoint, err := records.Endpoint(committed, rec.Custodian)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		return nil, errNoEndpoint
	}
	ask := release.Ask{ChainID: s.App.ChainID(), Requester: signer.ID, Record: id, Purpose: req.Purpose, EmergencyReason: req.EmergencyReason}
	if err := records.CheckAsk(id, req.Purpose, req.EmergencyReason); err != nil {
		return nil, err
	}
	p, entry, err := release.Fetch(ctx, s.httpClient, endpoint, key, ask, rec.Commitment, time.Now())
	if err != nil {
		return nil, err
	}
	return &ReadAnswer{Record: json.RawMessage(p.Content), Access: entry, Custodian: rec.Custodian, Commitment: rec.Commitment, Verified: true}, nil
}

func (s *server) writeReadError(w http.ResponseWriter, err error) {
	var refusal *release.Refusal
	var unreachable *release.Unreachable
	switch {
	case errors.As(err, &unreachable):
		s.log.Warn("custodian unreachable", "detail", unreachable.Detail())
		writeError(w, errCustodian.Wrapf("%s", unreachable.Error()))
	case errors.As(err, &refusal):
		p := wire.Problem{Type: "https://primum.dev/problems/" + refusal.Code, Title: "the custodian refused", Status: refusal.Status,
			Detail: refusal.Detail, Code: refusal.Code, Refusal: refusal.Refusal, Access: refusal.Access}
		if p.Status < 400 {
			p.Status = http.StatusBadGateway
		}
		writeProblem(w, p)
	case errors.Is(err, release.ErrMismatch):
		writeError(w, records.ErrCommitmentCheck)
	case errors.Is(err, release.ErrOpen), errors.Is(err, release.ErrWrongRelease):
		writeError(w, errCustodian.Wrapf("%v", err))
	case ledger.AsError(err) != ledger.ErrInternal:
		writeError(w, err)
	default:
		writeError(w, errCustodian.Wrapf("%v", err))
	}
}

// ActRequest is the body of POST /api/v1/act: a transaction the node signs
// with the token holder's key.
type ActRequest struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// act: POST /api/v1/act. For portals whose users' keys the node holds.
func (s *server) act(w http.ResponseWriter, r *http.Request) {
	key, ok := s.bearerKey(r)
	if !ok {
		writeError(w, errTokenRequired)
		return
	}
	var req ActRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Body) == 0 {
		req.Body = json.RawMessage(`{}`)
	}
	if ok, delay := s.limiter.allow(string(key.Public().(ed25519.PublicKey))); !ok {
		writeRateLimited(w, delay)
		return
	}
	res, err := s.sendAs(r.Context(), key, req.Type, req.Body)
	if err != nil {
		p := problemOf(err)
		if res != nil {
			p.Hash, p.Height = res.Hash, res.Height
			if errors.Is(err, errTimeout) {
				w.Header().Set("Location", "/api/v1/txs/"+res.Hash)
			}
		}
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, wire.SubmitResponse{Hash: res.Hash, Committed: true, Height: res.Height, Index: res.Index, Type: res.Type, Signer: res.Signer})
}

// me: GET /api/v1/me, who the bearer token acts as.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	key, ok := s.bearerKey(r)
	if !ok {
		writeError(w, errTokenRequired)
		return
	}
	signer, err := identity.Resolve(s.App.Store().Committed(), key.Public().(ed25519.PublicKey), s.App.LastBlockTime())
	if err != nil {
		writeError(w, err)
		return
	}
	ident, err := identity.Get(s.App.Store().Committed(), signer.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ident)
}

// orgEndpoint: GET /api/v1/identities/{id}/endpoint, where a custodian's
// node answers record requests.
func (s *server) orgEndpoint(w http.ResponseWriter, r *http.Request) {
	if _, err := identity.Get(s.App.Store().Committed(), r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	e, err := records.Endpoint(s.App.Store().Committed(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if e == "" {
		writeError(w, errNoEndpoint)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"endpoint": e})
}

// orgRetention: GET /api/v1/identities/{id}/retention, which record
// categories an organisation keeps after an erasure request, why and how
// long (no holds: it erases everything at once).
func (s *server) orgRetention(w http.ResponseWriter, r *http.Request) {
	committed, id := s.App.Store().Committed(), r.PathValue("id")
	if _, err := identity.Get(committed, id); err != nil {
		writeError(w, err)
		return
	}
	p, err := records.GetRetention(committed, id)
	if err == nil && p == nil {
		p = &records.Retention{Custodian: id, Holds: []records.Hold{}}
	}
	writeItem(w, p, err)
}

func (s *server) getRecord(w http.ResponseWriter, r *http.Request) {
	rec, err := records.Get(s.App.Store().Committed(), r.PathValue("id"))
	if err == nil {
		rec = rec.AsOf(s.App.LastBlockTime())
	}
	writeItem(w, rec, err)
}

func (s *server) patientRecords(w http.ResponseWriter, r *http.Request) {
	list, err := s.recordsOf(s.App.Store().Committed(), r.PathValue("id"))
	writeList(w, list, err)
}

// recordsOf lists a patient's records as they stand at the last block: a
// retained record whose hold has ended is shown erased.
func (s *server) recordsOf(committed ledger.Reader, patient string) ([]*records.Record, error) {
	list, err := records.OfPatient(committed, patient)
	now := s.App.LastBlockTime()
	for i, rec := range list {
		list[i] = rec.AsOf(now)
	}
	return list, err
}

// patientErasure: GET /api/v1/patients/{id}/erasure, for the patient's own
// token only: whether they asked for erasure and how far it has come, how
// many records are erased, and which each custodian still keeps under a
// retention duty, on which basis and until when.
func (s *server) patientErasure(w http.ResponseWriter, r *http.Request) {
	if _, err := s.ownPatient(r); err != nil {
		writeError(w, err)
		return
	}
	st, err := records.StatusOf(s.App.Store().Committed(), r.PathValue("id"), s.App.LastBlockTime())
	writeItem(w, st, err)
}

// ownPatient is the key of the bearer token's holder, who must be the
// patient the path names ({id}): the routes only a patient may read about
// themself.
func (s *server) ownPatient(r *http.Request) (ed25519.PrivateKey, error) {
	key, ok := s.bearerKey(r)
	if !ok {
		return nil, errTokenRequired
	}
	signer, err := identity.Resolve(s.App.Store().Committed(), key.Public().(ed25519.PublicKey), s.App.LastBlockTime())
	if err != nil {
		return nil, err
	}
	if signer.Kind != ledger.KindPatient || signer.ID != r.PathValue("id") {
		return nil, errNotYourPatient
	}
	return key, nil
}

func (s *server) patientConsents(w http.ResponseWriter, r *http.Request) {
	list, err := consent.OfPatient(s.App.Store().Committed(), r.PathValue("id"))
	writeList(w, list, err)
}

func (s *server) patientAccess(w http.ResponseWriter, r *http.Request) {
	list, err := records.TrailOf(s.App.Store().Committed(), r.PathValue("id"))
	writeList(w, list, err)
}

func (s *server) getConsent(w http.ResponseWriter, r *http.Request) {
	c, err := consent.Get(s.App.Store().Committed(), r.PathValue("id"))
	writeItem(w, c, err)
}

// accessLog: GET /api/v1/access[?emergency=true&outcome=refused&limit=N],
// the regulator's audit of every access.
func (s *server) accessLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, errBadRequest.Wrapf("limit must be 1-10000"))
			return
		}
		limit = n
	}
	if v := q.Get("outcome"); v != "" && v != records.Granted && v != records.Refused {
		writeError(w, errBadRequest.Wrapf("outcome must be %s or %s", records.Granted, records.Refused))
		return
	}
	before := q.Get("before")
	if len(before) > 128 {
		writeError(w, errBadRequest.Wrapf("before must be a page token from a Link header"))
		return
	}
	// Newest first: an auditor looks at what just happened. A page reads
	// what it returns (and at most ledger.MaxPageScan entries), wherever
	// it starts.
	out, next, err := records.TrailPage(s.App.Store().Committed(), before, limit, func(a *records.Access) bool {
		return (q.Get("emergency") != "true" || a.Emergency) && (q.Get("outcome") == "" || q.Get("outcome") == a.Outcome)
	})
	if err != nil {
		writeError(w, err)
		return
	}
	if out == nil {
		out = []*records.Access{}
	}
	if next != "" {
		nq := r.URL.Query()
		nq.Set("before", next)
		w.Header().Set("Link", "<"+r.URL.Path+"?"+nq.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getCase(w http.ResponseWriter, r *http.Request) {
	c, err := records.GetCase(s.App.Store().Committed(), r.PathValue("id"))
	writeItem(w, c, err)
}

func (s *server) listCases(w http.ResponseWriter, r *http.Request) {
	limit, after, err := pageParams(r, 1000, 10000)
	if err != nil {
		writeError(w, err)
		return
	}
	who := r.URL.Query().Get("practitioner")
	page, next, err := records.CasesPage(s.App.Store().Committed(), after, limit, func(c *records.Case) bool {
		return who == "" || c.Specialist == who || c.Requester == who
	})
	writePage(w, r, page, next, err)
}

func newRecordID(resourceType string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ReplaceAll(records.CategoryOf(resourceType), "_", "-") + "-" + hex.EncodeToString(b)
}
