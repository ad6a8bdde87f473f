package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/p2p"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/wire"
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
	if AwaitingGenesis(home) {
		add("home", CheckFail, "%v", errAwaitingGenesis(home))
		return out
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
		add("genesis", CheckOK, "chain %s, %d founding validator(s)", genesis.ChainID, len(genesis.Validators))
	}
	secrets := []string{cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile(), filepath.Join(home, unsealFile), filepath.Join(home, unsealNextFile),
		filepath.Join(home, settingsFile)}
	for _, f := range append([]string{settings.OperatorKey, settings.ResearchKey, settings.TLSKey}, slices.Collect(maps.Values(settings.APITokens))...) {
		if f != "" {
			if !filepath.IsAbs(f) {
				f = filepath.Join(home, f)
			}
			secrets = append(secrets, f)
		}
	}
	out = append(out, keyChecks(home, secrets...)...)
	out = append(out, diskCheck(home))

	// The node, if it answers: on its API (HTTPS with the certificate it
	// is configured with, whatever name that certificate is for), else on
	// CometBFT's RPC; it is this home's node if it has its node key.
	var nodeID string
	if nk, err := p2p.LoadNodeKey(cfg.NodeKeyFile()); err == nil {
		nodeID = string(nk.ID())
	}
	base, hc := "http://"+settings.APIAddr, noProxy()
	if settings.TLSCert != "" {
		var err error
		if hc, err = pinnedTLS(home, settings.TLSCert); err != nil {
			add("config", CheckFail, "tls_cert: %v", err)
			return out
		}
		base = "https://" + settings.APIAddr
	}
	fetch := func() (*wire.Status, error) { return fetchStatus(ctx, hc, base) }
	status, serr := fetch()
	ours := serr == nil && (nodeID == "" || status.NodeID == nodeID)
	rpc := localHTTP(cfg.RPC.ListenAddress)
	rpcOurs := !ours && rpc != "" && rpcNodeID(ctx, rpc) == nodeID && nodeID != ""
	for _, a := range []struct{ name, addr string }{{"api", settings.APIAddr}, {"rpc", cfg.RPC.ListenAddress}, {"p2p", cfg.P2P.ListenAddress}} {
		addr, tcp := strings.CutPrefix(a.addr, "tcp://")
		switch {
		case a.addr == "":
			add("port "+a.name, CheckOK, "off")
		case !tcp && strings.Contains(a.addr, "://"):
			add("port "+a.name, CheckOK, "%s: not a TCP address (not checked)", a.addr)
		case ours || rpcOurs:
			add("port "+a.name, CheckOK, "%s: this node listens there", addr)
		default:
			l, err := net.Listen("tcp", addr)
			switch {
			case errors.Is(err, syscall.EADDRINUSE):
				add("port "+a.name, CheckFail, "%s is taken by another program: stop it, or give this node another address in its config", addr)
			case err != nil:
				add("port "+a.name, CheckFail, "%s cannot be listened on: %v", addr, err)
			default:
				l.Close()
				add("port "+a.name, CheckOK, "%s is free", addr)
			}
		}
	}
	switch {
	case rpcOurs:
		add("node", CheckWarn, "running (CometBFT's RPC answers with this home's node key), but its API on %s does not answer (%v)", settings.APIAddr, serr)
		return out
	case serr != nil:
		add("node", CheckWarn, "not answering on %s (%v): not running, or starting; the checks of a running node were skipped", settings.APIAddr, serr)
		if c, ok := upgradeCheck(home); ok {
			out = append(out, c)
		}
		return out
	case !ours:
		add("node", CheckFail, "another node (%s) answers on %s, not this home's (%s)", status.NodeID, settings.APIAddr, nodeID)
		return out
	}
	if genesis != nil && status.ChainID != genesis.ChainID {
		add("node", CheckFail, "the node at %s runs chain %s, not this home's %s", settings.APIAddr, status.ChainID, genesis.ChainID)
		return out
	}
	add("node", CheckOK, "chain %s at height %d", status.ChainID, status.Height)
	out = append(out, clockCheck(ctx, fetch, status, now, 6*time.Second))
	out = append(out, peersCheck(ctx, cfg.RPC.ListenAddress, cfg.P2P.PersistentPeers, len(status.Validators)))
	out = append(out, snapshotsCheck(home, settings, status.Height))
	return out
}

// snapshotsCheck: the node keeps state-sync snapshots for joining nodes,
// and the newest is not much older than its interval says it should be.
func snapshotsCheck(home string, s Settings, height int64) Check {
	o := snapshotOptions(home, s)
	if o.Interval == 0 {
		return Check{Name: "snapshots", Status: CheckOK, Detail: "none taken (snapshot_interval -1): new members' nodes cannot start from this node's state"}
	}
	entries, _ := os.ReadDir(o.Dir)
	var newest int64
	for _, e := range entries {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() {
			newest = max(newest, h)
		}
	}
	switch {
	case newest == 0 && height < 2*o.Interval:
		return Check{Name: "snapshots", Status: CheckOK, Detail: fmt.Sprintf("none yet: the first at height %d", o.Interval)}
	case newest == 0 || height-newest > 2*o.Interval:
		return Check{Name: "snapshots", Status: CheckWarn, Detail: fmt.Sprintf("the newest snapshot in %s is of height %d, at height %d with one due every %d blocks: see the node's log for \"cannot write a snapshot\" (disk full?)",
			rel(home, o.Dir), newest, height, o.Interval)}
	}
	return Check{Name: "snapshots", Status: CheckOK, Detail: fmt.Sprintf("newest of height %d, one every %d blocks", newest, o.Interval)}
}

// keyChecks: the home and its keys/ folder, the validator and p2p keys,
// the record store's unseal key, the TLS key, the settings (which may
// hold API tokens) and the member keys are read by their owner only;
// member keys and the unseal key are encrypted.
func keyChecks(home string, files ...string) []Check {
	var out []Check
	members, _ := filepath.Glob(filepath.Join(home, "keys", "*.json"))
	var loose, plain, open []string
	checked := map[string]bool{}
	for _, dir := range []string{home, filepath.Join(home, "keys")} {
		if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s (%o)", dir, st.Mode().Perm()))
		}
	}
	for _, f := range append(files, members...) {
		if checked[f] {
			continue
		}
		checked[f] = true
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue // absent (the next unseal key, no TLS), or no file to read
		}
		name := rel(home, f)
		if st.Mode().Perm()&0o077 != 0 {
			loose = append(loose, fmt.Sprintf("%s (%o)", name, st.Mode().Perm()))
		}
		if strings.HasPrefix(f, filepath.Join(home, "keys")+string(filepath.Separator)) || strings.HasSuffix(f, filepath.Base(unsealFile)) {
			if kf, err := keyring.ReadFile(f); err == nil && !kf.Encrypted {
				plain = append(plain, name)
			}
		}
	}
	if len(loose) > 0 {
		out = append(out, Check{Name: "keys", Status: CheckFail, Detail: "readable by others than their owner: " + strings.Join(loose, ", ") + ": chmod 600 the files"})
	} else {
		out = append(out, Check{Name: "keys", Status: CheckOK, Detail: fmt.Sprintf("%d key and settings file(s), each readable by its owner only", len(checked))})
	}
	if len(open) > 0 {
		out = append(out, Check{Name: "home open", Status: CheckWarn, Detail: "others may list: " + strings.Join(open, ", ") + " (primum init makes them 700: chmod 700)"})
	}
	if len(plain) > 0 {
		out = append(out, Check{Name: "keys encrypted", Status: CheckWarn, Detail: "stored unencrypted: " + strings.Join(plain, ", ") +
			" (fine for a demo; a member's node keeps them encrypted: set PRIMUM_PASSPHRASE when the home is made, docs/operations.md \"Keys\")"})
	}
	return out
}

// rel is path as seen from home.
func rel(home, path string) string {
	if r, err := filepath.Rel(home, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// peersCheck: a node of a consortium of several validators has peers.
func peersCheck(ctx context.Context, rpc, persistent string, validators int) Check {
	base := localHTTP(rpc)
	if base == "" {
		return Check{Name: "peers", Status: CheckOK, Detail: fmt.Sprintf("CometBFT's RPC is not on TCP (%q): peers not checked", rpc)}
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var info struct {
		NPeers string `json:"n_peers"`
	}
	if err := rpcGet(rctx, noProxy(), base+"/net_info", &info); err != nil {
		return Check{Name: "peers", Status: CheckWarn, Detail: fmt.Sprintf("CometBFT's RPC: %v", err)}
	}
	n, _ := strconv.Atoi(info.NPeers)
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

// noProxy is an HTTP client for this machine's own node: no proxy from the
// environment, a short timeout.
func noProxy() *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil}}
}

// pinnedTLS is a client that accepts exactly the certificate the node is
// configured with (the API's address is seldom the name it is for).
func pinnedTLS(home, certFile string) (*http.Client, error) {
	if !filepath.IsAbs(certFile) {
		certFile = filepath.Join(home, certFile)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	want := block.Bytes
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // verified below: the leaf must be the configured certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
				return fmt.Errorf("the API serves another certificate than %s", certFile)
			}
			return nil
		}}}}, nil
}

// fetchStatus reads a node's GET /api/v1/status.
func fetchStatus(ctx context.Context, hc *http.Client, base string) (*wire.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/status", nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answers %s", base, res.Status)
	}
	var st wire.Status
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// localHTTP is the http:// URL of a CometBFT RPC listen address as this
// machine reaches it ("" for a socket or none).
func localHTTP(laddr string) string {
	addr, ok := strings.CutPrefix(laddr, "tcp://")
	if !ok {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// rpcNodeID is the node id CometBFT's RPC at base answers with ("": none).
func rpcNodeID(ctx context.Context, base string) string {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var st struct {
		NodeInfo struct {
			ID string `json:"id"`
		} `json:"node_info"`
	}
	if rpcGet(rctx, noProxy(), base+"/status", &st) != nil {
		return ""
	}
	return st.NodeInfo.ID
}

// clockCheck weighs the node's latest block against this machine's clock
// (now, when status was read): a block ahead means a clock behind; a
// stale block, looked at again after a block's time (recheck), a node
// behind or a halted chain — unless the chain moved meanwhile and its new
// blocks are as old, which means this machine's clock is ahead. One new
// block is not enough: the first block after a pause (a restart) carries
// the time of the votes before the pause (BFT time), so a chain that just
// resumed looks like a clock ahead until its second block.
func clockCheck(ctx context.Context, fetch func() (*wire.Status, error), status *wire.Status, now time.Time, recheck time.Duration) Check {
	if status.Height == 0 || status.BlockTime.IsZero() {
		return Check{Name: "clock", Status: CheckWarn, Detail: "no block yet: the chain has not started (too few validators online?)"}
	}
	if now.Sub(status.BlockTime) > doctorStale && !status.CatchingUp {
		read, start, moved := now, time.Now(), 0
	again:
		for range 3 {
			select {
			case <-ctx.Done():
				break again
			case <-time.After(recheck):
			}
			next, err := fetch()
			if err != nil {
				break
			}
			grew := next.Height > status.Height
			status, now = next, read.Add(time.Since(start))
			if (!grew && moved == 0) || now.Sub(status.BlockTime) <= doctorStale || next.CatchingUp {
				break // halted or behind, or fresh blocks again: judged below
			}
			if !grew {
				continue // the chain resumed a block ago: wait for its next
			}
			if moved++; moved == 2 {
				return Check{Name: "clock", Status: CheckFail, Detail: fmt.Sprintf("blocks are being made, but the latest is %s older than this machine's clock: its clock is ahead (set it right: NTP)",
					now.Sub(status.BlockTime).Round(time.Second))}
			}
		}
	}
	switch ahead, behind := status.BlockTime.Sub(now), now.Sub(status.BlockTime); {
	case ahead > doctorSkew:
		return Check{Name: "clock", Status: CheckFail, Detail: fmt.Sprintf("the latest block's time is %s ahead of this machine's clock: set the clock right (NTP); a validator's clock skew delays blocks", ahead.Round(time.Second))}
	case status.CatchingUp:
		return Check{Name: "clock", Status: CheckWarn, Detail: fmt.Sprintf("the node is catching up (its latest block is %s old)", behind.Round(time.Second))}
	case behind > doctorStale:
		return Check{Name: "clock", Status: CheckWarn, Detail: fmt.Sprintf("no block for %s: this node is behind (see its peers) or the chain halted (too few validators online)", behind.Round(time.Second))}
	}
	return Check{Name: "clock", Status: CheckOK, Detail: fmt.Sprintf("the latest block is %s old", max(0, now.Sub(status.BlockTime)).Round(time.Second))}
}

// upgradeCheck, for a stopped node, says whether its ledger waits for a
// software upgrade this binary does not carry (the node stopped for it, or
// would stop at once). ok is false when the state cannot be opened (a node
// starting holds it).
func upgradeCheck(home string) (Check, bool) {
	dir := filepath.Join(home, stateDir)
	if _, err := os.Stat(dir); err != nil {
		return Check{}, false
	}
	st, err := store.Open(dir)
	if err != nil {
		return Check{}, false
	}
	defer st.Close()
	a, err := app.New(st, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return Check{Name: "upgrade", Status: CheckFail, Detail: err.Error()}, true
	}
	if err := a.CheckUpgrades(); err != nil {
		return Check{Name: "upgrade", Status: CheckFail, Detail: err.Error() + " ('primum version' lists the upgrades a binary carries)"}, true
	}
	return Check{Name: "upgrade", Status: CheckOK, Detail: fmt.Sprintf("none due at height %d that this binary does not carry", st.Version()+1)}, true
}
