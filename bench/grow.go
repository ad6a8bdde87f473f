package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/supply"
)

// GrowthPoint is one sample of 'primum bench --grow'.
type GrowthPoint struct {
	Packs     int     `json:"packs"`
	Height    int64   `json:"height"`
	ElapsedS  float64 `json:"elapsed_s"`
	RSSMB     float64 `json:"rss_mb"`
	DiskBytes int64   `json:"disk_bytes"`
}

// GrowthReport is the answer of 'primum bench --grow N'.
type GrowthReport struct {
	Packs       int           `json:"packs"`
	PacksPerSec float64       `json:"packs_per_s"`
	Points      []GrowthPoint `json:"points"`
	IdleRSSMB   float64       `json:"idle_rss_mb"`
}

const growBatch = 1000 // serials per commissioning transaction

// Grow commissions n packs (in transactions of 1,000 serials) on a
// one-validator network of a manufacturer, waiting for each tenth to
// commit, and samples the node's resident memory: a state that grows must
// not grow memory with it. Of cfg it uses the network's settings (Exe,
// BlockCacheMB, BlockInterval) and Progress.
func Grow(ctx context.Context, cfg Config, n int) (_ *GrowthReport, err error) {
	progress := cfg.progress
	progress("starting a one-validator network (a manufacturer)…")
	net, err := startNetwork(ctx, cfg, "node", 1, "", "manufacturer")
	if err != nil {
		return nil, err
	}
	defer net.Finish(&err)
	ctx = net.Context()
	nd := net.Nodes[0]
	key, err := nd.OperatorKey()
	if err != nil {
		return nil, err
	}
	c := client.New(nd.API)
	const gtin = "09506000134352"
	if _, err := c.Send(ctx, key, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Growth test pack"}, true); err != nil {
		return nil, err
	}
	rep := &GrowthReport{Packs: n}
	start := time.Now()
	step := max(growBatch, n/10/growBatch*growBatch)
	nonce := uint64(1)
	for done := 0; done < n; {
		var last []byte
		for target := min(n, done+step); done < target; done += growBatch {
			serials := make([]string, min(growBatch, target-done))
			for i := range serials {
				serials[i] = fmt.Sprintf("G%09d", done+i)
			}
			raw, err := envelope.Build(chainID, key, nonce, supply.TypeCommission, supply.Commission{GTIN: gtin,
				Lot: fmt.Sprintf("L%d", done/step), Expiry: "2030-12-31", Serials: serials})
			if err != nil {
				return nil, err
			}
			if err := submitRetrying(ctx, c, raw); err != nil {
				return nil, err
			}
			nonce++
			last = raw
		}
		if err := waitCommitted(ctx, c, last); err != nil {
			return nil, err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		p := GrowthPoint{Packs: done, Height: st.Height, ElapsedS: time.Since(start).Seconds(), RSSMB: RSSMB(nd.PID()),
			DiskBytes: DiskUsage(net.DataDirs())}
		rep.Points = append(rep.Points, p)
		progress("%d packs committed, RSS %.0f MB", p.Packs, p.RSSMB)
	}
	rep.PacksPerSec = float64(n) / time.Since(start).Seconds()
	progress("idle for 30 s…")
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
	}
	rep.IdleRSSMB = RSSMB(nd.PID())
	return rep, nil
}

// Print writes the growth report as text.
func (rep *GrowthReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKS\tHEIGHT\tSECONDS\tRSS MB\tDISK MB")
	for _, p := range rep.Points {
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.0f\n", p.Packs, p.Height, p.ElapsedS, p.RSSMB, float64(p.DiskBytes)/(1<<20))
	}
	tw.Flush()
	fmt.Fprintf(w, "%.0f packs/s; idle after 30 s: RSS %.0f MB\n", rep.PacksPerSec, rep.IdleRSSMB)
}

// submitRetrying submits a transaction, waiting while the mempool is full
// or the key is over its rate.
func submitRetrying(ctx context.Context, c *client.Client, raw []byte) error {
	for {
		_, err := c.Submit(ctx, raw, false)
		if err == nil {
			return nil
		}
		var p *client.Problem
		if !errors.As(err, &p) || (p.Code != "mempool_full" && p.Code != "rate_limited") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
