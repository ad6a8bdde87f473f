package clienv

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/ledger"
)

// FindPseudonyms are the patient of from's identities: the one --at names,
// or their key's own and those at the organisations its key file lists
// (keyring.File.Pseudonyms; search asks about every organisation); a key
// the ledger does not know reads as itself, and the node answers for it.
func (e *Env) FindPseudonyms(ctx context.Context, from string, search bool) ([]client.Pseudonym, error) {
	key, err := e.FromKey(ctx, from)
	if err != nil {
		return nil, err
	}
	if e.At != "" {
		info, err := e.Client().Self(ctx, key)
		if err != nil {
			return nil, err
		}
		if info.Identity == nil {
			return nil, fmt.Errorf("you hold no pseudonym made for %s. If it knows your key's own number (where you first enrolled), sign without --at; to enrol there with a number of its own:\n  primum identity register-patient --voucher CODE --from %s --at %q", e.At, from, e.At)
		}
		// A rotated key's identity keeps its first id.
		return []client.Pseudonym{{Key: key, ID: info.Identity.ID, Custodian: e.atOrg}}, nil
	}
	f, err := e.Keys().Find(from)
	if err != nil {
		return nil, err
	}
	return e.Client().FindPseudonyms(ctx, key, f.Pseudonyms, search)
}

// Pseudonym is one of a patient's pseudonyms as 'primum identity
// pseudonyms' lists it: its id, and the organisation it was made for
// (none: the key's own).
type Pseudonym struct {
	ID        string `json:"id"`
	Custodian string `json:"custodian,omitempty"`
}

// Pseudonyms lists the pseudonyms of the patient of from (FindPseudonyms);
// with search, those found are recorded in the key file, so that finding
// them again asks about no other organisation. Another kind's key holds
// none, and is refused.
func (e *Env) Pseudonyms(ctx context.Context, from string, search bool) ([]Pseudonym, error) {
	ps, err := e.FindPseudonyms(ctx, from, search)
	if err != nil {
		return nil, err
	}
	if info, err := e.Client().Self(ctx, ps[0].Key); err == nil && info.Identity != nil && info.Identity.Kind != ledger.KindPatient {
		return nil, fmt.Errorf("this is a %s's key: only patients hold pseudonyms", info.Identity.Kind)
	}
	if search {
		var orgs []string
		for _, p := range ps {
			if p.Custodian != "" {
				orgs = append(orgs, p.Custodian)
			}
		}
		if err := e.Keys().AddPseudonyms(from, orgs...); err != nil {
			return nil, fmt.Errorf("found %d pseudonym(s), but could not record them in the key file: %w", len(orgs), err)
		}
	}
	rows := make([]Pseudonym, len(ps))
	for i, p := range ps {
		rows[i] = Pseudonym{p.ID, p.Custodian}
	}
	return rows, nil
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
func (e *Env) rotatePseudonyms(cmd *cobra.Command, r ledger.Route, from string, key, newKey ed25519.PrivateKey) error {
	if e.At != "" {
		return fmt.Errorf("a pseudonym is rotated with the patient's own key: rotate that (without --at), and every pseudonym follows")
	}
	ctx := cmd.Context()
	info, err := e.Client().Self(ctx, key)
	if err != nil || info.Identity == nil || info.Identity.Kind != ledger.KindPatient {
		return err // not a patient's key: nothing derives from it
	}
	if newKey == nil {
		return fmt.Errorf("a patient's key is rotated with --%s (the new key, opened here): the pseudonyms derived from it are rotated with it", r.Holder.Flag)
	}
	if used, err := e.Client().Self(ctx, newKey); err != nil {
		return err
	} else if used.Identity != nil {
		return fmt.Errorf("--%s: that key already signs for %s: choose a new key", r.Holder.Flag, used.Identity.ID)
	}
	ps, err := e.FindPseudonyms(ctx, from, true)
	if err != nil {
		return err
	}
	newName, _ := cmd.Flags().GetString(r.Holder.Flag)
	who := e.Names(ctx)
	err = e.Client().RotatePseudonyms(ctx, ps, newKey, r.Type, r.Holder, func(p client.Pseudonym) error {
		if err := e.Keys().AddPseudonyms(newName, p.Custodian); err != nil {
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
func (e *Env) readMine(cmd *cobra.Command, from string, path func(id string) string, params url.Values) ([]byte, url.Values, error) {
	if from == "" {
		return nil, nil, fmt.Errorf("give a patient's ID, or --from (the patient's key)")
	}
	ps, err := e.FindPseudonyms(cmd.Context(), from, false)
	if err != nil {
		return nil, nil, err
	}
	var who autocli.Names // read when a message needs them
	return e.Client().ReadEach(cmd.Context(), ps, path, params, func(p client.Pseudonym, more bool) {
		if who == nil {
			who = e.Names(cmd.Context())
		}
		if more {
			fmt.Fprintf(cmd.ErrOrStderr(), "more for your pseudonym at %s: ask with --at %s\n", who.Of(p.Custodian), p.Custodian)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "also: your pseudonym %s at %s (ask with --at)\n", p.ID, who.Of(p.Custodian))
		}
	})
}
