package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/api"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
)

// txFlags are shared by every tx subcommand.
type txFlags struct {
	from string
	wait bool
}

func newTxCmd(g *globals) *cobra.Command {
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

	regPatient := &cobra.Command{
		Use:     "register-patient",
		Short:   "Register yourself as a patient (pseudonymous: nothing but your key)",
		Example: "  primum tx register-patient --from me",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return send(cmd, identity.TypeRegisterPatient, struct{}{}) },
	}

	var rp identity.RegisterPractitioner
	regPrac := &cobra.Command{
		Use:     "register-practitioner",
		Short:   "Credential a practitioner's key (care organisations)",
		Example: `  primum tx register-practitioner --from operator --key 3f5a… --licence MD-1234 --profession doctor --specialty cardiology --valid-until 2028-01-01T00:00:00Z`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return send(cmd, identity.TypeRegisterPractitioner, rp) },
	}
	regPrac.Flags().StringVar(&rp.Key, "key", "", "the practitioner's Ed25519 public key (hex)")
	regPrac.Flags().StringVar(&rp.Licence, "licence", "", "licence number")
	regPrac.Flags().StringVar(&rp.Profession, "profession", "", "doctor, nurse, pharmacist, midwife, dentist, …")
	regPrac.Flags().StringVar(&rp.Specialty, "specialty", "", "specialty")
	regPrac.Flags().StringVar(&rp.ValidUntil, "valid-until", "", "credential expiry, RFC 3339")

	var note string
	status := &cobra.Command{
		Use:     "practitioner-status ID active|suspended|revoked",
		Short:   "Suspend, reinstate or revoke a practitioner (credentialing organisation or regulator)",
		Example: `  primum tx practitioner-status 9c1e… suspended --note "under review" --from operator`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: args[0], Status: args[1], Note: note})
		},
	}
	status.Flags().StringVar(&note, "note", "", "reason (no patient data)")

	var renew identity.RenewCredential
	renewCmd := &cobra.Command{
		Use:     "renew-credential ID",
		Short:   "Extend or update a practitioner's credential",
		Example: `  primum tx renew-credential 9c1e… --valid-until 2030-01-01T00:00:00Z --from operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			renew.ID = args[0]
			return send(cmd, identity.TypeRenewCredential, renew)
		},
	}
	renewCmd.Flags().StringVar(&renew.ValidUntil, "valid-until", "", "new expiry, RFC 3339")
	renewCmd.Flags().StringVar(&renew.Specialty, "specialty", "", "new specialty (optional)")

	var dev identity.RegisterDevice
	devCmd := &cobra.Command{
		Use:     "register-device",
		Short:   "Register a device key (organisations and patients)",
		Example: `  primum tx register-device --key 77ab… --type ventilator --from operator`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return send(cmd, identity.TypeRegisterDevice, dev) },
	}
	devCmd.Flags().StringVar(&dev.Key, "key", "", "the device's Ed25519 public key (hex)")
	devCmd.Flags().StringVar(&dev.DeviceType, "type", "", "device type, e.g. ventilator, glucose-monitor")

	var newKeyName string
	rotate := &cobra.Command{
		Use:     "rotate-key",
		Short:   "Replace your signing key with another key from HOME/keys; the old key is retired",
		Example: `  primum keys add operator-2026 && primum tx rotate-key --from operator --new operator-2026`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := g.signingKey(tf.from)
			if err != nil {
				return err
			}
			newKey, err := g.signingKey(newKeyName)
			if err != nil {
				return fmt.Errorf("--new: %w", err)
			}
			res, err := g.client().RotateKey(cmd.Context(), key, newKey, tf.wait)
			if err != nil {
				return err
			}
			return printSubmit(g, cmd.OutOrStdout(), res)
		},
	}
	rotate.Flags().StringVar(&newKeyName, "new", "", "the new key (name or key file)")

	var nm governance.NewMember
	var reason string
	proposeAdd := &cobra.Command{
		Use:   "propose-add-member",
		Short: "Propose admitting an organisation (and its validator power)",
		Example: `  primum tx propose-add-member --name "St Olav Hospital" --org-type hospital --key 5e… \
      --validator-key 8a… --power 10 --reason "regional expansion" --from operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: &nm, Reason: reason})
		},
	}
	proposeAdd.Flags().StringVar(&nm.Name, "name", "", "organisation name")
	proposeAdd.Flags().StringVar(&nm.OrgType, "org-type", "", "organisation type")
	proposeAdd.Flags().StringVar(&nm.Key, "key", "", "organisation's operator public key (hex)")
	proposeAdd.Flags().StringVar(&nm.ValidatorKey, "validator-key", "", "validator public key (hex; see 'primum init' output)")
	proposeAdd.Flags().Int64Var(&nm.Power, "power", 0, "validator power (0: member without a validator)")
	proposeAdd.Flags().StringVar(&reason, "reason", "", "why")

	proposeRemove := &cobra.Command{
		Use:     "propose-remove-member ORG_ID",
		Short:   "Propose removing a member organisation (and its validator)",
		Example: `  primum tx propose-remove-member 4b2c… --reason "left the consortium" --from operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: args[0], Reason: reason})
		},
	}
	proposeRemove.Flags().StringVar(&reason, "reason", "", "why")

	vote := &cobra.Command{
		Use:     "vote PROPOSAL_ID yes|no",
		Short:   "Vote on an open proposal (member organisations)",
		Example: "  primum tx vote 3 yes --from operator",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("proposal id must be a number")
			}
			return send(cmd, governance.TypeVote, governance.Vote{ProposalID: id, Vote: args[1]})
		},
	}

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
	cmd.AddCommand(regPatient, regPrac, status, renewCmd, devCmd, rotate, proposeAdd, proposeRemove, vote, raw)
	return cmd
}

// send signs a transaction with --from and submits it, printing the outcome.
func (g *globals) send(cmd *cobra.Command, tf *txFlags, typ string, body any) error {
	key, err := g.signingKey(tf.from)
	if err != nil {
		return err
	}
	res, err := g.client().Send(cmd.Context(), key, typ, body, tf.wait)
	if err != nil {
		return err
	}
	return printSubmit(g, cmd.OutOrStdout(), res)
}

func printSubmit(g *globals, w io.Writer, res *api.SubmitResponse) error {
	return g.print(w, res, func(w io.Writer) {
		if res.Committed {
			fmt.Fprintf(w, "committed at height %d  tx %s\n", res.Height, res.Hash)
		} else {
			fmt.Fprintf(w, "accepted into the mempool  tx %s\n", res.Hash)
		}
	})
}
