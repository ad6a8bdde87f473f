package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/cobra"

	"github.com/primum-health/primum/bench"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/wire"
)

// BenchReport is the JSON of 'primum bench --json' (field names are part of
// the outside contract).
type BenchReport struct {
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
	Primum         *bench.Result  `json:"primum"`
	KVStore        *bench.Result  `json:"kvstore,omitempty"`
}

func newBenchCmd(g *globals) *cobra.Command {
	var (
		validators int
		duration   time.Duration
		warmup     time.Duration
		clients    int
		offered    float64
		asJSON     bool
		chart      string
		skipKV     bool
		maxTxs     int
		cpuProfile string
		grow       int
		batch      int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure committed throughput and latency against CometBFT's kvstore ceiling",
		Long: `Starts a local network itself (--validators 1 by default; N validators as N processes),
submits signed transactions of a realistic mix (patient self-registrations, practitioner
credentialing and device registrations by the member organisations, patients' consent
grants, a hospital's access entries for practitioners' record requests, each carrying the
practitioner's signed request, and EPCIS supply-chain events: a manufacturer commissioning
and shipping packs, natively and as EPCIS captures, the hospital receiving them and its
pharmacists dispensing them) from concurrent clients through the REST API, and measures
committed transactions per second after a warm-up, submit-to-commit latency
(p50/p95/p99), CPU, resident memory and bytes on disk per committed transaction. Then, in
the same run, it measures CometBFT's own kvstore example application on the same
configuration, driven by the same load generator with transactions of the same size, and
prints both and their ratio.

Load goes only to the loopback networks it starts, and is bounded by --max-txs and time.`,
		Example: `  primum bench
  primum bench --validators 4 --duration 30s --json
  primum bench --chart bench.svg
  primum bench --grow 1000000          # memory as the state grows to a million packs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if validators < 1 || validators > 16 {
				return fmt.Errorf("--validators must be 1-16")
			}
			if duration <= 0 || warmup < 0 || clients < 1 || maxTxs < 1000 {
				return fmt.Errorf("--duration and --clients must be positive, --max-txs at least 1000")
			}
			if batch < 1 || batch > wire.MaxBatchTxs {
				return fmt.Errorf("--batch must be 1-%d", wire.MaxBatchTxs)
			}
			if offered < 0 {
				return fmt.Errorf("--rate must not be negative")
			}
			if benchBlockInterval <= 0 || benchBlockInterval > time.Minute {
				return fmt.Errorf("--block-interval must be positive and at most 1m, e.g. 700ms")
			}
			cfg := bench.Config{Warmup: warmup, Duration: duration, Clients: clients, Rate: offered, Batch: batch}
			progress := func(format string, args ...any) {
				fmt.Fprintf(os.Stderr, format+"\n", args...)
			}
			if grow > 0 {
				return benchGrowth(cmd.Context(), cmd.OutOrStdout(), grow, asJSON, progress)
			}
			rep := &BenchReport{Validators: validators, DurationS: duration.Seconds(), WarmupS: warmup.Seconds(), Clients: clients, Batch: batch, Rate: offered,
				BlockInterval: float64(benchBlockInterval) / float64(time.Millisecond),
				Machine:       fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())}
			budget := min(maxTxs, int(15000*(warmup+duration).Seconds()))
			var err error
			var avgSize int
			rep.Primum, avgSize, err = benchPrimum(cmd.Context(), cfg, validators, budget, cpuProfile, progress)
			if err != nil {
				return err
			}
			rep.Mix = rep.Primum.Mix
			if !skipKV {
				if rep.KVStore, err = benchKVStore(cmd.Context(), cfg, validators, budget, avgSize, progress); err != nil {
					return err
				}
				rep.KVStoreTPS = rep.KVStore.CommittedTPS
				if rep.KVStoreTPS > 0 {
					rep.Ratio = rep.Primum.CommittedTPS / rep.KVStoreTPS
				}
			}
			p := rep.Primum
			rep.CommittedTPS, rep.LatencyP50Ms, rep.LatencyP95Ms, rep.LatencyP99Ms = p.CommittedTPS, p.LatencyP50Ms, p.LatencyP95Ms, p.LatencyP99Ms
			rep.RSSMB, rep.CPUPercent, rep.DiskBytesPerTx = p.RSSMB, p.CPUPercent, p.DiskBytesPerTx
			if chart != "" {
				f, err := os.Create(chart)
				if err != nil {
					return err
				}
				results := []*bench.Result{rep.Primum}
				if rep.KVStore != nil {
					results = append(results, rep.KVStore)
				}
				if err := bench.WriteSVG(f, results...); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printBench(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&validators, "validators", 1, "validators, each its own process")
	f.DurationVar(&duration, "duration", 20*time.Second, "measured time after warm-up")
	f.DurationVar(&warmup, "warmup", 5*time.Second, "warm-up before measuring")
	f.IntVar(&clients, "clients", 64, "concurrent submitting clients")
	f.IntVar(&batch, "batch", 1, "transactions per request, both targets (Primum's POST /api/v1/txs/batch, a JSON-RPC batch for kvstore)")
	f.Float64Var(&offered, "rate", 0, "offer at most this many transactions per second in all (0: as many as the network accepts); latency below saturation")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&chart, "chart", "", "write throughput and latency over time to this SVG file")
	f.BoolVar(&skipKV, "skip-kvstore", false, "do not measure the kvstore ceiling")
	f.IntVar(&maxTxs, "max-txs", 400000, "upper bound on transactions generated per target")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of Primum's first node during the measured window to this file")
	f.IntVar(&benchBlockCacheMB, "block-cache-mb", 0, "Pebble block cache of each Primum node in MB (0: the default, 256)")
	f.DurationVar(&benchBlockInterval, "block-interval", node.DefaultBlockInterval, "CometBFT's timeout_commit on every node of both targets; longer makes fewer, larger blocks")
	f.IntVar(&grow, "grow", 0, "instead: commission this many packs on one validator and report its resident memory as the state grows (e.g. 1000000)")
	return cmd
}

func printBench(w io.Writer, r *BenchReport) {
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
	for _, res := range []*bench.Result{r.Primum, r.KVStore} {
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
	for _, res := range []*bench.Result{r.Primum, r.KVStore} {
		if res != nil {
			fmt.Fprintf(w, "%s: %d blocks, %d needed more than one round\n", res.Target, res.Blocks, res.SlowRounds)
		}
	}
	fmt.Fprintf(w, "committed mix (measured window): %s\n", mixShares(r.Mix))
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

// network is a set of node processes started by the benchmark.
type network struct {
	dir    string
	procs  []*exec.Cmd
	exited []chan struct{} // closed when procs[i] has exited
	nodes  []node.TestnetNode
	// ctx ends, with a *nodeExited cause, if a node exits before the
	// network is stopped: a run on it stops at once instead of waiting out
	// its load against a dead node.
	ctx      context.Context
	cancel   context.CancelCauseFunc
	stopping atomic.Bool
}

// nodeExited says which node of a network exited while the run needed it.
type nodeExited struct {
	node  int
	state string
}

func (e *nodeExited) Error() string {
	return fmt.Sprintf("node %d exited during the run (%s)", e.node, e.state)
}

// watch waits for the i-th process, c, to exit, closes exited and, unless
// the network is being stopped, ends the network's context.
func (n *network) watch(i int, c *exec.Cmd, exited chan struct{}) {
	err := c.Wait()
	close(exited)
	if n.stopping.Load() {
		return
	}
	state := "exit status 0"
	if err != nil {
		state = err.Error()
	}
	n.cancel(&nodeExited{node: i, state: state})
}

// benchBlockCacheMB, when set, sizes the Primum nodes' state block cache
// (--block-cache-mb).
var benchBlockCacheMB int

// benchBlockInterval, when set and not the default, is every node's
// timeout_commit, for Primum's and the kvstore's networks alike
// (--block-interval).
var benchBlockInterval time.Duration

func startNetwork(ctx context.Context, sub string, n int, pprofAddr string, orgTypes ...string) (_ *network, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "primum-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil { // after shutting down what started; a node's log is in err
			os.RemoveAll(dir)
		}
	}()
	ports, err := node.FreePorts(n)
	if err != nil {
		return nil, err
	}
	nodes, err := node.WriteTestnet(dir, "primum-bench", ports, orgTypes...)
	if err != nil {
		return nil, err
	}
	net := &network{dir: dir, nodes: nodes}
	if benchBlockCacheMB > 0 {
		for _, nd := range nodes {
			st, err := node.LoadSettings(nd.Home)
			if err != nil {
				return nil, err
			}
			st.StateBlockCacheMB = benchBlockCacheMB
			if err := node.SaveSettings(nd.Home, st); err != nil {
				return nil, err
			}
		}
	}
	for _, nd := range nodes {
		cfg, err := node.CometConfig(nd.Home)
		if err != nil {
			return nil, err
		}
		if benchBlockInterval > 0 {
			cfg.Consensus.TimeoutCommit = benchBlockInterval
		}
		// The kvstore's clients send --batch transactions as one JSON-RPC
		// batch (CometBFT's default allows 10).
		cfg.RPC.MaxRequestBatchSize = wire.MaxBatchTxs
		cmtcfg.WriteConfigFile(filepath.Join(nd.Home, "config", "config.toml"), cfg)
	}
	net.ctx, net.cancel = context.WithCancelCause(ctx) // ended by net.shutdown
	for i, nd := range nodes {
		args := []string{sub, "--home", nd.Home, "--log-level", "error"}
		if i == 0 && pprofAddr != "" {
			args = append(args, "--pprof-addr", pprofAddr)
		}
		// A node's errors go to its log beside its home (CometBFT reports
		// its peers' departures as errors when the network stops); the log
		// is shown if the node does not start.
		logFile, err := os.Create(nodeLog(dir, i))
		if err != nil {
			net.shutdown()
			return nil, err
		}
		c := exec.Command(exe, args...)
		c.Stderr = logFile
		err = c.Start()
		logFile.Close()
		if err != nil {
			net.shutdown()
			return nil, err
		}
		exited := make(chan struct{})
		net.procs, net.exited = append(net.procs, c), append(net.exited, exited)
		go net.watch(i, c, exited)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i, nd := range nodes {
		if err := waitRPC(wctx, rpcURL(nd)); err != nil {
			log, _ := os.ReadFile(nodeLog(dir, i))
			net.shutdown()
			return nil, fmt.Errorf("node %s did not start: %w\n%s", nd.Home, err, log[max(0, len(log)-4096):])
		}
	}
	return net, nil
}

// nodeLog is where the i-th node of a network in dir writes its errors.
func nodeLog(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("node%d.log", i)) }

func rpcURL(nd node.TestnetNode) string { return fmt.Sprintf("http://127.0.0.1:%d", nd.Ports.RPC) }
func apiURL(nd node.TestnetNode) string { return fmt.Sprintf("http://127.0.0.1:%d", nd.Ports.API) }

func waitRPC(ctx context.Context, rpc string) error {
	for {
		var st struct {
			Result struct {
				SyncInfo struct {
					LatestBlockHeight string `json:"latest_block_height"`
				} `json:"sync_info"`
			} `json:"result"`
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", rpc+"/status", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
			if h := st.Result.SyncInfo.LatestBlockHeight; h != "" && h != "0" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *network) pids() []int {
	var out []int
	for _, p := range n.procs {
		out = append(out, p.Process.Pid)
	}
	return out
}

func (n *network) dataDirs() []string {
	var out []string
	for _, nd := range n.nodes {
		out = append(out, filepath.Join(nd.Home, "data"))
	}
	return out
}

func (n *network) stop() {
	n.shutdown()
	os.RemoveAll(n.dir)
}

// finish stops the network. After a failure (not an interruption) it keeps
// the network's folder, whose node logs tell what went wrong, and says
// where.
func (n *network) finish(err *error) {
	// A node that died fails the run, whatever it measured after; what
	// failed after it is its consequence. The run can fail first (its
	// connections refused) and the node's exit be noticed a moment later.
	if n.ctx != nil && *err != nil && !errors.Is(*err, context.Canceled) {
		select {
		case <-n.ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	var lost *nodeExited
	if n.ctx != nil && errors.As(context.Cause(n.ctx), &lost) {
		*err = lost
	}
	if *err == nil || errors.Is(*err, context.Canceled) {
		n.stop()
		return
	}
	n.shutdown()
	*err = fmt.Errorf("%w (the network's folder is kept, each node's log in it: %s)", *err, n.dir)
}

func (n *network) shutdown() {
	n.stopping.Store(true)
	for _, p := range n.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for i, p := range n.procs {
		select {
		case <-n.exited[i]:
		case <-time.After(20 * time.Second):
			_ = p.Process.Kill()
			<-n.exited[i]
		}
	}
	if n.cancel != nil {
		n.cancel(context.Canceled)
	}
}

var benchHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}

// benchKey derives the i-th load key quickly and reproducibly.
func benchKey(run string, i int) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("primum bench "+run), uint64(i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

func benchPrimum(ctx context.Context, cfg bench.Config, validators, budget int, cpuProfile string, progress func(string, ...any)) (_ *bench.Result, _ int, err error) {
	progress("starting %d Primum validator(s)…", validators)
	var pprofAddr string
	if cpuProfile != "" {
		p, err := node.FreePorts(1)
		if err != nil {
			return nil, 0, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", p[0].API)
	}
	net, err := startNetwork(ctx, "node", validators, pprofAddr)
	if err != nil {
		return nil, 0, err
	}
	defer net.finish(&err)
	ctx = net.ctx
	chainID := "primum-bench"
	members := make([]ed25519.PrivateKey, len(net.nodes))
	for i, nd := range net.nodes {
		if members[i], err = nd.Operator.Open(""); err != nil {
			return nil, 0, err
		}
	}
	c := client.New(apiURL(net.nodes[0]))
	// The supply chain: a manufacturer commissions and ships packs; the
	// first member (a hospital) receives packs and its pharmacists dispense
	// them.
	sw, err := prepareSupply(ctx, c, chainID, members, max(10, budget/160), progress)
	if err != nil {
		return nil, 0, fmt.Errorf("supply set-up: %w", err)
	}
	// Health records: the hospital holds a record for each of a set of
	// patients; in the run, patients grant consents and the hospital logs
	// practitioners' access requests.
	rw, err := prepareRecords(ctx, c, chainID, members[0], max(100, budget/10), progress)
	if err != nil {
		return nil, 0, fmt.Errorf("records set-up: %w", err)
	}
	// Ordered streams: each member organisation credentials practitioners
	// (care organisations) and registers devices, in nonce order; the
	// hospital also logs the access entries and receives packs (a receipt
	// after every fourth access entry); the manufacturer and each
	// pharmacist have a stream of their own.
	perOrg := budget / 20 / len(net.nodes)
	var streams []bench.Stream
	total, size := 0, 0
	add := func(s *bench.Stream, raw []byte) {
		s.Txs = append(s.Txs, raw)
		total, size = total+1, size+len(raw)
	}
	for oi, nd := range net.nodes {
		key := members[oi]
		s := bench.Stream{Ordered: true}
		// The set-up is committed: each member's next nonce is on the ledger.
		info, err := c.Key(ctx, key.Public().(ed25519.PublicKey))
		if err != nil || info.Identity == nil {
			return nil, 0, fmt.Errorf("member %d's identity: %v", oi, err)
		}
		nonce := info.Nonce
		sign := func(typ string, body any) error {
			raw, err := envelope.Build(chainID, key, nonce, typ, body)
			if err != nil {
				return err
			}
			nonce++
			add(&s, raw)
			return nil
		}
		care := nd.Operator.Name != "" && (oi%10 < 3 || oi%10 >= 7) // hospital, hospital, pharmacy, clinic, lab, research
		for i, ops := 0, 0; i < perOrg || (oi == 0 && (i < len(rw.access) || ops < len(sw.receipts))); i++ {
			if oi == 0 && i < len(rw.access) {
				if err := sign(records.TypeAccess, rw.access[i]); err != nil {
					return nil, 0, err
				}
			}
			if oi == 0 && ops < len(sw.receipts) && (i%4 == 3 || i >= len(rw.access)) {
				if err := sign(sw.receipts[ops].typ, sw.receipts[ops].body); err != nil {
					return nil, 0, err
				}
				ops++
			}
			if i >= perOrg {
				continue
			}
			otherKey := benchKey(fmt.Sprintf("org%d", oi), i)
			other := hex.EncodeToString(otherKey.Public().(ed25519.PublicKey))
			var err error
			if care && i%2 == 0 {
				err = sign(identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: other,
					Proof:   identity.ProvePossession(otherKey, chainID, identity.ProofPractitioner, info.Identity.ID),
					Licence: fmt.Sprintf("MD-%d-%d", oi, i), Profession: "doctor", Specialty: "general practice", ValidUntil: "2099-01-01T00:00:00Z"})
			} else {
				err = sign(identity.TypeRegisterDevice, identity.RegisterDevice{Key: other, DeviceType: "infusion-pump",
					Proof: identity.ProvePossession(otherKey, chainID, identity.ProofDevice, info.Identity.ID)})
			}
			if err != nil {
				return nil, 0, err
			}
		}
		streams = append(streams, s)
	}
	for _, txs := range append([][][]byte{sw.maker}, sw.pharmacists...) {
		s := bench.Stream{Ordered: true}
		for _, raw := range txs {
			add(&s, raw)
		}
		streams = append(streams, s)
	}
	for _, g := range rw.grants {
		total, size = total+1, size+len(g)
	}
	// The unordered pool: patients registering themselves, with the
	// consent grants spread evenly among them.
	nPatients := max(0, budget-total)
	progress("signing %d transactions…", nPatients+total)
	patients := make([][]byte, nPatients)
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < nPatients; i += workers {
				patients[i], _ = envelope.Build(chainID, benchKey("patient", i), 0, identity.TypeRegisterPatient, struct{}{})
			}
		}(w)
	}
	wg.Wait()
	pool := bench.Stream{Txs: make([][]byte, 0, nPatients+len(rw.grants))}
	for i, g := 0, 0; i < nPatients || g < len(rw.grants); {
		if g < len(rw.grants) && (i >= nPatients || g*(nPatients+len(rw.grants)) <= len(rw.grants)*(i+g)) {
			pool.Txs = append(pool.Txs, rw.grants[g])
			g++
			continue
		}
		size += len(patients[i])
		pool.Txs = append(pool.Txs, patients[i])
		i++
	}
	streams = append(streams, pool)
	apis := make([]string, len(net.nodes))
	for i, nd := range net.nodes {
		apis[i] = apiURL(nd)
	}
	target := bench.Target{
		Name: "primum", Endpoints: len(apis), RPC: rpcURL(net.nodes[0]), PIDs: net.pids(), DataDirs: net.dataDirs(),
		Submit: func(ctx context.Context, i int, txs [][]byte) []error {
			return submitPrimum(ctx, apis[i%len(apis)], txs)
		},
		// Busy: a full mempool, a rate limit, or (in a batch) a signer's
		// transaction not offered after one of these.
		Busy: func(err error) bool {
			return strings.Contains(err.Error(), "HTTP 503") || strings.Contains(err.Error(), "HTTP 429") || strings.Contains(err.Error(), "HTTP 424")
		},
		Classify: func(raw []byte) string {
			if tx, err := envelope.Decode(raw); err == nil {
				return tx.Type
			}
			return "unreadable"
		},
	}
	progress("loading Primum for %s + %s…", cfg.Warmup, cfg.Duration)
	profileDone := make(chan error, 1)
	if pprofAddr != "" {
		go func() {
			time.Sleep(cfg.Warmup)
			profileDone <- fetchProfile(ctx, "http://"+pprofAddr, cfg.Duration, cpuProfile)
		}()
	} else {
		profileDone <- nil
	}
	res, err := bench.Run(ctx, cfg, target, streams)
	if perr := <-profileDone; perr != nil && err == nil {
		err = fmt.Errorf("cpu profile: %w", perr)
	}
	return res, size / max(1, total+nPatients), err
}

func benchKVStore(ctx context.Context, cfg bench.Config, validators, budget, size int, progress func(string, ...any)) (_ *bench.Result, err error) {
	progress("starting %d kvstore validator(s)…", validators)
	net, err := startNetwork(ctx, "kvstore-node", validators, "")
	if err != nil {
		return nil, err
	}
	defer net.finish(&err)
	ctx = net.ctx
	txs := make([][]byte, budget)
	for i := range txs {
		k := fmt.Sprintf("bench-%08d=", i)
		txs[i] = append([]byte(k), bytes.Repeat([]byte{'v'}, max(1, size-len(k)))...)
	}
	rpcs := make([]string, len(net.nodes))
	for i, nd := range net.nodes {
		rpcs[i] = rpcURL(nd)
	}
	target := bench.Target{
		Name: "kvstore", Endpoints: len(rpcs), RPC: rpcs[0], PIDs: net.pids(), DataDirs: net.dataDirs(),
		Submit: func(ctx context.Context, i int, txs [][]byte) []error {
			return submitKVStore(ctx, rpcs[i%len(rpcs)], txs)
		},
		Busy: func(err error) bool { return strings.Contains(err.Error(), "mempool is full") },
	}
	progress("loading kvstore for %s + %s…", cfg.Warmup, cfg.Duration)
	return bench.Run(ctx, cfg, target, []bench.Stream{{Txs: txs}})
}

// submitPrimum sends one transaction to POST /api/v1/txs, several to
// POST /api/v1/txs/batch.
func submitPrimum(ctx context.Context, base string, txs [][]byte) []error {
	if len(txs) == 1 {
		body, _ := json.Marshal(wire.SubmitRequest{Tx: base64.StdEncoding.EncodeToString(txs[0])})
		_, err := post(ctx, base+"/api/v1/txs", body, http.StatusAccepted)
		return []error{err}
	}
	req := wire.BatchRequest{Txs: make([]string, len(txs))}
	for i, raw := range txs {
		req.Txs[i] = base64.StdEncoding.EncodeToString(raw)
	}
	body, _ := json.Marshal(req)
	b, err := post(ctx, base+"/api/v1/txs/batch", body, http.StatusOK)
	var res wire.BatchResponse
	if err == nil {
		if err = json.Unmarshal(b, &res); err == nil && len(res.Results) != len(txs) {
			err = fmt.Errorf("batch of %d answered with %d results", len(txs), len(res.Results))
		}
	}
	errs := make([]error, len(txs))
	for i := range errs {
		switch {
		case err != nil:
			errs[i] = err
		case res.Results[i].Problem != nil:
			p := res.Results[i].Problem
			errs[i] = fmt.Errorf("HTTP %d: %s: %s", p.Status, p.Code, p.Detail)
		}
	}
	return errs
}

// submitKVStore sends transactions to CometBFT's broadcast_tx_sync, several
// as one JSON-RPC batch.
func submitKVStore(ctx context.Context, rpc string, txs [][]byte) []error {
	calls := make([]string, len(txs))
	for i, raw := range txs {
		calls[i] = `{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"broadcast_tx_sync","params":{"tx":"` + base64.StdEncoding.EncodeToString(raw) + `"}}`
	}
	body := calls[0]
	if len(calls) > 1 {
		body = "[" + strings.Join(calls, ",") + "]"
	}
	b, err := post(ctx, rpc, []byte(body), http.StatusOK)
	var answers []rpcAnswer
	if err == nil && len(txs) == 1 {
		answers = make([]rpcAnswer, 1)
		err = json.Unmarshal(b, &answers[0])
	} else if err == nil {
		if err = json.Unmarshal(b, &answers); err != nil {
			err = fmt.Errorf("%w: %.300s", err, b) // a JSON-RPC error for the whole batch
		}
	}
	errs := make([]error, len(txs))
	answered := make([]bool, len(txs))
	for _, a := range answers {
		if a.ID < 0 || a.ID >= len(txs) {
			continue
		}
		answered[a.ID] = true
		switch {
		case a.Error != nil:
			errs[a.ID] = fmt.Errorf("%s: %s", a.Error.Message, a.Error.Data)
		case a.Result == nil:
			errs[a.ID] = fmt.Errorf("no result")
		case a.Result.Code != 0:
			errs[a.ID] = fmt.Errorf("code %d: %s", a.Result.Code, a.Result.Log)
		}
	}
	for i := range errs {
		if err != nil {
			errs[i] = err
		} else if !answered[i] {
			errs[i] = fmt.Errorf("not answered by the JSON-RPC server")
		}
	}
	return errs
}

// rpcAnswer is CometBFT's JSON-RPC answer to broadcast_tx_sync.
type rpcAnswer struct {
	ID     int `json:"id"`
	Result *struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	} `json:"result"`
	Error *struct {
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

// post sends body and answers the response's body, or an error when its
// status is not want.
func post(ctx context.Context, url string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := benchHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != want {
		return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	return b, nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return "unknown CPU"
}

func newKVStoreNodeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "kvstore-node",
		Short:   "Run CometBFT's kvstore example application on a node home (the benchmark's ceiling)",
		Example: "  primum kvstore-node --home /tmp/primum-bench-1/node0",
		Hidden:  true,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := node.StartKVStore(cmd.Context(), g.home, slog.Default())
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			if err := n.Stop(); err != nil {
				return err
			}
			n.Wait()
			return nil
		},
	}
}

func fetchProfile(ctx context.Context, base string, d time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
