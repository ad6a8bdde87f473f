package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/internal/clienv"
	"github.com/primum-health/primum/internal/lifetime"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/records"
)

func newRecordsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "Health records: import, list, fetch from a custodian, access trail, export, erasure, retention",
		Long: `Records stay encrypted at their custodian's node; the ledger holds a salted commitment,
the custodian, the patient pseudonym and a category. Fetching a record sends a request signed
with --from to the custodian's node, which logs the access on the ledger before it answers;
the record arrives sealed to a one-time key (HPKE, ML-KEM-768 + X25519) and is checked
against the commitment held by --node.`,
	}
	tf := &txFlags{}

	var token, patient string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Store a FHIR R4 resource or Bundle at this node as the custodian named by --token",
		Long: `Stores a FHIR R4 resource, or each entry of a Bundle, encrypted at --node as the custodian
organisation --token names (or PRIMUM_TOKEN), and indexes it on the ledger for --patient.
A resource this custodian already holds for this patient, with the same content in any
layout (an export run again), is reported as already recorded and not stored twice: running
an import again is safe. -o json prints how many were stored and already recorded, with the
node's FHIR answer.`,
		Example: `  primum records import synthea.bundle.json --patient 1f0c… --token $(jq -r '.members[0].api_token' ~/.primum/demo-members.json)
  primum records import observation.json --patient 1f0c… --token …   # one resource`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.env().ImportFHIR(cmd.Context(), token, patient, args[0])
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "stored %d record(s) encrypted; indexed on the ledger", out.Stored)
				if out.AlreadyRecorded > 0 {
					fmt.Fprintf(w, "; %d already recorded (the same content, from this custodian, for this patient): not stored again", out.AlreadyRecorded)
				}
				fmt.Fprintln(w)
			})
		},
	}
	imp.Flags().StringVar(&token, "token", "", "API token of the custodian organisation (env PRIMUM_TOKEN)")
	imp.Flags().StringVar(&patient, "patient", "", "the patient's pseudonym (ledger id)")

	var purpose, emergency, out string
	var searchAll bool
	fetch := &cobra.Command{
		Use:   "fetch RECORD",
		Short: "Fetch a record from its custodian with a request signed by --from",
		Example: `  primum records fetch observation-3f… --from dr-lena-fischer.json --purpose treatment
  primum records fetch observation-3f… --from dr-amara-okafor.json --purpose emergency --emergency patient_unconscious`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.env().Fetch(cmd.Context(), tf.from, args[0], purpose, emergency, out)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), map[string]any{"record": json.RawMessage(f.Content), "access": f.Access, "verified": true}, func(w io.Writer) {
				fmt.Fprintf(w, "record %s from %s, matches its commitment; access entry %s (%s)\n", f.Record.ID, g.env().Names(cmd.Context()).Of(f.Record.Custodian), f.Access.ID, f.Access.Purpose)
				if out == "" {
					fmt.Fprintln(w, string(f.Content))
				}
			})
		},
	}
	fetch.Flags().StringVar(&purpose, "purpose", "treatment", "treatment, payment, research, emergency, second_opinion, or patient (your own record)")
	fetch.Flags().StringVar(&emergency, "emergency", "", "break-glass reason: "+strings.Join(records.EmergencyReasons, ", ")+" (with --purpose emergency)")
	fetch.Flags().StringVar(&out, "out", "", "write the record to this file instead of printing it")

	export := &cobra.Command{
		Use:     "export",
		Short:   "Export everything about you (the patient of --from) as one FHIR Bundle (GDPR Art. 15/20)",
		Example: "  primum records export --from patient-1.json --out my-health-data.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// One Bundle of every pseudonym's data (each read as itself):
			// those the key file lists, or, with --search, every one.
			bundle, n, err := g.env().Export(cmd.Context(), tf.from, searchAll)
			if err != nil {
				return err
			}
			if !searchAll && g.env().At == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d pseudonym(s): your key's own and those your key file lists (--search asks about every institution)\n", n)
			}
			if err := clienv.WriteJSON(cmd.OutOrStdout(), out, bundle); err != nil || out == "" {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d entries)\n", out, len(bundle["entry"].([]any)))
			return nil
		},
	}
	export.Flags().StringVar(&out, "out", "", "write the Bundle to this file")
	export.Flags().BoolVar(&searchAll, "search", false, "find your pseudonyms by asking about every institution, not only those your key file lists")

	erase := &cobra.Command{
		Use:   "erase",
		Short: "Erase all your records (GDPR Art. 17): every custodian destroys their keys, or keeps what the law makes it keep",
		Long: `Asks for the erasure of every record of the patient of --from, at every custodian, under
each of their pseudonyms (found by asking about every institution, not only those the key
file lists: an erasure must miss none). One
transaction reaches at most 500 records: this sends one after another, each waiting for its
block, until every record is reached. A record is erased at once (its custodian destroys its
keys), unless its custodian's retention policy holds its category (GDPR Art. 17(3)): then it
is kept until the hold ends, only you may read it meanwhile, and it is erased when the hold
ends. The answer lists what each custodian keeps, why and until when.`,
		Example: "  primum records erase --from patient-1.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Every pseudonym's records, found by asking about every
			// organisation (a key file may list none: an erasure must not
			// miss one).
			e, err := g.env().Erase(cmd.Context(), tf.from, func(left int) {
				if left > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d records not reached yet; going on\n", left)
				}
			})
			if err != nil {
				return err
			}
			names := g.env().Names(cmd.Context())
			return g.env().Print(cmd.OutOrStdout(), e, func(w io.Writer) {
				if len(e.Txs) == 0 {
					fmt.Fprintf(w, "your erasure was already complete: %d record(s) erased, keys destroyed by their custodians\n", e.Count(records.StatusErased))
				} else {
					fmt.Fprintf(w, "erasure complete in %d transaction(s): %d record(s) erased, keys destroyed by their custodians\n",
						len(e.Txs), e.Count(records.StatusErased))
				}
				if n := e.Count(records.StatusRetained); n > 0 {
					fmt.Fprintf(w, "%d record(s) kept under a retention duty (GDPR Art. 17(3)); only you may read them, and they are erased when the hold ends:\n", n)
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "RECORD\tCATEGORY\tCUSTODIAN\tKEPT UNTIL\tBASIS")
					for _, r := range e.Records {
						if r.Status == records.StatusRetained {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Category, names.Of(r.Custodian), r.RetainedUntil, r.RetentionBasis)
						}
					}
					tw.Flush()
				}
			})
		},
	}

	var holds []string
	var clearHolds bool
	retention := &cobra.Command{
		Use:   "retention",
		Short: "Set your organisation's retention policy: which record categories it must keep after an erasure request, why, how long",
		Long: `Sets the retention policy of the custodian organisation of --from (GDPR Art. 17(3)): each
--hold CATEGORY:BASIS:YEARS keeps a record of that category, although its patient asked for
erasure, for YEARS whole years after the record was registered. BASIS is one of
` + strings.Join(records.RetentionBases, ", ") + ` (Art. 17(3)(b) to (e)).
The policy replaces the one before; --clear removes it (an erasure then erases everything at
once). It applies to records an erasure reaches from then on. To read a policy:
'primum records retention-policy ORG_ID'.`,
		Example: `  primum records retention --from st-lukes-hospital --hold medication:legal_obligation:10 --hold financial:legal_claims:6
  primum records retention --from st-lukes-hospital --clear    # no holds: erase everything at once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Without a hold this would remove the policy: say so, not by
			// accident (the read is 'retention-policy').
			body, err := clienv.Retention(holds, clearHolds)
			if err != nil {
				return err
			}
			return g.send(cmd, tf, records.TypeSetRetention, body)
		},
	}
	retention.Flags().StringArrayVar(&holds, "hold", nil, "CATEGORY:BASIS:YEARS, repeatable")
	retention.Flags().BoolVar(&clearHolds, "clear", false, "remove the policy: no holds, an erasure erases everything at once")

	rotate := &cobra.Command{
		Use:   "rotate-kek",
		Short: "Replace this node's record-store key-encryption key (node stopped); records are not re-encrypted",
		Long: `Rewraps every record's data key under a new key-encryption key (KEK) and forgets the old
one. The records themselves are not re-encrypted. Run it with the node stopped; the unseal key
is opened with PRIMUM_PASSPHRASE like the node does.`,
		Example: "  primum records rotate-kek --home /var/lib/primum",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			term, err := node.RotateKEK(g.env().Home)
			if err != nil {
				return err
			}
			return g.env().Print(cmd.OutOrStdout(), map[string]any{"kek_term": term}, func(w io.Writer) {
				fmt.Fprintf(w, "record store KEK rotated: now term %d; every data key rewrapped, the old KEK destroyed\n", term)
			})
		},
	}
	for _, c := range []*cobra.Command{fetch, export, erase, retention} {
		c.Flags().StringVar(&tf.from, "from", "", "your key: a name in HOME/keys or a key file path")
	}
	retention.Flags().BoolVar(&tf.wait, "wait", true, "wait until committed")
	cmd.AddCommand(imp, fetch, export, erase, retention, rotate)
	return cmd
}

func newConsentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "consent",
		Short: "Grant, revoke and list a patient's consents",
	}
	tf := &txFlags{}
	var grant consent.Grant
	var categories, recordIDs, studies []string
	var all bool
	validFor := lifetime.Flag(30 * lifetime.Day)
	grantCmd := &cobra.Command{
		Use:   "grant GRANTEE",
		Short: "Grant a practitioner or organisation access to your records for a purpose until an expiry",
		Example: `  primum consent grant 7d2e… --from patient-1.json --categories observation,condition --purpose treatment --valid-for 30d
  primum consent grant 7d2e… --from patient-1.json --all --purpose second_opinion --valid-for 1w
  primum consent grant 3a9c… --from patient-1.json --purpose research --studies fl:t2d-records --valid-for 52w`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			grant.Grantee = args[0]
			grant.Scope = consent.Scope{All: all, Categories: categories, Records: recordIDs, Studies: studies}
			if grant.Expires == "" {
				grant.Expires = time.Now().Add(time.Duration(validFor)).UTC().Format(time.RFC3339)
			}
			return g.send(cmd, tf, consent.TypeGrant, grant)
		},
	}
	grantCmd.Flags().BoolVar(&all, "all", false, "all records")
	grantCmd.Flags().StringSliceVar(&categories, "categories", nil, "record categories: "+strings.Join(records.Categories(), ", "))
	grantCmd.Flags().StringSliceVar(&recordIDs, "records", nil, "specific record ids")
	grantCmd.Flags().StringSliceVar(&studies, "studies", nil, "with --purpose research: the studies the grantee may enrol you in or compute on your records for — a trial's registry id, fl:<learning task id> or research:<project id>")
	grantCmd.Flags().StringVar(&grant.Purpose, "purpose", "treatment", strings.Join(consent.Purposes, ", "))
	grantCmd.Flags().StringVar(&grant.Expires, "expires", "", "expiry, RFC 3339 (or --valid-for)")
	grantCmd.Flags().Var(&validFor, "valid-for", "how long the consent lasts: weeks, days or a duration, e.g. 2w, 7d, 1d12h, 36h (or --expires)")

	var withProofs bool
	var trust trustFlags
	list := &cobra.Command{
		Use:         "list [PATIENT]",
		Annotations: map[string]string{"query": "/api/v1/patients/{id}/consents"}, // the module query it reads, with its own flags
		Short:       "List a patient's consents",
		Long: `Lists a patient's consents. --prove checks each listed consent, its scope, expiry and
status, against a header the validators signed (see "primum query proof" for the trust
root) and fails if the node's copy differs; the list itself is the node's (a consent it
leaves out is not detected).`,
		Example: "  primum consent list --from patient-1.json\n  primum consent list --from patient-1.json --prove",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Whose: PATIENT read as --from, or every pseudonym of the
			// patient of --from, each read (and proven) as itself.
			var check *clienv.Trust
			if withProofs {
				check = &trust.Trust
			}
			cs, proven, err := g.env().Consents(cmd.Context(), args, tf.from, check)
			if err != nil {
				return err
			}
			names := g.env().Names(cmd.Context())
			return g.env().Print(cmd.OutOrStdout(), cs, func(w io.Writer) {
				defer func() {
					if len(proven) > 0 {
						printProvenBy(w, proven[0])
					}
				}()
				var items []map[string]any
				b, _ := json.Marshal(cs)
				_ = json.Unmarshal(b, &items)
				autocli.Table(w, autocli.Declared("consent", "list").Columns, items, names)
			})
		},
	}
	for _, c := range []*cobra.Command{grantCmd, list} {
		c.Flags().StringVar(&tf.from, "from", "", "the patient's key: a name in HOME/keys or a key file path")
	}
	list.Flags().BoolVar(&withProofs, "prove", false, "check each consent against the validators' signed header")
	trust.add(list)
	grantCmd.Flags().BoolVar(&tf.wait, "wait", true, "wait until committed")
	cmd.AddCommand(grantCmd, list)
	return cmd
}
