package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/keyring"
)

// Check is one finding of Doctor: what was checked, how it stands (ok,
// warn, fail) and what to do about it.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Statuses of a check.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Thresholds of Doctor.
const (
	// doctorSkew is how far ahead of this machine's clock the chain's
	// latest block may be before the clock is said to be behind.
	doctorSkew = 5 * time.Second
	// doctorStale is how long without a block before the node is said
	// to be behind or the chain halted (empty blocks come every 5 s).
	doctorStale = time.Minute
	// doctorDiskWarn and doctorDiskFail bound the free space of the
	// home's file system.
	doctorDiskWarn = 5 << 30
	doctorDiskFail = 512 << 20
)

// Doctor checks the node at home as its operator would before and while
// it runs: the home and its configuration, the genesis, the keys' file
// permissions (and unencrypted member keys), the free disk, and the
// addresses it listens on (free, or taken by this node). When the node
// answers on its API, also the chain (the same as the genesis), how
// recent its latest block is against this machine's clock (a clock
// behind the chain's, a node behind or a halted chain) and its peers.
func Doctor(ctx context.Context, home string, now time.Time) []Check {
	var out []Check
	add := func(name, status, format string, args ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}
	if !Initialized(home) {
		add("home", CheckFail, "%s holds no node (no config/genesis.json): create one with 'primum init --home %s'", home, home)
		return out
	}
	add("home", CheckOK, "%s", home)
	settings, err := LoadSettings(home)
	if err != nil {
		add("config", CheckFail, "%v", err)
		return out
	}
	cfg, err := CometConfig(home)
	if err != nil {
		add("config", CheckFail, "%v", err)
		return out
	}
	add("config", CheckOK, "config/primum.json and config/config.toml read")
	genesis, err := cmttypes.GenesisDocFromFile(cfg.GenesisFile())
	if err != nil {
		add("genesis", CheckFail, "%v", err)
	} else {
		add("genesis", CheckOK, "chain %s, %d validator(s)", genesis.ChainID, len(genesis.Validators))
	}
	out = append(out, keyChecks(home, cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile())...)
	out = append(out, diskCheck(home))

	// The node, if it answers.
	api := "http://" + settings.APIAddr
	if settings.TLSCert != "" {
		api = "https://" + settings.APIAddr
	}
	c := client.New(api)
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	status, serr := c.Status(sctx)
	cancel()
	addrs := []struct{ name, addr string }{{"api", settings.APIAddr}, {"rpc", strings.TrimPrefix(cfg.RPC.ListenAddress, "tcp://")},
		{"p2p", strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://")}}
	for _, a := range addrs {
		switch {
		case serr == nil:
			add("port "+a.name, CheckOK, "%s: this node listens there", a.addr)
		default:
			l, err := net.Listen("tcp", a.addr)
			if err != nil {
				add("port "+a.name, CheckFail, "%s is taken by another program (or cannot be bound: %v): stop it, or give this node another address in its config", a.addr, err)
				continue
			}
			l.Close()
			add("port "+a.name, CheckOK, "%s is free", a.addr)
		}
	}
	if serr != nil {
		add("node", CheckWarn, "not answering on %s (%v): not running, or starting; the checks of a running node were skipped", api, serr)
		return out
	}
	if genesis != nil && status.ChainID != genesis.ChainID {
		add("node", CheckFail, "the node at %s runs chain %s, not this home's %s: another node holds this home's address", api, status.ChainID, genesis.ChainID)
		return out
	}
	add("node", CheckOK, "chain %s at height %d", status.ChainID, status.Height)
	if now.Sub(status.BlockTime) > doctorStale && !status.CatchingUp {
		// Just started? A block comes at least every 5 s: look again.
		select {
		case <-ctx.Done():
		case <-time.After(6 * time.Second):
			sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			if again, err := c.Status(sctx); err == nil {
				status, now = again, now.Add(6*time.Second)
			}
			cancel()
		}
	}
	switch ahead, behind := status.BlockTime.Sub(now), now.Sub(status.BlockTime); {
	case ahead > doctorSkew:
		add("clock", CheckFail, "the latest block's time is %s ahead of this machine's clock: set the clock right (NTP); a validator's clock skew delays blocks", ahead.Round(time.Second))
	case status.CatchingUp:
		add("clock", CheckWarn, "the node is catching up (its latest block is %s old)", behind.Round(time.Second))
	case behind > doctorStale:
		add("clock", CheckWarn, "no block for %s: this node is behind (see its peers) or the chain halted (too few validators online)", behind.Round(time.Second))
	default:
		add("clock", CheckOK, "the latest block is %s old", behind.Round(time.Second))
	}
	out = append(out, peersCheck(ctx, cfg.RPC.ListenAddress, cfg.P2P.PersistentPeers, len(status.Validators)))
	return out
}

// keyChecks: the validator and p2p keys and the member keys in keys/ are
// read by their owner only, and member keys are encrypted.
func keyChecks(home string, files ...string) []Check {
	var out []Check
	members, _ := filepath.Glob(filepath.Join(home, "keys", "*.json"))
	var open, loose, plain []string
	for _, f := range append(files, members...) {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(home, f)
		if st.Mode().Perm()&0o077 != 0 {
			loose = append(loose, fmt.Sprintf("%s (%o)", rel, st.Mode().Perm()))
		}
		open = append(open, rel)
		if strings.HasPrefix(rel, "keys"+string(filepath.Separator)) {
			if kf, err := keyring.ReadFile(f); err == nil && !kf.Encrypted {
				plain = append(plain, rel)
			}
		}
	}
	switch {
	case len(loose) > 0:
		out = append(out, Check{Name: "keys", Status: CheckFail, Detail: "readable by others than their owner: " + strings.Join(loose, ", ") + ": chmod 600 them"})
	default:
		out = append(out, Check{Name: "keys", Status: CheckOK, Detail: fmt.Sprintf("%d key file(s), each readable by its owner only", len(open))})
	}
	if len(plain) > 0 {
		out = append(out, Check{Name: "keys encrypted", Status: CheckWarn, Detail: "stored unencrypted: " + strings.Join(plain, ", ") + " (fine for a demo; encrypt a member's key with a passphrase: primum keys add)"})
	}
	return out
}

// diskCheck: the free space of the home's file system.
func diskCheck(home string) Check {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(home, &fs); err != nil {
		return Check{Name: "disk", Status: CheckWarn, Detail: fmt.Sprintf("cannot read the free space of %s: %v", home, err)}
	}
	free, total := fs.Bavail*uint64(fs.Bsize), fs.Blocks*uint64(fs.Bsize)
	gib := func(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB" }
	switch {
	case free < doctorDiskFail:
		return Check{Name: "disk", Status: CheckFail, Detail: fmt.Sprintf("%s free of %s: the node stops when its disk fills; free space or move the home", gib(free), gib(total))}
	case free < doctorDiskWarn:
		return Check{Name: "disk", Status: CheckWarn, Detail: fmt.Sprintf("%s free of %s: plan more space (docs/operations.md gives the growth per block)", gib(free), gib(total))}
	}
	return Check{Name: "disk", Status: CheckOK, Detail: fmt.Sprintf("%s free of %s", gib(free), gib(total))}
}

// peersCheck: a node of a consortium of several validators has peers.
func peersCheck(ctx context.Context, rpc, persistent string, validators int) Check {
	u := "http://" + strings.TrimPrefix(rpc, "tcp://") + "/net_info"
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Check{Name: "peers", Status: CheckWarn, Detail: fmt.Sprintf("CometBFT's RPC does not answer on %s: %v", u, err)}
	}
	defer res.Body.Close()
	var info struct {
		Result struct {
			NPeers string `json:"n_peers"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		return Check{Name: "peers", Status: CheckWarn, Detail: fmt.Sprintf("cannot read %s: %v", u, err)}
	}
	n, _ := strconv.Atoi(info.Result.NPeers)
	configured := 0
	if persistent != "" {
		configured = len(strings.Split(persistent, ","))
	}
	switch {
	case n == 0 && (validators > 1 || configured > 0):
		return Check{Name: "peers", Status: CheckWarn, Detail: fmt.Sprintf("no peers connected (%d persistent peers configured, %d validators): check the addresses in config.toml and that the p2p port is reachable", configured, validators)}
	case configured > 0 && n < configured:
		return Check{Name: "peers", Status: CheckWarn, Detail: fmt.Sprintf("%d of %d persistent peers connected", n, configured)}
	}
	return Check{Name: "peers", Status: CheckOK, Detail: fmt.Sprintf("%d connected (%d persistent configured)", n, configured)}
}
