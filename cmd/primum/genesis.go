package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/node"
)

// newGenesisCmd is the genesis ceremony of a consortium founded across
// machines: the coordinator's collect and each member's install (the
// members sign up with 'primum init --ceremony').
func newGenesisCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Found a consortium across machines: collect the members' files into a genesis, install it",
		Long: `The genesis ceremony founds a consortium whose members run their nodes on machines of
their own; no private key leaves its home:

  1. each founding member:  primum init --ceremony --chain-id ID --org-name … --org-type …
                            --moniker … --external-address HOST:PORT
     and sends HOME/member.json to the coordinator;
  2. the coordinator:       primum genesis collect --chain-id ID --out DIR member1.json …
     and sends DIR/genesis.json, DIR/peers and DIR/members/ to every member;
  3. each member:           primum genesis install --home HOME DIR/genesis.json --peers-file DIR/peers
     checks the genesis against every member's signed file in DIR/members, checks the
     founding-member table it prints with the other founders and compares the genesis
     hash with theirs (by phone, in person), then starts its node: primum node --home HOME

docs/operations.md, "Founding a consortium across machines", has the whole runbook.`,
	}
	cmd.AddCommand(newGenesisCollectCmd(g), newGenesisInstallCmd(g))
	return cmd
}

func newGenesisCollectCmd(g *globals) *cobra.Command {
	var chainID, outDir, genesisTime string
	cmd := &cobra.Command{
		Use:   "collect MEMBER.json…",
		Short: "The coordinator: check the founding members' files and write their genesis and peers",
		Long: `Checks every founding member's membership file (written by 'primum init --ceremony'):
for chain --chain-id, the proofs of possession of its operator and validator keys, the
operator key's signature over the whole file (the coordinator can change nothing in it),
a known organisation type, and no organisation name, key, validator key, node id or
address twice; at least one member needs validator power. Then it writes DIR/genesis.json
(the founding members in the files' order, every module's settings at their defaults:
edit none of it, or every member's check fails), DIR/peers (node_id@host:port, one a
line) and DIR/members/ (each signed file as it came, NN-name.json), checks that the
first block will take the genesis, and prints its SHA-256: send the three to every
member, and the hash by another way.`,
		Example: `  primum genesis collect --chain-id north-health --out ./ceremony riverside.json st-luke.json city-lab.json
  primum genesis collect --chain-id north-health --out ./ceremony --genesis-time 2025-09-01T09:00:00Z *.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if outDir == "" {
				return fmt.Errorf("--out DIR is required: the folder genesis.json and peers are written to")
			}
			at := time.Now()
			if genesisTime != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, genesisTime); err != nil {
					return fmt.Errorf("--genesis-time %q is not an RFC 3339 time (e.g. 2025-09-01T09:00:00Z)", genesisTime)
				}
			}
			out, err := node.CollectGenesis(chainID, files, outDir, at)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "Genesis of %s with %d founding members, genesis time %s:\n", out.ChainID, len(out.Members), out.GenesisTime.Format(time.RFC3339))
				for _, m := range out.Members {
					fmt.Fprintf(w, "  %-30s %-12s power %-4d %s\n", m.Name, m.OrgType, m.Power, m.Peer)
				}
				fmt.Fprintf(w, "Wrote %s, %s and %s/\nGenesis SHA-256: %s\n", out.Genesis, out.Peers, out.MembersDir, out.Hash)
				fmt.Fprintln(w, "Send the genesis, the peers file and the members folder to every member, who keeps them side by side and runs\n"+
					"  primum genesis install --home HOME genesis.json --peers-file peers\n"+
					"and compares the hash it prints with this one, by another way than the files.")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&chainID, "chain-id", "", "the chain id the founding members agreed on (required)")
	f.StringVar(&outDir, "out", "", "folder to write genesis.json and peers into (required)")
	f.StringVar(&genesisTime, "genesis-time", "", "the chain's start, RFC 3339 (default: now); nodes wait for it")
	_ = cmd.MarkFlagRequired("chain-id")
	return cmd
}

func newGenesisInstallCmd(g *globals) *cobra.Command {
	var o node.InstallOptions
	cmd := &cobra.Command{
		Use:   "install GENESIS.json",
		Short: "A founding member: check the consortium's genesis against the members' signed files and install it",
		Long: `Checks the genesis the coordinator sent against this home's member.json: the same chain
id, this organisation listed with exactly the name, type, operator key, validator key and
power it signed, and this home's validator key. Then against every founding member's
signed file in --members (default: the members folder beside the genesis, which collect
wrote): each file's proofs and signature valid for the chain, the genesis's members and
CometBFT validators exactly the files' (no member or validator nobody signed up, the
same name, type, keys and power), and every peer in --peers-file one of the files'
nodes. Without the folder it refuses, unless --no-members-check: then only this
organisation's entry is checked, and the coordinator could have added members or
validators of its own. It refuses consensus parameters, module settings (say, patient
registration open to any key) or an initial height other than the ones collect writes,
unless --accept-params, and a genesis the first block would not take.

Then it copies the genesis byte for byte to config/genesis.json, with --peers-file sets
persistent_peers in config/config.toml to the other members' nodes, and prints the
founding members (name, type, power, operator key, node id), the total power and the
genesis SHA-256. A coordinator can still sign up an organisation of its own making with
keys of its own: check the list with the other founders, and compare the hash with
theirs, before starting the node (primum node). Installing the same genesis again only
updates the peers.`,
		Example: `  primum genesis install --home ~/.primum ./ceremony/genesis.json --peers-file ./ceremony/peers
  primum genesis install --home ~/.primum ./genesis.json --peers-file ./peers --members ./members
  primum node --home ~/.primum`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := node.InstallGenesis(g.env().Home, args[0], o)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), in, func(w io.Writer) {
				for _, warn := range in.Warnings {
					fmt.Fprintf(w, "WARNING: %s\n", warn)
				}
				fmt.Fprintf(w, "Installed the genesis of %s in %s\n", in.ChainID, in.Home)
				if in.MembersDir != "" {
					fmt.Fprintf(w, "It lists exactly the founding members whose signed files are in %s:\n", in.MembersDir)
				} else {
					fmt.Fprintln(w, "It lists these founding members (NOT checked against their signed files):")
				}
				fmt.Fprintf(w, "  %-30s %-12s %6s  %-16s  %s\n", "NAME", "TYPE", "POWER", "OPERATOR KEY", "NODE ID")
				for _, m := range in.Members {
					id := m.NodeID
					if id == "" {
						id = "-"
					}
					fmt.Fprintf(w, "  %-30s %-12s %6d  %-16.16s  %s\n", m.Name, m.OrgType, m.Power, m.OperatorKey, id)
				}
				fmt.Fprintf(w, "  total power %d\n", in.TotalPower)
				fmt.Fprintln(w, "Check this list with the other founders: a coordinator can still sign up an organisation of its own making.")
				if in.ConsensusParams != nil {
					fmt.Fprintln(w, "Consensus parameters are the genesis's, not Primum's (--accept-params): see the warning above.")
				}
				if len(in.Settings) > 0 {
					fmt.Fprintln(w, "Settings that are the genesis's, not the ones collect writes (--accept-params); check each with the other founders:")
					for _, s := range in.Settings {
						fmt.Fprintf(w, "  %s\n", s)
					}
				}
				fmt.Fprintf(w, "Genesis time: %s (the chain starts then)\n", in.GenesisTime.Format(time.RFC3339))
				fmt.Fprintf(w, "Genesis SHA-256: %s\n", in.Hash)
				if o.Peers != "" {
					fmt.Fprintf(w, "Persistent peers: %s\n", strings.Join(in.Peers, ","))
				} else {
					fmt.Fprintln(w, "Persistent peers left as they were (no --peers-file)")
				}
				fmt.Fprintf(w, "Compare the hash with the coordinator's and the other founders', then start: primum node --home %s\n", in.Home)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Peers, "peers-file", "", "the coordinator's peers file (node_id@host:port a line): this node's persistent peers")
	f.StringVar(&o.Members, "members", "", "the folder of the founding members' signed files collect wrote (default: the members folder beside the genesis)")
	f.BoolVar(&o.NoMembersCheck, "no-members-check", false, "install without the members' signed files: only this organisation's entry is checked (unsafe: the coordinator could add members)")
	f.BoolVar(&o.AcceptParams, "accept-params", false, "take consensus parameters, module settings or an initial height other than the ones Primum writes (the founders agreed on them)")
	cmd.MarkFlagsMutuallyExclusive("members", "no-members-check")
	return cmd
}
