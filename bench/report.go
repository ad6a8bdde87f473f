package bench

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the JSON of 'primum bench --json' (field names are part of
// the outside contract).
type Report struct {
	Validators     int            `json:"validators"`
	DurationS      float64        `json:"duration_s"`
	WarmupS        float64        `json:"warmup_s"`
	Clients        int            `json:"clients"`
	Batch          int            `json:"batch"`             // transactions per request (--batch)
	Rate           float64        `json:"rate,omitempty"`    // offered tx/s (--rate; absent: unbounded)
	BlockInterval  float64        `json:"block_interval_ms"` // every node's timeout_commit (--block-interval)
	CommittedTPS   float64        `json:"committed_tps"`
	KVStoreTPS     float64        `json:"kvstore_tps"`
	Ratio          float64        `json:"ratio"`
	LatencyP50Ms   float64        `json:"latency_p50_ms"`
	LatencyP95Ms   float64        `json:"latency_p95_ms"`
	LatencyP99Ms   float64        `json:"latency_p99_ms"`
	RSSMB          float64        `json:"rss_mb"`
	CPUPercent     float64        `json:"cpu_percent"`
	DiskBytesPerTx float64        `json:"disk_bytes_per_tx"`
	Mix            map[string]int `json:"mix"` // committed transactions of the measured window, by type
	Machine        string         `json:"machine"`
	Primum         *Result        `json:"primum"`
	KVStore        *Result        `json:"kvstore,omitempty"`
}

// Print writes the report as text.
func (r *Report) Print(w io.Writer) {
	offered := "as fast as accepted"
	if r.Rate > 0 {
		offered = fmt.Sprintf("offering %.0f tx/s", r.Rate)
	}
	perRequest := "one transaction a request"
	if r.Batch > 1 {
		perRequest = fmt.Sprintf("up to %d transactions a request", r.Batch)
	}
	fmt.Fprintf(w, "primum bench: %d validator(s), %s measured after %s warm-up, %d clients %s, %s, block interval %s (%s)\n\n", r.Validators,
		time.Duration(r.DurationS*float64(time.Second)), time.Duration(r.WarmupS*float64(time.Second)), r.Clients, offered, perRequest,
		time.Duration(r.BlockInterval*float64(time.Millisecond)), r.Machine)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tcommitted tx/s\tp50 ms\tp95 ms\tp99 ms\tCPU %\tRSS MB\tdisk B/tx\tsubmit errors\t")
	for _, res := range []*Result{r.Primum, r.KVStore} {
		if res == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n", res.Target, res.CommittedTPS, res.LatencyP50Ms,
			res.LatencyP95Ms, res.LatencyP99Ms, res.CPUPercent, res.RSSMB, res.DiskBytesPerTx, res.SubmitErrors)
	}
	tw.Flush()
	if r.KVStore != nil {
		fmt.Fprintf(w, "\nratio primum/kvstore: %.2f\n", r.Ratio)
	}
	for _, res := range []*Result{r.Primum, r.KVStore} {
		if res != nil {
			fmt.Fprintf(w, "%s: %d blocks, %d needed more than one round\n", res.Target, res.Blocks, res.SlowRounds)
		}
	}
	fmt.Fprintf(w, "committed mix (measured window): %s\n", mixShares(r.Mix))
	if n := r.Mix["devices.batch"]; n > 0 && r.DurationS > 0 {
		fmt.Fprintf(w, "device batches: %.1f/s, representing %.0f readings/s (%d readings a batch)\n", float64(n)/r.DurationS, float64(n*ReadingsPerBatch)/r.DurationS, ReadingsPerBatch)
	}
	if u := r.Primum.Uploads; u != nil {
		fmt.Fprintf(w, "wearable uploads to the keeper's node: %.1f/s, %.0f readings/s kept as records (p50 %.0f ms, p99 %.0f ms, each indexed by the keeper's node: records.register and devices.kept in the mix)\n",
			u.PerSecond, u.ItemsPerSec, u.LatencyP50Ms, u.LatencyP99Ms)
		if u.Errors > 0 {
			fmt.Fprintf(w, "%d uploads failed; the first: %s\n", u.Errors, u.FirstError)
		}
	}
	if r.Primum.FirstError != "" {
		fmt.Fprintf(w, "first submit error: %s\n", r.Primum.FirstError)
	}
	if r.Primum.Failed > 0 {
		fmt.Fprintf(w, "%d transactions refused in a block; the first: %s\n", r.Primum.Failed, r.Primum.FirstFailure)
	}
}

// mixShares renders a committed mix as each type's share, largest first.
func mixShares(mix map[string]int) string {
	total := 0
	types := make([]string, 0, len(mix))
	for t, n := range mix {
		total += n
		types = append(types, t)
	}
	if total == 0 {
		return "none"
	}
	sort.Slice(types, func(i, j int) bool {
		if mix[types[i]] != mix[types[j]] {
			return mix[types[i]] > mix[types[j]]
		}
		return types[i] < types[j]
	})
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s %.1f %% (%d)", t, 100*float64(mix[t])/float64(total), mix[t])
	}
	return strings.Join(parts, ", ")
}

// WriteChart draws the report's targets' throughput and latency over time
// into an SVG file at path.
func (r *Report) WriteChart(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	results := []*Result{r.Primum}
	if r.KVStore != nil {
		results = append(results, r.KVStore)
	}
	if err := WriteSVG(f, results...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
