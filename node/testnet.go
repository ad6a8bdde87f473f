package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/keyring"
)

// TestnetNode is one home written by WriteTestnet.
type TestnetNode struct {
	Home     string
	Ports    Ports
	NodeID   p2p.ID
	Operator *keyring.File // UNENCRYPTED operator key, keys/operator.json
	APIToken string        // signs EPCIS captures as the operator
}

var testnetOrgTypes = []string{"hospital", "hospital", "pharmacy", "regulator", "manufacturer", "distributor", "insurer", "clinic", "lab", "research"}

// WriteTestnet writes dir/node0 … dir/node{n-1}: one genesis with n founding
// members, each with a validator of power 10, every node a persistent peer
// of the others. ports gives each node's ports; orgTypes, if given, the
// organisation type of each member in turn.
func WriteTestnet(dir, chainID string, ports []Ports, orgTypes ...string) ([]TestnetNode, error) {
	if len(orgTypes) == 0 {
		orgTypes = testnetOrgTypes
	}
	nodes := make([]TestnetNode, len(ports))
	vals := make([][]byte, len(ports))
	for i := range nodes {
		nodes[i].Home = filepath.Join(dir, fmt.Sprintf("node%d", i))
		nodes[i].Ports = ports[i]
		if Initialized(nodes[i].Home) {
			return nil, fmt.Errorf("%s already holds a node", nodes[i].Home)
		}
		var err error
		if vals[i], nodes[i].NodeID, err = InitHome(nodes[i].Home, InitOptions{Moniker: fmt.Sprintf("node%d", i), Ports: ports[i]}); err != nil {
			return nil, err
		}
		if nodes[i].Operator, err = keyring.Dir(filepath.Join(nodes[i].Home, "keys")).Add("operator", "", true); err != nil {
			return nil, err
		}
	}
	gen := &app.Genesis{}
	for i, nd := range nodes {
		t := orgTypes[i%len(orgTypes)]
		gen.Members = append(gen.Members, governance.NewMember{Name: fmt.Sprintf("Member %d (%s)", i, t), OrgType: t,
			Key: nd.Operator.PublicKey, ValidatorKey: hex.EncodeToString(vals[i]), Power: 10})
	}
	genesisTime := time.Now()
	for i, nd := range nodes {
		var peers []string
		for j, p := range nodes {
			if j != i {
				peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", p.NodeID, p.Ports.P2P))
			}
		}
		if _, _, err := InitHome(nd.Home, InitOptions{Moniker: fmt.Sprintf("node%d", i), Ports: nd.Ports, Peers: strings.Join(peers, ",")}); err != nil {
			return nil, err
		}
		s, _ := LoadSettings(nd.Home)
		s.OperatorKey = filepath.Join("keys", "operator.json")
		nodes[i].APIToken = NewToken()
		s.APITokens = map[string]string{nodes[i].APIToken: s.OperatorKey}
		if err := SaveSettings(nd.Home, s); err != nil {
			return nil, err
		}
		if err := WriteGenesis(nd.Home, chainID, gen, genesisTime); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// SpacedPorts are n nodes' ports from start on: node I uses P2P
// start+10*I, RPC start+10*I+1 and API start+10*I+2.
func SpacedPorts(n, start int) []Ports {
	ports := make([]Ports, n)
	for i := range ports {
		b := start + 10*i
		ports[i] = Ports{P2P: b, RPC: b + 1, API: b + 2}
	}
	return ports
}

// FreePorts picks distinct free loopback ports for n nodes, at random below
// the kernel's ephemeral range (all listeners stay open until every port is
// chosen, so none repeats).
func FreePorts(n int) ([]Ports, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	listen := func(addr string) (int, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return 0, err
		}
		lns = append(lns, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	low := ephemeralLow()
	next := func() (int, error) {
		// Below the ephemeral range, so that no outgoing connection's
		// source port takes one while its node is down (a restart) or
		// not yet listening.
		for range 200 {
			if port, err := listen(fmt.Sprintf("127.0.0.1:%d", portFloor+mrand.IntN(low-portFloor))); err == nil {
				return port, nil
			}
		}
		return listen("127.0.0.1:0")
	}
	out := make([]Ports, n)
	for i := range out {
		for _, p := range []*int{&out[i].P2P, &out[i].RPC, &out[i].API} {
			port, err := next()
			if err != nil {
				return nil, err
			}
			*p = port
		}
	}
	return out, nil
}

// portFloor is the lowest port FreePorts picks.
const portFloor = 10000

// ephemeralLow is the start of the kernel's ephemeral port range (the
// source ports of outgoing connections): FreePorts picks below it.
func ephemeralLow() int {
	low := 32768 // Linux's default, and below every other system's
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > portFloor+1000 {
				low = n
			}
		}
	}
	return low
}

// NewToken returns a random API token.
func NewToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// TestnetHome is one home 'primum testnet' wrote, as it lists it.
type TestnetHome struct {
	Home     string `json:"home"`
	NodeID   string `json:"node_id"`
	API      string `json:"api"`
	RPC      string `json:"rpc"`
	P2P      string `json:"p2p"`
	Operator string `json:"operator_key_file"`
	Token    string `json:"api_token"`
}

// Testnet is 'primum testnet': WriteTestnet of n homes in dir, on ports
// spaced from start (SpacedPorts) or, with free, free ones (FreePorts),
// after refusing what it cannot write, by its flag.
func Testnet(dir, chainID string, n, start int, free bool, orgTypes []string) ([]TestnetHome, error) {
	if n < 1 || n > 64 {
		return nil, fmt.Errorf("--validators must be 1-64")
	}
	if dir == "" {
		return nil, fmt.Errorf("--output DIR is required")
	}
	ports := SpacedPorts(n, start)
	if free {
		var err error
		if ports, err = FreePorts(n); err != nil {
			return nil, err
		}
	}
	for _, t := range orgTypes {
		if !slices.Contains(identity.OrgTypes, t) {
			return nil, fmt.Errorf("--org-types: %q is not one of %v", t, identity.OrgTypes)
		}
	}
	nodes, err := WriteTestnet(dir, chainID, ports, orgTypes...)
	if err != nil {
		return nil, err
	}
	var list []TestnetHome
	for _, nd := range nodes {
		list = append(list, TestnetHome{nd.Home, string(nd.NodeID), fmt.Sprintf("http://127.0.0.1:%d", nd.Ports.API),
			fmt.Sprintf("tcp://127.0.0.1:%d", nd.Ports.RPC), fmt.Sprintf("127.0.0.1:%d", nd.Ports.P2P),
			filepath.Join(nd.Home, "keys", "operator.json"), nd.APIToken})
	}
	return list, nil
}
