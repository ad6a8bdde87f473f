package release

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/primum-health/primum/records"
)

func TestFetchURL(t *testing.T) {
	tests := []struct {
		endpoint, record, want string
	}{
		{"https://records.example", "obs-1", "https://records.example/api/v1/records/obs-1/fetch"},
		{"https://records.example/", "obs-1", "https://records.example/api/v1/records/obs-1/fetch"},
		{"https://records.example:8443/primum", "obs-1", "https://records.example:8443/primum/api/v1/records/obs-1/fetch"},
		{"http://127.0.0.1:26680", "obs.2", "http://127.0.0.1:26680/api/v1/records/obs.2/fetch"},
		// An id is one path segment whatever it holds.
		{"https://records.example", "a/../../admin?x=1#y", "https://records.example/api/v1/records/a%2F..%2F..%2Fadmin%3Fx=1%23y/fetch"},
	}
	for _, tt := range tests {
		got, err := FetchURL(tt.endpoint, tt.record)
		if err != nil || got != tt.want {
			t.Errorf("FetchURL(%q, %q) = %q, %v; want %q", tt.endpoint, tt.record, got, err, tt.want)
		}
	}
	for _, bad := range []struct{ endpoint, record, code string }{
		{"https://records.example?", "obs-1", "bad_custodian_endpoint"},
		{"https://records.example/x?y=", "obs-1", "bad_custodian_endpoint"},
		{"http://records.example", "obs-1", "bad_custodian_endpoint"},
		{"https://u:p@records.example", "obs-1", "bad_custodian_endpoint"},
		{"https://records.example", "..", "bad_record_id"},
		{"https://records.example", "", "bad_record_id"},
	} {
		_, err := FetchURL(bad.endpoint, bad.record)
		var r *Refusal
		if errors.As(err, &r) && r.Code == bad.code {
			continue
		}
		if errors.Is(err, records.ErrBadRecordID) && bad.code == "bad_record_id" {
			continue
		}
		t.Errorf("FetchURL(%q, %q): got %v, want %s", bad.endpoint, bad.record, err, bad.code)
	}
}

func testAsk() (ed25519.PrivateKey, Ask) {
	_, key, _ := ed25519.GenerateKey(nil)
	return key, Ask{ChainID: "test", Requester: "req", Record: "obs-1", Purpose: "treatment"}
}

// TestFetchDoesNotFollowRedirects: a custodian's node that answers with a
// redirect gets a refusal, and the place it points to is never asked.
func TestFetchDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		custodian := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/internal/metadata", status)
		}))
		key, ask := testAsk()
		// Even a client that follows redirects by default does not here.
		_, _, err := Fetch(context.Background(), &http.Client{Timeout: 5 * time.Second}, custodian.URL, key, ask, strings.Repeat("0", 64), time.Now())
		custodian.Close()
		var r *Refusal
		if !errors.As(err, &r) || r.Code != "custodian_redirect" || r.Status != status {
			t.Fatalf("HTTP %d: got %v, want a custodian_redirect refusal", status, err)
		}
		if strings.Contains(r.Error(), target.URL) {
			t.Fatalf("the refusal repeats where the redirect pointed: %v", r)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("a redirect was followed %d times", n)
	}
}

// TestFetchRefusesBadEndpoint: an endpoint the ledger should not have
// accepted (one published before the check existed) is never contacted.
func TestFetchRefusesBadEndpoint(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { asked.Add(1) }))
	defer srv.Close()
	key, ask := testAsk()
	// A '?' would turn the fetch path into a query string on this server.
	_, _, err := Fetch(context.Background(), srv.Client(), srv.URL+"/?", key, ask, strings.Repeat("0", 64), time.Now())
	var r *Refusal
	if !errors.As(err, &r) || r.Code != "bad_custodian_endpoint" || r.Status != http.StatusBadGateway {
		t.Fatalf("got %v, want a bad_custodian_endpoint refusal", err)
	}
	if asked.Load() != 0 {
		t.Fatal("the bad endpoint was contacted")
	}
}

// TestUnreachableSaysWhatNotWhere: a custodian's node that cannot be
// reached is reported by the kind of failure, never by its address (which
// may be a hospital's internal one); the node's log keeps the address.
func TestUnreachableSaysWhatNotWhere(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	addr := down.URL
	down.Close() // nothing listens there now
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(2 * time.Second) }))
	defer slow.Close()
	for _, c := range []struct {
		name, endpoint, want string
		timeout              time.Duration
	}{
		{"refused", addr, "refused the connection", 5 * time.Second},
		{"too slow", slow.URL, "did not answer in time", 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, ask := testAsk()
			_, _, err := Fetch(context.Background(), &http.Client{Timeout: c.timeout}, c.endpoint, key, ask, strings.Repeat("0", 64), time.Now())
			var u *Unreachable
			if !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an Unreachable that says %q", err, c.want)
			}
			host := strings.TrimPrefix(c.endpoint, "http://")
			if strings.Contains(err.Error(), host) || strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("the error names the address: %v", err)
			}
			if !strings.Contains(u.Detail(), host) {
				t.Fatalf("the log detail lost the address: %s", u.Detail())
			}
		})
	}
}
