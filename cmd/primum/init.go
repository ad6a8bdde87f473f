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
		peers                                           string
		unencrypted                                     bool
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
sign. Send that file to a member, who proposes it with
'primum governance propose-add-member --request membership-request.json'.`,
		Example: `  primum init --org-name "St Luke's Hospital" --org-type hospital --chain-id my-consortium
  primum init --home ./n2 --genesis ./genesis.json --peers ID@10.0.0.1:26656 --org-name "Riverside" --org-type hospital`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if node.Initialized(g.env().Home) {
				return fmt.Errorf("%s already holds a node; choose another --home", g.env().Home)
			}
			pass := ""
			if !unencrypted {
				var err error
				if pass, err = keyring.ReadPassphrase("Passphrase for the operator key: ", true); err != nil {
					return err
				}
			}
			in, err := node.InitMember(g.env().Home, node.Member{InitOptions: node.InitOptions{Moniker: moniker, Ports: ports, Peers: peers},
				Name: orgName, OrgType: orgType, Power: power, ChainID: chainID, Genesis: genesisFile, Passphrase: pass, Unencrypted: unencrypted}, time.Now())
			if err != nil {
				return err
			}
			op, request := in.Operator, in.Request
			return g.env().Print(cmd.OutOrStdout(), in.Listing(g.env().Home), func(w io.Writer) {
				fmt.Fprintf(w, "Initialised %s\n  node id        %s\n  validator key  %s\n  operator       %s (key %s)\n",
					g.env().Home, in.NodeID, hex.EncodeToString(in.ValidatorKey), op.Address, op.ShortKey())
				if !op.Encrypted {
					fmt.Fprintln(w, "  WARNING: the operator key is stored UNENCRYPTED in keys/operator.json")
				}
				if request != "" {
					fmt.Fprintf(w, "Membership request written to %s: send it to a member, who proposes it with\n  primum governance propose-add-member --request membership-request.json --from operator\n", request)
				}
				if in.RequestErr != nil {
					fmt.Fprintf(w, "  WARNING: no membership request written (%s); make its proofs with 'primum keys prove-possession'\n", in.RequestErr)
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
	f.StringVar(&peers, "peers", "", "persistent peers, id@host:port,…")
	f.IntVar(&ports.P2P, "p2p-port", ports.P2P, "CometBFT p2p port")
	f.IntVar(&ports.RPC, "rpc-port", ports.RPC, "CometBFT RPC port")
	f.IntVar(&ports.API, "api-port", ports.API, "REST API port")
	f.BoolVar(&unencrypted, "unencrypted", false, "store the operator key without a passphrase (test networks only)")
	cmd.MarkFlagsMutuallyExclusive("genesis", "chain-id")
	_ = cmd.MarkFlagRequired("org-name")
	return cmd
}
