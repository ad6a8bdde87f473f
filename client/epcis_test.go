package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/primum-health/primum/wire"
)

// TestCaptureHonoursRetryAfter: a capture the node rate-limits (429) is
// sent again, the same document with the same headers, once its
// Retry-After has passed; then the job is followed until it finishes.
func TestCaptureHonoursRetryAfter(t *testing.T) {
	var posts, polls atomic.Int32
	var firstAt, secondAt atomic.Int64 // unix nanoseconds
	doc := []byte(`{"type":"EPCISDocument"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/epcis/capture":
			body, _ := io.ReadAll(r.Body)
			if string(body) != string(doc) || r.Header.Get("Authorization") != "Bearer tok" ||
				r.Header.Get("GS1-Capture-Error-Behaviour") != CaptureProceed || r.Header.Get("Content-Type") != "application/ld+json" {
				t.Errorf("capture sent as %q with %v", body, r.Header)
			}
			if posts.Add(1) == 1 {
				firstAt.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			secondAt.Store(time.Now().UnixNano())
			w.Header().Set("Location", "/epcis/capture/job1")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == "GET" && r.URL.Path == "/epcis/capture/job1":
			job := wire.CaptureJob{CaptureID: "job1", Running: polls.Add(1) < 3, Events: 2, Accepted: 1,
				Errors: []wire.CaptureError{{EventIndex: 1, Code: "unknown_serial", Detail: "no such pack"}}}
			_ = json.NewEncoder(w).Encode(job)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	job, err := New(srv.URL).Capture(context.Background(), "tok", doc, CaptureProceed)
	if err != nil {
		t.Fatal(err)
	}
	if apart := time.Duration(secondAt.Load() - firstAt.Load()); posts.Load() != 2 || apart < time.Second {
		t.Fatalf("%d posts, the second %s after the first: want 2, at least 1 s apart", posts.Load(), apart)
	}
	if job.Running || polls.Load() != 3 || len(job.Errors) != 1 || job.Errors[0].Code != "unknown_serial" {
		t.Fatalf("job %+v after %d polls", job, polls.Load())
	}
}

// TestCaptureRefused: a capture the node refuses outright says so with its
// status and answer, without sending it again.
func TestCaptureRefused(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"epcis_unauthorized"}`)
	}))
	defer srv.Close()
	_, err := New(srv.URL).Capture(context.Background(), "bad", []byte(`{}`), CaptureProceed)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "epcis_unauthorized") || posts.Load() != 1 {
		t.Fatalf("refused capture: %v after %d posts", err, posts.Load())
	}
}

// TestCaptureInterrupted: a capture waiting out a Retry-After ends when its
// context does.
func TestCaptureInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := New(srv.URL).Capture(ctx, "tok", []byte(`{}`), CaptureProceed); err == nil || ctx.Err() == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("interrupted capture: %v after %s", err, time.Since(start))
	}
}
