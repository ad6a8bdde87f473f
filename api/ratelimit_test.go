package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/wire"
)

// TestClientAddr: the client is the peer, unless the peer is a trusted
// proxy; then it is the right-most X-Forwarded-For address that is not a
// trusted proxy, so what a client writes into the header itself (left of
// the address the first proxy appended) never counts.
func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:ffff::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		peer    string
		xff     []string // one header line each
		trusted []netip.Prefix
		want    string // "": no address
		key     string // the bucket, if not want
	}{
		{"peer", "203.0.113.7:4711", nil, trusted, "203.0.113.7", ""},
		{"untrusted peer's header ignored", "203.0.113.7:4711", []string{"198.51.100.2"}, trusted, "203.0.113.7", ""},
		{"no trusted proxies: header ignored", "10.0.0.1:4711", []string{"198.51.100.2"}, nil, "10.0.0.1", ""},
		{"trusted proxy names the client", "10.0.0.1:4711", []string{"198.51.100.2"}, trusted, "198.51.100.2", ""},
		{"trusted proxy without the header", "10.0.0.1:4711", nil, trusted, "10.0.0.1", ""},
		{"client's own entries ignored", "10.0.0.1:4711", []string{"192.0.2.9, 127.0.0.1, 198.51.100.2"}, trusted, "198.51.100.2", ""},
		{"chain of trusted proxies", "10.0.0.1:4711", []string{"192.0.2.9, 198.51.100.2, 10.0.0.3, 10.0.0.2"}, trusted, "198.51.100.2", ""},
		{"header in several lines", "10.0.0.1:4711", []string{"192.0.2.9", "198.51.100.2, 10.0.0.2"}, trusted, "198.51.100.2", ""},
		{"only trusted hops: the farthest", "10.0.0.1:4711", []string{"10.0.0.3, 10.0.0.2"}, trusted, "10.0.0.3", ""},
		{"garbage from a proxy: the proxy", "10.0.0.1:4711", []string{"198.51.100.2, 10.0.0.2, garbage"}, trusted, "10.0.0.1", ""},
		{"garbage after a trusted hop: that hop", "10.0.0.1:4711", []string{"198.51.100.2, garbage, 10.0.0.2"}, trusted, "10.0.0.2", ""},
		{"garbage left of the client ignored", "10.0.0.1:4711", []string{"garbage, 198.51.100.2"}, trusted, "198.51.100.2", ""},
		{"empty entries skipped", "10.0.0.1:4711", []string{" 198.51.100.2 , ,"}, trusted, "198.51.100.2", ""},
		{"entry with a port", "10.0.0.1:4711", []string{"198.51.100.2:9999"}, trusted, "198.51.100.2", ""},
		{"IPv6 entry in brackets", "10.0.0.1:4711", []string{"[2001:db8:1:2:3::4]"}, trusted, "2001:db8:1:2:3::4", "2001:db8:1:2::/64"},
		{"IPv6 entry with a port", "10.0.0.1:4711", []string{"[2001:db8:1:2:3::4]:443"}, trusted, "2001:db8:1:2:3::4", "2001:db8:1:2::/64"},
		{"IPv6 peer counts by its /64", "[2001:db8:1:2:3::4]:443", nil, trusted, "2001:db8:1:2:3::4", "2001:db8:1:2::/64"},
		{"IPv6 trusted proxy", "[2001:db8:ffff::1]:443", []string{"198.51.100.2"}, trusted, "198.51.100.2", ""},
		{"IPv4 mapped into IPv6", "[::ffff:203.0.113.7]:4711", nil, trusted, "203.0.113.7", ""},
		{"mapped trusted proxy", "[::ffff:10.0.0.1]:4711", []string{"::ffff:198.51.100.2"}, trusted, "198.51.100.2", ""},
		{"zone dropped", "[fe80::1%eth0]:4711", nil, trusted, "fe80::1", "fe80::/64"},
		{"no address", "@", nil, trusted, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/status", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			addr, ok := clientAddr(r, c.trusted)
			if c.want == "" {
				if ok {
					t.Fatalf("client %s, want none", addr)
				}
				return
			}
			if !ok || addr.String() != c.want {
				t.Fatalf("client %s (%v), want %s", addr, ok, c.want)
			}
			key := c.key
			if key == "" {
				key = c.want
			}
			if got := limitKey(addr); got != key {
				t.Fatalf("bucket %s, want %s", got, key)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	cases := []struct {
		in   string
		want string // "": refused
	}{
		{"10.0.0.1", "10.0.0.1/32"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"proxy.example", ""},
		{"10.0.0.0/33", ""},
		{"", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTrustedProxies([]string{c.in})
			switch {
			case c.want == "" && err == nil:
				t.Fatalf("accepted as %v", got)
			case c.want != "" && err != nil:
				t.Fatal(err)
			case c.want != "" && got[0].String() != c.want:
				t.Fatalf("%s, want %s", got[0], c.want)
			}
		})
	}
}

// healthyChain answers /healthz.
type healthyChain struct{ noChain }

func (healthyChain) Status(context.Context) (*coretypes.ResultStatus, error) {
	return &coretypes.ResultStatus{}, nil
}

// TestLimitPerIP: past its burst an address is answered 429
// rate_limited_ip with Retry-After, whatever it claims in
// X-Forwarded-For unless its peer is a trusted proxy; other addresses,
// loopback, /healthz and /metrics are not affected.
func TestLimitPerIP(t *testing.T) {
	const burst = 3
	type call struct {
		from, xff, path string
		n               int // times
		want            int // each answer's status
	}
	flood := func(from, xff string) call { return call{from, xff, "/api/v1/nothing", burst, http.StatusNotFound} }
	limited := func(from, xff string) call {
		return call{from, xff, "/api/v1/nothing", 1, http.StatusTooManyRequests}
	}
	passes := func(from, xff string) call { return call{from, xff, "/api/v1/nothing", 1, http.StatusNotFound} }
	cases := []struct {
		name    string
		trusted []string
		calls   []call
	}{
		{"past the burst", nil, []call{flood("203.0.113.7:1", ""), limited("203.0.113.7:2", "")}},
		{"another address is not affected", nil, []call{flood("203.0.113.7:1", ""), limited("203.0.113.7:1", ""), passes("198.51.100.2:1", "")}},
		{"an IPv6 /64 is one client", nil, []call{flood("[2001:db8:1:2::1]:1", ""), limited("[2001:db8:1:2::ffff]:1", ""), passes("[2001:db8:1:3::1]:1", "")}},
		{"loopback is never limited", nil, []call{
			{"127.0.0.1:1", "", "/api/v1/nothing", 10 * burst, http.StatusNotFound},
			{"127.0.0.2:1", "", "/api/v1/nothing", 10 * burst, http.StatusNotFound},
			{"[::1]:1", "", "/api/v1/nothing", 10 * burst, http.StatusNotFound},
		}},
		{"X-Forwarded-For from an untrusted peer is ignored", nil, []call{
			flood("203.0.113.7:1", "198.51.100.1"), limited("203.0.113.7:1", "198.51.100.2"), limited("203.0.113.7:1", "127.0.0.1"),
		}},
		{"a trusted proxy names the client", []string{"10.0.0.0/8"}, []call{
			flood("10.0.0.1:1", "203.0.113.7"), limited("10.0.0.2:1", "203.0.113.7"), passes("10.0.0.1:1", "198.51.100.2"),
			limited("10.0.0.1:1", "127.0.0.1, 198.51.100.9, 203.0.113.7"), // the client's own entries do not help it
		}},
		{"a trusted proxy's own requests are its own", []string{"10.0.0.0/8"}, []call{
			flood("10.0.0.1:1", ""), limited("10.0.0.1:1", ""), passes("10.0.0.1:1", "203.0.113.7"),
		}},
		{"a trusted proxy on the same host", []string{"127.0.0.1"}, []call{
			flood("127.0.0.1:1", "203.0.113.7"), limited("127.0.0.1:1", "203.0.113.7"), passes("127.0.0.1:1", ""),
		}},
		{"monitoring is exempt", nil, []call{
			flood("203.0.113.7:1", ""),
			{"203.0.113.7:1", "", "/healthz", 1, http.StatusOK},
			{"203.0.113.7:1", "", "/metrics", 2 * burst, http.StatusOK},
			limited("203.0.113.7:1", ""),
		}},
	}
	a := testLedger(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			trusted, err := ParseTrustedProxies(c.trusted)
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			h := New(Backend{Ledger: a, Chain: healthyChain{noChain{t}}, Gatherer: reg, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				RatePerIP: 0.01, RateBurstIP: burst, TrustedProxies: trusted})
			for i, call := range c.calls {
				for range call.n {
					r := httptest.NewRequest("GET", call.path, nil)
					r.RemoteAddr = call.from
					if call.xff != "" {
						r.Header.Set("X-Forwarded-For", call.xff)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != call.want {
						t.Fatalf("call %d (%s %q %s): HTTP %d, want %d: %s", i, call.from, call.xff, call.path, w.Code, call.want, w.Body)
					}
					if w.Code == http.StatusTooManyRequests {
						checkRateLimitedIP(t, w)
					}
				}
			}
		})
	}
}

func checkRateLimitedIP(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var p wire.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != "rate_limited_ip" {
		t.Fatalf("answer %s, want the problem rate_limited_ip (%v)", w.Body, err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want whole seconds, at least 1", w.Header().Get("Retry-After"))
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("the answer lacks the security headers")
	}
}

// TestIPLimitBeforeSignatures: a flood of requests with forged signatures
// from one address costs the node only its burst of signature checks; the
// rest are refused by the limit per address before any is checked.
func TestIPLimitBeforeSignatures(t *testing.T) {
	const burst, flood = 5, 50
	a := testLedger(t)
	reg := prometheus.NewRegistry()
	s := New(Backend{Ledger: a, Chain: noChain{t}, Gatherer: reg, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RatePerIP: 0.01, RateBurstIP: burst})
	// The metric the flood shows in, and the node's own view of it.
	refused := func(reason string) float64 {
		m, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if f.GetName() != "primum_api_refused_total" {
				continue
			}
			for _, c := range f.GetMetric() {
				if c.GetLabel()[0].GetValue() == reason {
					return c.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	limitedAnswers := 0
	for i := range flood {
		r := httptest.NewRequest("GET", "/api/v1/status", nil)
		r.RemoteAddr = "203.0.113.7:" + strconv.Itoa(1000+i)
		r.Header.Set("Signature-Input", `primum=("@method" "@authority" "@path" "@query");created=1;nonce="x";keyid="00";alg="ed25519"`)
		r.Header.Set("Signature", "primum=:AAAA:")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			checkRateLimitedIP(t, w)
			limitedAnswers++
		default:
			t.Fatalf("request %d: HTTP %d: %s", i, w.Code, w.Body)
		}
	}
	if got := refused("signature"); got != burst {
		t.Fatalf("%v signatures refused after checking, want %d (the burst)", got, burst)
	}
	if got := refused("rate_limited_ip"); got != flood-burst || limitedAnswers != flood-burst {
		t.Fatalf("%v (%d answers) refused by the limit per address, want %d", got, limitedAnswers, flood-burst)
	}
	// The same flood from loopback is checked request by request.
	for i := range flood {
		r := httptest.NewRequest("GET", "/api/v1/status", nil)
		r.RemoteAddr = "127.0.0.1:" + strconv.Itoa(1000+i)
		r.Header.Set("Signature-Input", `primum=("@method");keyid="00"`)
		r.Header.Set("Signature", "primum=:AAAA:")
		s.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := refused("signature"); got != burst+flood {
		t.Fatalf("%v signatures refused, want %d", got, burst+flood)
	}
}

// TestBatchPaysPerSignature: a batch of transactions from fresh keys passes
// the per-signer limit (each key is new), so its client address pays for
// every signature it would have the node check: past the address's burst
// the batch is refused whole (429 rate_limited_ip) before any check (noChain
// fails the test if anything reaches the mempool).
func TestBatchPaysPerSignature(t *testing.T) {
	const burst = 5
	a := testLedger(t)
	reg := prometheus.NewRegistry()
	s := New(Backend{Ledger: a, Chain: noChain{t}, Gatherer: reg, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RatePerIP: 0.01, RateBurstIP: burst, RatePerKey: 100, RateBurst: 100})
	var txs []string
	for range 50 {
		_, key, _ := ed25519.GenerateKey(nil)
		raw, err := envelope.Build("primum-api-test", key, 0, "identity.register_patient", struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, base64.StdEncoding.EncodeToString(raw))
	}
	body, _ := json.Marshal(wire.BatchRequest{Txs: txs})
	for _, c := range []struct {
		from string
		want int
	}{{"203.0.113.9:4000", http.StatusTooManyRequests}} {
		r := httptest.NewRequest("POST", "/api/v1/txs/batch", bytes.NewReader(body))
		r.RemoteAddr = c.from
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Fatalf("a batch of 50 fresh keys from %s: HTTP %d, want %d: %.200s", c.from, w.Code, c.want, w.Body)
		}
		if c.want == http.StatusTooManyRequests {
			checkRateLimitedIP(t, w)
		}
	}
}
