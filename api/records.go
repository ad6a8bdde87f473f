package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/release"
	"github.com/primum-health/primum/wire"
)

// Errors of the record routes.
var (
	errTokenRequired  = newAPIError(30, "token_required", http.StatusUnauthorized, "this route needs to know who you are: sign the request with your key (RFC 9421, see docs/api.md) or send 'Authorization: Bearer <token>' naming a member key this node holds (api_tokens in config/primum.json)")
	errNotHeldHere    = newAPIError(31, "not_held_here", http.StatusMisdirectedRequest, "this node does not hold the record; ask its custodian's endpoint (see the record's DocumentReference)")
	errKeyDigest      = newAPIError(32, "key_digest_mismatch", http.StatusBadRequest, "public_key does not match the request's key_digest")
	errAccessRefused  = newAPIError(33, "access_refused", http.StatusForbidden, "access refused; the refusal is on the ledger")
	errRecordCorrupt  = newAPIError(34, "record_corrupt", http.StatusInternalServerError, "the custodian's copy of the record does not decrypt: it was altered or damaged")
	errNoEndpoint     = records.ErrNoEndpoint
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
	committed := s.Ledger.Committed()
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
	if _, err := records.Authenticate(committed, s.Ledger.ChainID(), body.Request, body.Signature, time.Now()); err != nil {
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
	entry, err := records.GetAccess(s.Ledger.Committed(), res.Hash[:32])
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
	key, err := s.heldKey(r, tokens.ScopeRecordsRead)
	if err != nil {
		writeError(w, err)
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
	committed := s.Ledger.Committed()
	signer, err := identity.Resolve(committed, key.Public().(ed25519.PublicKey), s.Ledger.LastBlockTime())
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
	ask := release.Ask{ChainID: s.Ledger.ChainID(), Requester: signer.ID, Record: id, Purpose: req.Purpose, EmergencyReason: req.EmergencyReason}
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
	key, err := s.heldKey(r, tokens.ScopeAct)
	if err != nil {
		writeError(w, err)
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

// me: GET /api/v1/me, who the request's signature or bearer token is.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	signer, err := s.knownCaller(r, s.Ledger.Committed())
	if err != nil {
		writeError(w, err)
		return
	}
	ident, err := identity.Get(s.Ledger.Committed(), signer.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ident)
}

// ownPatient is the key of the bearer token's holder, who must be the
// patient the path names ({id}): the routes only a patient may read about
// themself.
func (s *server) ownPatient(r *http.Request) (ed25519.PrivateKey, error) {
	key, signer, err := s.tokenHolder(r, tokens.ScopeExport, s.Ledger.Committed(), s.Ledger.LastBlockTime())
	if err == nil {
		err = thePathsPatient(r, signer)
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

func newRecordID(resourceType string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ReplaceAll(records.CategoryOf(resourceType), "_", "-") + "-" + hex.EncodeToString(b)
}
