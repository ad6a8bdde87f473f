package clienv

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// Send signs and submits a generated verb's transaction (autocli.Env).
func (e *Env) Send(cmd *cobra.Command, r ledger.Route, values map[string]any) error {
	from, _ := cmd.Flags().GetString("from")
	wait, _ := cmd.Flags().GetBool("wait")
	key, err := e.FromKey(cmd.Context(), from)
	if err != nil {
		return err
	}
	newKey, err := e.holder(cmd, r.Holder, key, values)
	if err != nil {
		return err
	}
	if err := e.orgIDs(cmd, r.Orgs, r.Args, values); err != nil {
		return err
	}
	if r.Type == identity.TypeRotateKey {
		// A patient's pseudonyms are derived from their key: they are
		// rotated with it, first (the old key still derives any left),
		// or the retired key would keep signing as them.
		if err := e.rotatePseudonyms(cmd, r, from, key, newKey); err != nil {
			return err
		}
	}
	if err := e.SendAs(cmd, key, wait, r.Type, values); err != nil {
		return err
	}
	// A claim's decision, as it stands after the transaction: amounts in
	// units, each line's outcome.
	switch r.Type {
	case claims.TypeSubmit:
		if e.Output == "text" {
			e.printDecision(cmd, e.Client().WithKey(key), values["id"])
		}
	case claims.TypeReview, claims.TypeAppeal, claims.TypePay:
		if e.Output == "text" {
			e.printDecision(cmd, e.Client().WithKey(key), values["claim"])
		}
	}
	if newKey != nil && r.Holder.As != "" { // a registration: who the new key is now
		fmt.Fprintf(cmd.ErrOrStderr(), "the new %s's identity: %s\n", r.Holder.As, ledger.Address(newKey.Public().(ed25519.PublicKey)))
	}
	return nil
}

// orgIDs turns organisations' names into their ids in the body fields
// that hold them (ledger.Route.Orgs); an id stays as it is. A refusal
// names the field as the command line has it: a positional argument
// (args) in capitals, else its flag.
func (e *Env) orgIDs(cmd *cobra.Command, fields, args []string, values map[string]any) error {
	resolve := func(field, v string) (string, error) {
		if v == "" {
			return "", nil // none (a field that takes none says so in its doc)
		}
		id, err := e.Client().Organisation(cmd.Context(), v)
		if err != nil {
			name := "--" + autocli.FlagOf(field)
			for _, a := range args {
				if strings.TrimSuffix(a, "...") == field {
					name = strings.ToUpper(field)
				}
			}
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return id, nil
	}
	for _, f := range fields {
		var err error
		switch v := values[f].(type) {
		case string:
			values[f], err = resolve(f, v)
		case []string:
			out := make([]string, len(v))
			for i, x := range v {
				if out[i], err = resolve(f, x); err != nil {
					break
				}
			}
			values[f] = out
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// holder fills in the new key a body brings and its holder's proof (see
// ledger.KeyHolder), from the key --FLAG opens; a key given without its
// proof is refused here, saying how to get one.
func (e *Env) holder(cmd *cobra.Command, h *ledger.KeyHolder, signer ed25519.PrivateKey, values map[string]any) (ed25519.PrivateKey, error) {
	if h == nil {
		return nil, nil
	}
	name, _ := cmd.Flags().GetString(h.Flag)
	if name == "" {
		if values[h.Key] != nil && values[h.Proof] == nil {
			how := "give the key itself with --" + h.Flag
			if h.As != "" {
				how = fmt.Sprintf("they print it with\n  primum keys prove-possession THEIR_KEY --as %s --for YOUR_ID\nor %s", h.As, how)
			}
			return nil, fmt.Errorf("--%s needs --%s, the key holder's proof: %s", autocli.FlagOf(h.Key), autocli.FlagOf(h.Proof), how)
		}
		return nil, nil
	}
	key, err := e.SigningKey(name)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", h.Flag, err)
	}
	chainID, id, err := e.Client().Registrant(cmd.Context(), signer)
	if err != nil {
		return nil, err
	}
	values[h.Key] = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	values[h.Proof] = h.Prove(key, chainID, id)
	return key, nil
}

// SendAs signs a transaction with key and submits it, printing the
// outcome (a governance proposal it decided, too).
func (e *Env) SendAs(cmd *cobra.Command, key ed25519.PrivateKey, wait bool, typ string, body any) error {
	res, err := e.Client().Send(cmd.Context(), key, typ, body, wait)
	var problem *client.Problem
	if typ == identity.TypeRegisterPatient && e.atOrg != "" && errors.As(err, &problem) && problem.Code == ledger.ErrUnauthorized.Name {
		return fmt.Errorf("you are enrolled at %s already: 'primum identity pseudonyms --from KEY' lists your pseudonyms", e.At)
	}
	if e.At == "" && errors.As(err, &problem) && (problem.Code == consent.ErrNotYours.Name || problem.Code == consent.ErrUnknownRecord.Name) {
		// A patient with pseudonyms signs as the one that holds it.
		return fmt.Errorf("%w\nIf it is one of your pseudonyms', sign as that one: --at INSTITUTION ('primum identity pseudonyms --from KEY' lists them; 'consent list --from KEY' shows each consent's PATIENT)", err)
	}
	if err != nil {
		return err
	}
	if from, _ := cmd.Flags().GetString("from"); e.atOrg != "" && from != "" {
		// Signed as a pseudonym (--at): its key file remembers where the
		// patient holds one, so that finding them asks about no other
		// organisation. A file that cannot be written only loses that.
		if err := e.Keys().AddPseudonyms(from, e.atOrg); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: could not record the pseudonym at %s in %s: %v\n", e.At, from, err)
		}
		if typ == identity.TypeRegisterPatient && res.Committed && e.Output == "text" {
			fmt.Fprintf(cmd.OutOrStdout(), "your pseudonym at %s: %s (give it to them: they import your records under it)\n",
				e.At, ledger.Address(key.Public().(ed25519.PublicKey)))
		}
	}
	if p := e.Client().Decided(cmd.Context(), typ, body, res); p != nil {
		return e.Print(cmd.OutOrStdout(), struct {
			*wire.SubmitResponse
			Proposal *governance.Proposal `json:"proposal"`
		}{res, p}, func(w io.Writer) {
			e.printSubmit(w, res)
			fmt.Fprintln(w, autocli.Printable(p.Summary()))
		})
	}
	return e.printSubmit(cmd.OutOrStdout(), res)
}

func (e *Env) printSubmit(w io.Writer, res *wire.SubmitResponse) error {
	return e.Print(w, res, func(w io.Writer) {
		if res.Committed {
			fmt.Fprintf(w, "committed at height %d  tx %s\n", res.Height, res.Hash)
		} else {
			fmt.Fprintf(w, "accepted into the mempool  tx %s\n", res.Hash)
		}
	})
}

// printDecision says what the ledger decided of a claim just submitted:
// its status and who pays what (nothing when it cannot be read).
func (e *Env) printDecision(cmd *cobra.Command, c *client.Client, id any) {
	s, ok := id.(string)
	if !ok {
		return
	}
	claim, err := c.Claim(cmd.Context(), s)
	if err != nil {
		return
	}
	fmt.Fprintf(cmd.OutOrStdout(), "claim %s: %s — billed %s, allowed %s, the insurer pays %s, the patient %s\n", claim.ID, claim.Status,
		ledger.Cents(claim.Charge), ledger.Cents(claim.Allowed), ledger.Cents(claim.Payer), ledger.Cents(claim.PatientShare))
	for _, l := range claim.Lines {
		fmt.Fprintf(cmd.OutOrStdout(), "  line %d %s: %s %s\n", l.N, l.Code, l.Outcome, strings.Join(l.Reasons, ","))
	}
}
