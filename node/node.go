package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/api"
	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/store"
)

// Options for starting a node.
type Options struct {
	Home   string
	Logger *slog.Logger
	// APIAddr overrides config/primum.json.
	APIAddr string
	// TLSCert and TLSKey override config/primum.json's tls_cert and
	// tls_key.
	TLSCert, TLSKey string
	// CometMetrics registers CometBFT's metrics in Prometheus' default
	// registry; only one node per process may do so.
	CometMetrics bool
}

// Node is a running node.
type Node struct {
	App   *app.App
	Comet *cmtnode.Node
	store *store.Store
	abci  *clientCreator // the app's connections to CometBFT
	// Docs is the node's encrypted record store.
	Docs    *docstore.Store
	records *recordStore
	api     *http.Server
	apiAddr string
	tls     bool
	log     *slog.Logger
	once    sync.Once
	// stopWork ends the background research work (research_data).
	stopWork context.CancelFunc

	// Backups (backup.go): the home, CometBFT's databases, the admin
	// socket that takes a backup request, and one backup at a time.
	home     string
	comet    *cometStores
	admin    *http.Server
	backupMu sync.Mutex
}

// Start opens the state, starts CometBFT with the app in-process (CometBFT
// replays any blocks the app has not committed), and serves the API.
func Start(ctx context.Context, o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg, err := CometConfig(o.Home)
	if err != nil {
		return nil, err
	}
	cfg.Instrumentation.Prometheus = o.CometMetrics
	settings, err := LoadSettings(o.Home)
	if err != nil {
		return nil, err
	}
	if o.APIAddr != "" {
		settings.APIAddr = o.APIAddr
	}
	st, err := store.OpenWith(filepath.Join(o.Home, stateDir), store.Options{BlockCacheMB: settings.StateBlockCacheMB})
	if errors.Is(err, store.ErrOldFormat) {
		// Its blocks cannot be replayed into the new format either: their
		// headers carry the old app hashes.
		return nil, fmt.Errorf("%w.\nThis node's ledger cannot be carried over: set up a new home (primum init), or move %s aside", err, o.Home)
	}
	if err != nil {
		return nil, err
	}
	// The state's lock is ours: no backup runs on this home, and the
	// staging folders one left (a crash mid-backup) are removed before
	// anything is served, for they hold copies of the databases and keys.
	removed, err := removeBackupLeftovers(o.Home, "")
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(removed) > 0 {
		o.Logger.Warn("removed the staging folders of backups that did not end", "folders", removed)
	}
	reg := prometheus.NewRegistry()
	a, err := app.New(st, o.Logger, reg)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := checkGenesis(a, cfg.GenesisFile()); err != nil {
		st.Close()
		return nil, err
	}
	if err := a.EnableSnapshots(snapshotOptions(o.Home, settings)); err != nil {
		st.Close()
		return nil, fmt.Errorf("cannot keep state-sync snapshots: %w", err)
	}
	// Not on a state an upgrade this binary does not carry has changed,
	// or is about to: it would halt at once, or fork (app/upgrade.go).
	if err := a.CheckUpgrades(); err != nil {
		st.Close()
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("cannot load node key: %w", err)
	}
	pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	consensus, err := consensusApp(a)
	if err != nil {
		st.Close()
		return nil, err
	}
	creator := newClientCreator(a, consensus)
	dbs := &cometStores{}
	cn, err := cmtnode.NewNode(ctx, cfg, pv, nodeKey,
		// Consensus calls are serialised by CometBFT; CheckTx and Query run
		// concurrently with them (the app guards its own state), so
		// signature checks of new transactions overlap block execution.
		// CheckTx calls are pipelined (mempool.go).
		creator,
		cmtnode.DefaultGenesisDocProviderFunc(cfg),
		dbs.open,
		cmtnode.DefaultMetricsProvider(cfg.Instrumentation),
		cometLogger{o.Logger.With("module", "cometbft"), cfg.LogLevel})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("cannot create CometBFT node: %w", err)
	}
	if err := cn.Start(); err != nil {
		st.Close()
		return nil, fmt.Errorf("cannot start CometBFT: %w", err)
	}
	n := &Node{App: a, Comet: cn, store: st, abci: creator, log: o.Logger.With("module", "node"), home: o.Home, comet: dbs}
	gatherers := prometheus.Gatherers{reg}
	if o.CometMetrics {
		gatherers = append(gatherers, prometheus.DefaultGatherer)
	}
	signers, err := loadSigners(o.Home, settings.APITokens)
	if err == nil && len(settings.APITokens) > 0 && !settings.DemoTokens {
		o.Logger.Warn("api_tokens in config/primum.json are kept in plain text and allow every operation without expiry: for integrations, use 'primum tokens create' (hashed, scoped, expiring, revocable)",
			"tokens", len(settings.APITokens))
	}
	var svc *serviceTokens
	if err == nil {
		svc, err = openServiceTokens(o.Home)
	}
	if err != nil {
		n.Stop()
		return nil, err
	}
	if n.records, err = openRecords(o.Home, a, o.Logger.With("module", "records")); err != nil {
		n.Stop()
		return nil, err
	}
	n.Docs = n.records.Store
	if err := n.serveAdmin(); err != nil {
		n.Stop()
		return nil, err
	}
	tlsConfig, err := apiTLS(o.Home, settings, o)
	if err != nil {
		n.Stop()
		return nil, err
	}
	proxies, err := api.ParseTrustedProxies(settings.TrustedProxies)
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("cannot read trusted_proxies in %s: %w", settingsFile, err)
	}
	ln, err := net.Listen("tcp", settings.APIAddr)
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("cannot serve the API on %s: %w", settings.APIAddr, err)
	}
	n.apiAddr = ln.Addr().String()
	if tlsConfig != nil {
		ln, n.tls = tls.NewListener(ln, tlsConfig), true
	}
	publicURL := settings.PublicURL
	if publicURL == "" {
		publicURL = n.APIURL()
	}
	names, err := authorities(settings, n.apiAddr, n.tls)
	if err != nil {
		ln.Close()
		n.Stop()
		return nil, fmt.Errorf("%s: %w", settingsFile, err)
	}
	if names == nil && !slices.Contains(settings.Authorities, "*") {
		n.log.Warn("the API listens on every address and knows none of its names: a request signed for another node is not refused; set public_url or authorities in " + settingsFile)
	}
	handler := api.New(api.Backend{Ledger: a, Chain: local.New(cn), History: local.New(cn), RPCAddress: cn.Config().RPC.ListenAddress,
		CatchingUp: cn.ConsensusReactor().WaitSync, Gatherer: gatherers, Registerer: reg, Logger: o.Logger,
		RatePerKey: settings.RatePerKey, RateBurst: settings.RateBurst,
		RatePerIP: settings.RatePerIP, RateBurstIP: settings.RateBurstIP, TrustedProxies: proxies, Signers: signers, Tokens: svc, HeldKeys: svc.keys,
		Docs: n.Docs, PublicURL: publicURL, Authorities: names,
		CommitWait: time.Duration(min(settings.CommitWaitMS, 50_000)) * time.Millisecond})
	n.api = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := n.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("API server stopped", "err", err)
		}
	}()
	if settings.ResearchData != "" || settings.ResearchRecords {
		if err := n.startResearch(o.Home, settings); err != nil {
			n.Stop()
			return nil, err
		}
	}
	return n, nil
}

// startResearch starts the node's background research work over the data
// in research_data, signed with research_key (or operator_key), through
// the node's own API.
func (n *Node) startResearch(home string, s Settings) error {
	path := s.ResearchKey
	if path == "" {
		path = s.OperatorKey
	}
	if path == "" {
		return fmt.Errorf("research_data or research_records in %s needs research_key or operator_key: the key the node signs its models and cells with", settingsFile)
	}
	dir := s.ResearchData
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(home, dir)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(home, path)
	}
	f, err := keyring.ReadFile(path)
	if err != nil {
		return fmt.Errorf("research_key: %w", err)
	}
	key, err := f.Open(os.Getenv("PRIMUM_PASSPHRASE"))
	if err != nil {
		return fmt.Errorf("research_key %s: %w", f.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopWork = cancel
	w := &flrun.Worker{Client: client.New(n.APIURL()), Key: key, Dir: dir, Log: n.log.With("module", "research")}
	if s.ResearchRecords {
		w.Records = n.Docs
	}
	go w.Run(ctx)
	n.log.Info("research worker started", "data", dir, "key", f.Name)
	return nil
}

// APIURL is the base URL of the REST API.
func (n *Node) APIURL() string {
	if n.tls {
		return "https://" + n.apiAddr
	}
	return "http://" + n.apiAddr
}

// apiTLS loads the API's certificate and key, if the settings or options
// name them (both or neither), so that a wrong path or a key that does not
// match its certificate stops the node at start, not at the first request.
func apiTLS(home string, s Settings, o Options) (*tls.Config, error) {
	cert, key := s.TLSCert, s.TLSKey
	if o.TLSCert != "" || o.TLSKey != "" {
		cert, key = o.TLSCert, o.TLSKey
	}
	if cert == "" && key == "" {
		return nil, nil
	}
	if cert == "" || key == "" {
		return nil, fmt.Errorf("the API's TLS needs both a certificate and its key (tls_cert and tls_key, or --tls-cert and --tls-key)")
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(home, p)
	}
	pair, err := tls.LoadX509KeyPair(abs(cert), abs(key))
	if err != nil {
		return nil, fmt.Errorf("the API's TLS certificate and key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// RPCAddr is CometBFT's RPC listen address.
func (n *Node) RPCAddr() string { return n.Comet.Config().RPC.ListenAddress }

// Stop shuts the API and CometBFT down and closes the state.
func (n *Node) Stop() {
	n.once.Do(func() {
		if n.stopWork != nil {
			n.stopWork()
		}
		if n.api != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = n.api.Shutdown(ctx)
			cancel()
		}
		if n.admin != nil {
			// A backup under way finishes first (its copies read the stores).
			_ = n.admin.Shutdown(context.Background())
		}
		if n.Comet.IsRunning() {
			if err := n.Comet.Stop(); err != nil {
				n.log.Error("stopping CometBFT", "err", err)
			}
			n.Comet.Wait()
		}
		n.abci.flush() // CheckTx calls still queued read the state
		if n.records != nil {
			if err := n.records.close(); err != nil {
				n.log.Error("closing the record store", "err", err)
			}
		}
		if err := n.store.Close(); err != nil {
			n.log.Error("closing state", "err", err)
		}
	})
}

// cometDBs opens CometBFT's databases. Pebble ones log as the state's
// store does: errors to the node's log, not the informational lines (each
// start's replay of their logs) that the default Pebble logger prints.
func cometDBs(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	if dbm.BackendType(ctx.Config.DBBackend) != dbm.PebbleDBBackend {
		return cmtcfg.DefaultDBProvider(ctx)
	}
	return dbm.NewPebbleDBWithOpts(ctx.ID, ctx.Config.DBDir(), &pebble.Options{Logger: store.QuietLogger{}})
}

// cometLogger sends CometBFT's logs to slog, at the configured level.
type cometLogger struct {
	l     *slog.Logger
	level string
}

func (c cometLogger) Debug(msg string, kv ...any) {
	if c.level == "debug" {
		c.l.Debug(msg, kv...)
	}
}
func (c cometLogger) Info(msg string, kv ...any) {
	if c.level == "debug" || c.level == "info" {
		c.l.Info(msg, kv...)
	}
}
func (c cometLogger) Error(msg string, kv ...any) {
	// CometBFT reports its own listeners closing at shutdown as errors.
	for _, v := range kv {
		if err, ok := v.(error); ok && strings.Contains(err.Error(), "use of closed network connection") {
			return
		}
	}
	if msg == "Stopped accept routine, as transport is closed" {
		return
	}
	c.l.Error(msg, kv...)
}
func (c cometLogger) With(kv ...any) cmtlog.Logger { return cometLogger{c.l.With(kv...), c.level} }

// loadSigners opens the key files named by api_tokens.
func loadSigners(home string, tokens map[string]string) (map[string]ed25519.PrivateKey, error) {
	out := make(map[string]ed25519.PrivateKey, len(tokens))
	for tok, path := range tokens {
		if len(tok) < 16 {
			return nil, fmt.Errorf("api_tokens: a token must have at least 16 characters")
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(home, path)
		}
		f, err := keyring.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("api_tokens: %w", err)
		}
		key, err := f.Open(os.Getenv("PRIMUM_PASSPHRASE"))
		if err != nil {
			return nil, fmt.Errorf("api_tokens: key %s: %w", f.Name, err)
		}
		out[tok] = key
	}
	return out, nil
}

// serviceTokens are the node's service tokens (internal/tokens), with the
// key files they name opened once.
type serviceTokens struct {
	home  string
	watch *tokens.Watcher
	mu    sync.Mutex
	open  map[string]ed25519.PrivateKey // key file -> key
}

func openServiceTokens(home string) (*serviceTokens, error) {
	w, err := tokens.Watch(home)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tokens.Path(home), err)
	}
	return &serviceTokens{home: home, watch: w, open: map[string]ed25519.PrivateKey{}}, nil
}

// Lookup is api.ServiceTokens.
func (s *serviceTokens) Lookup(secret string, now time.Time) (ed25519.PrivateKey, func(string) bool, error) {
	t, err := s.watch.Lookup(secret, now)
	if err != nil {
		return nil, nil, err
	}
	key, err := s.key(t.Key)
	if err != nil {
		return nil, nil, err
	}
	return key, t.Allows, nil
}

func (s *serviceTokens) key(path string) (ed25519.PrivateKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.open[path]; ok {
		return k, nil
	}
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(s.home, full)
	}
	f, err := keyring.ReadFile(full)
	if err != nil {
		return nil, err
	}
	k, err := f.Open(os.Getenv("PRIMUM_PASSPHRASE"))
	if err != nil {
		return nil, err
	}
	s.open[path] = k
	return k, nil
}

// keys are the keys of the tokens in use (for the custodian's side of
// record requests).
func (s *serviceTokens) keys() []ed25519.PrivateKey {
	var out []ed25519.PrivateKey
	for _, t := range s.watch.Active(time.Now()) {
		if k, err := s.key(t.Key); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// checkGenesis runs a new chain's genesis, as InitChain will, before
// CometBFT starts (app.CheckGenesis). CometBFT
// keeps the document's hash the moment it starts, so a genesis the app
// refused at InitChain would, once corrected, be refused again as "does not
// match" until the operator deleted the data folder; checked here, a
// mistake changes nothing and the corrected file starts. A chain already
// under way is not checked again: its genesis was taken once, and a later
// Primum's stricter reading must not stop it.
func checkGenesis(a *app.App, path string) error {
	if v, _ := a.CommittedVersion(); v > 0 {
		return nil
	}
	doc, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		return fmt.Errorf("cannot read the genesis: %w", err)
	}
	if err := checkGenesisDoc(a, doc); err != nil {
		return fmt.Errorf("%s: %w (nothing was written: correct it and start again)", path, err)
	}
	return nil
}

// checkGenesisDoc runs doc's first block's genesis on a's committed state,
// writing nothing.
func checkGenesisDoc(a *app.App, doc *cmttypes.GenesisDoc) error {
	validators := make([]abci.ValidatorUpdate, len(doc.Validators))
	for i, v := range doc.Validators {
		validators[i] = abci.ValidatorUpdate{Power: v.Power, PubKeyType: v.PubKey.Type(), PubKeyBytes: v.PubKey.Bytes()}
	}
	return a.CheckGenesis(doc.AppState, validators, doc.InitialHeight)
}
