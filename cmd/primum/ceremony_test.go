package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/node"
)

// TestGenesisCeremony founds a three-member consortium the way members on
// machines of their own do, with the real command: each signs up in its own
// home (init --ceremony), a coordinator collects their member.json files,
// each installs the genesis (the same hash everywhere) and starts its node
// as its own process; the three reach height 3 with one app hash. A home
// that signed up does not start before its genesis is installed.
func TestGenesisCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process ceremony test (-short)")
	}
	bin := primumBinary(t)
	dir := t.TempDir()
	ports, err := node.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("primum %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	const chain = "primum-ceremony-e2e"
	orgTypes := []string{"hospital", "lab", "regulator"}
	homes := make([]string, len(ports))
	var files []string
	for i, p := range ports {
		homes[i] = filepath.Join(dir, fmt.Sprintf("member%d", i))
		run("init", "--home", homes[i], "--ceremony", "--chain-id", chain, "--org-name", fmt.Sprintf("Member %d", i),
			"--org-type", orgTypes[i], "--moniker", fmt.Sprintf("member%d", i), "--external-address", fmt.Sprintf("127.0.0.1:%d", p.P2P),
			"--rpc-port", strconv.Itoa(p.RPC), "--api-port", strconv.Itoa(p.API), "--unencrypted")
		files = append(files, filepath.Join(homes[i], node.MemberFileName))
	}
	if out, err := exec.Command(bin, "node", "--home", homes[0]).CombinedOutput(); err == nil || !strings.Contains(string(out), "waiting for the consortium's genesis") {
		t.Fatalf("a node before its genesis: %v\n%s", err, out)
	}

	ceremony := filepath.Join(dir, "ceremony")
	var collected node.Collected
	if err := json.Unmarshal(run(append([]string{"genesis", "collect", "-o", "json", "--chain-id", chain, "--out", ceremony}, files...)...), &collected); err != nil {
		t.Fatal(err)
	}
	for _, h := range homes {
		var in node.Installed
		if err := json.Unmarshal(run("genesis", "install", "-o", "json", "--home", h, collected.Genesis, "--peers-file", collected.Peers), &in); err != nil {
			t.Fatal(err)
		}
		if in.Hash != collected.Hash || len(in.Peers) != len(homes)-1 || in.MembersDir != collected.MembersDir || len(in.Members) != len(homes) || in.TotalPower != 30 ||
			!in.GenesisTime.Equal(collected.GenesisTime) || len(in.Settings) != 0 {
			t.Fatalf("%s installed %+v; the coordinator's hash is %s", h, in, collected.Hash)
		}
	}
	// Again, as a person reads it: the founding members to check with the
	// other founders (installing the same genesis again only sets the peers).
	table := string(run("genesis", "install", "--home", homes[0], collected.Genesis, "--peers-file", collected.Peers))
	for _, want := range []string{"signed files are in " + collected.MembersDir, "Member 2", "regulator", "total power 30",
		"Check this list with the other founders", "Genesis SHA-256: " + collected.Hash,
		"Genesis time: " + collected.GenesisTime.Format(time.RFC3339)} {
		if !strings.Contains(table, want) {
			t.Fatalf("install's output lacks %q:\n%s", want, table)
		}
	}

	var procs []*exec.Cmd
	var logs []*localnet.Buffer
	t.Cleanup(func() {
		for i, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- p.Wait() }()
			select {
			case <-done:
			case <-time.After(stopGrace):
				_ = p.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("member%d log:\n%s", i, logs[i])
			}
		}
	})
	for _, h := range homes {
		cmd := exec.Command(bin, "node", "--home", h, "--log-level", "error")
		log := &localnet.Buffer{}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, logs = append(procs, cmd), append(logs, log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var hashes []string
	for i, p := range ports {
		rpc := fmt.Sprintf("http://127.0.0.1:%d", p.RPC)
		for {
			h, err := blockAppHash(ctx, rpc, 3)
			if err == nil {
				hashes = append(hashes, h)
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("member%d never reached height 3: %v", i, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for i, h := range hashes {
		if h != hashes[0] {
			t.Fatalf("app hash at height 3: member%d %s, member0 %s", i, h, hashes[0])
		}
	}
}
