package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/primum-health/primum/supply"
)

// BenchmarkVerifyHTTP measures the pharmacy scan end to end: GET
// /api/v1/verify over HTTP against a node holding 2,000 commissioned packs,
// from 16 concurrent scanners. Read path only: no consensus round.
//
// In the same run it drives, the same way, a ceiling: an HTTP server set up
// as the node's API server is (timeouts, header limit) whose handler only
// writes a fixed verdict of the same size as indented JSON, as the API
// writes every answer. The ratio is how close the scan comes to what HTTP
// and JSON alone cost on this machine (the goal: at least 0.7, with p99
// under 5 ms).
func BenchmarkVerifyHTTP(b *testing.B) {
	n, c, m := startSupplyNodeB(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Send(ctx, m["manufacturer"].key, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin"}, true); err != nil {
		b.Fatal(err)
	}
	const packs = 2000
	for lot := 0; lot < packs/500; lot++ {
		serials := make([]string, 500)
		for i := range serials {
			serials[i] = fmt.Sprintf("B%d-%d", lot, i)
		}
		if _, err := c.Send(ctx, m["manufacturer"].key, supply.TypeCommission, supply.Commission{GTIN: testGTIN, Lot: fmt.Sprint("L", lot), Expiry: "2030-01-01", Serials: serials}, true); err != nil {
			b.Fatal(err)
		}
	}
	scan := func(base string) func(i int) string {
		return func(i int) string {
			code := fmt.Sprintf("(01)%s(21)B%d-%d", testGTIN, (i/500)%(packs/500), i%500)
			return base + "/api/v1/verify?as=" + m["manufacturer"].id + "&code=" + url.QueryEscape(code)
		}
	}
	ceiling := fixedVerdictServer(b, scan(n.APIURL())(0))
	b.ResetTimer()
	rate, p50, p99 := driveScans(b, scan(n.APIURL()))
	ceilingRate, _, ceilingP99 := driveScans(b, scan(ceiling))
	b.StopTimer()
	b.ReportMetric(rate, "verifications/s")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(ceilingRate, "ceiling-verifications/s")
	b.ReportMetric(ceilingP99, "ceiling-p99-ms")
	b.ReportMetric(rate/ceilingRate, "ratio")
}

// fixedVerdictServer serves, at GET /api/v1/verify, the verdict the node
// gives for first (the same bytes every time), from a server configured as
// the node's API server; it answers the server's base URL.
func fixedVerdictServer(b *testing.B, first string) string {
	b.Helper()
	res, err := http.Get(first)
	if err != nil {
		b.Fatal(err)
	}
	var verdict supply.Verdict
	err = json.NewDecoder(res.Body).Decode(&verdict)
	res.Body.Close()
	if err != nil || verdict.Verdict == "" {
		b.Fatalf("no verdict to serve: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/verify", func(w http.ResponseWriter, r *http.Request) {
		_ = r.URL.Query() // the API parses the query too
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(&verdict)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// driveScans sends b.N scans (target(i) names the i-th) from 16 concurrent
// scanners over kept-alive connections, and answers scans a second and the
// p50 and p99 latencies in milliseconds.
func driveScans(b *testing.B, target func(i int) string) (rate, p50, p99 float64) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int, 1024)
	go func() {
		for i := 0; i < b.N; i++ {
			next <- i
		}
		close(next)
	}()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for i := range next {
				t0 := time.Now()
				res, err := hc.Get(target(i))
				if err != nil {
					b.Error(err)
					return
				}
				// Read the whole answer, as a scanner does (and so that
				// the connection is kept for the next scan).
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("HTTP %d", res.StatusCode)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return 0, 0, 0
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return float64(len(lat)) / elapsed.Seconds(), ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100])
}
