package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyLimiter bounds how fast one key (a signing key, a client's address)
// may go, so a flood from one key cannot crowd the mempool or the node.
// It forgets everyone when it tracks too many keys (a key then simply
// starts with a full bucket).
type keyLimiter struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	keys  map[string]*rate.Limiter
}

const maxTrackedKeys = 100_000

func newKeyLimiter(perSecond float64, burst int) *keyLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &keyLimiter{rate: rate.Limit(perSecond), burst: burst, keys: map[string]*rate.Limiter{}}
}

// allow reports whether key may submit now, and otherwise how long to wait.
func (k *keyLimiter) allow(key string) (bool, time.Duration) { return k.allowN(key, 1) }

// allowN is allow for n transactions at once (an EPCIS capture of n
// events). n is counted as at most the burst, so that a node configured
// with a small burst still takes a large capture, at the rate.
func (k *keyLimiter) allowN(key string, n int) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	k.mu.Lock()
	l, ok := k.keys[key]
	if !ok {
		if len(k.keys) >= maxTrackedKeys {
			clear(k.keys)
		}
		l = rate.NewLimiter(k.rate, k.burst)
		k.keys[key] = l
	}
	k.mu.Unlock()
	r := l.ReserveN(time.Now(), min(n, k.burst))
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}

var (
	errRateLimited   = newAPIError(8, "rate_limited", http.StatusTooManyRequests, "too many transactions from this key; slow down and retry after the Retry-After seconds")
	errRateLimitedIP = newAPIError(50, "rate_limited_ip", http.StatusTooManyRequests, "too many requests from this address; slow down and retry after the Retry-After seconds")
)

func writeRateLimited(w http.ResponseWriter, wait time.Duration) {
	writeRetryLater(w, errRateLimited, wait)
}

// writeRetryLater answers err with Retry-After in whole seconds, at least
// one (a client that retries at once would only be refused again).
func writeRetryLater(w http.ResponseWriter, err error, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, err)
}

// limitPerIP bounds how fast one client address may call the API, before
// anything else is done for it (its body read, its signature checked), so
// that a flood of reads, forged signatures or fresh keys from one address
// costs the node little. Loopback callers are the machine's own (its
// tools, the demo, the benchmark, a reverse proxy on the same host) and are
// not limited; nor are /healthz and /metrics, which monitoring polls.
func (s *server) limitPerIP(h http.Handler) http.Handler {
	if s.ipLimiter == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			h.ServeHTTP(w, r)
			return
		}
		addr, ok := clientAddr(r, s.TrustedProxies)
		// No address: not a network caller (a Unix socket, a test).
		if !ok || addr.IsLoopback() {
			h.ServeHTTP(w, r)
			return
		}
		if ok, wait := s.ipLimiter.allow(limitKey(addr)); !ok {
			s.metrics.refusedIP()
			writeRetryLater(w, errRateLimitedIP, wait)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// chargeIP charges r's client address for n more requests (a batch's
// transactions beyond the request itself: each costs a signature check),
// as limitPerIP would; loopback callers are not charged.
func (s *server) chargeIP(r *http.Request, n int) (bool, time.Duration) {
	if s.ipLimiter == nil || n <= 0 {
		return true, 0
	}
	addr, ok := clientAddr(r, s.TrustedProxies)
	if !ok || addr.IsLoopback() {
		return true, 0
	}
	return s.ipLimiter.allowN(limitKey(addr), n)
}

// limitKey is the bucket addr counts against: an IPv4 address, or an IPv6
// address's /64, since one host or site is given a whole /64 and may take
// any address in it.
func limitKey(addr netip.Addr) string {
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// clientAddr is the address r came from: its peer's, or, when the peer is
// a trusted proxy, the right-most address in X-Forwarded-For that is not
// itself a trusted proxy. Each proxy appends the address it was called
// from, so the addresses left of the first untrusted one were written by
// the client and are ignored, and a peer that is not trusted cannot name
// another client at all. An address that does not parse stops the walk at
// the proxy that passed it on.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !isTrusted(peer, trusted) {
		return peer, true
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		addr, ok := parseAddr(hop)
		if !ok {
			return client, true
		}
		client = addr
		if !isTrusted(addr, trusted) {
			return addr, true
		}
	}
	// Every hop is a trusted proxy: the farthest is the client.
	return client, true
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseAddr reads an address as RemoteAddr or X-Forwarded-For give it,
// with or without a port or brackets; an IPv4 address mapped into IPv6 is
// the IPv4 address, and a zone is dropped.
func parseAddr(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone(""), true
}

// ParseTrustedProxies reads trusted_proxies (config/primum.json): IP
// addresses and CIDR ranges.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", s)
			}
		} else {
			addr, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an IP address or CIDR range", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		// Addresses are compared unmapped (parseAddr).
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
