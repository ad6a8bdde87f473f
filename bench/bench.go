// Package bench is 'primum bench': it starts local networks of node
// processes (internal/localnet), drives them with signed transactions of a
// realistic mix and measures them: committed transactions per second after
// warm-up, submit-to-commit latency, CPU, resident memory and disk per
// transaction, against CometBFT's kvstore example on the same
// configuration. It only ever targets loopback addresses of networks it
// started, and is bounded in transaction count and time.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Load bounds the load of one target.
type Load struct {
	Warmup   time.Duration
	Duration time.Duration
	Clients  int // concurrent submitters of the unordered pool
	// Rate, if positive, bounds the load offered, in transactions per
	// second over all clients: latency then measures the network below
	// saturation instead of the length of its queue.
	Rate float64
	// Batch, if above 1, sends up to this many transactions in one request
	// (a signer's ordered stream: consecutive ones).
	Batch int
}

// Stream is a sequence of transactions. An ordered stream (one signer's
// nonces) is submitted by one client, in order, to one node.
type Stream struct {
	Txs     [][]byte
	Ordered bool
}

// Target is a network under load.
type Target struct {
	Name string
	// Submit sends transactions to endpoint i (modulo the node count) in
	// one request and answers for each: nil (accepted) or its refusal.
	Submit func(ctx context.Context, endpoint int, txs [][]byte) []error
	// Endpoints is the number of nodes that accept submissions.
	Endpoints int
	// RPC is CometBFT's RPC of one node, used to follow blocks.
	RPC string
	// PIDs are the node processes, sampled for CPU and memory.
	PIDs []int
	// DataDirs are measured for bytes on disk.
	DataDirs []string
	// Busy reports a refusal worth retrying (a full mempool, a rate limit).
	// An ordered stream retries those: skipping one would leave a nonce gap
	// that sinks the rest of the stream.
	Busy func(error) bool
	// Classify names a transaction's type for the committed mix (nil: none).
	Classify func(raw []byte) string
	// Caused, if set, tells the transactions the load did not submit but
	// made a node sign (a keeper's node indexing the readings a device
	// uploaded): committed and in the mix, without a latency.
	Caused func(raw []byte) bool
	// Alongside, if set, runs beside the streams until ctx ends: work of
	// the load that is not a signed transaction (a device uploading its
	// batch's readings to its keeper's node). It tells done of each piece
	// of work: the items it carried and how long it took.
	Alongside func(ctx context.Context, done func(items int, took time.Duration, err error))
}

// Uploads is what a target's Alongside work did in the measured window.
type Uploads struct {
	Done         int     `json:"done"`
	Items        int     `json:"items"` // readings uploaded
	PerSecond    float64 `json:"per_second"`
	ItemsPerSec  float64 `json:"items_per_second"`
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
}

// Point is one second of a run.
type Point struct {
	Second       int     `json:"second"`
	Committed    int     `json:"committed"`
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
}

// Result is what a run measured.
type Result struct {
	Target       string `json:"target"`
	Submitted    int64  `json:"submitted"`
	SubmitErrors int64  `json:"submit_errors"`
	FirstError   string `json:"first_error,omitempty"`
	Committed    int    `json:"committed"`
	// Failed counts transactions a block included but the application
	// refused (a non-zero result code); they are not counted as committed.
	Failed       int    `json:"failed"`
	FirstFailure string `json:"first_failure,omitempty"`
	// Mix counts the committed transactions of the measured window by type.
	Mix            map[string]int `json:"mix,omitempty"`
	CommittedTPS   float64        `json:"committed_tps"`
	LatencyP50Ms   float64        `json:"latency_p50_ms"`
	LatencyP95Ms   float64        `json:"latency_p95_ms"`
	LatencyP99Ms   float64        `json:"latency_p99_ms"`
	CPUPercent     float64        `json:"cpu_percent"` // all node processes, 100 = one core
	RSSMB          float64        `json:"rss_mb"`      // peak resident memory of the largest node
	DiskBytesPerTx float64        `json:"disk_bytes_per_tx"`
	Blocks         int            `json:"blocks"`
	// SlowRounds counts blocks that needed more than one consensus round
	// (a proposal that did not reach the others in time, or failed votes).
	SlowRounds int     `json:"slow_rounds"`
	Series     []Point `json:"series"`
	// Uploads is the target's Alongside work (absent: none).
	Uploads *Uploads `json:"uploads,omitempty"`
}

type committedTx struct {
	at      time.Time
	latency time.Duration
	kind    string
	height  int64
	index   int // in the block
	failed  bool
	caused  bool // not submitted: no latency
}

// Run loads the target with the streams for cfg.Warmup+cfg.Duration and
// measures the window after warm-up.
func Run(ctx context.Context, cfg Load, t Target, streams []Stream) (*Result, error) {
	res := &Result{Target: t.Name}
	diskBefore := diskUsage(t.DataDirs)
	startHeight, err := latestHeight(ctx, t.RPC)
	if err != nil {
		return nil, err
	}
	var submitted sync.Map // [32]byte -> time.Time
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	loadCtx, stopLoad := context.WithDeadline(ctx, end)
	defer stopLoad()

	// Follow blocks.
	var (
		mu         sync.Mutex
		seen       []committedTx
		blocks     int
		slowRounds int
	)
	followCtx, stopFollow := context.WithCancel(ctx)
	followDone := make(chan error, 1)
	go func() {
		followDone <- follow(followCtx, t.RPC, startHeight+1, func(at time.Time, height int64, txs [][]byte, lastRound int) {
			mu.Lock()
			defer mu.Unlock()
			blocks++
			if lastRound > 0 {
				slowRounds++
			}
			for i, tx := range txs {
				c := committedTx{at: at, height: height, index: i}
				if v, ok := submitted.Load(sha256.Sum256(tx)); ok {
					c.latency = at.Sub(v.(time.Time))
				} else if t.Caused != nil && t.Caused(tx) {
					c.caused = true
				} else {
					continue
				}
				if t.Classify != nil {
					c.kind = t.Classify(tx)
				}
				seen = append(seen, c)
			}
		})
	}()

	// Sample processes.
	sampler := newSampler(t.PIDs)
	sampleCtx, stopSample := context.WithCancel(ctx)
	go sampler.run(sampleCtx, measureFrom)

	// Work alongside, measured in the window after warm-up.
	var (
		upMu      sync.Mutex
		uploads   Uploads
		upLatency []time.Duration
	)
	alongsideDone := make(chan struct{})
	if t.Alongside != nil {
		go func() {
			defer close(alongsideDone)
			t.Alongside(loadCtx, func(items int, took time.Duration, err error) {
				now := time.Now()
				upMu.Lock()
				defer upMu.Unlock()
				if err != nil {
					uploads.Errors++
					if uploads.FirstError == "" {
						uploads.FirstError = err.Error()
					}
					return
				}
				if now.Before(measureFrom) || now.After(end) {
					return
				}
				uploads.Done++
				uploads.Items += items
				upLatency = append(upLatency, took)
			})
		}()
	} else {
		close(alongsideDone)
	}

	// Submit.
	var wg sync.WaitGroup
	var errOnce sync.Once
	// Clients honour back-pressure: an answer that means "busy" (the
	// target's Busy) is retried after 20 ms, the latency counting from the
	// first attempt.
	var limiter *rate.Limiter
	if cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/100)))
	}
	submit := func(endpoint int, txs [][]byte) {
		if limiter != nil {
			for range txs {
				if limiter.Wait(loadCtx) != nil {
					return
				}
			}
		}
		now := time.Now() // latency counts from the first attempt
		for _, raw := range txs {
			submitted.Store(sha256.Sum256(raw), now)
		}
		atomic.AddInt64(&res.Submitted, int64(len(txs)))
		for len(txs) > 0 {
			errs := t.Submit(loadCtx, endpoint, txs)
			if loadCtx.Err() != nil {
				return
			}
			retry := txs[:0:0]
			for i, err := range errs {
				switch {
				case err == nil:
				case t.Busy != nil && t.Busy(err):
					retry = append(retry, txs[i])
				default:
					atomic.AddInt64(&res.SubmitErrors, 1)
					submitted.Delete(sha256.Sum256(txs[i]))
					errOnce.Do(func() { res.FirstError = err.Error() })
				}
			}
			if txs = retry; len(txs) > 0 {
				select {
				case <-loadCtx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	batch := max(1, cfg.Batch)
	pool := make(chan []byte, 1024)
	var ordered int
	for _, s := range streams {
		if !s.Ordered {
			continue
		}
		wg.Add(1)
		endpoint := ordered % max(1, t.Endpoints)
		ordered++
		go func(s Stream) {
			defer wg.Done()
			for from := 0; from < len(s.Txs); from += batch {
				if loadCtx.Err() != nil {
					return
				}
				submit(endpoint, s.Txs[from:min(from+batch, len(s.Txs))])
			}
		}(s)
	}
	go func() {
		defer close(pool)
		for _, s := range streams {
			if s.Ordered {
				continue
			}
			for _, tx := range s.Txs {
				select {
				case pool <- tx:
				case <-loadCtx.Done():
					return
				}
			}
		}
	}()
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			txs := make([][]byte, 0, batch)
			for tx := range pool {
				// A batch: this transaction and those already waiting.
				txs = append(txs[:0], tx)
			gather:
				for len(txs) < batch {
					select {
					case more, ok := <-pool:
						if !ok {
							break gather
						}
						txs = append(txs, more)
					default:
						break gather
					}
				}
				if loadCtx.Err() != nil {
					return
				}
				submit(i%max(1, t.Endpoints), txs)
			}
		}(i)
	}
	wg.Wait()
	stopLoad()
	measuredEnd := time.Now()
	if measuredEnd.After(end) {
		measuredEnd = end
	}
	// Let the last submitted transactions commit.
	time.Sleep(3 * time.Second)
	stopFollow()
	stopSample()
	if err := <-followDone; err != nil && ctx.Err() == nil {
		return nil, err
	}
	// Only now, with the load stopped, read which transactions the
	// application refused: rendering a block's results is costly for the
	// node and would weigh on the run.
	if err := markFailed(ctx, t.RPC, seen, res); err != nil {
		return nil, err
	}

	mu.Lock()
	defer mu.Unlock()
	res.Blocks, res.SlowRounds = blocks, slowRounds
	var lat []time.Duration
	perSecond := map[int][]time.Duration{}
	inWindow := 0
	for _, c := range seen {
		if c.failed {
			continue
		}
		res.Committed++
		sec := int(c.at.Sub(start).Seconds())
		if !c.caused {
			perSecond[sec] = append(perSecond[sec], c.latency)
		}
		if !c.at.Before(measureFrom) && !c.at.After(measuredEnd) {
			inWindow++
			if !c.caused {
				lat = append(lat, c.latency)
			}
			if c.kind != "" {
				if res.Mix == nil {
					res.Mix = map[string]int{}
				}
				res.Mix[c.kind]++
			}
		}
	}
	window := measuredEnd.Sub(measureFrom).Seconds()
	if window > 0 {
		res.CommittedTPS = float64(inWindow) / window
	}
	<-alongsideDone
	if t.Alongside != nil {
		upMu.Lock()
		u := uploads
		if window > 0 {
			u.PerSecond, u.ItemsPerSec = float64(u.Done)/window, float64(u.Items)/window
		}
		u.LatencyP50Ms, u.LatencyP99Ms = pct(upLatency, 50), pct(upLatency, 99)
		upMu.Unlock()
		res.Uploads = &u
	}
	res.LatencyP50Ms, res.LatencyP95Ms, res.LatencyP99Ms = pct(lat, 50), pct(lat, 95), pct(lat, 99)
	secs := make([]int, 0, len(perSecond))
	for s := range perSecond {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	for _, s := range secs {
		res.Series = append(res.Series, Point{Second: s, Committed: len(perSecond[s]), LatencyP50Ms: pct(perSecond[s], 50), LatencyP99Ms: pct(perSecond[s], 99)})
	}
	res.CPUPercent, res.RSSMB = sampler.result()
	if res.Committed > 0 {
		res.DiskBytesPerTx = float64(diskUsage(t.DataDirs)-diskBefore) / float64(res.Committed)
	}
	return res, nil
}

func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return float64(s[i].Microseconds()) / 1000
}

var rpcClient = &http.Client{Timeout: 30 * time.Second}

func rpcGet(ctx context.Context, rpc, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", rpc+path, nil)
	if err != nil {
		return err
	}
	res, err := rpcClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(out)
}

func latestHeight(ctx context.Context, rpc string) (int64, error) {
	var st struct {
		Result struct {
			SyncInfo struct {
				LatestBlockHeight string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := rpcGet(ctx, rpc, "/status", &st); err != nil {
		return 0, fmt.Errorf("cannot read status from %s: %w", rpc, err)
	}
	var h int64
	_, err := fmt.Sscan(st.Result.SyncInfo.LatestBlockHeight, &h)
	return h, err
}

// markFailed reads the results of the blocks that hold seen transactions
// and marks those the application refused.
func markFailed(ctx context.Context, rpc string, seen []committedTx, res *Result) error {
	byHeight := map[int64][]int{}
	var heights []int64
	for i, c := range seen {
		if _, ok := byHeight[c.height]; !ok {
			heights = append(heights, c.height)
		}
		byHeight[c.height] = append(byHeight[c.height], i)
	}
	for _, h := range heights {
		var r struct {
			Result *struct {
				TxsResults []struct {
					Code uint32 `json:"code"`
					Log  string `json:"log"`
				} `json:"txs_results"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
				Data    string `json:"data"`
			} `json:"error"`
		}
		// A node behind the others may have the block but not yet its
		// results: wait for it to execute the block.
		deadline := time.Now().Add(time.Minute)
		for {
			r.Result, r.Error = nil, nil
			err := rpcGet(ctx, rpc, "/block_results?height="+url.QueryEscape(fmt.Sprint(h)), &r)
			if err == nil && r.Result != nil {
				break
			}
			if time.Now().After(deadline) {
				if err == nil && r.Error != nil {
					err = fmt.Errorf("%s %s", r.Error.Message, r.Error.Data)
				}
				return fmt.Errorf("cannot read the results of block %d: %v", h, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		for _, i := range byHeight[h] {
			c := &seen[i]
			if c.index >= len(r.Result.TxsResults) {
				return fmt.Errorf("block %d has %d results, fewer than its transactions", h, len(r.Result.TxsResults))
			}
			if tr := r.Result.TxsResults[c.index]; tr.Code != 0 {
				c.failed = true
				if res.Failed++; res.FirstFailure == "" {
					res.FirstFailure = tr.Log
				}
			}
		}
	}
	return nil
}

// follow reads every block from height h on, as it is committed, with the
// round in which the block before it was committed.
func follow(ctx context.Context, rpc string, h int64, fn func(at time.Time, height int64, txs [][]byte, lastRound int)) error {
	for ctx.Err() == nil {
		var b struct {
			Result *struct {
				Block struct {
					Data struct {
						Txs []string `json:"txs"`
					} `json:"data"`
					LastCommit struct {
						Round int `json:"round"`
					} `json:"last_commit"`
				} `json:"block"`
			} `json:"result"`
		}
		err := rpcGet(ctx, rpc, "/block?height="+url.QueryEscape(fmt.Sprint(h)), &b)
		if err != nil || b.Result == nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		at := time.Now()
		txs := make([][]byte, len(b.Result.Block.Data.Txs))
		for i, s := range b.Result.Block.Data.Txs {
			txs[i], _ = base64.StdEncoding.DecodeString(s) // keeps its index in the block even if unreadable
		}
		fn(at, h, txs, b.Result.Block.LastCommit.Round)
		h++
	}
	return nil
}
