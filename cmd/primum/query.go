package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/api"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/internal/clienv"
)

func newQueryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read the ledger through a node's REST API",
		Long:  "Reads committed state from --node (default: this home's API). --output json prints the API's JSON.",
	}
	status := &cobra.Command{
		Use:     "status",
		Example: "  primum query status\n  primum query status --node http://10.0.0.5:8080 -o json",
		Short:   "Chain status and validators",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.env().Client().Status(cmd.Context())
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), s, func(w io.Writer) {
				fmt.Fprintf(w, "chain       %s\nheight      %d\nblock time  %s\napp hash    %s\nnode        %s (%s)\ncatching up %v\nvalidators  %d\n",
					s.ChainID, s.Height, s.BlockTime.Format("2006-01-02 15:04:05 MST"), s.AppHash, s.Moniker, s.NodeID, s.CatchingUp, len(s.Validators))
			})
		},
	}
	var keyFrom string
	key := &cobra.Command{
		Use:     "key PUBLIC_KEY_HEX",
		Example: "  primum query key $(primum keys show me -o json | jq -r .public_key) --from me",
		Short:   "Who a key signs for, its standing and its next nonce",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := g.env().KeyInfo(cmd.Context(), args[0], keyFrom)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), info, nil)
		},
	}
	key.Flags().StringVar(&keyFrom, "from", "", "ask as this key (a name in HOME/keys or a key file): a patient's key is described only to the patient and those who may read about them")
	tx := &cobra.Command{
		Use:     "tx HASH",
		Example: "  primum query tx d7504e9f5fbfb3042ac903aafb60e51715ac1d54c4d025c07364b8887e8836b0",
		Short:   "Result of a committed transaction",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.env().Client().Tx(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), r, nil)
		},
	}
	types := &cobra.Command{
		Use:     "tx-types",
		Example: "  primum query tx-types\n  primum query tx-types -o json | jq '.[].type'",
		Short:   "Transaction types and who may send each",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []api.TxType
			if err := g.env().Client().Get(cmd.Context(), "/api/v1/tx-types", &list); err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), list, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "TYPE\tALLOWED\tWHAT")
				for _, t := range list {
					fmt.Fprintf(tw, "%s\t%v\t%s\n", t.Type, t.Allow, t.Doc)
				}
				tw.Flush()
			})
		},
	}
	cmd.AddCommand(status, key, tx, types, newProofCmd(g))
	// The reads that are now module verbs keep their old spellings here
	// for one release: the generated verb itself, under its old name.
	for old, verb := range map[string][2]string{
		"identities": {"identity", "list"}, "identity": {"identity", "show"}, "members": {"identity", "members"},
		"proposals": {"governance", "list"}, "proposal": {"governance", "show"},
	} {
		cmd.AddCommand(autocli.Alias(g.env(), old, verb[0], verb[1]))
	}
	return cmd
}

// newProofCmd: primum query proof KEY, a state entry checked against a
// header the validators signed (SPEC F14).
func newProofCmd(g *globals) *cobra.Command {
	var tf trustFlags
	var from string
	cmd := &cobra.Command{
		Use:   "proof KEY",
		Short: "Read a state entry and prove it against the validators' signed header",
		Long: `Reads a state entry (or its absence) with its Merkle proof from --node, then checks
the proof against the app hash in a signed header (the next block's, or at once the
newest block's when that block changed nothing), and that header with
CometBFT's light client against the validators' signatures, starting from a trust
root the node does not supply: the consortium's genesis (--genesis, default this
home's), or a header you trust (--trust-height and --trust-hash). Headers come from
the node's CometBFT RPC (--rpc); --witness adds other members' RPCs to cross-check.
A node that changes, hides or invents an entry is refused with "not proven".
State keys: id/<address>, sup/obj/sgtin:<GTIN>.<serial>, sup/recall/<GTIN>/<lot>,
meta/chain_id, … (docs/architecture.md, "Proofs"). Keys about a patient are proven only
to whoever may read about them: sign with --from. A proof against a header older than
--max-age (a stopped or cut-off node) is refused as stale.`,
		Example: `  primum query proof meta/chain_id
  primum query proof id/4efe3970e39af1a17a278c15f7c2156dd0530348 --from patient-1.json -o json
  primum query proof meta/chain_id --node http://10.0.0.5:8080 --rpc tcp://10.0.0.5:26657 \
      --witness tcp://10.0.0.6:26657 --genesis consortium-genesis.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := g.env().Proof(cmd.Context(), tf.Trust, from, args[0])
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), v, func(w io.Writer) {
				value := "(absent: proven not in the state)"
				if v.Exists {
					value = string(v.Value)
					if !utf8.Valid(v.Value) {
						value = "base64:" + base64.StdEncoding.EncodeToString(v.Value)
					}
				}
				fmt.Fprintf(w, "key        %s\nvalue      %s\nstate      after block %d\n", v.Key, value, v.Height)
				printProvenBy(w, v)
			})
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "your key, which signs the requests (for keys about a patient): a name in HOME/keys or a key file path")
	return cmd
}

func printProvenBy(w io.Writer, v *prove.Proven) {
	fmt.Fprintf(w, "proven by  header %d of %s, signed by %d of %d validators (app hash %s)\n", v.Header,
		v.HeaderTime.UTC().Format(time.RFC3339), v.Signers, v.Of, v.AppHash)
}

// trustFlags say where a command's light client gets headers and what it
// trusts without asking the node (clienv.Trust).
type trustFlags struct{ clienv.Trust }

func (tf *trustFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&tf.RPC, "rpc", "", "the node's CometBFT RPC, for headers (default: this home's, or tcp://127.0.0.1:26657)")
	f.StringVar(&tf.Genesis, "genesis", "", "the consortium's genesis document, the trust root (default: this home's config/genesis.json)")
	f.Int64Var(&tf.TrustHeight, "trust-height", 0, "instead of the genesis: the height of a header you trust")
	f.StringVar(&tf.TrustHash, "trust-hash", "", "instead of the genesis: that header's hash (hex)")
	f.StringSliceVar(&tf.Witnesses, "witness", nil, "another node's CometBFT RPC to cross-check headers with (repeatable)")
	f.DurationVar(&tf.MaxAge, "max-age", prove.DefaultMaxAge, "refuse an answer proven only against a header older than this, by this machine's clock (a stopped or cut-off node): 0 for any age")
}
