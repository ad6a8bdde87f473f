package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/store"
)

// snapshotsDir holds a node's state-sync snapshots.
const snapshotsDir = "data/snapshots"

// Default snapshot settings (config/primum.json snapshot_interval and
// snapshot_keep).
const (
	DefaultSnapshotInterval = 1000
	DefaultSnapshotKeep     = 2
)

// snapshotOptions are the app's snapshot settings for a home.
func snapshotOptions(home string, s Settings) app.SnapshotOptions {
	o := app.SnapshotOptions{Dir: filepath.Join(home, snapshotsDir), Interval: s.SnapshotInterval, Keep: s.SnapshotKeep}
	switch {
	case o.Interval == 0:
		o.Interval = DefaultSnapshotInterval
	case o.Interval < 0:
		o.Interval = 0
	}
	if o.Keep <= 0 {
		o.Keep = DefaultSnapshotKeep
	}
	return o
}

// StateSyncTrust is the block a joining node's state sync trusts: the
// light client verifies every header from it to the snapshot's by the
// validators' signatures, and the snapshot's state by the app hash.
type StateSyncTrust struct {
	ChainID string   `json:"chain_id"`
	Servers []string `json:"rpc_servers"`
	Height  int64    `json:"trust_height"`
	Hash    string   `json:"trust_hash"`
}

// SetStateSync makes a new node's first start restore the consortium's
// state from a member's snapshot rather than replay every block since
// genesis: it reads the latest block from the first of servers (members'
// CometBFT RPC addresses; at least two, run by different members), checks
// that every other server has the same block at that height, and writes
// them and that block as the trust point into config/config.toml. The node
// must be stopped and hold no ledger yet.
func SetStateSync(ctx context.Context, home string, servers []string) (*StateSyncTrust, error) {
	if len(servers) < 2 {
		return nil, errors.New("state sync needs the RPC addresses of at least two members' nodes (it checks one against the other)")
	}
	var urls []string
	for _, s := range servers {
		u, err := rpcURL(s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(urls, u) {
			return nil, fmt.Errorf("%s is given twice: state sync needs two different members' nodes", s)
		}
		urls = append(urls, u)
	}
	if err := checkNoLedger(home); err != nil {
		return nil, err
	}
	chainID, err := genesisChainID(home)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	var status struct {
		NodeInfo struct {
			Network string `json:"network"`
		} `json:"node_info"`
		SyncInfo struct {
			Latest string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := rpcGet(ctx, hc, urls[0]+"/status", &status); err != nil {
		return nil, err
	}
	if status.NodeInfo.Network != chainID {
		return nil, fmt.Errorf("%s runs chain %q, but this node's genesis is chain %q", urls[0], status.NodeInfo.Network, chainID)
	}
	latest, err := strconv.ParseInt(status.SyncInfo.Latest, 10, 64)
	if err != nil || latest < 1 {
		return nil, fmt.Errorf("%s has no blocks yet", urls[0])
	}
	// One block back: its hash is settled by the next block's commit.
	t := &StateSyncTrust{ChainID: chainID, Servers: urls, Height: max(1, latest-1)}
	for i, u := range urls {
		var block struct {
			BlockID struct {
				Hash string `json:"hash"`
			} `json:"block_id"`
		}
		if err := rpcGet(ctx, hc, u+"/block?height="+strconv.FormatInt(t.Height, 10), &block); err != nil {
			return nil, err
		}
		h := block.BlockID.Hash
		if len(h) != 64 {
			return nil, fmt.Errorf("%s gave no hash for block %d", u, t.Height)
		}
		if i == 0 {
			t.Hash = h
		} else if !strings.EqualFold(h, t.Hash) {
			return nil, fmt.Errorf("%s and %s disagree on block %d (%s, %s): do not sync from them until their members have looked into it", urls[0], u, t.Height, t.Hash, h)
		}
	}
	cfg, err := CometConfig(home)
	if err != nil {
		return nil, err
	}
	cfg.StateSync.Enable = true
	cfg.StateSync.RPCServers = urls
	cfg.StateSync.TrustHeight = t.Height
	cfg.StateSync.TrustHash = t.Hash
	cfg.StateSync.DiscoveryTime = 5 * time.Second
	if err := cfg.StateSync.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("state sync settings: %w", err)
	}
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	return t, nil
}

// rpcURL is a CometBFT RPC address as an http URL without a trailing
// slash (host:port, tcp://host:port and http(s)://host:port are taken).
func rpcURL(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "tcp://"), "/")
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return "", fmt.Errorf("%q is not a node's RPC address (host:port or http://host:port)", s)
	}
	return u.String(), nil
}

// rpcGet reads the result of a CometBFT RPC GET at u into v (statesync's
// trust point, doctor's checks of this machine's node).
func rpcGet(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", u, err)
	}
	defer res.Body.Close()
	var doc struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 4<<20)).Decode(&doc); err != nil {
		return fmt.Errorf("%s did not answer as a CometBFT RPC: %w", u, err)
	}
	if doc.Error != nil {
		return fmt.Errorf("%s: %s %s", u, doc.Error.Message, doc.Error.Data)
	}
	return json.Unmarshal(doc.Result, v)
}

// checkNoLedger refuses a home whose node has a ledger already (state sync
// only runs on a node's first start) or is running.
func checkNoLedger(home string) error {
	dir := filepath.Join(home, stateDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	st, err := store.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open this node's state (stop the node first): %w", err)
	}
	defer st.Close()
	if v := st.Version(); v > 0 {
		return fmt.Errorf("this node already holds the ledger up to height %d: state sync is for a node's first start (it catches up by itself)", v)
	}
	return nil
}

// genesisChainID is the chain id of a home's genesis.
func genesisChainID(home string) (string, error) {
	b, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		return "", fmt.Errorf("this home has no genesis yet: %w", err)
	}
	var doc struct {
		ChainID string `json:"chain_id"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.ChainID == "" {
		return "", errors.New("the genesis has no chain_id")
	}
	return doc.ChainID, nil
}
