package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyLimiter bounds how fast one signing key may submit transactions, so a
// flood from one key cannot crowd the mempool. It forgets everyone when it
// tracks too many keys (a key then simply starts with a full bucket).
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

var errRateLimited = newAPIError(8, "rate_limited", http.StatusTooManyRequests, "too many transactions from this key; slow down and retry after the Retry-After seconds")

func writeRateLimited(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, errRateLimited)
}
