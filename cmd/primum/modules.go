package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/ledger"
)

// renamed names the verbs whose name is not their type's: a hand-written
// verb's, or an older spelling the generated verb answers to as well
// (package autocli makes the others from the modules' declarations).
var renamed = autocli.Renamed{
	"records.share_case":               "share",
	"records.case_opinion":             "opinion",
	"records.set_retention":            "retention",
	"identity.set_practitioner_status": "practitioner-status",
	"governance.propose":               "propose-add-member",
}

// Send signs and submits a generated verb's transaction (autocli.Env).
func (g *globals) Send(cmd *cobra.Command, r ledger.Route, values map[string]any) error {
	from, _ := cmd.Flags().GetString("from")
	wait, _ := cmd.Flags().GetBool("wait")
	key, err := g.fromKey(cmd.Context(), from)
	if err != nil {
		return err
	}
	newKey, err := g.holder(cmd, r.Holder, key, values)
	if err != nil {
		return err
	}
	if err := g.orgIDs(cmd.Context(), r.Orgs, values); err != nil {
		return err
	}
	if r.Type == identity.TypeRotateKey {
		// A patient's pseudonyms are derived from their key: they are
		// rotated with it, first (the old key still derives any left),
		// or the retired key would keep signing as them.
		if err := g.rotatePseudonyms(cmd, r, from, key, newKey); err != nil {
			return err
		}
	}
	if err := g.sendAs(cmd, key, wait, r.Type, values); err != nil {
		return err
	}
	// A claim's decision, as it stands after the transaction: amounts in
	// units, each line's outcome.
	switch r.Type {
	case claims.TypeSubmit:
		if g.output == "text" {
			printDecision(cmd, g.client().WithKey(key), values["id"])
		}
	case claims.TypeReview, claims.TypeAppeal, claims.TypePay:
		if g.output == "text" {
			printDecision(cmd, g.client().WithKey(key), values["claim"])
		}
	}
	if newKey != nil && r.Holder.As != "" { // a registration: who the new key is now
		fmt.Fprintf(cmd.ErrOrStderr(), "the new %s's identity: %s\n", r.Holder.As, ledger.Address(newKey.Public().(ed25519.PublicKey)))
	}
	return nil
}

// Read asks a generated verb's query (autocli.Env): without an id, a
// patient's query is read as every pseudonym of the patient of --from,
// each read signed by its own key, a list answer merged.
func (g *globals) Read(cmd *cobra.Command, r autocli.Read) ([]byte, url.Values, error) {
	if r.Mine && r.Token == "" {
		return g.readMine(cmd, r.From, func(id string) string { return r.Path([]string{id}) }, r.Params)
	}
	c, err := g.readClient(cmd.Context(), r.From)
	if err != nil {
		return nil, nil, err
	}
	args := slices.Clone(r.Args)
	for i, name := range r.Query.PathParams() {
		if i < len(args) && slices.Contains(r.Query.Orgs, name) {
			if args[i], err = g.client().Organisation(cmd.Context(), args[i]); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", strings.ToUpper(name), err)
			}
		}
	}
	if r.Token != "" {
		c = c.WithToken(r.Token)
	}
	if r.Mine { // the token's own patient
		p, err := g.patientOf(cmd, nil, r.From)
		if err != nil {
			return nil, nil, err
		}
		args = []string{p}
	}
	return c.QueryPage(cmd.Context(), r.Path(args), r.Params)
}

// Text is whether the output is text (autocli.Env).
func (g *globals) Text() bool { return g.output == "text" }

// Names are the public identities' names for text output (autocli.Env);
// with -o json, none, and ids are shown as they are.
func (g *globals) Names(ctx context.Context) autocli.Names {
	if g.output != "text" {
		return autocli.Names{}
	}
	return autocli.LoadNames(ctx, g.client())
}

// orgIDs turns organisations' names into their ids in the body fields
// that hold them (ledger.Route.Orgs); an id stays as it is.
func (g *globals) orgIDs(ctx context.Context, fields []string, values map[string]any) error {
	resolve := func(field, v string) (string, error) {
		id, err := g.client().Organisation(ctx, v)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", autocli.FlagOf(field), err)
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
func (g *globals) holder(cmd *cobra.Command, h *ledger.KeyHolder, signer ed25519.PrivateKey, values map[string]any) (ed25519.PrivateKey, error) {
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
	key, err := g.signingKey(name)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", h.Flag, err)
	}
	chainID, id, err := g.client().Registrant(cmd.Context(), signer)
	if err != nil {
		return nil, err
	}
	values[h.Key] = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	values[h.Proof] = h.Prove(key, chainID, id)
	return key, nil
}

// rotatePseudonyms rotates each of a patient's pseudonyms to the pseudonym
// key the new key derives for its organisation, before the key itself (the
// old key still derives any left, should one fail), and lists each in the
// new key's file as soon as it is rotated. It asks about every
// organisation, not only those the key file lists (a key imported or
// restored may list none): the old key is being retired, so showing the
// node its derived keys costs nothing, and a pseudonym left behind would
// stay the old key's to sign for. A pseudonym alone (--at) is not rotated:
// it would no longer follow from the patient's key.
func (g *globals) rotatePseudonyms(cmd *cobra.Command, r ledger.Route, from string, key, newKey ed25519.PrivateKey) error {
	if g.at != "" {
		return fmt.Errorf("a pseudonym is rotated with the patient's own key: rotate that (without --at), and every pseudonym follows")
	}
	ctx := cmd.Context()
	info, err := g.client().Self(ctx, key)
	if err != nil || info.Identity == nil || info.Identity.Kind != ledger.KindPatient {
		return err // not a patient's key: nothing derives from it
	}
	if newKey == nil {
		return fmt.Errorf("a patient's key is rotated with --%s (the new key, opened here): the pseudonyms derived from it are rotated with it", r.Holder.Flag)
	}
	if used, err := g.client().Self(ctx, newKey); err != nil {
		return err
	} else if used.Identity != nil {
		return fmt.Errorf("--%s: that key already signs for %s: choose a new key", r.Holder.Flag, used.Identity.ID)
	}
	ps, err := g.findPseudonyms(ctx, from, true)
	if err != nil {
		return err
	}
	newName, _ := cmd.Flags().GetString(r.Holder.Flag)
	who := g.Names(ctx)
	err = g.client().RotatePseudonyms(ctx, ps, newKey, r.Type, r.Holder, func(p client.Pseudonym) error {
		if err := g.keys().AddPseudonyms(newName, p.Custodian); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "rotated your pseudonym at %s\n", who.Of(p.Custodian))
		return nil
	})
	var stopped *client.RotateError
	switch {
	case errors.As(err, &stopped) && stopped.Rotated:
		return fmt.Errorf("your pseudonym at %s is rotated, but the new key's file does not list it (%w): add it with 'primum identity pseudonyms --from NEW --search'", who.Of(stopped.Pseudonym.Custodian), stopped.Err)
	case errors.As(err, &stopped):
		return fmt.Errorf("rotating your pseudonym at %s: %w (those before it are rotated and listed in the new key's file: run the same command again to go on)", who.Of(stopped.Pseudonym.Custodian), stopped.Err)
	}
	return err
}

// readMine reads one patient query as each pseudonym of the patient of
// --from (their own key's, and the pairwise ones they registered; only
// the one --at names with --at), each signed by its own key, and merges
// the answers when they are lists. Another answer (a status) is the first
// pseudonym's, and the others are named on stderr.
func (g *globals) readMine(cmd *cobra.Command, from string, path func(id string) string, params url.Values) ([]byte, url.Values, error) {
	if from == "" {
		return nil, nil, fmt.Errorf("give a patient's ID, or --from (the patient's key)")
	}
	ps, err := g.findPseudonyms(cmd.Context(), from, false)
	if err != nil {
		return nil, nil, err
	}
	var who autocli.Names // read when a message needs them
	return g.client().ReadEach(cmd.Context(), ps, path, params, func(p client.Pseudonym, more bool) {
		if who == nil {
			who = g.Names(cmd.Context())
		}
		if more {
			fmt.Fprintf(cmd.ErrOrStderr(), "more for your pseudonym at %s: ask with --at %s\n", who.Of(p.Custodian), p.Custodian)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "also: your pseudonym %s at %s (ask with --at)\n", p.ID, who.Of(p.Custodian))
		}
	})
}

// findPseudonyms are the patient of from's identities: the one --at names,
// or their key's own and those at the organisations its key file lists
// (keyring.File.Pseudonyms; search asks about every organisation); a key
// the ledger does not know reads as itself, and the node answers for it.
func (g *globals) findPseudonyms(ctx context.Context, from string, search bool) ([]client.Pseudonym, error) {
	key, err := g.fromKey(ctx, from)
	if err != nil {
		return nil, err
	}
	if g.at != "" {
		info, err := g.client().Self(ctx, key)
		if err != nil {
			return nil, err
		}
		if info.Identity == nil {
			return nil, fmt.Errorf("you hold no pseudonym made for %s. If it knows your key's own number (where you first enrolled), sign without --at; to enrol there with a number of its own:\n  primum identity register-patient --voucher CODE --from %s --at %q", g.at, from, g.at)
		}
		// A rotated key's identity keeps its first id.
		return []client.Pseudonym{{Key: key, ID: info.Identity.ID, Custodian: g.atOrg}}, nil
	}
	f, err := g.keys().Find(from)
	if err != nil {
		return nil, err
	}
	return g.client().FindPseudonyms(ctx, key, f.Pseudonyms, search)
}
