package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/internal/clienv"
)

// txFlags are shared by every tx subcommand.
type txFlags struct {
	from string
	wait bool
}

func newTxCmd(g *globals) (*cobra.Command, *txFlags) {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign and submit transactions",
		Long: `Signs a transaction with --from (a key name in HOME/keys or a key file path, such as
a demo member's key_file from demo-members.json) and submits it to --node. By default it
waits until the transaction is committed and prints its height; a rejection prints the
stable error code and exits non-zero.`,
	}
	tf := &txFlags{}
	cmd.PersistentFlags().StringVar(&tf.from, "from", "", "signing key: a name in HOME/keys or a key file path")
	cmd.PersistentFlags().BoolVar(&tf.wait, "wait", true, "wait until committed")

	send := func(cmd *cobra.Command, typ string, body any) error { return g.send(cmd, tf, typ, body) }

	var count int
	vouchers := &cobra.Command{
		Use:   "issue-vouchers",
		Short: "Issue one-time registration vouchers for patients (hospitals, clinics, pharmacies)",
		Long: `Makes --count voucher codes here, puts only their SHA-256 on the ledger, and prints the codes:
hand one to each person who registers as a patient (primum identity register-patient --voucher,
or the patient portal). The ledger never learns whom a code was given to.`,
		Example: "  primum identity issue-vouchers --from st-lukes --count 10",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			codes, res, err := g.env().IssueVouchers(cmd.Context(), tf.from, count)
			if err != nil {
				return err
			}
			// The codes alone on stdout (one a line: V=$(primum identity
			// issue-vouchers …) takes them); where they were issued on stderr.
			fmt.Fprintf(cmd.ErrOrStderr(), "issued at height %d  tx %s: hand each code to one person\n", res.Height, res.Hash)
			return g.env().Print(cmd.OutOrStdout(), codes, func(w io.Writer) {
				for _, c := range codes {
					fmt.Fprintln(w, c)
				}
			})
		},
	}
	vouchers.Flags().IntVar(&count, "count", 10, "how many (at most 100)")

	var nm clienv.MemberRequest
	var reason string
	proposeAdd := &cobra.Command{
		Use:   "propose-add-member",
		Short: "Propose admitting an organisation (and its validator power)",
		Long: `Proposes admitting an organisation. Its keys' holders must agree: the proposal carries a
proof of possession of its operator key, which agrees to exactly this name, type and
validator key, and of its validator key. A joining organisation's 'primum init --genesis …'
writes them all to HOME/membership-request.json: pass that file with --request (and
--power to change the power it asks for: the power is yours to propose, not signed).
Otherwise give the keys and their proofs (from 'primum keys prove-possession', --as member
and --as validator), or, when the operator key is here, --key-file to sign its proof.
The proofs are checked before anything is sent.`,
		Example: `  primum governance propose-add-member --request membership-request.json --reason "regional expansion" --from operator
  primum governance propose-add-member --name "St Olav Hospital" --org-type hospital --key 5e… --key-proof 07c1… \
      --validator-key 8a… --validator-key-proof d93f… --power 10 --from operator
  primum governance propose-add-member --name "Fjord Clinic" --org-type clinic --key-file fjord --from operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nm.PowerGiven = cmd.Flags().Changed("power")
			member, err := g.env().Member(cmd.Context(), nm)
			if err != nil {
				return err
			}
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: member, Reason: reason})
		},
	}
	proposeAdd.Flags().StringVar(&nm.Request, "request", "", "a joining organisation's membership-request.json (from 'primum init --genesis')")
	proposeAdd.Flags().StringVar(&nm.Name, "name", "", "organisation name")
	proposeAdd.Flags().StringVar(&nm.OrgType, "org-type", "", "organisation type")
	proposeAdd.Flags().StringVar(&nm.KeyFile, "key-file", "", "the organisation's operator key (name or key file), to sign its proof of possession")
	proposeAdd.Flags().StringVar(&nm.Key, "key", "", "organisation's operator public key (hex), with --key-proof")
	proposeAdd.Flags().StringVar(&nm.KeyProof, "key-proof", "", "the operator key's proof of possession (hex)")
	proposeAdd.Flags().StringVar(&nm.ValidatorKey, "validator-key", "", "validator public key (hex; see 'primum init' output), with --validator-key-proof")
	proposeAdd.Flags().StringVar(&nm.ValidatorKeyProof, "validator-key-proof", "", "the validator key's proof of possession (hex)")
	proposeAdd.Flags().Int64Var(&nm.Power, "power", 0, "validator power (0: member without a validator)")
	proposeAdd.Flags().StringVar(&reason, "reason", "", "why")
	for _, f := range []string{"name", "org-type", "key-file", "key", "key-proof", "validator-key", "validator-key-proof"} {
		proposeAdd.MarkFlagsMutuallyExclusive("request", f)
	}
	proposeAdd.MarkFlagsMutuallyExclusive("key-file", "key")
	proposeAdd.MarkFlagsMutuallyExclusive("key-file", "key-proof")

	proposeRemove := &cobra.Command{
		Use:     "propose-remove-member ORG_ID",
		Short:   "Propose removing a member organisation (and its validator)",
		Example: `  primum governance propose-remove-member 4b2c… --reason "left the consortium" --from operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: args[0], Reason: reason})
		},
	}
	proposeRemove.Flags().StringVar(&reason, "reason", "", "why")

	var plan governance.UpgradePlan
	proposeUpgrade := &cobra.Command{
		Use:   "propose-upgrade NAME --height H",
		Short: "Propose a software upgrade at a height: every node stops there unless its Primum carries NAME",
		Long: `Proposes the software upgrade NAME at block height H (after the current block; leave the
members time to vote and the operators time to install). Once passed it is the one plan
('primum governance upgrade' shows it). Every node runs the blocks before H; a node whose
Primum does not carry NAME then stops (exit status 3) with the message to install the one
that does; a node that carries it migrates the ledger at H and goes on. See "Upgrades" in
docs/operations.md.`,
		Example: `  primum governance propose-upgrade v2 --height 120000 --info "https://example.org/primum/v2 sha256:…" --from operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan.Name = args[0]
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionUpgrade, Upgrade: &plan, Reason: reason})
		},
	}
	proposeUpgrade.Flags().Int64Var(&plan.Height, "height", 0, "the block height at which the upgrade takes effect")
	proposeUpgrade.Flags().StringVar(&plan.Info, "info", "", "where operators find the Primum that carries it (a release, a checksum)")
	proposeUpgrade.Flags().StringVar(&reason, "reason", "", "why")
	_ = proposeUpgrade.MarkFlagRequired("height")

	proposeCancel := &cobra.Command{
		Use:     "propose-cancel-upgrade NAME",
		Short:   "Propose cancelling the scheduled software upgrade NAME",
		Example: `  primum governance propose-cancel-upgrade v2 --reason "the release is withdrawn" --from operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionCancelUpgrade, Upgrade: &governance.UpgradePlan{Name: args[0]}, Reason: reason})
		},
	}
	proposeCancel.Flags().StringVar(&reason, "reason", "", "why")

	raw := &cobra.Command{
		Use:     "send TYPE JSON_BODY",
		Short:   "Send any transaction type with a JSON body (see 'primum query tx-types')",
		Example: `  primum tx send governance.vote '{"proposal_id":3,"vote":"no"}' --from operator`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !json.Valid([]byte(args[1])) {
				return fmt.Errorf("JSON_BODY is not valid JSON")
			}
			return send(cmd, args[0], json.RawMessage(args[1]))
		},
	}
	cmd.AddCommand(vouchers, proposeAdd, proposeRemove, proposeUpgrade, proposeCancel, raw)
	return cmd, tf
}

// newNounCmds are identity and governance, noun first, with the verbs
// written by hand for them (moved from 'primum tx', which keeps the old
// spellings for one release); addModuleCommands adds the rest.
func newNounCmds(g *globals) []*cobra.Command {
	tx, tf := newTxCmd(g)
	nouns := map[string]*cobra.Command{
		"identity":   {Use: "identity", Short: "Who is who: register patients, practitioners and devices, change a credential's status, rotate keys"},
		"governance": {Use: "governance", Short: "The members' votes on who joins, who leaves and who validates"},
	}
	for _, n := range nouns {
		n.PersistentFlags().StringVar(&tf.from, "from", "", "signing key: a name in HOME/keys or a key file path")
		n.PersistentFlags().BoolVar(&tf.wait, "wait", true, "wait until committed")
	}
	moved := map[string]string{"issue-vouchers": "identity", "propose-add-member": "governance", "propose-remove-member": "governance",
		"propose-upgrade": "governance", "propose-cancel-upgrade": "governance"}
	for _, c := range tx.Commands() {
		if noun, ok := moved[c.Name()]; ok {
			tx.RemoveCommand(c)
			nouns[noun].AddCommand(c)
		}
	}
	nouns["identity"].AddCommand(newPseudonymsCmd(g, tf))
	return []*cobra.Command{nouns["identity"], nouns["governance"]}
}

// newPseudonymsCmd lists a patient's pseudonyms: their own key's, and one
// per institution they registered with --at (identity.PairwiseKey).
func newPseudonymsCmd(g *globals, tf *txFlags) *cobra.Command {
	var search bool
	cmd := &cobra.Command{
		Use:   "pseudonyms",
		Short: "Your pseudonyms (a patient): your key's own, and one per institution you registered with --at",
		Long: `A patient may hold one pseudonym per institution that keeps records about them, so that
the members reading the ledger cannot link one institution's records to another's. Each is a
key derived from the patient's own (--from) for that institution: register one with
  primum identity register-patient --voucher CODE --from KEY --at INSTITUTION
give its id to that institution (records import --patient ID), and sign as it with --at.
The key file records where you hold one, so that finding them asks the node about no other
institution; --search asks about every one (a key file that has lost its list, a key from a
backup). Reading your records, consents and trail with --from alone, or exporting and
erasing, covers every pseudonym listed here; rotating your key rotates each with it.`,
		Example: "  primum identity pseudonyms --from patient-2.json\n  primum identity pseudonyms --from backup.json --search   # on a new machine",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := g.env().Pseudonyms(cmd.Context(), tf.from, search)
			if err != nil {
				return err
			}
			names := g.env().Names(cmd.Context())
			return g.env().Print(cmd.OutOrStdout(), rows, func(w io.Writer) {
				for _, r := range rows {
					at := "your key's own (where you first enrolled)"
					if r.Custodian != "" {
						at = "at " + names.Of(r.Custodian)
					}
					fmt.Fprintf(w, "%s  %s\n", r.ID, at)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&search, "search", false, "ask about every organisation, not only those the key file lists, and record those found in it (the node learns the key for each organisation asked about)")
	return cmd
}

// send signs a transaction with --from and submits it, printing the outcome.
func (g *globals) send(cmd *cobra.Command, tf *txFlags, typ string, body any) error {
	return g.env().SendFrom(cmd, tf.from, tf.wait, typ, body)
}
