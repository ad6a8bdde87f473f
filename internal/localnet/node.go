package localnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/primum-health/primum/client"
)

// Node is one node of a network, and its process when it runs.
type Node struct {
	Index int
	Home  string
	API   string // Primum's REST API, http://127.0.0.1:PORT
	RPC   string // CometBFT's RPC, http://127.0.0.1:PORT
	P2P   string // where it listens for peers, 127.0.0.1:PORT
	ID    string // its CometBFT node id
	Token string // the API token of its operator key

	// What the next Start runs: Bin's node subcommand with LogLevel, Args
	// added to its command line and Env to its environment.
	Bin      string
	LogLevel string
	Args     []string
	Env      []string

	command string
	logFile string // "": the output is kept in memory
	net     *Network

	mu  sync.Mutex
	run *run // the process last started
}

// run is one process of a node.
type run struct {
	cmd      *exec.Cmd
	log      *Buffer       // nil: the output is in the node's log file
	exited   chan struct{} // closed when the process has exited
	stopping atomic.Bool   // stopped or killed through the Node: not reported
}

// Start starts the node's process. It does not wait for the node (see
// WaitHeight).
func (nd *Node) Start() error {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.run != nil && !nd.run.done() {
		return fmt.Errorf("%s is already running", nd.Home)
	}
	args := append([]string{nd.command, "--home", nd.Home, "--log-level", nd.LogLevel}, nd.Args...)
	r := &run{cmd: exec.Command(nd.Bin, args...), exited: make(chan struct{})}
	if len(nd.Env) > 0 {
		r.cmd.Env = append(os.Environ(), nd.Env...)
	}
	if nd.logFile != "" {
		f, err := os.Create(nd.logFile)
		if err != nil {
			return err
		}
		defer f.Close() // the process has its own copy
		r.cmd.Stdout, r.cmd.Stderr = f, f
	} else {
		r.log = &Buffer{}
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	nd.run = r
	go func() {
		err := r.cmd.Wait()
		close(r.exited)
		if !r.stopping.Load() && nd.net != nil {
			nd.net.nodeExited(nd.Index, err)
		}
	}()
	return nil
}

func (r *run) done() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

func (nd *Node) current() *run {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.run
}

// Running says whether the node's process runs.
func (nd *Node) Running() bool {
	r := nd.current()
	return r != nil && !r.done()
}

// PID is the running process's id (0 if none runs).
func (nd *Node) PID() int {
	if r := nd.current(); r != nil && !r.done() {
		return r.cmd.Process.Pid
	}
	return 0
}

// Signal sends sig to the running process (SIGSTOP, SIGCONT: a pause). A
// process that a signal ends is reported as exited on its own.
func (nd *Node) Signal(sig syscall.Signal) {
	if r := nd.current(); r != nil && !r.done() {
		_ = r.cmd.Process.Signal(sig)
	}
}

// signalStop sends sig to the running process, which is then expected to
// exit.
func (nd *Node) signalStop(sig syscall.Signal) {
	if r := nd.current(); r != nil && !r.done() {
		r.stopping.Store(true)
		_ = r.cmd.Process.Signal(sig)
	}
}

// Kill kills the process (SIGKILL) and waits for it to exit.
func (nd *Node) Kill() {
	nd.signalStop(syscall.SIGKILL)
	if r := nd.current(); r != nil {
		<-r.exited
	}
}

// Stop stops the process as an operator would (SIGTERM) and waits for it
// to exit; if it has not after grace, it is killed and Stop says so.
func (nd *Node) Stop(grace time.Duration) error {
	nd.signalStop(syscall.SIGTERM)
	return nd.awaitExit(grace)
}

func (nd *Node) awaitExit(grace time.Duration) error {
	r := nd.current()
	if r == nil {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	case <-time.After(grace):
		r.stopping.Store(true)
		_ = r.cmd.Process.Kill()
		<-r.exited
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", nd.Home, grace)
	}
}

// Exited waits until the node's process exits on its own (a node that
// stops itself, e.g. for a software upgrade) and answers its exit status.
func (nd *Node) Exited(ctx context.Context) (int, error) {
	r := nd.current()
	if r == nil {
		return 0, fmt.Errorf("%s was not started", nd.Home)
	}
	select {
	case <-r.exited:
		return r.cmd.ProcessState.ExitCode(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("%s did not exit: %w", nd.Home, ctx.Err())
	}
}

// Log is the output of the node's last process (so far, if it runs).
func (nd *Node) Log() string {
	if nd.logFile != "" {
		b, _ := os.ReadFile(nd.logFile)
		return string(b)
	}
	if r := nd.current(); r != nil {
		return r.log.String()
	}
	return ""
}

// WaitHeight waits until the node has committed height h: CometBFT's RPC
// says so and, on a Primum node, its REST API too.
func (nd *Node) WaitHeight(ctx context.Context, h int64) error {
	if err := waitRPCHeight(ctx, nd.RPC, h); err != nil {
		return err
	}
	if nd.command != "node" {
		return nil
	}
	return client.New(nd.API).WaitHeight(ctx, h)
}

func waitRPCHeight(ctx context.Context, rpc string, h int64) error {
	for {
		var st struct {
			Result struct {
				SyncInfo struct {
					LatestBlockHeight int64 `json:"latest_block_height,string"`
				} `json:"sync_info"`
			} `json:"result"`
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", rpc+"/status", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
			if st.Result.SyncInfo.LatestBlockHeight >= max(h, 1) {
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

// Buffer collects a process's output while another goroutine reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
