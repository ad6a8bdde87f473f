package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/keyring"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage signing keys (HOME/keys), encrypted at rest",
		Long: `Signing keys live in HOME/keys, one file each, encrypted with a passphrase (Argon2id +
AES-256-GCM). The passphrase comes from PRIMUM_PASSPHRASE or the terminal. --unencrypted
stores a key in clear, and every command that shows it says so.`,
	}
	var unencrypted bool
	add := &cobra.Command{
		Use:     "add NAME",
		Short:   "Create a new key",
		Example: "  primum keys add alice\n  PRIMUM_PASSPHRASE=… primum keys add clinic-bot",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.env().Keys().AddNew(args[0], unencrypted)
			if err != nil {
				return err
			}
			return g.printKey(cmd.OutOrStdout(), f)
		},
	}
	add.Flags().BoolVar(&unencrypted, "unencrypted", false, "store the key without a passphrase (NOT for production)")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List keys",
		Example: "  primum keys list\n  primum keys list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := g.env().Keys().Listing()
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), rows, func(w io.Writer) {
				if len(rows) == 0 {
					fmt.Fprintln(w, "No keys in", string(g.env().Keys()))
				}
				for _, r := range rows {
					enc := "encrypted"
					if !r.Encrypted {
						enc = "UNENCRYPTED"
					}
					fmt.Fprintf(w, "%-20s %s  %s\n", r.Name, r.Address, enc)
				}
			})
		},
	}
	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a key's address and public key",
		Example: "  primum keys show operator\n  primum keys show operator -o json | jq -r .public_key",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.env().Keys().Get(args[0])
			if err != nil {
				return err
			}
			return g.printKey(cmd.OutOrStdout(), f)
		},
	}
	export := &cobra.Command{
		Use:   "export NAME",
		Short: "Print a key file (as stored: encrypted keys stay encrypted)",
		Example: `  primum keys export alice > alice.json
  primum keys import alice-copy alice.json --home /other/home`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.env().Keys().Get(args[0])
			if err != nil {
				return err
			}
			if !f.Encrypted {
				fmt.Fprintln(os.Stderr, "WARNING: this key is UNENCRYPTED; the output contains the private key")
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(f)
		},
	}
	var importUnencrypted bool
	imp := &cobra.Command{
		Use:   "import NAME FILE",
		Short: "Import a key file (from 'keys export') or a hex Ed25519 seed in a file",
		Long: `Imports a key: FILE is a key file written by 'primum keys export', or a file holding a
32-byte Ed25519 seed in hex. The key is stored encrypted with a new passphrase unless
--unencrypted.`,
		Example: "  primum keys import alice alice.json\n  PRIMUM_PASSPHRASE=… primum keys import hsm-backup seed.hex",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.env().Keys().ImportFile(args[0], args[1], importUnencrypted)
			if err != nil {
				return err
			}
			return g.printKey(cmd.OutOrStdout(), f)
		},
	}
	imp.Flags().BoolVar(&importUnencrypted, "unencrypted", false, "store the key without a passphrase (NOT for production)")
	cmd.AddCommand(add, list, show, export, imp, newProvePossessionCmd(g))
	return cmd
}

// newProvePossessionCmd is 'keys prove-possession': the key holder's side
// of a registration. A new practitioner's, device's or member's key enters
// the ledger only with its holder's signature over the chain, the
// registration and the key (identity.PossessionProofBytes); this prints it
// for whoever sends the registration.
func newProvePossessionCmd(g *globals) *cobra.Command {
	var p clienv.Possession
	cmd := &cobra.Command{
		Use:   "prove-possession [KEY]",
		Short: "Sign the proof that you hold a key, for someone to register it",
		Long: `Prints the proof of possession of KEY (a name in HOME/keys or a key file) that a
registration of that key needs, so that nobody can register a key without its holder's
agreement. --as names the registration and --for who makes it:

  --as practitioner --for ORG_ID     the organisation credentialing you
  --as device       --for OWNER_ID   the organisation or patient registering the device
  --as member       --for "NAME"     your organisation's name, exactly as proposed, with
                    --org-type TYPE  its type and
                    --validator-key HEX  its validator key ('primum init' prints it; leave
                                     it out for a member without a validator): the proof
                                     agrees to admission as exactly that, and a proposal
                                     with another name, type or validator key is refused.
                                     The power is the proposer's choice and is not signed.
  --as validator    --for ORG_ID     your organisation's id (the address of its operator
                                     key); signed with this home's CometBFT validator key
                                     (config/priv_validator_key.json): give no KEY

The proof is bound to the chain (--chain-id, by default asked of --node): it is no use
for another chain, registration or key. Send the key and the proof to the registrant.
A joining node's 'primum init --genesis' makes both of a member's proofs itself, in
HOME/membership-request.json.`,
		Example: `  primum keys prove-possession dr-okafor --as practitioner --for 4b2c…
  primum keys prove-possession operator --as member --for "St Olav Hospital" --org-type hospital \
      --validator-key 8a… --chain-id primum-1
  primum keys prove-possession --as validator --for 9e1d… --home /srv/primum`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, what, err := g.env().ProvePossession(cmd.Context(), args, p)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "key    %s\nproof  %s\n", out["key"], out["proof"])
				fmt.Fprintf(w, "(a proof of possession for %s on chain %s: send both to the registrant)\n", what, out["chain_id"])
			})
		},
	}
	cmd.Flags().StringVar(&p.As, "as", "", "practitioner, device, member or validator")
	cmd.Flags().StringVar(&p.For, "for", "", "who registers the key: an organisation's or patient's id, or for --as member the organisation's name")
	cmd.Flags().StringVar(&p.OrgType, "org-type", "", "--as member: the organisation's type, as proposed")
	cmd.Flags().StringVar(&p.ValidatorKey, "validator-key", "", "--as member: the organisation's validator public key (hex), as proposed; none for a member without a validator")
	cmd.Flags().StringVar(&p.ChainID, "chain-id", "", "the chain (default: asked of --node)")
	return cmd
}

func (g *globals) printKey(w io.Writer, f *keyring.File) error {
	v := map[string]any{"name": f.Name, "address": f.Address, "public_key": f.PublicKey, "encrypted": f.Encrypted}
	return g.env().Print(w, v, func(w io.Writer) {
		fmt.Fprintf(w, "name        %s\naddress     %s\npublic key  %s\n", f.Name, f.Address, f.PublicKey)
		if f.Encrypted {
			fmt.Fprintln(w, "stored      encrypted (argon2id + AES-256-GCM)")
		} else {
			fmt.Fprintln(w, "stored      UNENCRYPTED: anyone who can read the key file can sign with it")
		}
	})
}
