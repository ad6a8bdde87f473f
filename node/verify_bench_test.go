package node_test

import (
	"context"
	"fmt"
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
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
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
				code := fmt.Sprintf("(01)%s(21)B%d-%d", testGTIN, (i/500)%(packs/500), i%500)
				t0 := time.Now()
				res, err := hc.Get(n.APIURL() + "/api/v1/verify?as=" + m["manufacturer"].id + "&code=" + url.QueryEscape(code))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = res.Body.Read(make([]byte, 1))
				res.Body.Close()
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "verifications/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
