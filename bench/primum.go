package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/trials"
	"github.com/primum-health/primum/wire"
)

// Config is a whole run of 'primum bench'.
type Config struct {
	Load             // what each target is offered
	Validators  int  // each its own process
	MaxTxs      int  // upper bound on transactions generated per target
	SkipKVStore bool // do not measure the kvstore ceiling
	// CPUProfile, if set, is where a CPU profile of Primum's first node
	// during the measured window is written.
	CPUProfile string
	// BlockCacheMB, if positive, sizes each Primum node's Pebble block
	// cache (0: the default, 256).
	BlockCacheMB int
	// BlockInterval, if positive, is CometBFT's timeout_commit on every
	// node of both targets.
	BlockInterval time.Duration
	// Exe is the primum command that writes the nodes' homes and runs them
	// (empty: this process's executable, as in 'primum bench').
	Exe string
	// Progress, if set, is told what the run is doing.
	Progress func(format string, args ...any)
}

// Check refuses a run 'primum bench' cannot make, naming its flag.
func (c *Config) Check() error {
	switch {
	case c.Validators < 1 || c.Validators > 16:
		return fmt.Errorf("--validators must be 1-16")
	case c.Duration <= 0 || c.Warmup < 0 || c.Clients < 1 || c.MaxTxs < 1000:
		return fmt.Errorf("--duration and --clients must be positive, --max-txs at least 1000")
	case c.Batch < 1 || c.Batch > wire.MaxBatchTxs:
		return fmt.Errorf("--batch must be 1-%d", wire.MaxBatchTxs)
	case c.Rate < 0:
		return fmt.Errorf("--rate must not be negative")
	case c.BlockInterval <= 0 || c.BlockInterval > time.Minute:
		return fmt.Errorf("--block-interval must be positive and at most 1m, e.g. 700ms")
	}
	return nil
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		c.Progress(format, args...)
	}
}

// chainID is the chain of every network the benchmark starts.
const chainID = "primum-bench"

// Measure measures Primum and then, unless cfg.SkipKVStore, CometBFT's
// kvstore on networks of cfg.Validators processes it starts and stops.
func Measure(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{Validators: cfg.Validators, DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(), Clients: cfg.Clients, Batch: cfg.Batch, Rate: cfg.Rate,
		BlockInterval: float64(cfg.BlockInterval) / float64(time.Millisecond),
		Machine:       fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())}
	budget := min(cfg.MaxTxs, int(15000*(cfg.Warmup+cfg.Duration).Seconds()))
	var err error
	var avgSize int
	rep.Primum, avgSize, err = benchPrimum(ctx, cfg, budget)
	if err != nil {
		return nil, err
	}
	rep.Mix = rep.Primum.Mix
	if !cfg.SkipKVStore {
		if rep.KVStore, err = benchKVStore(ctx, cfg, budget, avgSize); err != nil {
			return nil, err
		}
		rep.KVStoreTPS = rep.KVStore.CommittedTPS
		if rep.KVStoreTPS > 0 {
			rep.Ratio = rep.Primum.CommittedTPS / rep.KVStoreTPS
		}
	}
	p := rep.Primum
	rep.CommittedTPS, rep.LatencyP50Ms, rep.LatencyP95Ms, rep.LatencyP99Ms = p.CommittedTPS, p.LatencyP50Ms, p.LatencyP95Ms, p.LatencyP99Ms
	rep.RSSMB, rep.CPUPercent, rep.DiskBytesPerTx = p.RSSMB, p.CPUPercent, p.DiskBytesPerTx
	return rep, nil
}

// startNetwork starts n validators running sub ("node" or "kvstore-node")
// in a new folder of the system's temporary one, and waits for their first
// block; pprofAddr, if set, serves node 0's profiles. The caller finishes
// the network (Finish), which keeps the folder after a failure.
func startNetwork(ctx context.Context, cfg Config, sub string, n int, pprofAddr string, orgTypes ...string) (*localnet.Network, error) {
	exe := cfg.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "primum-bench-")
	if err != nil {
		return nil, err
	}
	// A node's errors go to its log beside its home (CometBFT reports its
	// peers' departures as errors when the network stops); the log is
	// shown if the node does not start.
	net, err := localnet.New(ctx, localnet.Options{Bin: exe, Dir: dir, Validators: n, ChainID: chainID, OrgTypes: orgTypes,
		Command: sub, LogFiles: true, Tune: func(c *cmtcfg.Config, s *node.Settings) {
			if cfg.BlockCacheMB > 0 {
				s.StateBlockCacheMB = cfg.BlockCacheMB
			}
			if cfg.BlockInterval > 0 {
				c.Consensus.TimeoutCommit = cfg.BlockInterval
			}
			// The kvstore's clients send --batch transactions as one
			// JSON-RPC batch (CometBFT's default allows 10).
			c.RPC.MaxRequestBatchSize = wire.MaxBatchTxs
		}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if pprofAddr != "" {
		net.Nodes[0].Args = []string{"--pprof-addr", pprofAddr}
	}
	if err := net.Start(ctx); err != nil { // a node's log is in err
		net.Shutdown()
		os.RemoveAll(dir)
		return nil, err
	}
	return net, nil
}

var benchHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}

// benchKey derives the i-th load key quickly and reproducibly.
func benchKey(run string, i int) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("primum bench "+run), uint64(i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

func benchPrimum(ctx context.Context, cfg Config, budget int) (_ *Result, _ int, err error) {
	progress := cfg.progress
	progress("starting %d Primum validator(s)…", cfg.Validators)
	var pprofAddr string
	if cfg.CPUProfile != "" {
		p, err := node.FreePorts(1)
		if err != nil {
			return nil, 0, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", p[0].API)
	}
	net, err := startNetwork(ctx, cfg, "node", cfg.Validators, pprofAddr)
	if err != nil {
		return nil, 0, err
	}
	defer net.Finish(&err)
	ctx = net.Context()
	members := make([]ed25519.PrivateKey, len(net.Nodes))
	for i, nd := range net.Nodes {
		if members[i], err = nd.OperatorKey(); err != nil {
			return nil, 0, err
		}
	}
	c := client.New(net.Nodes[0].API)
	// The members the workloads need beyond the validators, voted in
	// before any stream is signed (a vote spends its voter's nonce).
	progress("admitting a manufacturer, an insurer and a regulator…")
	if err := admitMembers(ctx, c, chainID, members); err != nil {
		return nil, 0, err
	}
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
	// Claims, about as many as dispensings (as in a real day's work): the
	// hospital's doctors submit them.
	dispensings := 0
	for _, txs := range sw.pharmacists {
		dispensings += len(txs)
	}
	cw, err := prepareClaims(ctx, c, chainID, members, dispensings, progress)
	if err != nil {
		return nil, 0, fmt.Errorf("claims set-up: %w", err)
	}
	// Devices: a ward's monitors commit an hour of readings a batch,
	// about a quarter as often as dispensings (as capacity reports: enough
	// that the streams last past the warm-up). Before capacity: the same
	// hospital registers them, and capacity signs its reports in nonce
	// order after these registrations.
	dw, err := prepareDevices(ctx, c, chainID, max(benchDevices, dispensings/4), progress)
	if err != nil {
		return nil, 0, fmt.Errorf("devices set-up: %w", err)
	}
	// Wearables: patients' watches, kept by a clinic whose key the first
	// node holds, commit a batch about a sixteenth as often as dispensings
	// and upload each to that node; patients naming the clinic keeper of
	// their watch are in the pool, about one in a hundred of its
	// transactions.
	ww, err := prepareWearables(ctx, c, chainID, net.Nodes[0].Home, max(benchWearables, dispensings/16), max(10, budget/100), progress)
	if err != nil {
		return nil, 0, fmt.Errorf("wearables set-up: %w", err)
	}
	// Capacity: the second hospital's sites report their status, about a
	// quarter as often as dispensings (a national picture's hourly reports
	// beside a day's medicines and claims).
	kw, err := prepareCapacity(ctx, c, chainID, max(10, dispensings/4), progress)
	if err != nil {
		return nil, 0, fmt.Errorf("capacity set-up: %w", err)
	}
	// Research: a dataset the first hospital holds, and its research
	// department's project on it (the regulator's acts, committed before
	// the run).
	if err := prepareResearch(ctx, c, members[0]); err != nil {
		return nil, 0, fmt.Errorf("research set-up: %w", err)
	}
	// Ordered streams: each member organisation credentials practitioners
	// (care organisations) and registers devices, in nonce order; the
	// hospital also logs the access entries and receives packs (a receipt
	// after every fourth access entry); the manufacturer and each
	// pharmacist have a stream of their own.
	perOrg := budget / 20 / len(net.Nodes)
	var streams []Stream
	total, size := 0, 0
	add := func(s *Stream, raw []byte) {
		s.Txs = append(s.Txs, raw)
		total, size = total+1, size+len(raw)
	}
	for oi := range net.Nodes {
		key := members[oi]
		s := Stream{Ordered: true}
		// The set-up is committed: each member's next nonce is on the ledger.
		info, err := c.Self(ctx, key)
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
		care := oi%10 < 3 || oi%10 >= 7 // hospital, hospital, pharmacy, clinic, lab, research
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
			// Early on, each care organisation says its node keeps
			// patients' wearables' readings (devices.keeping).
			if care && i == 2 {
				if err := sign(devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}); err != nil {
					return nil, 0, err
				}
			}
			// The first hospital sponsors a trial every 20 steps and
			// amends it at once (the registry's writes).
			if oi == 0 && i%20 == 10 {
				id := fmt.Sprintf("BENCH-%d", i)
				p := benchProtocol(info.Identity.ID)
				if err := sign(trials.TypeRegister, trials.Register{ID: id, Protocol: p}); err != nil {
					return nil, 0, err
				}
				p.SampleSize++
				if err := sign(trials.TypeAmend, trials.Amend{ID: id, Reason: "larger sample", Protocol: p}); err != nil {
					return nil, 0, err
				}
			}
			// Every 20 steps, offset: a federated learning task over the
			// hospital and Bench General, and the hospital's model for its
			// first round; a research query on its dataset and its own
			// noisy cells, which release it.
			if oi == 0 && i%20 == 5 {
				task := fmt.Sprintf("bench-task-%d", i)
				if err := sign(federated.TypeTask, benchTask(task, info.Identity.ID)); err != nil {
					return nil, 0, err
				}
				if err := sign(federated.TypeContribute, federated.Contribute{Task: task, Round: 1, Samples: 400, Weights: []int64{12_000, 30_000, -5_000, 41_000, -9_000}}); err != nil {
					return nil, 0, err
				}
				q := fmt.Sprintf("bench-q-%d", i)
				if err := sign(research.TypeQuery, research.Ask{ID: q, Project: benchProject, GroupBy: research.DimAgeBand, EpsMicro: 1}); err != nil {
					return nil, 0, err
				}
				if err := sign(research.TypeCells, research.Cells{Query: q, Cells: []int64{40, 212, 97}}); err != nil {
					return nil, 0, err
				}
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
	for _, txs := range append(append(append(append([][][]byte{sw.maker}, sw.pharmacists...), cw.streams...), kw.stream), append(dw.streams, ww.streams...)...) {
		s := Stream{Ordered: true}
		for _, raw := range txs {
			add(&s, raw)
		}
		streams = append(streams, s)
	}
	// The pool's signed transactions beside the patients registering
	// themselves: the consent grants and the keeper namings.
	signed := spread(rw.grants, ww.namings)
	for _, g := range signed {
		total, size = total+1, size+len(g)
	}
	// The unordered pool: patients registering themselves, with the
	// consent grants and keeper namings spread evenly among them.
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
	for _, p := range patients {
		size += len(p)
	}
	pool := Stream{Txs: spread(patients, signed)}
	streams = append(streams, pool)
	apis := make([]string, len(net.Nodes))
	for i, nd := range net.Nodes {
		apis[i] = nd.API
	}
	target := Target{
		Name: "primum", Endpoints: len(apis), RPC: net.Nodes[0].RPC, PIDs: net.PIDs(), DataDirs: net.DataDirs(),
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
		Caused: func(raw []byte) bool {
			tx, err := envelope.Decode(raw)
			return err == nil && ww.caused(tx)
		},
		Alongside: func(ctx context.Context, done func(int, time.Duration, error)) {
			ww.upload(ctx, net.Nodes[0].API, done)
		},
	}
	progress("loading Primum for %s + %s…", cfg.Warmup, cfg.Duration)
	profileDone := make(chan error, 1)
	if pprofAddr != "" {
		go func() {
			time.Sleep(cfg.Warmup)
			profileDone <- fetchProfile(ctx, "http://"+pprofAddr, cfg.Duration, cfg.CPUProfile)
		}()
	} else {
		profileDone <- nil
	}
	res, err := Run(ctx, cfg.Load, target, streams)
	if perr := <-profileDone; perr != nil && err == nil {
		err = fmt.Errorf("cpu profile: %w", perr)
	}
	return res, size / max(1, total+nPatients), err
}

func benchKVStore(ctx context.Context, cfg Config, budget, size int) (_ *Result, err error) {
	progress := cfg.progress
	progress("starting %d kvstore validator(s)…", cfg.Validators)
	net, err := startNetwork(ctx, cfg, "kvstore-node", cfg.Validators, "")
	if err != nil {
		return nil, err
	}
	defer net.Finish(&err)
	ctx = net.Context()
	txs := make([][]byte, budget)
	for i := range txs {
		k := fmt.Sprintf("bench-%08d=", i)
		txs[i] = append([]byte(k), bytes.Repeat([]byte{'v'}, max(1, size-len(k)))...)
	}
	rpcs := make([]string, len(net.Nodes))
	for i, nd := range net.Nodes {
		rpcs[i] = nd.RPC
	}
	target := Target{
		Name: "kvstore", Endpoints: len(rpcs), RPC: rpcs[0], PIDs: net.PIDs(), DataDirs: net.DataDirs(),
		Submit: func(ctx context.Context, i int, txs [][]byte) []error {
			return submitKVStore(ctx, rpcs[i%len(rpcs)], txs)
		},
		Busy: func(err error) bool { return strings.Contains(err.Error(), "mempool is full") },
	}
	progress("loading kvstore for %s + %s…", cfg.Warmup, cfg.Duration)
	return Run(ctx, cfg.Load, target, []Stream{{Txs: txs}})
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

// benchProtocol is a trial protocol with site as its only site.
func benchProtocol(site string) trials.Protocol {
	return trials.Protocol{Title: "Bench trial", Conditions: []string{"Hypertension"}, Interventions: []string{"amlodipine 5 mg"},
		Inclusion: "adults 18-80", Exclusion: "pregnancy", SampleSize: 100,
		PrimaryOutcomes: []trials.Outcome{{ID: "sbp", Measure: "change in systolic blood pressure", TimeFrame: "12 weeks"}},
		Sites:           []string{site}, ProtocolCommitment: strings.Repeat("ab", 32)}
}

// spread answers a's transactions with b's spread evenly among them.
func spread(a, b [][]byte) [][]byte {
	out := make([][]byte, 0, len(a)+len(b))
	for i, j := 0, 0; i < len(a) || j < len(b); {
		if j < len(b) && (i >= len(a) || j*(len(a)+len(b)) <= len(b)*(i+j)) {
			out = append(out, b[j])
			j++
			continue
		}
		out = append(out, a[i])
		i++
	}
	return out
}
