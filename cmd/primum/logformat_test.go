package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/node"
)

// TestJSONLogs: with --log-format json a node logs one JSON object a line
// (time, level, msg and its attributes), for a log collector; an unknown
// format is refused.
func TestJSONLogs(t *testing.T) {
	bin := primumBinary(t)
	home := t.TempDir()
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	p := ports[0]
	init := exec.Command(bin, "init", "--home", home, "--unencrypted", "--org-name", "Log Test", "--p2p-port", strconv.Itoa(p.P2P),
		"--rpc-port", strconv.Itoa(p.RPC), "--api-port", strconv.Itoa(p.API))
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "node", "--home", home, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] != "INFO" || rec["msg"] != "node running" || rec["home"] != home {
			t.Fatalf("the first log line is not the node's start as JSON: %q (%v)", line, err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no log line within a minute")
	}
	if out, err := exec.Command(bin, "doctor", "--home", home, "--log-format", "yaml").CombinedOutput(); err == nil || !strings.Contains(string(out), "--log-format must be text or json") {
		t.Fatalf("an unknown log format was taken: %v %s", err, out)
	}
}
