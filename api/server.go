package api

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cometbft/cometbft/mempool"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"
	"github.com/mailru/easyjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/web"
	"github.com/primum-health/primum/wire"
)

// Chain is what the API needs of the consensus engine (CometBFT's local
// client has these methods).
type Chain interface {
	Status(context.Context) (*coretypes.ResultStatus, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*coretypes.ResultValidators, error)
	BroadcastTxSync(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTx, error)
}

// Ledger is what the API needs of the application: its committed state,
// with proofs, and the ways of following a transaction (app.App has
// these methods).
type Ledger interface {
	// Committed is the committed state, read-only.
	Committed() ledger.Reader
	// CommittedVersion is the committed state's height and app hash.
	CommittedVersion() (int64, []byte)
	Prover
	ChainID() string
	LastBlockTime() time.Time
	// NextNonce is the nonce id's next transaction must carry, counting
	// those waiting in this node's mempool.
	NextNonce(id string) (uint64, error)
	// WaitFor receives a transaction's result when its block commits.
	WaitFor(hash string) (<-chan wire.TxResult, func())
	TxResultByHash(hash string) (*wire.TxResult, error)
	// Preverify checks signatures about to be offered, together.
	Preverify(txs [][]byte)
}

// Prover reads a committed value, or its absence, with its proof against
// the app hash.
type Prover interface {
	Proof(key []byte) (value []byte, proof *ics23.CommitmentProof, version int64, root []byte, err error)
}

// Backend is what the API serves from.
type Backend struct {
	Ledger Ledger
	Chain  Chain
	// RPCAddress is where CometBFT's own RPC listens (for the status).
	RPCAddress string
	// CatchingUp reports whether the node is still catching up with the
	// chain (nil: never). Its state is then behind the chain's: the
	// nonces it would give and check are stale, so it takes no
	// transactions.
	CatchingUp func() bool
	Gatherer   prometheus.Gatherer
	Logger     *slog.Logger
	// RatePerKey bounds submissions per signing key per second (0: no
	// limit); RateBurst is the bucket size.
	RatePerKey float64
	RateBurst  int
	// Signers are the member keys this node signs EPCIS captures with,
	// by API token.
	Signers map[string]ed25519.PrivateKey
	// Docs is this node's encrypted record store (nil: it holds no records).
	Docs *docstore.Store
	// PublicURL is where other members reach this node's API; custodians
	// publish it on the ledger with the records they index.
	PublicURL string
	// CommitWait is how long a request that signs for its caller waits for
	// the block (0: 40 s); past it the answer is 202 commit_timeout with
	// the hash to poll. It must stay inside the server's write timeout.
	CommitWait time.Duration
}

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 256 << 10

type server struct {
	Backend
	log      *slog.Logger
	limiter  *keyLimiter
	captures *captureJobs
	locks    keyLocks
	// httpClient fetches records from other custodians' nodes.
	httpClient *http.Client
}

// New returns the HTTP handler of a node.
func New(b Backend) http.Handler {
	s := &server{Backend: b, log: b.Logger.With("module", "api"), limiter: newKeyLimiter(b.RatePerKey, max(1, b.RateBurst)),
		captures: &captureJobs{jobs: map[string]*wire.CaptureJob{}}, httpClient: &http.Client{Timeout: time.Minute}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("POST /api/v1/txs", s.submitTx)
	mux.HandleFunc("POST /api/v1/txs/batch", s.submitBatch)
	mux.HandleFunc("GET /api/v1/txs/{hash}", s.getTx)
	mux.HandleFunc("GET /api/v1/tx-types", s.txTypes)
	mux.HandleFunc("GET /api/v1/errors", s.errorCodes)
	mux.HandleFunc("GET /api/v1/keys/{key}", s.getKey)
	mux.HandleFunc("GET /api/v1/proof", s.proof)
	mux.HandleFunc("POST /epcis/capture", s.epcisCapture)
	mux.HandleFunc("GET /epcis/capture/{id}", s.epcisCaptureStatus)
	mux.HandleFunc("GET /epcis/events", s.epcisEvents)
	mux.HandleFunc("GET /epcis/events/all", s.epcisEvents)
	mux.HandleFunc("GET /epcis/eventTypes/{eventType}/events", s.epcisEvents)
	mux.HandleFunc("GET /epcis/bizSteps/{bizStep}/events", s.epcisEvents)
	mux.HandleFunc("GET /epcis/epcs/{epc}/events", s.epcisEvents)
	mux.HandleFunc("POST /api/v1/records/{id}/fetch", s.fetchRecord)
	mux.HandleFunc("POST /api/v1/records/{id}/read", s.readRecord)
	mux.HandleFunc("GET /api/v1/patients/{id}/export", s.exportPatient)
	// Every module's queries, as declared (package modules).
	for _, q := range modules.Queries() {
		method := q.Method
		if method == "" {
			method = http.MethodGet
		}
		mux.HandleFunc(method+" "+q.Path, s.query(q))
	}
	mux.HandleFunc("POST /api/v1/act", s.act)
	mux.HandleFunc("GET /api/v1/me", s.me)
	mux.HandleFunc("GET /fhir/metadata", s.fhirMetadata)
	mux.HandleFunc("POST /fhir", s.fhirCreate)
	mux.HandleFunc("POST /fhir/{type}", s.fhirCreate)
	mux.HandleFunc("GET /fhir/{type}", s.fhirSearch)
	mux.HandleFunc("GET /fhir/{type}/{id}", s.fhirRead)
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, r *http.Request) {
		fhirError(w, errNoRoute.Wrapf("%s %s", r.Method, r.URL.Path))
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNoRoute.Wrapf("%s %s", r.Method, r.URL.Path))
	})
	pages := web.Handler()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeProblem(w, wire.Problem{Type: "https://primum.dev/problems/method_not_allowed", Title: "method not allowed",
				Status: http.StatusMethodNotAllowed, Code: "method_not_allowed"})
			return
		}
		pages.ServeHTTP(w, r)
	})
	return limitBody(mux)
}

// MaxCaptureBytes bounds an EPCIS capture document (up to the capture
// limit of events, which can carry sensor data).
const MaxCaptureBytes = 4 << 20

func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(MaxBodyBytes)
		switch {
		case r.URL.Path == "/epcis/capture":
			limit = MaxCaptureBytes
		case r.URL.Path == "/api/v1/txs/batch":
			limit = wire.MaxBatchBytes
		case r.URL.Path == "/fhir" || strings.HasPrefix(r.URL.Path, "/fhir/"):
			limit = MaxFHIRBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	st, err := s.Chain.Status(r.Context())
	if err != nil {
		writeError(w, errUnavailable.Wrapf("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "height": st.SyncInfo.LatestBlockHeight, "catching_up": st.SyncInfo.CatchingUp})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.Chain.Status(r.Context())
	if err != nil {
		writeError(w, errUnavailable.Wrapf("%v", err))
		return
	}
	// Height and app hash are those of the state this API reads, which the
	// app commits just after CometBFT stores the block.
	height, hash := s.Ledger.CommittedVersion()
	out := wire.Status{ChainID: st.NodeInfo.Network, NodeID: string(st.NodeInfo.DefaultNodeID), Moniker: st.NodeInfo.Moniker,
		Height: height, AppHash: strings.ToUpper(hex.EncodeToString(hash)),
		BlockTime: st.SyncInfo.LatestBlockTime, CatchingUp: st.SyncInfo.CatchingUp, RPC: s.RPCAddress,
		Validators: []wire.Validator{}}
	if vals, err := s.Chain.Validators(r.Context(), nil, nil, nil); err == nil {
		for _, v := range vals.Validators {
			out.Validators = append(out.Validators, wire.Validator{Address: v.Address.String(), PubKey: hex.EncodeToString(v.PubKey.Bytes()), Power: v.VotingPower})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) submitTx(w http.ResponseWriter, r *http.Request) {
	var req wire.SubmitRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Tx)
	if err != nil || len(raw) == 0 {
		writeError(w, errBadRequest.Wrapf("tx must be the base64 of a signed transaction"))
		return
	}
	if tx, err := envelope.Decode(raw); err == nil {
		if ok, delay := s.limiter.allow(string(tx.Signer)); !ok {
			writeRateLimited(w, delay)
			return
		}
	}
	wait := r.URL.Query().Get("wait") == "true"
	timeout := 30 * time.Second
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > 2*time.Minute {
			writeError(w, errBadRequest.Wrapf("timeout must be a duration up to 2m, e.g. 10s"))
			return
		}
		timeout = d
	}
	hash := hex.EncodeToString(envelope.Hash(raw))
	var done <-chan wire.TxResult
	if wait {
		ch, cancel := s.Ledger.WaitFor(hash)
		defer cancel()
		done = ch
	}
	o := s.offer(r.Context(), raw, hash)
	switch {
	case o.problem != nil:
		writeProblem(w, *o.problem)
		return
	case o.prior != nil:
		s.answerCommitted(w, *o.prior)
		return
	case o.pending && !wait:
		writeError(w, errDuplicateTx)
		return
	case !wait:
		writeJSON(w, http.StatusAccepted, wire.SubmitResponse{Hash: hash})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	select {
	case result := <-done:
		s.answerCommitted(w, result)
	case <-ctx.Done():
		p := problemOf(errTimeout)
		p.Hash = hash
		writeProblem(w, p)
	}
}

// offered is what became of a transaction handed to the mempool: accepted
// (all fields zero), refused (problem), committed before (prior), or
// already waiting in the mempool (pending).
type offered struct {
	problem *wire.Problem
	prior   *wire.TxResult
	pending bool
}

// offer hands one signed transaction (hash is its hex hash) to the mempool,
// through CheckTx.
func (s *server) offer(ctx context.Context, raw []byte, hash string) offered {
	if s.catchingUp() {
		p := problemOf(errCatchingUp)
		p.Hash = hash
		return offered{problem: &p}
	}
	res, err := s.Chain.BroadcastTxSync(ctx, raw)
	seen := errors.Is(err, mempool.ErrTxInCache) || errors.Is(err, mempool.ErrTxInMempool)
	var refusal error
	if !seen {
		refusal = mempoolError(res, err)
	}
	// The same bytes may be on the ledger already: seen by the mempool, or
	// refused for their nonce, spent by themselves (the mempool's cache
	// forgets a failed transaction at once). Say what became of them.
	if seen || errors.Is(refusal, ledger.ErrBadNonce) {
		if prior, perr := s.Ledger.TxResultByHash(hash); perr == nil {
			return offered{prior: prior}
		}
	}
	switch {
	case seen:
		return offered{pending: true}
	case refusal != nil:
		p := rejectionProblem(refusal)
		p.Hash = hash
		return offered{problem: &p}
	}
	return offered{}
}

// errCatchingUp refuses a transaction while this node catches up with the
// chain: its state is behind, so a transaction it accepted could carry a
// nonce the chain has already spent and be dropped later without an
// answer (issue 22: seen 3 s after a restart).
var errCatchingUp = newAPIError(42, "catching_up", http.StatusServiceUnavailable,
	"this node is catching up with the chain and takes no transactions until it has; retry in a few seconds, or send to another member's node")

func (s *server) catchingUp() bool { return s.CatchingUp != nil && s.CatchingUp() }

var errNotOffered = newAPIError(41, "not_offered", http.StatusFailedDependency,
	"not offered: an earlier transaction of the same signer in this batch was refused")

// submitBatch offers many transactions in one request, for integration
// engines and bulk loads: each is answered on its own, in order, as POST
// /api/v1/txs would answer it (without waiting for the commit), except
// that a signer's transactions after one of its own was refused are not
// offered (not_offered): their nonces would follow a gap. Their
// signatures are checked together first, in batches on every core, which
// costs about a third of checking them one by one.
func (s *server) submitBatch(w http.ResponseWriter, r *http.Request) {
	var req wire.BatchRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Txs) == 0 || len(req.Txs) > wire.MaxBatchTxs {
		writeError(w, errBadRequest.Wrapf("txs must hold 1 to %d transactions, not %d", wire.MaxBatchTxs, len(req.Txs)))
		return
	}
	raws := make([][]byte, len(req.Txs))
	for i, b64 := range req.Txs {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) == 0 {
			writeError(w, errBadRequest.Wrapf("txs[%d] must be the base64 of a signed transaction", i))
			return
		}
		raws[i] = raw
	}
	// The rate limit comes first: a signer over its limit costs no
	// signature check. limited[i] is why transaction i is not offered.
	limited := make([]error, len(raws))
	signers := make([]string, len(raws))
	over := map[string]bool{}
	var checked [][]byte
	for i, raw := range raws {
		if tx, err := envelope.Decode(raw); err == nil {
			signers[i] = string(tx.Signer)
			if over[signers[i]] {
				limited[i] = errRateLimited.Wrapf("an earlier transaction of this signer in the batch was over its limit")
				continue
			}
			if ok, delay := s.limiter.allow(signers[i]); !ok {
				limited[i] = errRateLimited.Wrapf("retry after %s", delay.Round(time.Millisecond))
				over[signers[i]] = true
				continue
			}
		}
		checked = append(checked, raw)
	}
	s.Ledger.Preverify(checked)
	out := wire.BatchResponse{Results: make([]wire.BatchItem, len(raws))}
	// A signer's transactions after one of its own was refused are not
	// offered: their nonces would follow a gap.
	refused := map[string]string{} // signer -> the refused transaction's hash
	for i, raw := range raws {
		hash := hex.EncodeToString(envelope.Hash(raw))
		item := &out.Results[i]
		item.Hash = hash
		refuse := func(p wire.Problem) {
			p.Hash = hash
			item.Status, item.Problem = p.Status, &p
			out.Refused++
		}
		signer := signers[i]
		if signer != "" {
			if earlier, ok := refused[signer]; ok {
				refuse(problemOf(errNotOffered.Wrapf("resubmit it after %s", earlier)))
				continue
			}
			if limited[i] != nil {
				refuse(problemOf(limited[i]))
				refused[signer] = hash
				continue
			}
		}
		o := s.offer(r.Context(), raw, hash)
		switch {
		case o.problem != nil:
			refuse(*o.problem)
			if signer != "" {
				refused[signer] = hash
			}
		case o.prior != nil && o.prior.Code != 0:
			// On the ledger, failed: committed (with its height and
			// index), and refused with the failure.
			item.SubmitResponse = committedResponse(*o.prior)
			refuse(committedProblem(*o.prior))
		case o.prior != nil:
			item.Status, item.SubmitResponse = http.StatusOK, committedResponse(*o.prior)
		case o.pending:
			refuse(problemOf(errDuplicateTx))
		default:
			item.Status = http.StatusAccepted
			out.Accepted++
		}
	}
	writeCompactJSON(w, http.StatusOK, out)
}

// rejectionProblem is problemOf, except that a rejection by the ledger
// keeps its log as the detail, even under an unknown code.
func rejectionProblem(err error) wire.Problem {
	var r *ledgerRejection
	if !errors.As(err, &r) {
		return problemOf(err)
	}
	p := problemOf(r.code)
	p.Detail = r.log
	return p
}

// committedProblem is a transaction the block refused, as a problem.
func committedProblem(r wire.TxResult) wire.Problem {
	p := rejectionProblem(codedError(r.Codespace, r.Code, r.Log))
	p.Hash, p.Height = r.Hash, r.Height
	return p
}

func committedResponse(r wire.TxResult) wire.SubmitResponse {
	return wire.SubmitResponse{Hash: r.Hash, Committed: true, Height: r.Height, Index: r.Index, Type: r.Type, Signer: r.Signer}
}

func (s *server) answerCommitted(w http.ResponseWriter, r wire.TxResult) {
	if r.Code != 0 {
		writeProblem(w, committedProblem(r))
		return
	}
	writeJSON(w, http.StatusOK, committedResponse(r))
}

func (s *server) getTx(w http.ResponseWriter, r *http.Request) {
	hash := strings.ToLower(r.PathValue("hash"))
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		writeError(w, errBadRequest.Wrapf("hash must be 64 hex characters"))
		return
	}
	res, err := s.Ledger.TxResultByHash(hash)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// TxType documents one transaction type and who may send it.
type TxType struct {
	Type    string          `json:"type"`
	Allow   []string        `json:"allow"`
	Doc     string          `json:"doc"`
	Example json.RawMessage `json:"example,omitempty"`
}

func (s *server) txTypes(w http.ResponseWriter, r *http.Request) {
	out := []TxType{}
	for _, rt := range modules.Txs() {
		t := TxType{Type: rt.Type, Allow: rt.Allow, Doc: rt.Doc}
		if json.Valid([]byte(rt.Example)) {
			t.Example = json.RawMessage(rt.Example)
		}
		out = append(out, t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) errorCodes(w http.ResponseWriter, r *http.Request) {
	type code struct {
		Code      string `json:"code"`
		Codespace string `json:"codespace"`
		ABCICode  uint32 `json:"abci_code"`
		Status    int    `json:"http_status"`
		Title     string `json:"title"`
	}
	out := []code{}
	for _, e := range ledger.Registered() {
		out = append(out, code{e.Name, e.Codespace, e.Code, e.HTTPStatus, e.Msg})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getKey(w http.ResponseWriter, r *http.Request) {
	key, err := identity.ParseKey(r.PathValue("key"))
	if err != nil {
		writeError(w, err)
		return
	}
	if s.catchingUp() {
		// The next nonce would be the state's, behind the chain's.
		writeError(w, errCatchingUp)
		return
	}
	st := s.Ledger.Committed()
	info := wire.KeyInfo{Address: ledger.Address(key), Standing: "ok", ChainID: s.Ledger.ChainID()}
	signer, err := identity.Resolve(st, key, s.Ledger.LastBlockTime())
	switch {
	case errors.Is(err, ledger.ErrRetiredKey):
		info.Retired, info.Standing = true, ledger.ErrRetiredKey.Name
		writeJSON(w, http.StatusOK, info)
		return
	case err != nil:
		info.Standing = ledger.AsError(err).Name
	}
	id := signer.ID
	if id == "" {
		id = info.Address
	}
	// The next nonce counts this node's mempool: a client can send several
	// transactions in a row without waiting for each to commit.
	if info.Nonce, err = s.Ledger.NextNonce(id); err != nil {
		writeError(w, err)
		return
	}
	if signer.Kind != ledger.KindUnregistered {
		info.Identity, _ = identity.Get(st, id)
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *server) proof(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" || len(key) > 512 {
		writeError(w, errBadRequest.Wrapf("key (the state key, as text) is required"))
		return
	}
	p, err := ProveKey(s.Ledger, key)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// ProveKey reads key's committed value (or its absence) from st with its
// proof, as GET /api/v1/proof answers it.
func ProveKey(st Prover, key string) (*wire.ProofResponse, error) {
	value, proof, height, root, err := st.Proof([]byte(key))
	if err != nil {
		return nil, err
	}
	pb, err := proof.Marshal()
	if err != nil {
		return nil, err
	}
	return &wire.ProofResponse{Key: key, Value: base64.StdEncoding.EncodeToString(value), Exists: value != nil,
		Height: height, Proof: base64.StdEncoding.EncodeToString(pb), AppHash: hex.EncodeToString(root)}, nil
}

func decodeJSON(r io.Reader, v any) error {
	if u, ok := v.(easyjson.Unmarshaler); ok {
		return decodeGenerated(r, u)
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if tooLarge(err) {
			return errBodyTooLarge
		}
		return errBadRequest.Wrapf("malformed JSON: %v", err)
	}
	return nothingAfter(dec)
}

// nothingAfter refuses a body with anything but white space after its JSON
// value (as easyjson's Consumed does for the generated decoders).
func nothingAfter(dec *json.Decoder) error {
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case tooLarge(err):
		return errBodyTooLarge
	}
	return errBadRequest.Wrapf("malformed JSON: data after the JSON value")
}
