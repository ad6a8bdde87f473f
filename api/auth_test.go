package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/httpsig"
	"github.com/primum-health/primum/ledger"
)

// TestSignedRequests: a request signed with the caller's own key (RFC
// 9421) names its caller; one that was changed after signing, is stale,
// from the future, replayed, or covers too little is refused 401 before
// any route runs, with a code saying which.
func TestSignedRequests(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	_, stranger, _ := ed25519.GenerateKey(nil)
	a := memberLedger(t, key)
	// httptest's requests are for example.com: this node's name.
	s := &server{Backend: Backend{Ledger: a, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Authorities: []string{"example.com", "localhost:8080"}},
		metrics: newAPIMetrics(prometheus.NewRegistry())}
	// The route answers who the caller is, and the body it read.
	h := s.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _, err := s.caller(r, a.Committed(), a.LastBlockTime())
		if err != nil {
			writeError(w, err)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Write([]byte(caller.ID + " " + string(body)))
	}))
	me := ledger.Address(key.Public().(ed25519.PublicKey))

	signed := func(method, target, body string, sign func(r *http.Request, body []byte)) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		sign(r, []byte(body))
		return r
	}
	byClient := func(r *http.Request, body []byte) {
		if err := client.SignRequest(r, body, key); err != nil {
			t.Fatal(err)
		}
	}
	// custom signs with chosen components and times.
	custom := func(components []string, created, expires time.Time, k ed25519.PrivateKey) func(*http.Request, []byte) {
		return func(r *http.Request, body []byte) {
			r.Header.Set("Content-Digest", httpsig.ContentDigest(body))
			p := httpsig.Params{Created: created.Unix(), Nonce: hex.EncodeToString([]byte(created.String()))[:32],
				KeyID: hex.EncodeToString(key.Public().(ed25519.PublicKey)), Alg: "ed25519"}
			if !expires.IsZero() {
				p.Expires = expires.Unix()
			}
			if err := httpsig.Sign(r, SignatureLabel, components, p, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	// capitals signs like custom with the keyid spelt in capitals (hex
	// takes either case).
	capitals := func(components []string, created time.Time) func(*http.Request, []byte) {
		return func(r *http.Request, body []byte) {
			r.Header.Set("Content-Digest", httpsig.ContentDigest(body))
			p := httpsig.Params{Created: created.Unix(), Nonce: hex.EncodeToString([]byte(created.String()))[:32],
				KeyID: strings.ToUpper(hex.EncodeToString(key.Public().(ed25519.PublicKey))), Alg: "ed25519"}
			if err := httpsig.Sign(r, SignatureLabel, components, p, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now()
	all := []string{"@method", "@authority", "@path", "@query", "content-digest"}
	spelt := now.Add(-3 * time.Second)
	replayed := signed("POST", "/x?a=1", `{"n":1}`, byClient)
	cases := []struct {
		name     string
		req      func() *http.Request
		status   int
		wantBody string
	}{
		{"signed GET", func() *http.Request { return signed("GET", "/x?a=1", "", byClient) }, 200, me + " "},
		{"signed POST", func() *http.Request { return signed("POST", "/x", `{"n":1}`, byClient) }, 200, me + ` {"n":1}`},
		{"first use", func() *http.Request { return replayed.Clone(replayed.Context()) }, 200, me},
		{"replayed", func() *http.Request {
			r := replayed.Clone(replayed.Context())
			r.Body = io.NopCloser(strings.NewReader(`{"n":1}`))
			return r
		}, 401, "signature_stale"},
		{"body changed", func() *http.Request {
			r := signed("POST", "/x", `{"n":1}`, byClient)
			r.Body = io.NopCloser(strings.NewReader(`{"n":2}`))
			return r
		}, 401, "Content-Digest does not match"},
		{"digest and body changed", func() *http.Request {
			r := signed("POST", "/x", `{"n":1}`, byClient)
			r.Body = io.NopCloser(strings.NewReader(`{"n":2}`))
			r.Header.Set("Content-Digest", httpsig.ContentDigest([]byte(`{"n":2}`)))
			return r
		}, 401, "signature_invalid"},
		{"path changed", func() *http.Request {
			r := signed("GET", "/x", "", byClient)
			r.URL.Path = "/y"
			return r
		}, 401, "signature_invalid"},
		{"query changed", func() *http.Request {
			r := signed("GET", "/x?patient=a", "", byClient)
			r.URL.RawQuery = "patient=b"
			return r
		}, 401, "signature_invalid"},
		{"method changed", func() *http.Request {
			r := signed("GET", "/x", "", byClient)
			r.Method = "DELETE"
			return r
		}, 401, "signature_invalid"},
		{"signed for another node: a request that node received, replayed here", func() *http.Request {
			r := httptest.NewRequest("GET", "http://node-b.example:8080/x", nil)
			byClient(r, nil)
			return r
		}, 401, "signature_wrong_authority"},
		{"the node's name in capitals with the default port", func() *http.Request {
			r := httptest.NewRequest("GET", "http://EXAMPLE.COM:80/x", nil)
			byClient(r, nil)
			return r
		}, 200, me},
		{"another of the node's names", func() *http.Request {
			r := httptest.NewRequest("GET", "http://localhost:8080/x", nil)
			byClient(r, nil)
			return r
		}, 200, me},
		{"the node's host on another port", func() *http.Request {
			r := httptest.NewRequest("GET", "http://localhost:9090/x", nil)
			byClient(r, nil)
			return r
		}, 401, "signature_wrong_authority"},
		{"a nonce, keyid in lower case", func() *http.Request { return signed("GET", "/x", "", custom(all, spelt, time.Time{}, key)) }, 200, me},
		{"the same nonce, keyid in capitals: a replay", func() *http.Request { return signed("GET", "/x", "", capitals(all, spelt)) }, 401, "signature_stale"},
		{"another key's signature", func() *http.Request {
			return signed("GET", "/x", "", custom(all, now, time.Time{}, other))
		}, 401, "signature_invalid"},
		{"body not covered", func() *http.Request {
			return signed("POST", "/x", `{"n":1}`, custom(all[:4], now, time.Time{}, key))
		}, 401, "must cover content-digest"},
		{"authority not covered", func() *http.Request {
			return signed("GET", "/x", "", custom([]string{"@method", "@path", "@query"}, now, time.Time{}, key))
		}, 401, "must cover @method @authority @path @query"},
		{"too old", func() *http.Request {
			return signed("GET", "/x", "", custom(all, now.Add(-3*time.Minute), time.Time{}, key))
		}, 401, "signature_stale"},
		{"from the future", func() *http.Request {
			return signed("GET", "/x", "", custom(all, now.Add(time.Minute), time.Time{}, key))
		}, 401, "signature_stale"},
		{"expired", func() *http.Request {
			return signed("GET", "/x", "", custom(all, now.Add(-10*time.Second), now.Add(-time.Second), key))
		}, 401, "expired"},
		{"signature without its input", func() *http.Request {
			r := signed("GET", "/x", "", byClient)
			r.Header.Del("Signature-Input")
			return r
		}, 401, "signature_invalid"},
		{"garbage", func() *http.Request {
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Signature-Input", `primum=("@method";created=1`)
			r.Header.Set("Signature", `primum=:AAAA:`)
			return r
		}, 401, "signature_invalid"},
		{"no signature: anonymous", func() *http.Request { return httptest.NewRequest("GET", "/x", nil) }, 200, " "},
		// A key the ledger does not know is no more than anonymous, and its
		// nonces are not remembered (fresh keys cannot fill the cache).
		{"a key the ledger does not know", func() *http.Request {
			r := httptest.NewRequest("GET", "/x", nil)
			if err := client.SignRequest(r, nil, stranger); err != nil {
				t.Fatal(err)
			}
			return r
		}, 200, " "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.req())
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.wantBody) {
				t.Fatalf("HTTP %d %s, want %d with %q", rec.Code, rec.Body, c.status, c.wantBody)
			}
		})
	}
	// A body over the limit is refused as too large, not read whole.
	rec := httptest.NewRecorder()
	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
	r := httptest.NewRequest("POST", "/x", bytes.NewReader(big))
	byClient(r, big)
	limitBody(h).ServeHTTP(rec, r)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized signed body: HTTP %d %s", rec.Code, rec.Body)
	}
}

// TestNonceCacheForgetsOnlyWhenSafe: a nonce is refused for at least the
// signature's lifetime, and the cache does not grow past its bounds: one
// key cannot take more than its share, which leaves others signing.
func TestNonceCacheForgetsOnlyWhenSafe(t *testing.T) {
	var c nonceCache
	t0 := time.Now()
	if c.fresh("k", "n", t0) != nonceFresh || c.fresh("k", "n", t0) != nonceUsed {
		t.Fatal("first use must be fresh, the second not")
	}
	// Still remembered one lifetime later (it is in the previous generation).
	if c.fresh("k", "n", t0.Add(sigMaxAge+sigSkew+time.Second)) != nonceUsed {
		t.Fatal("a nonce was forgotten within its signature's lifetime")
	}
	// Forgotten after two generations: its signature has long expired.
	if c.fresh("k", "n", t0.Add(3*(sigMaxAge+sigSkew))) != nonceFresh {
		t.Fatal("a nonce was never forgotten")
	}
	// One key's flood: refused past its share, another key still signs,
	// and the flood's key signs again in the next generation.
	t1 := t0.Add(4 * (sigMaxAge + sigSkew))
	for i := range maxNoncesPerKey {
		if c.fresh("flood", strconv.Itoa(i), t1) != nonceFresh {
			t.Fatalf("signature %d of one key refused within its share", i)
		}
	}
	if c.fresh("flood", "one more", t1) != nonceFull {
		t.Fatal("one key signed past its share")
	}
	if c.fresh("honest", "n", t1) != nonceFresh {
		t.Fatal("another key was refused while one key flooded")
	}
	if c.fresh("flood", "later", t1.Add(sigMaxAge+sigSkew+time.Second)) != nonceFresh {
		t.Fatal("the flooding key is refused for good")
	}
}

// TestNonceCacheFullOfAFewKeys: 64 keys each at their full share fill the
// cache; they are refused from then on, while keys that have signed
// little still sign (into the reserve), until the reserve too is full.
func TestNonceCacheFullOfAFewKeys(t *testing.T) {
	var c nonceCache
	now := time.Now()
	flooders := maxNonces / maxNoncesPerKey
	for k := range flooders {
		for i := range maxNoncesPerKey {
			if c.fresh("flood-"+strconv.Itoa(k), strconv.Itoa(i), now) != nonceFresh {
				t.Fatalf("key %d's signature %d refused within its share", k, i)
			}
		}
	}
	if len(c.cur) != maxNonces {
		t.Fatalf("the cache holds %d, want it full (%d)", len(c.cur), maxNonces)
	}
	if c.fresh("flood-0", "one more", now) != nonceFull {
		t.Fatal("a flooding key signed into a full cache")
	}
	for i := range 100 {
		if c.fresh("honest-"+strconv.Itoa(i), "n", now) != nonceFresh || c.fresh("honest-"+strconv.Itoa(i), "m", now) != nonceFresh {
			t.Fatalf("honest key %d refused while 64 keys filled the cache", i)
		}
	}
	// A key joining the flood takes no more than its part of the reserve.
	for i := range reservePerKey + 1 {
		if got := c.fresh("late-flood", strconv.Itoa(i), now); (got == nonceFresh) != (i < reservePerKey) {
			t.Fatalf("a late key's signature %d into the reserve: %v", i, got)
		}
	}
	// The reserve is bounded too: many keys' first signatures fill it, and
	// then nobody signs until the generation ends.
	for i := 0; len(c.cur) < maxNonces+maxNonces/4; i++ {
		if c.fresh("many-"+strconv.Itoa(i), "n", now) != nonceFresh {
			t.Fatalf("key %d refused before the reserve was full (%d held)", i, len(c.cur))
		}
	}
	if c.fresh("late", "n", now) != nonceFull {
		t.Fatal("a signature past the reserve was accepted")
	}
	if c.fresh("late", "n", now.Add(sigMaxAge+sigSkew+time.Second)) != nonceFresh {
		t.Fatal("still refused in the next generation")
	}
}

// memberLedger is a real app over a temporary store whose genesis makes
// key's holder a member organisation, committed.
func memberLedger(t *testing.T, key ed25519.PrivateKey) *app.App {
	t.Helper()
	a := testLedger(t)
	_, val, _ := ed25519.GenerateKey(nil)
	valPub := val.Public().(ed25519.PublicKey)
	g, _ := json.Marshal(app.Genesis{Members: []governance.NewMember{{Name: "St Luke's", OrgType: "hospital",
		Key: hex.EncodeToString(key.Public().(ed25519.PublicKey)), ValidatorKey: hex.EncodeToString(valPub), Power: 10}}})
	ctx := context.Background()
	if _, err := a.InitChain(ctx, &abci.InitChainRequest{ChainId: "primum-api-test", InitialHeight: 1, AppStateBytes: g,
		Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: valPub}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	return a
}
