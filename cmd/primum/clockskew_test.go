package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A node's clock is skewed the way a wrong system clock is, in the one
// place every reader of the wall clock goes through: the standard library's
// time.Now. libfaketime cannot do it (a Go binary is static and reads the
// clock through the vDSO, not libc), and CometBFT's cmttime.Now has no hook.
// So skewedBinary builds the command with a go build -overlay that adds to
// time.Now's wall reading the offset written in the file named by
// PRIMUM_CLOCK_SKEW_FILE, re-read every 100 ms: a test can step a running
// node's clock ahead and back. Monotonic readings (timers, time.Since) run
// on unchanged, as they do when an operator steps a real clock. Nothing of
// this is in the repository's sources or any other build.

// skewSource is added to package time by the overlay.
const skewSource = `package time

import (
	"sync/atomic"
	"syscall"
)

// primumSkew is the wall clock's offset in seconds (a test build only:
// cmd/primum/clockskew_test.go).
var primumSkew atomic.Int64

func init() {
	path, ok := syscall.Getenv("PRIMUM_CLOCK_SKEW_FILE")
	if !ok {
		return
	}
	read := func() {
		fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
		if err != nil {
			return
		}
		var buf [64]byte
		n, _ := syscall.Read(fd, buf[:])
		syscall.Close(fd)
		s := string(buf[:max(n, 0)])
		for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
			s = s[:len(s)-1]
		}
		if d, err := ParseDuration(s); err == nil {
			primumSkew.Store(int64(d / Second))
		}
	}
	read()
	go func() {
		for {
			Sleep(100 * Millisecond)
			read()
		}
	}()
}
`

var (
	skewOverlayOnce sync.Once
	skewOverlay     string
	skewOverlayErr  error
)

// skewedBinary is the command built with a clock a file can skew.
func skewedBinary(t *testing.T) string {
	t.Helper()
	skewOverlayOnce.Do(func() { skewOverlay, skewOverlayErr = writeSkewOverlay() })
	if skewOverlayErr != nil {
		t.Fatal(skewOverlayErr)
	}
	return buildPrimum(t, "primum-clockskew", "-overlay", skewOverlay)
}

// writeSkewOverlay writes the overlay: time.go with the offset added where
// Now reads the clock, and the file that keeps the offset.
func writeSkewOverlay() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "src", "time")
	src, err := os.ReadFile(filepath.Join(dir, "time.go"))
	if err != nil {
		return "", err
	}
	const anchor = "func Now() Time {\n\tsec, nsec, mono := runtimeNow()\n"
	if strings.Count(string(src), anchor) != 1 {
		return "", fmt.Errorf("time.Now in %s no longer reads the clock as this test expects: update skewSource's anchor", dir)
	}
	patched := strings.Replace(string(src), anchor, anchor+"\tsec += primumSkew.Load()\n", 1)
	tmp, err := os.MkdirTemp("", "primum-clockskew")
	if err != nil {
		return "", err
	}
	files := map[string]string{filepath.Join(dir, "time.go"): patched, filepath.Join(dir, "zz_primum_skew.go"): skewSource}
	replace := map[string]string{}
	for target, content := range files {
		path := filepath.Join(tmp, filepath.Base(target))
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return "", err
		}
		replace[target] = path
	}
	b, _ := json.Marshal(map[string]any{"Replace": replace})
	overlay := filepath.Join(tmp, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// skewFile is where node k's skew-capable binary reads its offset.
func (c *cluster) skewFile(k int) string { return filepath.Join(c.procs[k].Home, "clock-skew") }

// onSkewableClocks restarts every node, one at a time, on the skew-capable
// binary (offset 0) or, with skewable false, back on the production one.
func (c *cluster) onSkewableClocks(skewable bool) {
	c.t.Helper()
	for k := range c.procs {
		if !skewable {
			c.swap(k, c.bin)
		} else {
			if err := os.WriteFile(c.skewFile(k), []byte("0s"), 0o644); err != nil {
				c.t.Fatal(err)
			}
			c.swap(k, skewedBinary(c.t), "PRIMUM_CLOCK_SKEW_FILE="+c.skewFile(k))
		}
		if err := c.waitProgress(2, 60*time.Second); err != nil {
			c.t.Fatalf("restart of node%d (skewable clock: %v): %v", k, skewable, err)
		}
	}
}

// skew steps node k's clock to d from the true time and checks that the
// node believes it: the Date header of its API's answers says so.
func (c *cluster) skew(k int, d time.Duration) {
	c.t.Helper()
	if err := os.WriteFile(c.skewFile(k), []byte(d.String()), 0o644); err != nil {
		c.t.Fatal(err)
	}
	var off time.Duration
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if off = c.clockOffset(k); (off - d).Abs() <= 3*time.Second {
			return
		}
	}
	c.t.Fatalf("node%d's clock was to be %s off, its answers say %s", k, d, off)
}

// clockOffset is how far node k's clock is from the test's, by the Date
// header of its answers (to the second).
func (c *cluster) clockOffset(k int) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.procs[k].API+"/healthz", nil)
	before := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 1 << 62
	}
	res.Body.Close()
	date, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil {
		return 1 << 62
	}
	return date.Sub(before.Truncate(time.Second))
}

// commitSig is one validator's precommit in a block's last commit.
type commitSig struct {
	Flag      int       `json:"block_id_flag"`
	Validator string    `json:"validator_address"`
	Timestamp time.Time `json:"timestamp"`
}

// header reads block h's time and its last commit's precommits from node i.
func (c *cluster) header(i int, h int64) (time.Time, []commitSig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/block?height=%d", c.procs[i].RPC, h), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, nil, err
	}
	defer res.Body.Close()
	var b struct {
		Result *struct {
			Block struct {
				Header struct {
					Time time.Time `json:"time"`
				} `json:"header"`
				LastCommit struct {
					Signatures []commitSig `json:"signatures"`
				} `json:"last_commit"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil || b.Result == nil {
		return time.Time{}, nil, fmt.Errorf("node%d has no block %d (%v)", i, h, err)
	}
	return b.Result.Block.Header.Time, b.Result.Block.LastCommit.Signatures, nil
}

// validatorAddress is node k's validator address, as CometBFT's RPC says.
func (c *cluster) validatorAddress(k int) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.procs[k].RPC+"/status", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct {
		Result struct {
			ValidatorInfo struct {
				Address string `json:"address"`
			} `json:"validator_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.Result.ValidatorInfo.Address == "" {
		c.t.Fatalf("node%d's validator address: %v", k, err)
	}
	return s.Result.ValidatorInfo.Address
}

// checkVoteTimes finds, in blocks committed from now on, node k's
// precommits and checks that they carry its skewed clock: d ahead of the
// block they vote for; or, behind, the earliest time CometBFT lets a vote
// carry (the block's time + 1 ms: BFT time never goes backwards). It checks
// too that the chain's own clock stayed with the honest majority: each block
// time within a few seconds of the true time.
func (c *cluster) checkVoteTimes(k int, d time.Duration) {
	c.t.Helper()
	addr := c.validatorAddress(k)
	from := c.maxHeight() + 1
	// Long enough for the node to come back from a stall of its p2p
	// connections (clockSkewRounds).
	deadline := time.Now().Add(3 * time.Minute)
	other := (k + 1) % len(c.procs) // blocks are read from a node whose clock is right
	for h := from; ; h++ {
		var prevTime time.Time
		var sigs []commitSig
		var err error
		for {
			if prevTime, _, err = c.header(other, h-1); err == nil {
				if _, sigs, err = c.header(other, h); err == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("no block at %d with node%d's precommit in 3 minutes (%v); %s", h, k, err, c.consensusStates())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if lag := time.Since(prevTime); lag < -2*time.Second || lag > 30*time.Second {
			c.t.Fatalf("block %d's time is %s from the true time: the skewed node%d moved the chain's clock", h-1, -lag, k)
		}
		for _, s := range sigs {
			if s.Validator != addr || s.Flag != 2 { // 2: a precommit for the block
				continue
			}
			got := s.Timestamp.Sub(prevTime)
			ok := got == time.Millisecond
			if d > 0 {
				ok = (got - d).Abs() < 5*time.Second
			}
			if !ok {
				c.t.Fatalf("node%d's clock is %s off, yet its precommit for block %d is %s after the block's time", k, d, h-1, got)
			}
			c.t.Logf("node%d's clock %s off: its precommit for block %d is %s after the block's time (the block's time was %s old when read)", k, d, h-1, got, time.Since(prevTime).Round(time.Millisecond))
			return
		}
	}
}

// consensusStates says where each node's consensus is (height/round/step),
// for a failure message.
func (c *cluster) consensusStates() string {
	var b strings.Builder
	for i, p := range c.procs {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", p.RPC+"/consensus_state", nil)
		var s struct {
			Result struct {
				RoundState struct {
					HRS       string    `json:"height/round/step"`
					StartTime time.Time `json:"start_time"`
				} `json:"round_state"`
			} `json:"result"`
		}
		state := "no answer"
		if res, err := http.DefaultClient.Do(req); err == nil {
			if json.NewDecoder(res.Body).Decode(&s) == nil {
				state = fmt.Sprintf("at %s, round started %s", s.Result.RoundState.HRS, s.Result.RoundState.StartTime.Format(time.RFC3339))
			}
			res.Body.Close()
		}
		cancel()
		fmt.Fprintf(&b, "node%d: %s; ", i, state)
	}
	return fmt.Sprintf("%sthe test's clock: %s", b.String(), time.Now().UTC().Format(time.RFC3339))
}
