package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/internal/hosts"
	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/node"
)

// TestMain lets the test binary fetch a URL from inside a host's network
// namespace (PRIMUM_TEST_GET, see hostNode.get): the hosts' addresses are
// not reachable from the test's own namespace.
func TestMain(m *testing.M) {
	if u := os.Getenv("PRIMUM_TEST_GET"); u != "" {
		c := &http.Client{Timeout: 10 * time.Second}
		res, err := c.Get(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(os.Stdout, res.Body)
		res.Body.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hostNode is a member's node home on a host of its own, and its node's
// process when it runs.
type hostNode struct {
	t    *testing.T
	host *hosts.Host
	home string
	name string
	cmd  *exec.Cmd
	log  *localnet.Buffer
	done chan struct{}
}

// run runs the command on the node's host with its home, and fails the
// test if it fails.
func (n *hostNode) run(bin string, args ...string) string {
	n.t.Helper()
	out, err := n.host.Command(bin, append(args, "--home", n.home)...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("%s: primum %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start starts the node's process on its host.
func (n *hostNode) start(bin, level string) {
	n.t.Helper()
	n.log = &localnet.Buffer{}
	n.cmd = n.host.Command(bin, "node", "--home", n.home, "--log-level", level)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	done := make(chan struct{})
	n.done = done
	go func(c *exec.Cmd) { c.Wait(); close(done) }(n.cmd)
}

// stop stops the node (SIGTERM; SIGKILL: kill) and waits for it.
func (n *hostNode) stop(sig syscall.Signal) {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(stopGrace):
		n.cmd.Process.Kill()
		n.t.Fatalf("%s did not stop within %s", n.name, stopGrace)
	}
	n.cmd = nil
}

// get reads a JSON document from url on the node's host.
func (n *hostNode) get(url string, v any) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c := n.host.Command(exe)
	c.Env = append(os.Environ(), "PRIMUM_TEST_GET="+url)
	out, err := c.Output()
	if err != nil {
		return fmt.Errorf("GET %s on %s: %v", url, n.name, err)
	}
	return json.Unmarshal(out, v)
}

// rpc reads a CometBFT RPC result from the node's own RPC.
func (n *hostNode) rpc(path string, v any) error {
	var doc struct {
		Result json.RawMessage `json:"result"`
	}
	if err := n.get("http://127.0.0.1:26657"+path, &doc); err != nil {
		return err
	}
	if doc.Result == nil {
		return fmt.Errorf("%s answered no result for %s", n.name, path)
	}
	return json.Unmarshal(doc.Result, v)
}

// status is the node's latest and earliest block heights.
func (n *hostNode) status() (latest, earliest int64, err error) {
	var st struct {
		SyncInfo struct {
			Latest   string `json:"latest_block_height"`
			Earliest string `json:"earliest_block_height"`
		} `json:"sync_info"`
	}
	if err := n.rpc("/status", &st); err != nil {
		return 0, 0, err
	}
	latest, _ = strconv.ParseInt(st.SyncInfo.Latest, 10, 64)
	earliest, _ = strconv.ParseInt(st.SyncInfo.Earliest, 10, 64)
	return latest, earliest, nil
}

// waitHeight waits until the node has committed height h.
func (n *hostNode) waitHeight(ctx context.Context, h int64) {
	n.t.Helper()
	for {
		if latest, _, err := n.status(); err == nil && latest >= h {
			return
		}
		select {
		case <-ctx.Done():
			n.t.Fatalf("%s did not reach height %d\n%s", n.name, h, tail(n.log))
		case <-n.done:
			n.t.Fatalf("%s exited before height %d\n%s", n.name, h, tail(n.log))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// appHash is the app hash in the header of block h, as the node has it.
func (n *hostNode) appHash(h int64) string {
	n.t.Helper()
	var b struct {
		Block struct {
			Header struct {
				AppHash string `json:"app_hash"`
			} `json:"header"`
		} `json:"block"`
	}
	if err := n.rpc(fmt.Sprintf("/block?height=%d", h), &b); err != nil || b.Block.Header.AppHash == "" {
		n.t.Fatalf("%s: block %d: %v", n.name, h, err)
	}
	return b.Block.Header.AppHash
}

func tail(b *localnet.Buffer) string {
	if b == nil {
		return ""
	}
	s := b.String()
	return s[max(0, len(s)-6000):]
}

// agree checks that every node has the same app hash in block h, waiting
// for any node that has not committed it yet.
func agree(t *testing.T, h int64, nodes ...*hostNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range nodes {
		n.waitHeight(ctx, h)
	}
	want := nodes[0].appHash(h)
	for _, n := range nodes[1:] {
		if got := n.appHash(h); got != want {
			t.Fatalf("block %d: %s has app hash %s, %s has %s", h, nodes[0].name, want, n.name, got)
		}
	}
}

// TestConsortiumAcrossHosts runs a consortium as its members would on
// machines of their own: each host is a network namespace with its own
// address. Four members found it through the genesis ceremony (their keys
// never leave their homes; files go between them as they would by mail),
// a fifth is admitted by their vote and joins by state sync, one that
// loses its disk is restored from a backup, and all five go through an
// upgrade at a height.
func TestConsortiumAcrossHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five node processes on five network namespaces (-short)")
	}
	net, err := hosts.New(5)
	if err != nil {
		t.Fatalf("this test needs network namespaces: %v", err)
	}
	t.Cleanup(net.Close)
	bin := primumBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	const chain = "primum-hosts"
	orgTypes := []string{"hospital", "pharmacy", "regulator", "hospital", "clinic"}
	nodes := make([]*hostNode, len(net.Hosts))
	for i, h := range net.Hosts {
		nodes[i] = &hostNode{t: t, host: h, home: filepath.Join(dir, fmt.Sprintf("host%d", i)), name: fmt.Sprintf("host%d", i)}
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			if n.cmd != nil {
				n.cmd.Process.Kill()
				<-n.done
			}
			if t.Failed() && n.log != nil {
				t.Logf("%s log:\n%s", n.name, tail(n.log))
			}
		}
	})
	founders, joiner := nodes[:4], nodes[4]

	// The ceremony: each founder signs up on its own host, the first
	// collects the four files, each installs the genesis.
	var files []string
	for i, n := range founders {
		n.run(bin, "init", "--ceremony", "--chain-id", chain, "--org-name", fmt.Sprintf("Member %d", i), "--org-type", orgTypes[i],
			"--moniker", n.name, "--external-address", n.host.IP+":26656", "--unencrypted")
		files = append(files, filepath.Join(n.home, node.MemberFileName))
	}
	ceremony := filepath.Join(dir, "ceremony")
	founders[0].run(bin, append([]string{"genesis", "collect", "--chain-id", chain, "--out", ceremony}, files...)...)
	hashRE := regexp.MustCompile(`[0-9a-f]{64}`)
	var genesisHash string
	for _, n := range founders {
		out := n.run(bin, "genesis", "install", filepath.Join(ceremony, "genesis.json"), "--peers-file", filepath.Join(ceremony, "peers"))
		h := hashRE.FindString(out)
		if genesisHash == "" {
			genesisHash = h
		}
		if h == "" || h != genesisHash {
			t.Fatalf("%s installed genesis %q, the first %q:\n%s", n.name, h, genesisHash, out)
		}
		// Members serve their RPC to the consortium's network (a joining
		// node's light client and state sync use it), take a snapshot every
		// 5 blocks, and make a block a second when idle (a test's patience).
		if err := node.SetListen(n.home, node.Listen{RPC: "0.0.0.0:26657"}); err != nil {
			t.Fatal(err)
		}
		s, err := node.LoadSettings(n.home)
		if err != nil {
			t.Fatal(err)
		}
		s.SnapshotInterval = 5
		if err := node.SaveSettings(n.home, s); err != nil {
			t.Fatal(err)
		}
		quickBlocks(t, n.home)
	}
	for _, n := range founders {
		n.start(bin, "error")
	}
	for _, n := range founders {
		n.waitHeight(ctx, 3)
	}
	agree(t, 3, founders...)

	// The fifth member joins: its init writes a membership request, a
	// founder proposes it, two more vote for it (three of four).
	joiner.run(bin, "init", "--genesis", filepath.Join(ceremony, "genesis.json"), "--org-name", "Member 4", "--org-type", orgTypes[4],
		"--moniker", joiner.name, "--peers", strings.ReplaceAll(strings.TrimSpace(readFile(t, filepath.Join(ceremony, "peers"))), "\n", ","), "--unencrypted")
	quickBlocks(t, joiner.home)
	out := founders[0].run(bin, "governance", "propose-add-member", "--request", filepath.Join(joiner.home, "membership-request.json"), "--from", "operator")
	m := regexp.MustCompile(`proposal (\d+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no proposal number in:\n%s", out)
	}
	for _, n := range founders[1:3] {
		out = n.run(bin, "governance", "vote", m[1], "yes", "--from", "operator")
	}
	if !strings.Contains(out, "passed") {
		t.Fatalf("the last vote did not pass the proposal:\n%s", out)
	}
	// Its node starts from a snapshot, checked against two members' nodes.
	latest, _, err := founders[0].status()
	if err != nil {
		t.Fatal(err)
	}
	founders[0].waitHeight(ctx, latest+12) // a snapshot after the vote, and the headers the light client needs beyond it
	joiner.run(bin, "statesync", founders[0].host.IP+":26657", founders[1].host.IP+":26657")
	joiner.start(bin, "info")
	latest, _, _ = founders[0].status()
	joiner.waitHeight(ctx, latest)
	if !strings.Contains(joiner.log.String(), "snapshot restored") {
		t.Fatalf("the joining node did not restore a snapshot:\n%s", tail(joiner.log))
	}
	_, earliest, err := joiner.status()
	if err != nil || earliest <= 1 {
		t.Fatalf("the joining node holds blocks from %d (%v): it replayed the chain instead of syncing", earliest, err)
	}
	// The joiner may have taken a snapshot newer than latest: it holds no
	// block before that one, so they agree on one it holds.
	agree(t, max(latest, earliest), nodes...)

	// A member loses its disk: host 2's node is backed up while it runs,
	// the chain goes on, the node is killed and its home deleted, and the
	// backup brings it back; it catches up and agrees.
	vouchers := regexp.MustCompile(`[0-9A-Z]{4}(-[0-9A-Z]{4}){4}`).FindAllString(
		founders[0].run(bin, "identity", "issue-vouchers", "--count", "5", "--from", "operator"), -1)
	patients := 0
	register := func(n int) {
		for range n {
			name := fmt.Sprintf("patient%d", patients)
			founders[0].run(bin, "keys", "add", name, "--unencrypted")
			founders[0].run(bin, "identity", "register-patient", "--voucher", vouchers[patients], "--from", name)
			patients++
		}
	}
	register(2)
	backup := filepath.Join(dir, "host2-backup")
	nodes[2].run(bin, "backup", "--out", backup)
	register(2)
	nodes[2].stop(syscall.SIGKILL)
	if err := os.RemoveAll(nodes[2].home); err != nil {
		t.Fatal(err)
	}
	register(1)
	nodes[2].run(bin, "restore", "--from", backup)
	nodes[2].start(bin, "error")
	latest, _, _ = founders[0].status()
	nodes[2].waitHeight(ctx, latest)
	agree(t, latest, nodes...)

	// An upgrade at a height: proposed and voted by the members, every
	// node stops by itself after the block before (exit status 3), and
	// the binary that carries it migrates on every node without a fork.
	upgraded := buildPrimum(t, "primum-upgradetest", "-tags", "upgradetest")
	latest, _, _ = founders[0].status()
	height := latest + 25
	out = founders[0].run(bin, "governance", "propose-upgrade", governance.UpgradeTest, "--height", strconv.FormatInt(height, 10), "--from", "operator")
	if m = regexp.MustCompile(`proposal (\d+) `).FindStringSubmatch(out); m == nil {
		t.Fatalf("no proposal number in:\n%s", out)
	}
	for _, n := range nodes[1:4] {
		n.run(bin, "governance", "vote", m[1], "yes", "--from", "operator")
	}
	due := fmt.Sprintf("upgrade %s is due at height %d", governance.UpgradeTest, height)
	for _, n := range nodes {
		select {
		case <-n.done:
		case <-ctx.Done():
			t.Fatalf("%s did not stop for the upgrade at %d", n.name, height)
		}
		if code := n.cmd.ProcessState.ExitCode(); code != exitUpgrade || !strings.Contains(n.log.String(), due) {
			t.Fatalf("%s exited with status %d, want %d saying %q", n.name, code, exitUpgrade, due)
		}
		n.cmd = nil
	}
	for _, n := range nodes {
		n.start(upgraded, "error")
	}
	for _, n := range nodes {
		n.waitHeight(ctx, height+3)
	}
	agree(t, height+2, nodes...)
	var info struct {
		Response struct {
			AppVersion string `json:"app_version"`
		} `json:"response"`
	}
	if err := joiner.rpc("/abci_info", &info); err != nil || info.Response.AppVersion != "2" {
		t.Fatalf("the joined node's app version after the upgrade: %q (%v), want 2", info.Response.AppVersion, err)
	}
}

// quickBlocks makes a test node make a block a second when idle (the
// default is five), so snapshots and the heights a test waits for come
// sooner.
func quickBlocks(t *testing.T, home string) {
	t.Helper()
	cfg, err := node.CometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.CreateEmptyBlocksInterval = time.Second
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
