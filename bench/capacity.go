package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/envelope"
)

// capacityWorkload is the capacity part of the benchmark's mix: a
// hospital's sites reporting their status (beds, ventilators, oxygen), as
// a national picture has them report hourly. Its set-up (a region, the
// sites) is committed before the measured run and is not counted.
type capacityWorkload struct {
	stream [][]byte // the hospital's reports, in nonce order
}

// benchSites is how many sites the reports cycle over.
const benchSites = 50

func prepareCapacity(ctx context.Context, c *client.Client, chainID string, n int, progress func(string, ...any)) (*capacityWorkload, error) {
	progress("registering %d sites, %d status reports…", benchSites, n)
	hospital, regulator := benchKey("capacity-hospital", 0), benchKey("regulator", 0) // admitted by admitMembers
	nonces := map[string]uint64{}
	for _, k := range []ed25519.PrivateKey{hospital, regulator} {
		info, err := c.Self(ctx, k)
		if err != nil {
			return nil, err
		}
		nonces[string(k)] = info.Nonce
	}
	var last []byte
	build := func(key ed25519.PrivateKey, typ string, body any) ([]byte, error) {
		raw, err := envelope.Build(chainID, key, nonces[string(key)], typ, body)
		nonces[string(key)]++
		last = raw
		return raw, err
	}
	send := func(key ed25519.PrivateKey, typ string, body any) error {
		raw, err := build(key, typ, body)
		if err != nil {
			return err
		}
		return submitRetrying(ctx, c, raw)
	}
	if err := send(regulator, capacity.TypeRegion, capacity.RegionBody{Code: "BENCH", Name: "Bench Region"}); err != nil {
		return nil, err
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	for i := range benchSites {
		if err := send(hospital, capacity.TypeSite, capacity.SiteBody{ID: fmt.Sprintf("BENCH-S%03d", i), Name: "Bench site", Region: "BENCH",
			LatE6: 51_000_000 + int64(i)*10_000, LonE6: -100_000 - int64(i)*10_000, Services: []string{"icu", "oxygen"}}); err != nil {
			return nil, err
		}
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	w := &capacityWorkload{}
	for i := range n {
		inUse := int64(i % 20)
		raw, err := build(hospital, capacity.TypeReport, capacity.ReportBody{Site: fmt.Sprintf("BENCH-S%03d", i%benchSites), Items: []capacity.Item{
			{Type: "icu-bed", Total: 20, InUse: inUse, OutOfService: 0}, {Type: "general-bed", Total: 300, InUse: 200 + inUse},
			{Type: "ventilator", Total: 12, InUse: inUse % 12}}, Oxygen: &capacity.Oxygen{Litres: 500_000 - int64(i)*10, BurnLPH: 2_000}})
		if err != nil {
			return nil, err
		}
		w.stream = append(w.stream, raw)
	}
	return w, nil
}
