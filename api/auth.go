package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/httpsig"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/records"
)

// Who is calling. A request is signed by its caller's own key (RFC 9421
// HTTP Message Signatures, label "primum", Ed25519, keyid = the public key
// in hex, covering at least @method @authority @path @query, and
// content-digest (RFC 9530) when it has a body, with created and nonce),
// or carries the bearer token of a key this node holds (api_tokens: the
// demo's people and integrations), or is anonymous. A request whose
// signature does not verify is refused whatever the route: the client
// should know.

// SignatureLabel is the label of Primum's request signatures.
const SignatureLabel = "primum"

// Signature freshness: a signature is accepted from its created time up to
// sigMaxAge later (and up to sigSkew before it, for clocks a little
// ahead), and its nonce is remembered that long, so a captured request
// cannot be replayed.
const (
	sigMaxAge = 2 * time.Minute
	sigSkew   = 30 * time.Second
)

// requiredComponents are what every request signature covers.
var requiredComponents = []string{"@method", "@authority", "@path", "@query"}

var (
	errSignature = newAPIError(44, "signature_invalid", http.StatusUnauthorized,
		"the request's HTTP signature (RFC 9421) does not verify: sign @method @authority @path @query (and content-digest with a body) with label \"primum\", alg ed25519, keyid = your public key in hex, created and a fresh nonce")
	errSignatureStale = newAPIError(45, "signature_stale", http.StatusUnauthorized,
		"the request's HTTP signature is too old, from the future, or replayed: sign each request afresh (created within 2 minutes of the node's clock, a nonce never used before)")
	errRegulatorOnly  = newAPIError(46, "regulator_only", http.StatusForbidden, "only a regulator may read this")
	errWrongAuthority = newAPIError(52, "signature_wrong_authority", http.StatusUnauthorized,
		"the request was signed for another server (its @authority is not one of this node's names): sign it for the address you send it to")
	errSignatureBusy = newAPIError(51, "signature_rate_limited", http.StatusTooManyRequests,
		"this key signed more requests in the last few minutes than the node remembers for one key: wait a minute, or spread the work over keys")
)

type callerKey struct{}

// authenticate verifies a request's signature, if it has one, before any
// route runs, and remembers the verified key for caller.
func (s *server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Signature-Input") == "" && r.Header.Get("Signature") == "" {
			h.ServeHTTP(w, r)
			return
		}
		key, err := s.verifySignature(r, time.Now())
		if err != nil {
			s.metrics.refusedSignature()
			writeError(w, err)
			return
		}
		if key == nil { // a key the ledger does not know: no more than anonymous
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, key)))
	})
}

func (s *server) verifySignature(r *http.Request, now time.Time) (ed25519.PublicKey, error) {
	sig, err := httpsig.Verify(r, SignatureLabel)
	if err != nil {
		return nil, errSignature.Wrapf("%v", err)
	}
	p := sig.Params
	if p.Alg != "" && p.Alg != "ed25519" {
		return nil, errSignature.Wrapf("alg %q: only ed25519", p.Alg)
	}
	if !sig.Covers(requiredComponents...) {
		return nil, errSignature.Wrapf("the signature must cover %s", strings.Join(requiredComponents, " "))
	}
	pub, err := hex.DecodeString(p.KeyID)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, errSignature.Wrapf("keyid must be the Ed25519 public key in hex")
	}
	created := time.Unix(p.Created, 0)
	switch {
	case p.Created == 0 || p.Nonce == "":
		return nil, errSignatureStale.Wrapf("the signature needs created and nonce")
	case len(p.Nonce) > 128:
		return nil, errSignature.Wrapf("nonce longer than 128 characters")
	case created.After(now.Add(sigSkew)) || now.Sub(created) > sigMaxAge:
		return nil, errSignatureStale.Wrapf("created %s, the node's clock %s", created.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case p.Expires != 0 && now.After(time.Unix(p.Expires, 0)):
		return nil, errSignatureStale.Wrapf("expired")
	}
	// The body is part of what was signed: its digest must be covered and
	// match.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if tooLarge(err) {
			return nil, errBodyTooLarge
		}
		return nil, errBadRequest.Wrapf("reading the body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 || r.Header.Get("Content-Digest") != "" {
		if !sig.Covers("content-digest") {
			return nil, errSignature.Wrapf("a request with a body must cover content-digest")
		}
		if r.Header.Get("Content-Digest") != httpsig.ContentDigest(body) {
			return nil, errSignature.Wrapf("Content-Digest does not match the body (sha-256)")
		}
	}
	if !sig.VerifyEd25519(pub) {
		return nil, errSignature.Wrapf("the signature does not verify with keyid's key")
	}
	if len(s.Authorities) > 0 {
		a, err := httpsig.Authority(r)
		if err != nil || !slices.Contains(s.Authorities, a) {
			return nil, errWrongAuthority.Wrapf("signed for %q", printableHost(a))
		}
	}
	// A key the ledger does not know gains nothing over an anonymous
	// caller, and its nonces are not remembered: fresh keys cannot fill
	// the cache that honest callers' replays are checked against.
	if signer, err := identity.Resolve(s.Ledger.Committed(), ed25519.PublicKey(pub), s.Ledger.LastBlockTime()); err == nil && signer.Kind == ledger.KindUnregistered {
		return nil, nil
	}
	// Counted by the key itself, not by how keyid spells it (hex takes
	// either case): one key must not take another share per spelling.
	switch s.nonces.fresh(hex.EncodeToString(pub), p.Nonce, now) {
	case nonceUsed:
		return nil, errSignatureStale.Wrapf("nonce already used")
	case nonceFull:
		return nil, errSignatureBusy
	}
	return ed25519.PublicKey(pub), nil
}

// nonceCache remembers the nonces of accepted signatures for at least
// sigMaxAge + sigSkew, in two generations: a nonce is fresh if neither
// holds it. Bounded twice: one key's signatures past maxNoncesPerKey in a
// generation are refused (429) until it rotates, so that one key, however
// many addresses it comes from, cannot fill the cache that everyone's
// replays are checked against. Past maxNonces in all (a flood from many
// keys at once: 64 keys at their full share), a key still signs into a
// reserve of a quarter more only while it has signed less than an even
// share of maxNonces among this generation's keys, and at most
// reservePerKey times: filling the reserve takes thousands of keys, not a
// few more; past the reserve every signature is refused until the
// generation ends.
type nonceCache struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
	perKey    map[string]int // signatures accepted this generation, by key
	reserved  map[string]int // of which into the reserve
	rotated   time.Time
}

const (
	maxNonces       = 1 << 20
	maxNoncesPerKey = 1 << 14 // ~100 signed requests a second, sustained
	reservePerKey   = 64      // a key's signatures into the reserve, per generation
)

type nonceAnswer int

const (
	nonceFresh nonceAnswer = iota
	nonceUsed
	nonceFull
)

func (c *nonceCache) fresh(keyID, nonce string, now time.Time) nonceAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || now.Sub(c.rotated) > sigMaxAge+sigSkew {
		c.prev, c.cur, c.perKey, c.reserved, c.rotated = c.cur, map[string]struct{}{}, map[string]int{}, map[string]int{}, now
	}
	n := keyID + "\x00" + nonce
	if _, ok := c.cur[n]; ok {
		return nonceUsed
	}
	if _, ok := c.prev[n]; ok {
		return nonceUsed
	}
	mine := c.perKey[keyID]
	switch {
	case mine >= maxNoncesPerKey:
		return nonceFull
	case len(c.cur) >= maxNonces+maxNonces/4:
		return nonceFull
	case len(c.cur) >= maxNonces && (mine >= maxNonces/(len(c.perKey)+1) || c.reserved[keyID] >= reservePerKey):
		return nonceFull // full: this key has had its even share, or its part of the reserve
	}
	if len(c.cur) >= maxNonces {
		c.reserved[keyID]++
	}
	c.cur[n] = struct{}{}
	c.perKey[keyID]++
	return nonceFresh
}

// caller is who sent r: the identity of the key that signed it, or of the
// key its bearer token names; anonymous (a zero Signer, nil error)
// without either. key is the private key when the node holds it (a
// token), for routes that sign transactions for their caller.
func (s *server) caller(r *http.Request, state ledger.Reader, now time.Time) (signer ledger.Signer, key ed25519.PrivateKey, err error) {
	if pub, ok := r.Context().Value(callerKey{}).(ed25519.PublicKey); ok {
		signer, err = identity.Resolve(state, pub, now)
		return signer, nil, err
	}
	if _, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok {
		return ledger.Signer{}, nil, nil
	}
	key, ok, err := s.bearerKey(r, tokens.ScopeRead)
	if err != nil {
		return ledger.Signer{}, nil, err
	}
	if !ok {
		return ledger.Signer{}, nil, errTokenRequired
	}
	signer, err = identity.Resolve(state, key.Public().(ed25519.PublicKey), now)
	return signer, key, err
}

// authorise checks a query's caller against what the query declares, in
// one place for every module. An access rule this edge does not know
// refuses everyone.
func (s *server) authorise(r *http.Request, q *ledger.Request, read ledger.Access, subject func(*ledger.Request) (string, error)) error {
	switch read {
	case ledger.Public, ledger.Members, ledger.Regulator, ledger.PatientSelf, ledger.PatientCircle, ledger.PatientAudit:
	default:
		return errNoRoute.Wrapf("this route declares an access rule (%q) the API does not enforce", read)
	}
	caller, _, err := s.caller(r, q.State, q.BlockTime)
	if read == ledger.Public {
		// A public answer is the same for everyone; a caller only narrows
		// what it says about patients (MayRead).
		if err == nil {
			q.Caller = caller
		}
		q.MayRead = s.mayRead(q, err)
		return nil
	}
	switch {
	case err != nil:
		return err
	case caller.ID == "" || caller.Kind == ledger.KindUnregistered:
		return errTokenRequired
	}
	q.Caller = caller
	q.MayRead = s.mayRead(q, nil)
	switch read {
	case ledger.Members:
		return nil
	case ledger.Regulator:
		if !caller.IsRegulator() {
			return errRegulatorOnly
		}
		return nil
	case ledger.PatientSelf, ledger.PatientCircle, ledger.PatientAudit:
		patient := q.Path("id")
		if subject != nil {
			if patient, err = subject(q); err != nil {
				return err
			}
		}
		if read == ledger.PatientSelf {
			if caller.Kind != ledger.KindPatient || caller.ID != patient {
				return errNotYourPatient
			}
			return nil
		}
		view, err := records.ViewOf(q.State, caller, patient, q.BlockTime)
		if err != nil {
			return err
		}
		if err := view.Standing(read == ledger.PatientCircle); err != nil {
			s.metrics.refusedRead()
			return err
		}
		q.Viewer = view
		return nil
	}
	return errNoRoute.Wrapf("this route declares an access rule (%q) the API does not enforce", read)
}

// mayRead is a request's check of standing with a patient, as
// PatientAudit has it (Request.MayRead); callerErr is why the request's
// credentials were not accepted, if they were not.
func (s *server) mayRead(q *ledger.Request, callerErr error) func(patient string) error {
	return func(patient string) error {
		if callerErr != nil {
			return callerErr
		}
		if q.Caller.ID == "" || q.Caller.Kind == ledger.KindUnregistered {
			return errTokenRequired
		}
		return standing(q.State, q.Caller, patient, q.BlockTime)
	}
}

// standing is nil when caller may read about patient at now (records.View),
// as a PatientCircle or PatientAudit query allows.
func standing(state ledger.Reader, caller ledger.Signer, patient string, now time.Time) error {
	view, err := records.ViewOf(state, caller, patient, now)
	if err != nil {
		return err
	}
	return view.Standing(false)
}

// apiMetrics count what the API refuses before any route reads state for
// it (primum_api_refused_total): an operator sees a flood of forged
// signatures or of reads by strangers.
type apiMetrics struct{ refused *prometheus.CounterVec }

func newAPIMetrics(reg prometheus.Registerer) *apiMetrics {
	m := &apiMetrics{refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "primum", Name: "api_refused_total",
		Help: "Requests the API refused before answering: a signature that does not verify or is stale (signature), a read about a patient by a caller without standing (no_standing), a request from an address over its rate (rate_limited_ip)."},
		[]string{"reason"})}
	if reg != nil {
		reg.MustRegister(m.refused)
	}
	return m
}

func (m *apiMetrics) refusedSignature() { m.refused.WithLabelValues("signature").Inc() }
func (m *apiMetrics) refusedRead()      { m.refused.WithLabelValues("no_standing").Inc() }
func (m *apiMetrics) refusedIP()        { m.refused.WithLabelValues("rate_limited_ip").Inc() }

// knownCaller is the registered identity that sent r (errTokenRequired
// for an anonymous or unregistered caller).
func (s *server) knownCaller(r *http.Request, state ledger.Reader) (ledger.Signer, error) {
	caller, _, err := s.caller(r, state, s.Ledger.LastBlockTime())
	if err == nil && (caller.ID == "" || caller.Kind == ledger.KindUnregistered) {
		err = errTokenRequired
	}
	return caller, err
}

// patientView is what r's caller may see about patient, refused (401,
// 403) as a PatientCircle (index) or PatientAudit query would be: the
// rule of the routes that are not module queries (FHIR, proofs).
func (s *server) patientView(r *http.Request, state ledger.Reader, patient string, index bool) (*records.View, error) {
	caller, err := s.knownCaller(r, state)
	if err != nil {
		return nil, err
	}
	view, err := records.ViewOf(state, caller, patient, s.Ledger.LastBlockTime())
	if err != nil {
		return nil, err
	}
	if err := view.Standing(index); err != nil {
		s.metrics.refusedRead()
		return nil, err
	}
	return view, nil
}

var errNotProvable = newAPIError(47, "not_provable", http.StatusForbidden,
	"no module declares this state key readable: proofs are given for the keys a module declares (see docs/api.md)")

// keySpaces are the modules' declared state key spaces and the app's own
// public keys (meta/: the chain id, the last block time).
var keySpaces = append(modules.Keys(), ledger.KeySpace{Prefix: "meta/", Read: ledger.Public})

// mayProve checks r's caller against the key space key is in (the longest
// declared prefix), as a query with the same rule would be checked: a
// proof shows the value, so it is a read like any other.
func (s *server) mayProve(r *http.Request, key string) error {
	var space *ledger.KeySpace
	for i, ks := range keySpaces {
		if strings.HasPrefix(key, ks.Prefix) && (space == nil || len(ks.Prefix) > len(space.Prefix)) {
			space = &keySpaces[i]
		}
	}
	if space == nil {
		return errNotProvable
	}
	state := s.Ledger.Committed()
	switch space.Read {
	case ledger.Public:
		return nil
	case ledger.Members:
		_, err := s.knownCaller(r, state)
		return err
	case ledger.Regulator:
		caller, err := s.knownCaller(r, state)
		if err == nil && !caller.IsRegulator() {
			err = errRegulatorOnly
		}
		return err
	case ledger.PatientSelf, ledger.PatientCircle, ledger.PatientAudit:
		patient, err := space.Subject(state, key)
		if err != nil || patient == "" {
			return err // "": about no patient (an organisation's identity, an absent key)
		}
		caller, err := s.knownCaller(r, state)
		if err != nil {
			return err
		}
		// A proof shows a whole entry, where a query narrows what it shows
		// (records.View): so a patient's entries are proven to the patient
		// themself, and the audit's (PatientAudit) to the regulator too.
		if caller.Kind == ledger.KindPatient && caller.ID == patient {
			return nil
		}
		if space.Read == ledger.PatientAudit && caller.IsRegulator() {
			return nil
		}
		s.metrics.refusedRead()
		if space.Read == ledger.PatientSelf {
			return errNotYourPatient
		}
		return ledger.ErrNoStanding.Wrapf("a proof of a patient's entry is theirs (and, for the audit, the regulator's): ask the query instead, which shows you what your standing covers")
	}
	return errNotProvable
}

// printableHost keeps a caller's Host field out of an answer unless it is
// a plain name.
func printableHost(h string) string {
	if len(h) > 255 || strings.IndexFunc(h, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
		return "(unprintable)"
	}
	return h
}
