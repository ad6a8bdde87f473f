package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/localnet"
)

// cluster is a consortium under fault injection.
type cluster struct {
	t     *testing.T
	net   *localnet.Network
	procs []*localnet.Node
	bin   string
	rng   *rand.Rand

	mu        sync.Mutex
	committed map[string]bool // tx hashes a client saw committed
}

// startCluster writes a testnet with 'primum testnet', routes every p2p link
// through a proxy (PEX off, so nodes only dial the proxies), and starts the
// nodes as processes.
func startCluster(t *testing.T, n int, seed uint64) *cluster {
	t.Helper()
	net := startLocalnet(t, localnet.Options{Validators: n, ChainID: "primum-faults", Proxied: true}, 3000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := net.WaitHeight(ctx, 2); err != nil {
		t.Fatalf("did not start: %v", err)
	}
	return &cluster{t: t, net: net, procs: net.Nodes, bin: primumBinary(t), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), committed: map[string]bool{}}
}

// start starts node k again, failing the test if it cannot.
func (c *cluster) start(k int) {
	c.t.Helper()
	restart(c.t, c.procs[k])
}

// workload submits patient registrations through random live nodes until
// stopped, remembering every transaction a client saw committed.
func (c *cluster) workload(ctx context.Context, clients int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		seed := c.rng.Uint64()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for ctx.Err() == nil {
				p := c.procs[rng.IntN(len(c.procs))]
				_, key, _ := ed25519.GenerateKey(nil)
				cl := client.New(p.API)
				tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				res, err := cl.Send(tctx, key, identity.TypeRegisterPatient, struct{}{}, true)
				cancel()
				if err == nil && res.Committed {
					c.mu.Lock()
					c.committed[res.Hash] = true
					c.mu.Unlock()
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	return &wg
}

func (c *cluster) height(i int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := client.New(c.procs[i].API).Status(ctx)
	if err != nil {
		return -1
	}
	return s.Height
}

func (c *cluster) maxHeight() int64 {
	var h int64
	for i := range c.procs {
		h = max(h, c.height(i))
	}
	return h
}

// waitProgress waits until the chain passes its current height by n blocks.
func (c *cluster) waitProgress(n int64, timeout time.Duration) error {
	target := c.maxHeight() + n
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.maxHeight() >= target {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("chain did not reach height %d within %s (at %d)", target, timeout, c.maxHeight())
}

type blockID struct{ hash, appHash string }

func (c *cluster) block(i int, h int64) (blockID, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/block?height=%d", c.procs[i].RPC, h), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return blockID{}, err
	}
	defer res.Body.Close()
	var b struct {
		Result *struct {
			BlockID struct {
				Hash string `json:"hash"`
			} `json:"block_id"`
			Block struct {
				Header struct {
					AppHash string `json:"app_hash"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil || b.Result == nil {
		return blockID{}, fmt.Errorf("node%d has no block %d", i, h)
	}
	return blockID{b.Result.BlockID.Hash, b.Result.Block.Header.AppHash}, nil
}

// verify heals nothing: it checks that every node caught up, that all agree
// on every block and app hash (no fork), and that every transaction a client
// saw committed is on every node. It returns the number of heights checked.
func (c *cluster) verify() (int64, int) {
	c.t.Helper()
	// Snapshot what clients saw committed before choosing the target height:
	// each of those transactions is at or below the height some node had
	// committed by then, so at or below target. (The workload goes on.)
	c.mu.Lock()
	hashes := make([]string, 0, len(c.committed))
	for h := range c.committed {
		hashes = append(hashes, h)
	}
	c.mu.Unlock()
	sort.Strings(hashes)
	target := c.maxHeight()
	deadline := time.Now().Add(90 * time.Second)
	for i := range c.procs {
		for c.height(i) < target {
			if time.Now().After(deadline) {
				c.t.Fatalf("node%d did not catch up to %d (at %d)", i, target, c.height(i))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for h := int64(1); h <= target; h++ {
		want, err := c.block(0, h)
		if err != nil {
			c.t.Fatal(err)
		}
		for i := 1; i < len(c.procs); i++ {
			got, err := c.block(i, h)
			if err != nil {
				c.t.Fatal(err)
			}
			if got != want {
				c.t.Fatalf("FORK at height %d: node0 %+v, node%d %+v", h, want, i, got)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, p := range c.procs {
		cl := client.New(p.API)
		for _, h := range hashes {
			if r, err := cl.Tx(ctx, h); err != nil || r.Code != 0 {
				where := "unknown elsewhere"
				for j, q := range c.procs {
					if r2, err2 := client.New(q.API).Tx(ctx, h); err2 == nil {
						where = fmt.Sprintf("node%d has it at height %d (code %d)", j, r2.Height, r2.Code)
						break
					}
				}
				c.t.Fatalf("LOST: transaction %s, committed for a client, is not on node%d (at height %d): %v; %s", h, i, c.height(i), err, where)
			}
		}
	}
	return target, len(hashes)
}

// faultRecord is one line of docs/reliability.md.
type faultRecord struct {
	Fault   string
	Times   int
	Outcome string
	Heights int64
	Txs     int
}

func faultSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PRIMUM_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PRIMUM_FAULT_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("fault seed %d (replay with PRIMUM_FAULT_SEED=%d)", seed, seed)
	return seed
}

// runFaults runs every fault class against a four-validator consortium
// under load, `rounds` times each, and checks after each class.
func runFaults(t *testing.T, rounds int) []faultRecord {
	c := startCluster(t, 4, faultSeed(t))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	wg := c.workload(ctx, 12)
	defer wg.Wait()
	defer stop()
	var records []faultRecord
	record := func(name string, times int, also ...string) {
		h, n := c.verify()
		outcome := strings.Join(append([]string{"0 transactions lost, 0 forks, all nodes caught up"}, also...), "; ")
		records = append(records, faultRecord{Fault: name, Times: times, Outcome: outcome, Heights: h, Txs: n})
		t.Logf("%s ×%d: ok at height %d, %d committed transactions checked on every node; %s", name, times, h, n, outcome)
	}
	progress := func(what string) {
		if err := c.waitProgress(2, 60*time.Second); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	for r := 0; r < rounds; r++ {
		k := c.rng.IntN(4)
		c.procs[k].Kill()
		progress("kill -9: the other three must go on")
		c.start(k)
		progress("after restart")
	}
	record("kill -9 of one validator, then restart", rounds)

	for r := 0; r < rounds; r++ {
		k := c.rng.IntN(4)
		c.procs[k].Signal(syscall.SIGSTOP)
		progress("SIGSTOP: the other three must go on")
		c.procs[k].Signal(syscall.SIGCONT)
		progress("after SIGCONT")
	}
	record("pause (SIGSTOP/SIGCONT) of one validator", rounds)

	for k := range c.procs {
		if err := c.procs[k].Stop(stopGrace); err != nil {
			t.Fatal(err)
		}
		c.start(k)
		progress("rolling restart")
	}
	record("rolling restart of every node", 1)

	for r := 0; r < rounds; r++ {
		k := c.rng.IntN(4)
		c.net.Partition(k, true)
		progress("partition: the majority must go on")
		c.net.Partition(k, false)
		progress("after healing")
	}
	record("network partition of one node from the others", rounds)

	// More than 1/3 of the power down: the chain must stop, then resume.
	for r := 0; r < rounds; r++ {
		a := c.rng.IntN(4)
		b := (a + 1 + c.rng.IntN(3)) % 4
		c.procs[a].Signal(syscall.SIGSTOP)
		c.procs[b].Signal(syscall.SIGSTOP)
		time.Sleep(1500 * time.Millisecond)
		before := c.maxHeight()
		time.Sleep(3 * time.Second)
		if after := c.maxHeight(); after > before+1 {
			t.Fatalf("with half the power stopped the chain advanced from %d to %d", before, after)
		}
		c.procs[a].Signal(syscall.SIGCONT)
		c.procs[b].Signal(syscall.SIGCONT)
		progress("after quorum returned")
	}
	record("more than 1/3 of power stopped (chain halts, then resumes)", rounds)

	for r := 0; r < 3*rounds; r++ {
		k := c.rng.IntN(4)
		time.Sleep(time.Duration(c.rng.IntN(700)) * time.Millisecond) // anywhere in a block's life
		c.procs[k].Kill()
		c.start(k)
		progress("kill -9 while committing under load")
	}
	record("kill -9 at random moments under load, restarted at once", 3*rounds)

	record("clock skew: one validator's clock minutes ahead, then minutes behind, then right", rounds, c.clockSkewRounds(rounds))
	record("byzantine proposer: one validator swaps a signer's nonces or slips in a forged transaction", rounds, c.byzantineRounds(rounds))
	stop()
	return records
}

// clockSkewRounds steps one validator's clock minutes ahead, then minutes
// behind (backwards, on the running node), then right again, each round, as
// Jepsen's Tendermint analysis did. BFT time takes a block's time from the
// median of the precommits, so the chain's clock must stay with the honest
// three (checkVoteTimes).
//
// A step backwards also stalls the skewed node for a while, minutes later:
// CometBFT's p2p rate limiter (internal/flowrate) measures time on the wall
// clock, and once about 500 KB have passed on a connection after the step it
// waits for the clock to reach where it had been, until the peer drops the
// connection for a missed pong and it reconnects. So one validator is
// skewed for the whole class (never two at once: that would stop the
// chain), each step waits for it to be caught up, and the class reports how
// long each node was ever behind. It says what it saw.
func (c *cluster) clockSkewRounds(rounds int) string {
	c.onSkewableClocks(true)
	k := c.rng.IntN(4)
	lag := c.watchLag()
	var maxSkew time.Duration
	for r := 0; r < rounds; r++ {
		ahead := time.Duration(2+c.rng.IntN(9)) * time.Minute
		behind := -time.Duration(2+c.rng.IntN(9)) * time.Minute
		for _, d := range []time.Duration{ahead, behind} {
			c.waitCaughtUp(k, 4*time.Minute)
			c.skew(k, d)
			if err := c.waitProgress(2, 60*time.Second); err != nil {
				c.t.Fatalf("node%d's clock %s off: %v", k, d, err)
			}
			c.checkVoteTimes(k, d)
			maxSkew = max(maxSkew, d.Abs())
		}
		c.skew(k, 0)
		if err := c.waitProgress(2, 60*time.Second); err != nil {
			c.t.Fatalf("node%d's clock right again: %v", k, err)
		}
	}
	c.waitCaughtUp(k, 4*time.Minute)
	behind := lag.end()
	c.onSkewableClocks(false)
	others := time.Duration(0)
	for i, d := range behind {
		if i != k {
			others = max(others, d)
		}
	}
	return fmt.Sprintf("steps of up to %s, each seen in the node's own answers and in its precommits; every block time within seconds of the true time; "+
		"the skewed node was at most %s behind the chain at a stretch (its p2p rate limiter after a backward step), the other three at most %s",
		maxSkew, behind[k].Round(time.Second), others.Round(time.Second))
}

// lagWatch keeps, for each node, the longest time it spent 3 or more
// blocks behind the highest node, sampled every second.
type lagWatch struct {
	stop    chan struct{}
	done    chan struct{}
	longest []time.Duration
}

func (c *cluster) watchLag() *lagWatch {
	w := &lagWatch{stop: make(chan struct{}), done: make(chan struct{}), longest: make([]time.Duration, len(c.procs))}
	go func() {
		defer close(w.done)
		since := make([]time.Time, len(c.procs))
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(time.Second):
			}
			heights := make([]int64, len(c.procs))
			top := int64(0)
			for i := range c.procs {
				heights[i] = c.height(i)
				top = max(top, heights[i])
			}
			now := time.Now()
			for i, h := range heights {
				switch {
				case h >= top-2:
					since[i] = time.Time{}
				case since[i].IsZero():
					since[i] = now
				default:
					w.longest[i] = max(w.longest[i], now.Sub(since[i]))
				}
			}
		}
	}()
	return w
}

func (w *lagWatch) end() []time.Duration {
	close(w.stop)
	<-w.done
	return w.longest
}

// waitCaughtUp waits until node k is within a block of the highest node.
func (c *cluster) waitCaughtUp(k int, timeout time.Duration) {
	c.t.Helper()
	for deadline := time.Now().Add(timeout); c.height(k) < c.maxHeight()-1; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("node%d did not catch up in %s: %s", k, timeout, c.consensusStates())
		}
	}
}

// byzantineRounds makes a random validator a byzantine proposer each round
// (built with -tags byzantine), swapping a signer's nonces and slipping in
// a forged transaction in turn, while signers send runs of consecutive
// nonces: the honest validators must refuse each such block and lose none
// of the runs. It says what it saw.
func (c *cluster) byzantineRounds(rounds int) string {
	load := c.sequences(6)
	proposed, refused := 0, 0
	for r := 0; r < rounds; r++ {
		k := c.rng.IntN(4)
		p, n := c.byzantineRound(load, k, []string{"reorder", "forge"}[r%2], 1)
		proposed, refused = proposed+p, refused+n
	}
	accepted := load.check(c.t)
	return fmt.Sprintf("byzantine proposals made: %d, refused by the honest validators %d times; %d transactions accepted from signers sending runs of nonces, each committed once with code 0", proposed, refused, accepted)
}

// TestFaults is the short configuration CI runs.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection (-short)")
	}
	records := runFaults(t, 1)
	writeReliabilityReport(t, records, "short (CI)")
}

// TestSoakFaults is the long run by hand:
//
//	PRIMUM_SOAK_ROUNDS=20 go test ./cmd/primum -run SoakFaults -timeout 2h -v
func TestSoakFaults(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PRIMUM_SOAK_ROUNDS"))
	if n <= 0 {
		t.Skip("set PRIMUM_SOAK_ROUNDS to run the soak")
	}
	records := runFaults(t, n)
	writeReliabilityReport(t, records, fmt.Sprintf("soak, %d rounds", n))
}

// writeReliabilityReport writes the table to PRIMUM_RELIABILITY_REPORT when set.
func writeReliabilityReport(t *testing.T, records []faultRecord, run string) {
	path := os.Getenv("PRIMUM_RELIABILITY_REPORT")
	if path == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| fault (%s, 4 validators, 12 clients) | times | outcome | heights compared | committed txs checked on every node |\n| --- | --- | --- | --- | --- |\n", run)
	for _, r := range records {
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %d |\n", r.Fault, r.Times, r.Outcome, r.Heights, r.Txs)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
