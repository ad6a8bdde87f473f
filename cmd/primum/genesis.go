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
     and sends DIR/genesis.json and DIR/peers to every member;
  3. each member:           primum genesis install --home HOME genesis.json --peers-file peers
     compares the printed genesis hash with the others' (by phone, in person), then
     starts its node: primum node --home HOME

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
edit none of it, or every member's check fails) and DIR/peers (node_id@host:port, one a
line), checks that the first block will take the genesis, and prints its SHA-256: send
both files to every member, and the hash by another way.`,
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
				fmt.Fprintf(w, "Wrote %s and %s\nGenesis SHA-256: %s\n", out.Genesis, out.Peers, out.Hash)
				fmt.Fprintln(w, "Send both files to every member, who runs\n  primum genesis install --home HOME genesis.json --peers-file peers\nand compares the hash it prints with this one, by another way than the files.")
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
	var peersFile string
	cmd := &cobra.Command{
		Use:   "install GENESIS.json",
		Short: "A founding member: check the consortium's genesis against this home's member.json and install it",
		Long: `Checks the genesis the coordinator sent against this home's member.json: the same chain
id, this organisation listed with exactly the name, type, operator key, validator key and
power it signed, this home's validator key, and a genesis the first block will take.
Then it copies it byte for byte to config/genesis.json and, with --peers-file, sets
persistent_peers in config/config.toml to the other members' nodes. It prints the
genesis SHA-256: compare it with the coordinator's and the other members' before
starting the node (primum node). Installing the same genesis again only updates the peers.`,
		Example: `  primum genesis install --home ~/.primum ./genesis.json --peers-file ./peers
  primum node --home ~/.primum`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := node.InstallGenesis(g.env().Home, args[0], peersFile)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), in, func(w io.Writer) {
				fmt.Fprintf(w, "Installed the genesis of %s in %s\nGenesis SHA-256: %s\n", in.ChainID, in.Home, in.Hash)
				if peersFile != "" {
					fmt.Fprintf(w, "Persistent peers: %s\n", strings.Join(in.Peers, ","))
				} else {
					fmt.Fprintln(w, "Persistent peers left as they were (no --peers-file)")
				}
				fmt.Fprintf(w, "Compare the hash with the coordinator's, then start: primum node --home %s\n", in.Home)
			})
		},
	}
	cmd.Flags().StringVar(&peersFile, "peers-file", "", "the coordinator's peers file (node_id@host:port a line): this node's persistent peers")
	return cmd
}
