package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/wire"
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
			if count < 1 || count > identity.MaxVouchersPerTx {
				return fmt.Errorf("--count must be 1 to %d", identity.MaxVouchersPerTx)
			}
			codes := make([]string, count)
			body := identity.IssueVouchers{Vouchers: make([]string, count)}
			for i := range codes {
				code, err := identity.NewVoucher()
				if err != nil {
					return err
				}
				codes[i], body.Vouchers[i] = code, identity.VoucherHash(code)
			}
			key, err := g.signingKey(tf.from)
			if err != nil {
				return err
			}
			res, err := g.client().Send(cmd.Context(), key, identity.TypeIssueVouchers, body, true)
			if err != nil {
				return err
			}
			// The codes alone on stdout (one a line: V=$(primum identity
			// issue-vouchers …) takes them); where they were issued on stderr.
			fmt.Fprintf(cmd.ErrOrStderr(), "issued at height %d  tx %s: hand each code to one person\n", res.Height, res.Hash)
			return g.print(cmd.OutOrStdout(), codes, func(w io.Writer) {
				for _, c := range codes {
					fmt.Fprintln(w, c)
				}
			})
		},
	}
	vouchers.Flags().IntVar(&count, "count", 10, "how many (at most 100)")

	var rp identity.RegisterPractitioner
	var newKeyFile string
	regPrac := &cobra.Command{
		Use:   "register-practitioner",
		Short: "Credential a practitioner's key (care organisations)",
		Long: `Credentials a practitioner's key. The practitioner must agree: the registration carries
their key's proof of possession. Either pass their key with --key-file (a name in
HOME/keys or a key file: the proof is signed here), or, when the key is on their own
machine, --key and --proof, which they print with
  primum keys prove-possession THEIR_KEY --as practitioner --for YOUR_ORGANISATION_ID`,
		Example: `  primum identity register-practitioner --from operator --key-file dr-new --licence MD-1234 --profession doctor --specialty cardiology --valid-until 2028-01-01T00:00:00Z
  primum identity register-practitioner --from operator --key 3f5a… --proof 9b0e… --licence MD-1234 --profession doctor --valid-until 2028-01-01T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newKeyFile == "" {
				if err := needProof(rp.Key, rp.Proof, "practitioner"); err != nil {
					return err
				}
				return send(cmd, identity.TypeRegisterPractitioner, rp)
			}
			key, practitioner, err := g.signingKeys(tf.from, newKeyFile)
			if err != nil {
				return err
			}
			res, err := g.client().RegisterPractitioner(cmd.Context(), key, practitioner, rp, tf.wait)
			if err != nil {
				return err
			}
			return printSubmit(g, cmd.OutOrStdout(), res)
		},
	}
	regPrac.Flags().StringVar(&newKeyFile, "key-file", "", "the practitioner's key (name or key file), to sign its proof of possession")
	regPrac.Flags().StringVar(&rp.Key, "key", "", "the practitioner's Ed25519 public key (hex), with --proof")
	regPrac.Flags().StringVar(&rp.Proof, "proof", "", "the practitioner's proof of possession (hex, from 'primum keys prove-possession')")
	regPrac.MarkFlagsMutuallyExclusive("key-file", "key")
	regPrac.MarkFlagsMutuallyExclusive("key-file", "proof")
	regPrac.Flags().StringVar(&rp.Licence, "licence", "", "licence number")
	regPrac.Flags().StringVar(&rp.Profession, "profession", "", "doctor, nurse, pharmacist, midwife, dentist, …")
	regPrac.Flags().StringVar(&rp.Specialty, "specialty", "", "specialty")
	regPrac.Flags().StringVar(&rp.ValidUntil, "valid-until", "", "credential expiry, RFC 3339")

	var dev identity.RegisterDevice
	var deviceKeyFile string
	devCmd := &cobra.Command{
		Use:   "register-device",
		Short: "Register a device key (organisations and patients)",
		Long: `Registers a device's key, with the device key's proof of possession: pass the device's
key with --key-file (the proof is signed here), or --key and --proof printed on the device
with
  primum keys prove-possession DEVICE_KEY --as device --for YOUR_ID`,
		Example: `  primum keys add ventilator-7 && primum identity register-device --key-file ventilator-7 --type ventilator --from operator
  primum identity register-device --key 77ab… --proof 51c2… --type ventilator --from operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if deviceKeyFile == "" {
				if err := needProof(dev.Key, dev.Proof, "device"); err != nil {
					return err
				}
				return send(cmd, identity.TypeRegisterDevice, dev)
			}
			key, device, err := g.signingKeys(tf.from, deviceKeyFile)
			if err != nil {
				return err
			}
			res, err := g.client().RegisterDevice(cmd.Context(), key, device, dev.DeviceType, tf.wait)
			if err != nil {
				return err
			}
			return printSubmit(g, cmd.OutOrStdout(), res)
		},
	}
	devCmd.Flags().StringVar(&deviceKeyFile, "key-file", "", "the device's key (name or key file), to sign its proof of possession")
	devCmd.Flags().StringVar(&dev.Key, "key", "", "the device's Ed25519 public key (hex), with --proof")
	devCmd.Flags().StringVar(&dev.Proof, "proof", "", "the device key's proof of possession (hex, from 'primum keys prove-possession')")
	devCmd.MarkFlagsMutuallyExclusive("key-file", "key")
	devCmd.MarkFlagsMutuallyExclusive("key-file", "proof")
	devCmd.Flags().StringVar(&dev.DeviceType, "type", "", "device type, e.g. ventilator, glucose-monitor")

	var newKeyName string
	rotate := &cobra.Command{
		Use:     "rotate-key",
		Short:   "Replace your signing key with another key from HOME/keys; the old key is retired",
		Example: `  primum keys add operator-2026 && primum identity rotate-key --from operator --new operator-2026`,
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
	var reason, requestFile, memberKeyFile string
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
			member := nm
			chainID, err := g.client().ChainID(cmd.Context())
			if err != nil {
				return err
			}
			switch {
			case requestFile != "":
				req, err := node.ReadMembershipRequest(requestFile)
				if err != nil {
					return err
				}
				if req.ChainID != chainID {
					return fmt.Errorf("%s is for chain %q, the node is on %q", requestFile, req.ChainID, chainID)
				}
				member = req.NewMember
				if cmd.Flags().Changed("power") {
					member.Power = nm.Power
				}
			case memberKeyFile != "":
				key, err := g.signingKey(memberKeyFile)
				if err != nil {
					return fmt.Errorf("--key-file: %w", err)
				}
				var vk ed25519.PublicKey
				if nm.ValidatorKey != "" {
					if vk, err = identity.ParseKey(nm.ValidatorKey); err != nil {
						return fmt.Errorf("--validator-key: %w", err)
					}
				}
				member.Key = hex.EncodeToString(key.Public().(ed25519.PublicKey))
				member.KeyProof = identity.ProvePossession(key, chainID, identity.ProofMember, identity.MemberRegistrant(nm.Name, nm.OrgType, vk))
			default:
				if err := needProof(nm.Key, nm.KeyProof, "member"); err != nil {
					return err
				}
			}
			if member.ValidatorKey != "" && member.ValidatorKeyProof == "" {
				return fmt.Errorf("--validator-key needs --validator-key-proof: the joining organisation prints it with\n  primum keys prove-possession --as validator --for ORG_ID --home ITS_HOME\n(ORG_ID is the address of its operator key)")
			}
			if err := member.CheckProofs(chainID); err != nil {
				return fmt.Errorf("[%s] %w\nThe joining organisation agrees to exactly this member by making its proofs again:\n  primum keys prove-possession operator --as member --for NAME --org-type TYPE [--validator-key HEX]\n  primum keys prove-possession --as validator --for ORG_ID   (only with a validator key)", ledger.AsError(err).Name, err)
			}
			return send(cmd, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: &member, Reason: reason})
		},
	}
	proposeAdd.Flags().StringVar(&requestFile, "request", "", "a joining organisation's membership-request.json (from 'primum init --genesis')")
	proposeAdd.Flags().StringVar(&nm.Name, "name", "", "organisation name")
	proposeAdd.Flags().StringVar(&nm.OrgType, "org-type", "", "organisation type")
	proposeAdd.Flags().StringVar(&memberKeyFile, "key-file", "", "the organisation's operator key (name or key file), to sign its proof of possession")
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
	cmd.AddCommand(vouchers, regPrac, devCmd, rotate, proposeAdd, proposeRemove, raw)
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
	for _, c := range tx.Commands() {
		switch c.Name() {
		case "issue-vouchers", "register-practitioner", "register-device", "rotate-key":
			tx.RemoveCommand(c)
			nouns["identity"].AddCommand(c)
		case "propose-add-member", "propose-remove-member":
			tx.RemoveCommand(c)
			nouns["governance"].AddCommand(c)
		}
	}
	return []*cobra.Command{nouns["identity"], nouns["governance"]}
}

// needProof refuses, before anything is sent, a new key given without the
// proof of possession its registration needs, saying how to get one.
func needProof(key, proof, kind string) error {
	if key == "" || proof != "" {
		return nil // no key: the ledger's own answer (bad_key) says what is missing
	}
	flag, registrant := "--proof", "YOUR_ID"
	if kind == identity.ProofMember {
		flag, registrant = "--key-proof", `"THE ORGANISATION'S NAME" --org-type TYPE [--validator-key HEX]`
	}
	return fmt.Errorf("--key needs %s, the key holder's proof of possession: they print it with\n  primum keys prove-possession THEIR_KEY --as %s --for %s\nor pass the key itself with --key-file", flag, kind, registrant)
}

// signingKeys opens the --from key and a second key (a new practitioner's or
// device's), each a name in HOME/keys or a key file.
func (g *globals) signingKeys(from, other string) (ed25519.PrivateKey, ed25519.PrivateKey, error) {
	key, err := g.signingKey(from)
	if err != nil {
		return nil, nil, err
	}
	otherKey, err := g.signingKey(other)
	if err != nil {
		return nil, nil, fmt.Errorf("--key-file: %w", err)
	}
	return key, otherKey, nil
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
	if p := g.decided(cmd.Context(), typ, body, res); p != nil {
		return g.print(cmd.OutOrStdout(), struct {
			*wire.SubmitResponse
			Proposal *governance.Proposal `json:"proposal"`
		}{res, p}, func(w io.Writer) {
			printSubmit(g, w, res)
			fmt.Fprintln(w, proposalLine(p))
		})
	}
	return printSubmit(g, cmd.OutOrStdout(), res)
}

// decided reads what a committed governance transaction did that its
// result does not say: the proposal a propose opened, or the proposal a
// vote decided (passed, rejected or failed; nil while it stays open). The
// ledger keeps no transaction's events for the API, so this reads the
// proposals, which are public: the one the signer proposed in the block, or
// the one voted on, decided in the block. It adds to what is printed, so a
// read that fails adds nothing.
func (g *globals) decided(ctx context.Context, typ string, body any, res *wire.SubmitResponse) *governance.Proposal {
	if !res.Committed {
		return nil
	}
	c := g.client()
	switch typ {
	case governance.TypePropose:
		list, err := c.Proposals(ctx)
		if err != nil {
			return nil
		}
		var found *governance.Proposal
		for _, p := range list { // newest first
			if p.Height == res.Height && p.Proposer == res.Signer {
				if found != nil {
					return nil // two in one block: which is this one is not known
				}
				found = p
			}
		}
		return found
	case governance.TypeVote:
		var v governance.Vote
		if b, err := json.Marshal(body); err != nil || json.Unmarshal(b, &v) != nil {
			return nil
		}
		p, err := c.Proposal(ctx, v.ProposalID)
		if err != nil || p.Status == governance.StatusOpen || p.DecidedAt != res.Height {
			return nil // still open, or not decided by this vote
		}
		return p
	}
	return nil
}

// proposalLine says where a proposal stands.
func proposalLine(p *governance.Proposal) string {
	what := p.Action
	switch {
	case p.Member != nil:
		what += fmt.Sprintf(" %q", p.Member.Name)
	case p.OrgID != "":
		what += " " + p.OrgID
	}
	line := fmt.Sprintf("proposal %d (%s): %s", p.ID, what, p.Status)
	switch p.Status {
	case governance.StatusOpen:
		line += fmt.Sprintf(" until %s, %d yes and %d no of %d members; it passes when more than 2/3 vote yes", p.Deadline, len(p.Yes), len(p.No), p.Electors)
	case governance.StatusPassed:
		if p.Action == governance.ActionAddMember && p.Result != "" {
			line += ", admitted as " + p.Result
		}
	case governance.StatusFailed:
		line += ": " + p.Result
	}
	return line
}

func printSubmit(g *globals, w io.Writer, res *wire.SubmitResponse) error {
	return g.print(w, res, func(w io.Writer) {
		if res.Committed {
			fmt.Fprintf(w, "committed at height %d  tx %s\n", res.Height, res.Hash)
		} else {
			fmt.Fprintf(w, "accepted into the mempool  tx %s\n", res.Hash)
		}
	})
}
