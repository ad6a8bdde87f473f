package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
)

func newInitCmd(g *globals) *cobra.Command {
	var (
		chainID, moniker, orgName, orgType, genesisFile string
		power                                           int64
		ports                                           = node.DefaultPorts
		peers, peersFile, externalAddr                  string
		unencrypted, ceremony                           bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: keys, CometBFT configuration and genesis",
		Long: `Creates a node home in --home: a validator key, a p2p key, CometBFT's config.toml and
Primum's config/primum.json, and the organisation's operator key (keys/operator.json,
encrypted with a passphrase from PRIMUM_PASSPHRASE or the terminal, unless --unencrypted).

Without --genesis it founds a new one-member consortium with this organisation as its
validator. With --genesis it joins an existing consortium: the organisation must then be
admitted by a governance vote, and init writes HOME/membership-request.json for it — the
operator and validator keys with their proofs of possession, which only this home can
sign. Give the members' nodes with --peers or --peers-file (node_id@host:port), and
--external-address HOST:PORT if the other members' nodes should reach this one (its p2p
port then listens on every address). init prints the next steps: 'primum statesync' to
start from a member's snapshot, start the node, and once it follows the chain send that
file to a member, who proposes it with
'primum governance propose-add-member --request membership-request.json'.

With --ceremony it signs up as a founding member of a consortium whose members are on
machines of their own: no genesis yet, but HOME/member.json, the organisation, its
operator and validator keys with their proofs of possession, its node id and public p2p
address (--external-address), all signed with the operator key. Send that file to the
coordinator ('primum genesis collect'), then install the genesis it sends back
('primum genesis install'); the node does not start before. The p2p port listens on every
address of the machine (--p2p-port, default the port of --external-address).
docs/operations.md, "Founding a consortium across machines", has the whole runbook.`,
		Example: `  primum init --org-name "St Luke's Hospital" --org-type hospital --chain-id my-consortium
  primum init --home ./n2 --genesis ./genesis.json --peers ID@10.0.0.1:26656 --org-name "Riverside" --org-type hospital
  primum init --home ./n2 --genesis ./genesis.json --peers-file ./peers --external-address 10.0.0.7:26656 --org-name "Riverside" --org-type hospital
  primum init --ceremony --chain-id north-health --org-name "Riverside" --org-type hospital --moniker riverside --external-address 10.0.0.2:26656`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if node.Initialized(g.env().Home) {
				return fmt.Errorf("%s already holds a node; choose another --home", g.env().Home)
			}
			var c *node.Ceremony
			if ceremony {
				if !cmd.Flags().Changed("chain-id") || externalAddr == "" {
					return fmt.Errorf("--ceremony needs --chain-id (the one the founding members agreed on) and --external-address (where the others reach this node, host:port)")
				}
				c = &node.Ceremony{Address: externalAddr}
				if !cmd.Flags().Changed("p2p-port") {
					ports.P2P = 0 // the external address's
				}
			} else if externalAddr != "" && !cmd.Flags().Changed("p2p-port") {
				ports.P2P = 0 // the external address's
			}
			pass := ""
			if !unencrypted {
				var err error
				if pass, err = keyring.ReadPassphrase("Passphrase for the operator key: ", true); err != nil {
					return err
				}
			}
			m := node.Member{InitOptions: node.InitOptions{Moniker: moniker, Ports: ports, Peers: peers}, PeersFile: peersFile,
				Name: orgName, OrgType: orgType, Power: power, ChainID: chainID, Genesis: genesisFile, Passphrase: pass, Unencrypted: unencrypted, Ceremony: c}
			if c == nil {
				m.ExternalAddress = externalAddr
			}
			in, err := node.InitMember(g.env().Home, m, time.Now())
			if err != nil {
				return err
			}
			op, request, home := in.Operator, in.Request, g.env().Home
			listing := in.Listing(home)
			next := joinSteps(home, request)
			if genesisFile != "" {
				listing["next_steps"] = next
			}
			return g.env().Print(cmd.OutOrStdout(), listing, func(w io.Writer) {
				fmt.Fprintf(w, "Initialised %s\n  node id        %s\n  validator key  %s\n  operator       %s (key %s)\n",
					g.env().Home, in.NodeID, hex.EncodeToString(in.ValidatorKey), op.Address, op.ShortKey())
				if !op.Encrypted {
					fmt.Fprintln(w, "  WARNING: the operator key is stored UNENCRYPTED in keys/operator.json")
				}
				if request != "" {
					fmt.Fprintf(w, "Membership request written to %s\n", request)
				}
				if in.RequestErr != nil {
					fmt.Fprintf(w, "  WARNING: no membership request written (%s); make its proofs with 'primum keys prove-possession'\n", in.RequestErr)
				}
				if genesisFile != "" {
					fmt.Fprintln(w, "Next:")
					for i, s := range next {
						fmt.Fprintf(w, "  %d. %s\n", i+1, s)
					}
					return
				}
				if in.MemberFile != "" {
					fmt.Fprintf(w, "Membership file written to %s: send it to the coordinator, who runs\n  primum genesis collect --chain-id %s --out DIR member1.json member2.json …\n", in.MemberFile, chainID)
					fmt.Fprintf(w, "then install the genesis it sends back with\n  primum genesis install --home %s genesis.json --peers-file peers\n", g.env().Home)
					return
				}
				fmt.Fprintln(w, "Start it with: primum node --home", g.env().Home)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&chainID, "chain-id", "primum-1", "chain id of a new consortium")
	f.StringVar(&moniker, "moniker", "primum-node", "node name shown to peers")
	f.StringVar(&orgName, "org-name", "", "your organisation's name")
	f.StringVar(&orgType, "org-type", "hospital", "hospital, clinic, lab, pharmacy, manufacturer, distributor, insurer, regulator or research")
	f.Int64Var(&power, "power", 10, "validator power of the founding member")
	f.StringVar(&genesisFile, "genesis", "", "join an existing consortium with this genesis.json")
	f.StringVar(&peers, "peers", "", "persistent peers, node_id@host:port,…")
	f.StringVar(&peersFile, "peers-file", "", "persistent peers from the coordinator's peers file (node_id@host:port a line or comma separated)")
	f.IntVar(&ports.P2P, "p2p-port", ports.P2P, "CometBFT p2p port")
	f.IntVar(&ports.RPC, "rpc-port", ports.RPC, "CometBFT RPC port")
	f.IntVar(&ports.API, "api-port", ports.API, "REST API port")
	f.BoolVar(&unencrypted, "unencrypted", false, "store the operator key without a passphrase (test networks only)")
	f.BoolVar(&ceremony, "ceremony", false, "sign up as a founding member: write HOME/member.json for 'primum genesis collect' instead of a genesis")
	f.StringVar(&externalAddr, "external-address", "", "host:port where other members' nodes reach this node's p2p port (required with --ceremony): p2p then listens on every address")
	cmd.MarkFlagsMutuallyExclusive("genesis", "chain-id")
	cmd.MarkFlagsMutuallyExclusive("peers", "peers-file")
	cmd.MarkFlagsMutuallyExclusive("genesis", "ceremony")
	_ = cmd.MarkFlagRequired("org-name")
	return cmd
}

// joinSteps are what a joining node's operator does next, in order: the
// snapshot before the first start (else the node replays every block), the
// start, and only then the membership request — a validator admitted
// before its node follows the chain counts against the chain's fault
// tolerance until it does.
func joinSteps(home, request string) []string {
	steps := []string{
		fmt.Sprintf("to start from a member's snapshot rather than replay every block, before the first start: primum statesync --home %s RPC_ADDR RPC_ADDR "+
			"(two members' CometBFT RPC addresses)", home),
		fmt.Sprintf("start it: primum node --home %s — it syncs as a non-validator", home),
	}
	if request != "" {
		steps = append(steps, fmt.Sprintf("once it follows the chain, send %s to a member, who proposes it with "+
			"primum governance propose-add-member --request membership-request.json --from operator", request))
	}
	return steps
}
