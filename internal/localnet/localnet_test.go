package localnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFinishKeepsFolderOfFailedRun: a run that failed leaves its network's
// folder (the nodes' logs) and names it; a run that succeeded or was
// interrupted leaves nothing.
func TestFinishKeepsFolderOfFailedRun(t *testing.T) {
	tests := []struct {
		name string
		err  error
		keep bool
	}{
		{"success", nil, false},
		{"failure", errors.New("set-up transaction not committed"), true},
		{"interrupted", fmt.Errorf("load: %w", context.Canceled), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "net")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := tt.err
			(&Network{Dir: dir}).Finish(&err)
			_, statErr := os.Stat(dir)
			if kept := statErr == nil; kept != tt.keep {
				t.Fatalf("folder kept %v, want %v", kept, tt.keep)
			}
			if tt.keep && (!errors.Is(err, tt.err) || !strings.Contains(err.Error(), dir)) {
				t.Fatalf("error %q should wrap the failure and name %s", err, dir)
			}
			if !tt.keep && err != tt.err {
				t.Fatalf("error changed to %v", err)
			}
		})
	}
}

// TestFinishReportsANodeThatExited: a node that exited on its own fails the
// run, whatever the run itself answered.
func TestFinishReportsANodeThatExited(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := &Network{Dir: dir}
	n.ctx, n.cancel = context.WithCancelCause(context.Background())
	n.nodeExited(2, errors.New("signal: killed"))
	err := errors.New("connection refused")
	n.Finish(&err)
	var lost *NodeExited
	if !errors.As(err, &lost) || lost.Node != 2 || !strings.Contains(err.Error(), "node 2 exited during the run (signal: killed)") {
		t.Fatalf("Finish answered %v", err)
	}
}

// TestPartitionCutsAndHealsLinks: a cut link refuses new connections and
// drops the open ones; healed, it forwards again. Links of other nodes are
// not touched.
func TestPartitionCutsAndHealsLinks(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	n := &Network{}
	for _, link := range [][2]int{{0, 1}, {2, 3}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := &proxy{from: link[0], to: link[1], ln: ln, target: echo.Addr().String(), conns: map[net.Conn]struct{}{}}
		go p.serve()
		n.proxies = append(n.proxies, p)
	}
	defer n.closeProxies()
	roundTrip := func(c net.Conn) bool {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return false
		}
		b := make([]byte, 4)
		_, err := io.ReadFull(c, b)
		return err == nil && string(b) == "ping"
	}
	dial := func(i int) net.Conn {
		c, err := net.Dial("tcp", n.proxies[i].ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	open, other := dial(0), dial(1)
	if !roundTrip(open) || !roundTrip(other) {
		t.Fatal("the links do not forward")
	}
	n.Partition(1, true)
	if roundTrip(open) {
		t.Fatal("an open connection of node 1's link survived the cut")
	}
	if roundTrip(dial(0)) {
		t.Fatal("node 1's cut link accepted a new connection")
	}
	if !roundTrip(other) {
		t.Fatal("cutting node 1 cut another link")
	}
	n.Partition(1, false)
	if !roundTrip(dial(0)) {
		t.Fatal("the healed link does not forward")
	}
}
