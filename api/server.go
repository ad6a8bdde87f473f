package api

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/docstore"
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
	// History serves the node explorer's latest blocks (nil: not served).
	History History
	// RPCAddress is where CometBFT's own RPC listens (for the status).
	RPCAddress string
	// CatchingUp reports whether the node is still catching up with the
	// chain (nil: never). Its state is then behind the chain's: the
	// nonces it would give and check are stale, so it takes no
	// transactions.
	CatchingUp func() bool
	Gatherer   prometheus.Gatherer
	// Registerer takes the API's own metrics (nil: not exported).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// RatePerKey bounds submissions per signing key per second (0: no
	// limit); RateBurst is the bucket size.
	RatePerKey float64
	RateBurst  int
	// RatePerIP bounds requests per client address per second, from any
	// address but loopback (0: no limit); RateBurstIP is the bucket size.
	RatePerIP   float64
	RateBurstIP int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (ParseTrustedProxies); without them a proxy's callers
	// count as the proxy.
	TrustedProxies []netip.Prefix
	// Signers are the member keys this node signs for, by API token
	// (api_tokens in config/primum.json: every scope, no expiry; the demo's
	// people).
	Signers map[string]ed25519.PrivateKey
	// Tokens are the service tokens (scoped, expiring, revocable; only
	// their hashes stored: primum tokens), nil: none.
	Tokens ServiceTokens
	// HeldKeys are the other member keys the node holds (those service
	// tokens name), for the custodian's side of record requests (nil:
	// none).
	HeldKeys func() []ed25519.PrivateKey
	// Docs is this node's encrypted record store (nil: it holds no records).
	Docs *docstore.Store
	// Authorities are the names (host[:port], lower-case, without a
	// default port) callers reach this API by: a signed request whose
	// @authority is none of them was signed for another server and is
	// refused, so that a request one node received cannot be replayed to
	// another. Empty: any (a node that cannot know its names).
	Authorities []string
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
	// blocks caches the node page's block summaries.
	blockSummaries blockCache
	Backend
	log      *slog.Logger
	limiter  *keyLimiter
	nonces   nonceCache
	metrics  *apiMetrics
	captures *captureJobs
	locks    keyLocks
	// ipLimiter bounds requests per client address (limitPerIP).
	ipLimiter *keyLimiter
	// httpClient fetches records from other custodians' nodes.
	httpClient *http.Client
	// pages seals the page tokens the API hands out.
	pages *pageTokens
}

// New returns the HTTP handler of a node.
func New(b Backend) http.Handler {
	s := &server{Backend: b, log: b.Logger.With("module", "api"), limiter: newKeyLimiter(b.RatePerKey, max(1, b.RateBurst)),
		captures: &captureJobs{jobs: map[string]*wire.CaptureJob{}}, httpClient: &http.Client{Timeout: time.Minute},
		metrics: newAPIMetrics(b.Registerer), ipLimiter: newKeyLimiter(b.RatePerIP, max(1, b.RateBurstIP)), pages: newPageTokens()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/blocks", s.blocks)
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
	mux.HandleFunc("POST /api/v1/devices/{id}/batches/{seq}/readings", s.keepReadings)
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
	// The limit per address comes first, so that a flood costs no body read
	// and no signature check (its answers still carry the security headers).
	return securityHeaders(s.limitPerIP(limitBody(s.authenticate(mux))))
}

// securityHeaders are sent with every answer: nothing the node serves is
// sniffed into another type, framed by another site or leaks its address
// in a Referer. (Pages add their Content-Security-Policy: package web.)
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// MaxCaptureBytes bounds an EPCIS capture document (up to the capture
// limit of events, which can carry sensor data).
const MaxCaptureBytes = 4 << 20

// limitBody bounds each request's body by its route: documents (EPCIS
// capture, FHIR, transaction batches) may be larger than the rest. It
// wraps the mux rather than each route (http.MaxBytesHandler per pattern)
// because authentication, which runs before routing, reads a signed body
// to check its content-digest: the limit must already hold then.
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
		case strings.HasPrefix(r.URL.Path, "/api/v1/devices/") && strings.HasSuffix(r.URL.Path, "/readings"):
			limit = devices.MaxUploadBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}
