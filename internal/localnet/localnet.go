// Package localnet runs a consortium on this machine, each node its own
// process of the primum command: the networks 'primum bench' measures and
// those the multi-process tests run. It writes the node homes with the
// command's own 'primum testnet' (free loopback ports), starts, stops, kills
// and restarts the nodes, waits for heights, and can route every p2p link
// through a proxy of its own, which a test cuts to partition a node.
package localnet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"

	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

// Options describe a network.
type Options struct {
	// Bin is the primum command that writes the homes and runs the nodes.
	Bin string
	// Dir is the folder the homes are written in (Dir/node0 …); the caller
	// makes it and removes it.
	Dir        string
	Validators int
	ChainID    string
	// OrgTypes are the organisation types of node0, node1, … in turn
	// (default: primum testnet's).
	OrgTypes []string
	// Command is the subcommand each node runs: "node" (the default) or
	// "kvstore-node" (CometBFT's kvstore example, which has no REST API).
	Command string
	// LogLevel is the nodes' --log-level ("error" when empty).
	LogLevel string
	// LogFiles sends each node's output to Dir/nodeI.log, which stays with
	// the folder, instead of memory.
	LogFiles bool
	// Proxied routes every directed p2p link through a proxy of its own
	// (PEX off, so that the nodes dial only the proxies): Partition cuts
	// them.
	Proxied bool
	// Tune, if set, changes each node's CometBFT configuration and Primum
	// settings before the node first starts.
	Tune func(cfg *cmtcfg.Config, s *node.Settings)
}

// Network is a consortium of node processes on this machine.
type Network struct {
	Dir   string
	Nodes []*Node

	proxies []*proxy
	// ctx ends, with a *NodeExited cause, when a node exits that was not
	// stopped or killed through its Node; else when the network is shut
	// down or closed.
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// NodeExited says which node of a network exited while it was needed.
type NodeExited struct {
	Node  int
	State string
}

func (e *NodeExited) Error() string {
	return fmt.Sprintf("node %d exited during the run (%s)", e.Node, e.State)
}

// New writes the homes of o.Validators nodes in o.Dir with 'primum testnet
// --free-ports' and configures them; no node runs yet (Start). The
// network's context is ctx's child.
func New(ctx context.Context, o Options) (*Network, error) {
	if o.Command == "" {
		o.Command = "node"
	}
	if o.LogLevel == "" {
		o.LogLevel = "error"
	}
	args := []string{"testnet", "--validators", strconv.Itoa(o.Validators), "--output", o.Dir, "--free-ports", "--chain-id", o.ChainID}
	if len(o.OrgTypes) > 0 {
		args = append(args, "--org-types", strings.Join(o.OrgTypes, ","))
	}
	if out, err := exec.CommandContext(ctx, o.Bin, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("primum testnet: %v\n%s", err, out)
	}
	n := &Network{Dir: o.Dir}
	cfgs := make([]*cmtcfg.Config, o.Validators)
	for i := range cfgs {
		home := filepath.Join(o.Dir, fmt.Sprintf("node%d", i))
		cfg, err := node.CometConfig(home)
		if err != nil {
			return nil, err
		}
		s, err := node.LoadSettings(home)
		if err != nil {
			return nil, err
		}
		nk, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
		if err != nil {
			return nil, err
		}
		nd := &Node{Index: i, Home: home, API: "http://" + s.APIAddr, RPC: strings.Replace(cfg.RPC.ListenAddress, "tcp://", "http://", 1),
			P2P: strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://"), ID: string(nk.ID()),
			Bin: o.Bin, LogLevel: o.LogLevel, command: o.Command, net: n}
		for tok := range s.APITokens {
			nd.Token = tok
		}
		if o.LogFiles {
			nd.logFile = filepath.Join(o.Dir, fmt.Sprintf("node%d.log", i))
		}
		n.Nodes = append(n.Nodes, nd)
		cfgs[i] = cfg
	}
	if o.Proxied {
		if err := n.proxy(cfgs); err != nil {
			n.closeProxies()
			return nil, err
		}
	}
	for i, cfg := range cfgs {
		if o.Tune != nil {
			s, err := node.LoadSettings(cfg.RootDir)
			if err == nil {
				o.Tune(cfg, &s)
				err = node.SaveSettings(cfg.RootDir, s)
			}
			if err != nil {
				n.closeProxies()
				return nil, err
			}
		}
		if o.Proxied || o.Tune != nil {
			cmtcfg.WriteConfigFile(filepath.Join(n.Nodes[i].Home, "config", "config.toml"), cfg)
		}
	}
	n.ctx, n.cancel = context.WithCancelCause(ctx)
	return n, nil
}

// proxy routes node i's link to node j through a proxy of its own, for
// every i and j: node i's persistent peers are the proxies.
func (n *Network) proxy(cfgs []*cmtcfg.Config) error {
	for i, cfg := range cfgs {
		var peers []string
		for j, to := range n.Nodes {
			if i == j {
				continue
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			p := &proxy{from: i, to: j, ln: ln, target: to.P2P, conns: map[net.Conn]struct{}{}}
			go p.serve()
			n.proxies = append(n.proxies, p)
			peers = append(peers, fmt.Sprintf("%s@%s", to.ID, ln.Addr()))
		}
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		cfg.P2P.PexReactor = false
		cfg.P2P.PersistentPeersMaxDialPeriod = 2 * time.Second
	}
	return nil
}

// Context ends, with a *NodeExited cause, when a node exits on its own (not
// through Stop or Kill), and when the network is shut down or closed.
func (n *Network) Context() context.Context { return n.ctx }

// startTimeout bounds how long Start waits for the nodes' first block.
const startTimeout = 60 * time.Second

// Start starts every node and waits until each has committed its first
// block. On an error, what started is still running: the caller shuts the
// network down.
func (n *Network) Start(ctx context.Context) error {
	for _, nd := range n.Nodes {
		if err := nd.Start(); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for _, nd := range n.Nodes {
		if err := nd.WaitHeight(wctx, 1); err != nil {
			log := nd.Log()
			return fmt.Errorf("node %s did not start: %w\n%s", nd.Home, err, log[max(0, len(log)-4096):])
		}
	}
	return nil
}

// WaitHeight waits until every node has committed height h.
func (n *Network) WaitHeight(ctx context.Context, h int64) error {
	for _, nd := range n.Nodes {
		if err := nd.WaitHeight(ctx, h); err != nil {
			return fmt.Errorf("%s: %w", nd.Home, err)
		}
	}
	return nil
}

// PIDs are the running nodes' process ids.
func (n *Network) PIDs() []int {
	var out []int
	for _, nd := range n.Nodes {
		if pid := nd.PID(); pid != 0 {
			out = append(out, pid)
		}
	}
	return out
}

// DataDirs are the nodes' data folders.
func (n *Network) DataDirs() []string {
	var out []string
	for _, nd := range n.Nodes {
		out = append(out, filepath.Join(nd.Home, "data"))
	}
	return out
}

// Partition cuts (or, cut false, heals) every link to and from node k. The
// network must be Proxied.
func (n *Network) Partition(k int, cut bool) {
	for _, p := range n.proxies {
		if p.from == k || p.to == k {
			p.setCut(cut)
		}
	}
}

// shutdownGrace is how long Shutdown lets a node stop after SIGTERM.
const shutdownGrace = 20 * time.Second

// Shutdown stops every node as an operator would (SIGTERM, then SIGKILL if
// it has not stopped after 20 s), closes the proxies and ends the
// network's context. The folder stays.
func (n *Network) Shutdown() {
	for _, nd := range n.Nodes {
		nd.signalStop(syscall.SIGTERM)
	}
	for _, nd := range n.Nodes {
		_ = nd.awaitExit(shutdownGrace)
	}
	n.closeProxies()
	if n.cancel != nil {
		n.cancel(context.Canceled)
	}
}

// Close kills every node (SIGKILL, a paused one too), closes the proxies
// and ends the network's context. The folder stays.
func (n *Network) Close() {
	for _, nd := range n.Nodes {
		nd.Signal(syscall.SIGCONT)
		nd.Kill()
	}
	n.closeProxies()
	if n.cancel != nil {
		n.cancel(context.Canceled)
	}
}

func (n *Network) closeProxies() {
	for _, p := range n.proxies {
		p.ln.Close()
		p.setCut(true)
	}
}

// Finish shuts the network down after a run that ended with *err. After a
// failure (not an interruption) it keeps the network's folder, whose node
// logs tell what went wrong, and says where in *err; else it removes the
// folder. A node that exited on its own fails the run, whatever else did.
func (n *Network) Finish(err *error) {
	// What failed after a node died is its consequence. The run can fail
	// first (its connections refused) and the node's exit be noticed a
	// moment later.
	if n.ctx != nil && *err != nil && !errors.Is(*err, context.Canceled) {
		select {
		case <-n.ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	var lost *NodeExited
	if n.ctx != nil && errors.As(context.Cause(n.ctx), &lost) {
		*err = lost
	}
	n.Shutdown()
	if *err == nil || errors.Is(*err, context.Canceled) {
		os.RemoveAll(n.Dir)
		return
	}
	*err = fmt.Errorf("%w (the network's folder is kept, each node's log in it: %s)", *err, n.Dir)
}

// nodeExited ends the network's context: node i exited on its own.
func (n *Network) nodeExited(i int, err error) {
	state := "exit status 0"
	if err != nil {
		state = err.Error()
	}
	if n.cancel != nil {
		n.cancel(&NodeExited{Node: i, State: state})
	}
}

// OperatorKey is the node's operator key (keys/operator.json, unencrypted
// as primum testnet writes it).
func (nd *Node) OperatorKey() (ed25519.PrivateKey, error) {
	f, err := keyring.ReadFile(filepath.Join(nd.Home, "keys", "operator.json"))
	if err != nil {
		return nil, err
	}
	return f.Open("")
}
