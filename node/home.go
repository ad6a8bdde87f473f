package node

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtcrypto "github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/envelope"
)

// Ports a node listens on.
type Ports struct {
	P2P int
	RPC int
	API int
}

// DefaultPorts are the outside contract's defaults.
var DefaultPorts = Ports{P2P: 26656, RPC: 26657, API: 8080}

// Settings are Primum's own node settings, in config/primum.json.
type Settings struct {
	APIAddr string `json:"api_addr"`
	// OperatorKey is the organisation key file this node's operator signs with.
	OperatorKey string `json:"operator_key,omitempty"`
	// RatePerKey bounds transactions per second the API accepts from one
	// signing key (429 beyond it); 0 turns the limit off. RateBurst is how
	// many may arrive at once.
	RatePerKey float64 `json:"rate_per_key"`
	RateBurst  int     `json:"rate_burst"`
	// RatePerIP bounds requests per second the API answers from one client
	// address (429 rate_limited_ip beyond it; an IPv6 client counts by its
	// /64); 0 turns the limit off. RateBurstIP is how many may arrive at
	// once. Loopback callers (the machine's own tools, a reverse proxy on
	// the same host) are not limited.
	RatePerIP   float64 `json:"rate_per_ip"`
	RateBurstIP int     `json:"rate_burst_ip"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// in front of the API: from them, the right-most address in
	// X-Forwarded-For that is not itself a trusted proxy is the client the
	// limit per address counts (without them, a proxy on another host
	// counts as one client).
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// APITokens name the member keys the node signs EPCIS captures with:
	// token -> key file (relative to the home). Encrypted key files are
	// opened with PRIMUM_PASSPHRASE at start.
	APITokens map[string]string `json:"api_tokens,omitempty"`
	// DemoTokens says the api_tokens are the demo's shortcuts (primum
	// demo writes them): the node does not warn about them.
	DemoTokens bool `json:"demo_tokens,omitempty"`
	// PublicURL is where other members reach this node's API (default:
	// http://<api_addr>); custodians publish it on the ledger so that
	// requesters know where to ask for records.
	PublicURL string `json:"public_url,omitempty"`
	// Authorities are further names callers reach the API by (host or
	// host:port, as in the URL they use), besides public_url's and the
	// listening address's (and localhost's when it listens on loopback or
	// on every address): a request signed for any other name is refused.
	// "*" takes any name (a node behind proxies whose names it cannot
	// list).
	Authorities []string `json:"authorities,omitempty"`
	// StateBlockCacheMB sizes the state store's block cache (0: the
	// default, 256 MB). A smaller cache bounds a small member's node
	// tighter at some cost in speed; see docs/performance.md.
	StateBlockCacheMB int `json:"state_block_cache_mb,omitempty"`
	// TLSCert and TLSKey, when both set, are the PEM certificate (chain)
	// and private key the API serves HTTPS with (paths relative to the
	// home, or absolute). Without them the API speaks plain HTTP: keep it on
	// loopback, or behind a reverse proxy that terminates TLS
	// (docs/operations.md).
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// CommitWaitMS is how long a request the node signs for its caller
	// (/api/v1/act, record reads) waits for the block, in milliseconds (0:
	// 40,000; at most 50,000, inside the API's 60 s write timeout).
	CommitWaitMS int `json:"commit_wait_ms,omitempty"`
	// ResearchData, when set, is a folder (relative to the home, or
	// absolute) where this member's systems put the data its node computes
	// on for research, in the background: fl/<task>.csv for a federated
	// learning task it takes part in, research/<dataset>.csv for a
	// dataset it is a custodian of. The node trains and posts its models,
	// and answers open queries with noisy cells, signed with research_key
	// (default: operator_key); the files never leave it
	// (docs/federated.md, docs/research.md).
	ResearchData string `json:"research_data,omitempty"`
	ResearchKey  string `json:"research_key,omitempty"`
	// ResearchRecords, when true, lets the node compute on the records it
	// holds as a custodian, in the background, for learning tasks and
	// datasets marked consented: only the records of patients whose
	// research consent names the member for that study, each declared
	// first on the ledger (records.use: it shows on their trail).
	ResearchRecords bool `json:"research_records,omitempty"`
	// SnapshotInterval is how many blocks apart the node writes a
	// state-sync snapshot of its state into data/snapshots, for new members'
	// nodes to start from (0: every 1,000; -1: none). SnapshotKeep is how
	// many it keeps (0: 2).
	SnapshotInterval int64 `json:"snapshot_interval,omitempty"`
	SnapshotKeep     int   `json:"snapshot_keep,omitempty"`
}

// DefaultSettings are a new node's settings.
func DefaultSettings(apiPort int) Settings {
	return Settings{APIAddr: fmt.Sprintf("127.0.0.1:%d", apiPort), RatePerKey: 500, RateBurst: 1000,
		RatePerIP: 200, RateBurstIP: 400, SnapshotInterval: DefaultSnapshotInterval, SnapshotKeep: DefaultSnapshotKeep}
}

// Paths inside a home.
const (
	settingsFile = "config/primum.json"
	stateDir     = "data/primum"
)

// CometConfig returns CometBFT's configuration for a home: defaults tuned
// for Primum, then config/config.toml if present.
func CometConfig(home string) (*cmtcfg.Config, error) {
	cfg := cmtcfg.DefaultConfig()
	tune(cfg)
	path := filepath.Join(home, "config", "config.toml")
	if _, err := os.Stat(path); err == nil {
		v := viper.New()
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", path, err)
		}
		if err := v.Unmarshal(cfg); err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", path, err)
		}
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", path, err)
	}
	return cfg, nil
}

// DefaultBlockInterval is Primum's timeout_commit: how long after a block
// the next one starts (docs/performance.md weighs it against throughput).
const DefaultBlockInterval = 200 * time.Millisecond

// tune sets the defaults Primum runs with (chosen by measurement, see
// docs/performance.md).
func tune(cfg *cmtcfg.Config) {
	cfg.Consensus.TimeoutCommit = DefaultBlockInterval
	cfg.Consensus.TimeoutPropose = 2 * time.Second
	cfg.Consensus.CreateEmptyBlocks = true
	cfg.Consensus.CreateEmptyBlocksInterval = 5 * time.Second
	cfg.Mempool.Size = 20000
	cfg.Mempool.MaxTxBytes = envelope.MaxBytes
	cfg.TxIndex.Indexer = "null"
	cfg.Instrumentation.Prometheus = true
	cfg.Instrumentation.PrometheusListenAddr = "" // served on the API's /metrics instead
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.AddrBookStrict = false
	cfg.LogLevel = "error"
}

// LoadSettings reads config/primum.json.
func LoadSettings(home string) (Settings, error) {
	s := DefaultSettings(DefaultPorts.API)
	b, err := os.ReadFile(filepath.Join(home, settingsFile))
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("cannot parse %s: %w", settingsFile, err)
	}
	return s, nil
}

// Initialized reports whether home holds a node.
func Initialized(home string) bool {
	_, err := os.Stat(filepath.Join(home, "config", "genesis.json"))
	return err == nil
}

// LocalAPI is the URL of the REST API of home's node, where a command
// run on its machine finds it: the address its settings name, by default
// http://127.0.0.1:8080.
func LocalAPI(home string) string {
	s, err := LoadSettings(home)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	return "http://" + s.APIAddr
}

// LocalRPC is the CometBFT RPC of home's node (the light client's source
// of headers), or tcp://127.0.0.1:26657 when home holds no node.
func LocalRPC(home string) string {
	if cfg, err := CometConfig(home); err == nil && Initialized(home) {
		return cfg.RPC.ListenAddress
	}
	return "tcp://127.0.0.1:26657"
}

// InitOptions describe a new node home.
type InitOptions struct {
	Moniker string
	Ports   Ports
	Peers   string // persistent peers, "id@host:port,…"
}

// InitHome writes a node's CometBFT configuration and keys (validator and
// p2p) into home without a genesis. It returns the validator public key and
// the p2p node id. Existing keys are kept.
func InitHome(home string, o InitOptions) (ed25519.PublicKey, p2p.ID, error) {
	cfg := cmtcfg.DefaultConfig()
	tune(cfg)
	cfg.SetRoot(home)
	cfg.Moniker = o.Moniker
	cfg.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", o.Ports.P2P)
	cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", o.Ports.RPC)
	cfg.P2P.PersistentPeers = o.Peers
	for _, d := range []string{"config", "data", "keys"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return nil, "", err
		}
	}
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	pv, err := privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(), func() (cmtcrypto.PrivKey, error) {
		return cmted25519.GenPrivKey(), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("cannot create validator key: %w", err)
	}
	nk, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, "", fmt.Errorf("cannot create node key: %w", err)
	}
	s := DefaultSettings(o.Ports.API)
	if err := writeJSON(filepath.Join(home, settingsFile), s); err != nil {
		return nil, "", err
	}
	pub, _ := pv.GetPubKey()
	return ed25519.PublicKey(pub.Bytes()), nk.ID(), nil
}

// ValidatorPrivateKey reads the home's CometBFT validator key
// (config/priv_validator_key.json): its holder signs the proof of
// possession a proposal to admit it as a member's validator needs.
// CometBFT's own loader exits the process on a bad file; this answers an
// error.
func ValidatorPrivateKey(home string) (ed25519.PrivateKey, error) {
	cfg, err := CometConfig(home)
	if err != nil {
		return nil, err
	}
	path := cfg.PrivValidatorKeyFile()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the validator key: %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("cannot decode the validator key %s: %w", path, err)
	}
	priv, ok := k.PrivKey.(cmted25519.PrivKey)
	if !ok || len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("the validator key %s is not an Ed25519 key", path)
	}
	return ed25519.PrivateKey(priv), nil
}

// Listen are the addresses a node listens on, host:port; an empty one is
// left as configured.
type Listen struct{ API, RPC, P2P string }

// SetListen writes new listen addresses into a node's home: the API's into
// config/primum.json (where the CLI reads which node to talk to), CometBFT's
// RPC and P2P into config/config.toml, so they hold on the next start too.
func SetListen(home string, l Listen) error {
	if err := l.Check(); err != nil {
		return err
	}
	l.RPC, l.P2P = strings.TrimPrefix(l.RPC, "tcp://"), strings.TrimPrefix(l.P2P, "tcp://")
	if l.API != "" {
		s, err := LoadSettings(home)
		if err != nil {
			return err
		}
		s.APIAddr = l.API
		if err := SaveSettings(home, s); err != nil {
			return err
		}
	}
	if l.RPC == "" && l.P2P == "" {
		return nil
	}
	cfg, err := CometConfig(home)
	if err != nil {
		return err
	}
	if l.RPC != "" {
		cfg.RPC.ListenAddress = "tcp://" + l.RPC
	}
	if l.P2P != "" {
		cfg.P2P.ListenAddress = "tcp://" + l.P2P
	}
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	return nil
}

// Check says whether each address given is one SetListen takes: host:port
// (CometBFT's addresses may be written tcp://host:port, as it prints them).
// Check it before anything is written.
func (l Listen) Check() error {
	for _, a := range []string{l.API, strings.TrimPrefix(l.RPC, "tcp://"), strings.TrimPrefix(l.P2P, "tcp://")} {
		if a != "" {
			if err := checkListenAddr(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkListenAddr accepts host:port with a port 1-65535 and a host that is
// an IP address or a plain host name: what is kept goes into config.toml
// as written, and a stray quote there would stop every later start.
func checkListenAddr(a string) error {
	bad := fmt.Errorf("%q is not a host:port listen address (e.g. 127.0.0.1:8081)", a)
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return bad
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad
	}
	if host == "" || net.ParseIP(host) != nil {
		return nil
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad
		}
	}
	return nil
}

// SaveSettings writes config/primum.json.
func SaveSettings(home string, s Settings) error {
	return writeJSON(filepath.Join(home, settingsFile), s)
}

// WriteGenesis writes the genesis document: the founding members, those with
// power being the validators.
func WriteGenesis(home, chainID string, g *app.Genesis, genesisTime time.Time) error {
	doc, err := GenesisDoc(chainID, g, genesisTime)
	if err != nil {
		return err
	}
	return doc.SaveAs(filepath.Join(home, "config", "genesis.json"))
}

// GenesisDoc is the CometBFT genesis document of a new chain of g's
// founding members, those with power being the validators: the one way
// 'primum init', 'primum testnet' and 'primum genesis collect' make it.
func GenesisDoc(chainID string, g *app.Genesis, genesisTime time.Time) (*types.GenesisDoc, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	doc := &types.GenesisDoc{ChainID: chainID, GenesisTime: genesisTime.UTC(), InitialHeight: 1,
		ConsensusParams: ConsensusParams()}
	for _, m := range g.Members {
		if m.Power == 0 {
			continue
		}
		vk, err := hexKey(m.ValidatorKey)
		if err != nil {
			return nil, err
		}
		pk := cmted25519.PubKey(vk)
		doc.Validators = append(doc.Validators, types.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: m.Power, Name: m.Name})
	}
	state, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	doc.AppState = state
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("invalid genesis: %w", err)
	}
	return doc, nil
}

// ConsensusParams are the consensus parameters Primum writes into a new
// genesis: CometBFT's defaults with 4 MiB blocks. A founding member's
// install refuses others unless told to take them (InstallOptions).
func ConsensusParams() *types.ConsensusParams {
	p := types.DefaultConsensusParams()
	p.Block.MaxBytes = 4 << 20
	return p
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func hexKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("validator key %q is not a 32-byte hex Ed25519 key", s)
	}
	return b, nil
}

// authorities are the names a node's API answers signed requests for
// (api.Backend.Authorities): the configured ones, public_url's host, and
// the listening address (with localhost's names when it is loopback or
// every address). A node listening on every address with neither
// public_url nor authorities cannot know its names: nil, any. A configured
// name that is not a host or host:port is an error.
func authorities(s Settings, listen string, tls bool) ([]string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil
	}
	ip := net.ParseIP(host)
	if slices.Contains(s.Authorities, "*") || ip != nil && ip.IsUnspecified() && s.PublicURL == "" && len(s.Authorities) == 0 {
		return nil, nil
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	var out []string
	add := func(scheme, host, port string) {
		a := strings.ToLower(host)
		if strings.Contains(a, ":") && !strings.HasPrefix(a, "[") {
			a = "[" + a + "]"
		}
		// A default port is left out, as a request's @authority leaves it
		// (for a configured name, either scheme's).
		if port != "" && !((scheme == "http" || scheme == "") && port == "80") && !((scheme == "https" || scheme == "") && port == "443") {
			a += ":" + port
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range s.Authorities {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			h, p = a, ""
		}
		if h == "" || strings.ContainsAny(h, "/@?# ") || p != "" && strings.Trim(p, "0123456789") != "" {
			return nil, fmt.Errorf("authorities: %q is not a host or host:port (as in the URL callers use, without scheme or path)", a)
		}
		add("", h, p)
	}
	if u, err := url.Parse(s.PublicURL); err == nil && u.Hostname() != "" {
		add(u.Scheme, u.Hostname(), u.Port())
	}
	if ip == nil || !ip.IsUnspecified() {
		add(scheme, host, port)
	}
	if ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			add(scheme, h, port)
		}
	}
	return out, nil
}
