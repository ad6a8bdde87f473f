package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/spf13/cobra"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

var testnetOrgTypes = []string{"hospital", "hospital", "pharmacy", "regulator", "manufacturer", "distributor", "insurer", "clinic", "lab", "research"}

func newTestnetCmd(g *globals) *cobra.Command {
	var (
		n         int
		outDir    string
		chainID   string
		startPort int
		freePorts bool
	)
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the homes of an N-validator consortium on this machine",
		Long: `Writes DIR/node0 … DIR/nodeN-1: one genesis naming N founding member organisations,
each with a validator, distinct loopback ports and every node a persistent peer of the
others. Start each with 'primum node --home DIR/nodeI'. Operator keys are written
UNENCRYPTED (DIR/nodeI/keys/operator.json): this is for testing only.

Ports: node I uses P2P START+10*I, RPC START+10*I+1, API START+10*I+2 (START is
--starting-port), or free ports chosen now with --free-ports.`,
		Example: `  primum testnet --validators 4 --output ./testnet
  primum node --home ./testnet/node0 &
  primum node --home ./testnet/node1 & …`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 64 {
				return fmt.Errorf("--validators must be 1-64")
			}
			if outDir == "" {
				return fmt.Errorf("--output DIR is required")
			}
			type nodeInfo struct {
				home  string
				ports node.Ports
				val   []byte
				id    p2p.ID
				op    *keyring.File
			}
			nodes := make([]nodeInfo, n)
			var err error
			for i := range nodes {
				nodes[i].home = filepath.Join(outDir, fmt.Sprintf("node%d", i))
				if node.Initialized(nodes[i].home) {
					return fmt.Errorf("%s already holds a node", nodes[i].home)
				}
				if freePorts {
					if nodes[i].ports, err = pickFreePorts(); err != nil {
						return err
					}
				} else {
					b := startPort + 10*i
					nodes[i].ports = node.Ports{P2P: b, RPC: b + 1, API: b + 2}
				}
			}
			for i := range nodes {
				if nodes[i].val, nodes[i].id, err = node.InitHome(nodes[i].home, node.InitOptions{Moniker: fmt.Sprintf("node%d", i), Ports: nodes[i].ports}); err != nil {
					return err
				}
				if nodes[i].op, err = keyring.Dir(filepath.Join(nodes[i].home, "keys")).Add("operator", "", true); err != nil {
					return err
				}
			}
			gen := &app.Genesis{}
			for i, nd := range nodes {
				gen.Members = append(gen.Members, governance.NewMember{Name: fmt.Sprintf("Member %d (%s)", i, testnetOrgTypes[i%len(testnetOrgTypes)]),
					OrgType: testnetOrgTypes[i%len(testnetOrgTypes)], Key: nd.op.PublicKey, ValidatorKey: hex.EncodeToString(nd.val), Power: 10})
			}
			genesisTime := time.Now()
			for i, nd := range nodes {
				var peers []string
				for j, p := range nodes {
					if j != i {
						peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", p.id, p.ports.P2P))
					}
				}
				if _, _, err := node.InitHome(nd.home, node.InitOptions{Moniker: fmt.Sprintf("node%d", i), Ports: nd.ports, Peers: strings.Join(peers, ",")}); err != nil {
					return err
				}
				s, _ := node.LoadSettings(nd.home)
				s.OperatorKey = filepath.Join("keys", "operator.json")
				if err := node.SaveSettings(nd.home, s); err != nil {
					return err
				}
				if err := node.WriteGenesis(nd.home, chainID, gen, genesisTime); err != nil {
					return err
				}
			}
			type out struct {
				Home     string `json:"home"`
				NodeID   string `json:"node_id"`
				API      string `json:"api"`
				RPC      string `json:"rpc"`
				P2P      string `json:"p2p"`
				Operator string `json:"operator_key_file"`
			}
			var list []out
			for _, nd := range nodes {
				list = append(list, out{nd.home, string(nd.id), fmt.Sprintf("http://127.0.0.1:%d", nd.ports.API),
					fmt.Sprintf("tcp://127.0.0.1:%d", nd.ports.RPC), fmt.Sprintf("127.0.0.1:%d", nd.ports.P2P),
					filepath.Join(nd.home, "keys", "operator.json")})
			}
			return g.print(cmd.OutOrStdout(), list, func(w io.Writer) {
				fmt.Fprintf(w, "Wrote %d node homes for chain %s (operator keys UNENCRYPTED: testing only):\n", n, chainID)
				for _, o := range list {
					fmt.Fprintf(w, "  %s  api %s  rpc %s  p2p %s\n", o.Home, o.API, o.RPC, o.P2P)
				}
				fmt.Fprintf(w, "Start each with: primum node --home %s\n", filepath.Join(outDir, "nodeI"))
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "validators", 4, "number of validator nodes")
	f.StringVar(&outDir, "output", "", "folder to write node0 … nodeN-1 into")
	f.StringVar(&chainID, "chain-id", "primum-testnet", "chain id")
	f.IntVar(&startPort, "starting-port", 26600, "first port; node I uses START+10*I … START+10*I+2")
	f.BoolVar(&freePorts, "free-ports", false, "pick free loopback ports now instead of --starting-port")
	return cmd
}

// pickFreePorts asks the kernel for three free loopback ports.
func pickFreePorts() (node.Ports, error) {
	var ports [3]int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return node.Ports{}, err
		}
		lns = append(lns, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return node.Ports{P2P: ports[0], RPC: ports[1], API: ports[2]}, nil
}
