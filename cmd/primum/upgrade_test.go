package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/wire"
)

// cli runs the primum command (bin) and fails the test if it fails.
func cli(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("primum %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rpcGet decodes the result of one of CometBFT's RPC calls.
func rpcGet(ctx context.Context, rpc, path string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", rpc+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var body struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return err
	}
	return json.Unmarshal(body.Result, out)
}

// headerAppVersion is the app version in block h's header.
func headerAppVersion(ctx context.Context, rpc string, h int64) (string, error) {
	var b struct {
		Block struct {
			Header struct {
				Version struct {
					App string `json:"app"`
				} `json:"version"`
			} `json:"header"`
		} `json:"block"`
	}
	err := rpcGet(ctx, rpc, fmt.Sprintf("/block?height=%d", h), &b)
	return b.Block.Header.Version.App, err
}

// TestUpgradeAtHeight: three validators as OS processes vote a software
// upgrade at a height. Each stops by itself after the block before it,
// with the message and exit status 3, and refuses to start again with the
// same binary; started with the binary that carries the upgrade (-tags
// upgradetest: governance's proposals re-encoded), they pass the height,
// agree on the app hash, report app version 2 (ABCI Info, block headers)
// and answer from the new encoding; the migration ran once. The old binary
// refuses a home past the upgrade.
func TestUpgradeAtHeight(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consortium test (-short)")
	}
	upgraded := buildPrimum(t, "primum-upgradetest", "-tags", "upgradetest")
	net := startLocalnet(t, localnet.Options{Validators: 3, ChainID: "primum-upgrade-test",
		Tune: func(cfg *cmtcfg.Config, _ *node.Settings) { cfg.Consensus.CreateEmptyBlocksInterval = 0 }}, 8192)
	old := net.Nodes[0].Bin
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The upgrade, proposed and voted through the command line.
	st, err := client.New(net.Nodes[0].API).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	height := st.Height + 40
	cli(t, old, "governance", "propose-upgrade", governance.UpgradeTest, "--height", strconv.FormatInt(height, 10),
		"--info", "the test build", "--home", net.Nodes[0].Home, "--from", "operator")
	for _, nd := range net.Nodes[1:] {
		cli(t, old, "governance", "vote", "1", "yes", "--home", nd.Home, "--from", "operator")
	}
	var status governance.UpgradeStatus
	if err := json.Unmarshal([]byte(cli(t, old, "governance", "upgrade", "--home", net.Nodes[2].Home, "-o", "json")), &status); err != nil {
		t.Fatal(err)
	}
	if p := status.Scheduled; p == nil || p.Name != governance.UpgradeTest || p.Height != height || p.Proposal != 1 {
		t.Fatalf("primum governance upgrade: %+v, want %s at %d", p, governance.UpgradeTest, height)
	}
	if got, err := client.New(net.Nodes[0].API).Status(ctx); err != nil || got.Height >= height-1 {
		t.Fatalf("the votes took until height %d (%v): the test's margin of 40 blocks is too small", got.Height, err)
	}

	// Every node stops by itself after the block before the height.
	due := fmt.Sprintf("upgrade %s is due at height %d: install the Primum that carries it and start it again", governance.UpgradeTest, height)
	for i, nd := range net.Nodes {
		code, err := nd.Exited(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if code != exitUpgrade || !strings.Contains(nd.Log(), due) {
			t.Fatalf("node%d exited with status %d, want %d and %q:\n%s", i, code, exitUpgrade, due, nd.Log())
		}
	}
	// Doctor, on a node stopped for it, says why and what to do.
	if out, err := exec.Command(old, "doctor", "--home", net.Nodes[1].Home).CombinedOutput(); err == nil || !strings.Contains(string(out), "FAIL  upgrade") || !strings.Contains(string(out), due) {
		t.Fatalf("doctor on a node stopped for the upgrade: %v\n%s", err, out)
	}
	// The old binary started again refuses, with the same message.
	restart(t, net.Nodes[0])
	if code, err := net.Nodes[0].Exited(ctx); err != nil || code != exitUpgrade || !strings.Contains(net.Nodes[0].Log(), due) {
		t.Fatalf("the old binary restarted at the upgrade: status %d (%v), want %d and %q:\n%s", code, err, exitUpgrade, due, net.Nodes[0].Log())
	}

	// The binary that carries it, on every node.
	for _, nd := range net.Nodes {
		nd.Bin = upgraded
		restart(t, nd)
	}
	if err := net.WaitHeight(ctx, height+3); err != nil {
		t.Fatalf("the upgraded nodes did not pass the upgrade's height %d: %v", height, err)
	}
	// Restarted after the upgrade, a node does not migrate again (it
	// would disagree on the app hash, checked below).
	if err := net.Nodes[1].Stop(stopGrace); err != nil {
		t.Fatal(err)
	}
	restart(t, net.Nodes[1])
	if err := net.WaitHeight(ctx, height+6); err != nil {
		t.Fatal(err)
	}
	want, err := blockAppHash(ctx, net.Nodes[0].RPC, height+5)
	if err != nil {
		t.Fatal(err)
	}
	proposalKey := "gov/p/" + string(binary.BigEndian.AppendUint64(nil, 1))
	for i, nd := range net.Nodes {
		if got, err := blockAppHash(ctx, nd.RPC, height+5); err != nil || got != want {
			t.Fatalf("node%d app hash at %d: %s (%v), node0 %s", i, height+5, got, err, want)
		}
		var info struct {
			Response struct {
				AppVersion string `json:"app_version"`
			} `json:"response"`
		}
		if err := rpcGet(ctx, nd.RPC, "/abci_info", &info); err != nil || info.Response.AppVersion != "2" {
			t.Fatalf("node%d ABCI Info app version %q (%v), want 2", i, info.Response.AppVersion, err)
		}
		for h, want := range map[int64]string{height - 1: "1", height: "1", height + 1: "2"} {
			if got, err := headerAppVersion(ctx, nd.RPC, h); err != nil || got != want {
				t.Fatalf("node%d block %d header app version %q (%v), want %s", i, h, got, err, want)
			}
		}
		c := client.New(nd.API)
		var st governance.UpgradeStatus
		if err := c.Get(ctx, "/api/v1/governance/upgrade", &st); err != nil {
			t.Fatal(err)
		}
		if st.Scheduled != nil || len(st.Done) != 1 || st.Done[0] != (governance.UpgradeDone{Name: governance.UpgradeTest, Height: height, AppVersion: 2}) {
			t.Fatalf("node%d upgrades: %+v", i, st)
		}
		// The proposal is stored in the new encoding, once (a second run
		// would have prefixed it twice, which no build reads), and the
		// query answers from it.
		var proof wire.ProofResponse
		if err := c.Get(ctx, "/api/v1/proof?key="+url.QueryEscape(proposalKey), &proof); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(proof.Value)
		if len(raw) < 2 || raw[0] != 0x02 || raw[1] != '{' {
			t.Fatalf("node%d proposal 1 in state: %q, want 0x02 then its JSON", i, raw)
		}
		var p governance.Proposal
		if err := c.Get(ctx, "/api/v1/proposals/1", &p); err != nil || p.Status != governance.StatusPassed || p.Upgrade == nil || p.Upgrade.Name != governance.UpgradeTest {
			t.Fatalf("node%d GET /api/v1/proposals/1: %+v (%v)", i, p, err)
		}
	}

	// The old binary on a home past the upgrade refuses to run it.
	nd := net.Nodes[2]
	if err := nd.Stop(stopGrace); err != nil {
		t.Fatal(err)
	}
	nd.Bin = old
	restart(t, nd)
	past := fmt.Sprintf("upgrade %s took effect at height %d and this Primum does not carry it: install the Primum that carries it and start it again", governance.UpgradeTest, height)
	if code, err := nd.Exited(ctx); err != nil || code != exitUpgrade || !strings.Contains(nd.Log(), past) {
		t.Fatalf("the old binary on an upgraded home: status %d (%v), want %d and %q:\n%s", code, err, exitUpgrade, past, nd.Log())
	}
}
