package client

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// A patient's wallet: their pseudonyms (their key's own identity and the
// pairwise one registered at each institution), each signing its own
// requests, read and acted on as one patient.

// FindPseudonyms is Pseudonyms over the custodians listed (the key file's
// list), or with search over every organisation; a key the ledger does not
// know is its own pseudonym, and the node answers for it.
func (c *Client) FindPseudonyms(ctx context.Context, key ed25519.PrivateKey, listed []string, search bool) ([]Pseudonym, error) {
	orgs := listed
	if search {
		all, err := c.Identities(ctx, string(ledger.KindOrganisation))
		if err != nil {
			return nil, err
		}
		orgs = nil
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	ps, err := c.Pseudonyms(ctx, key, orgs)
	if err != nil || len(ps) > 0 {
		return ps, err
	}
	return []Pseudonym{{Key: key, ID: ledger.Address(key.Public().(ed25519.PublicKey))}}, nil
}

// ReadEach reads a patient's query as each pseudonym (path(id) is the
// query's path for one), each request signed by its own key, and merges the
// answers when they are lists. Another answer (a status) is the first
// pseudonym's; unread is told of each other pseudonym whose answer is not
// in out: one that answered a status, or, with several, one that has more
// pages (more), to be asked alone.
func (c *Client) ReadEach(ctx context.Context, ps []Pseudonym, path func(id string) string, params url.Values, unread func(p Pseudonym, more bool)) (out []byte, next url.Values, err error) {
	var merged []json.RawMessage
	var first []byte
	for i, p := range ps {
		answer, more, err := c.WithKey(p.Key).QueryPage(ctx, path(p.ID), params)
		if err != nil {
			return nil, nil, err
		}
		var items []json.RawMessage
		if json.Unmarshal(answer, &items) != nil {
			if i > 0 {
				unread(p, false)
				continue
			}
			first = answer
			continue
		}
		merged = append(merged, items...)
		if len(more) > 0 && len(ps) > 1 {
			unread(p, true)
		} else if len(more) > 0 {
			next = more
		}
	}
	if first != nil {
		return first, nil, nil
	}
	if merged == nil {
		merged = []json.RawMessage{}
	}
	out, err = json.Marshal(merged)
	return out, next, err
}

// ExportEach is one GDPR export Bundle of every pseudonym's data, each read
// as itself (Export).
func (c *Client) ExportEach(ctx context.Context, ps []Pseudonym) (fhir.Object, error) {
	var bundle fhir.Object
	for _, p := range ps {
		b, err := c.Export(ctx, p.Key)
		if err != nil {
			return nil, err
		}
		if bundle == nil {
			bundle = b
			continue
		}
		entries, _ := b["entry"].([]any)
		bundle["entry"] = append(bundle["entry"].([]any), entries...)
	}
	return bundle, nil
}

// ConsentsEach lists every pseudonym's consents, each read as itself (a
// pseudonym without a key: through c as it is, a token's or an
// anonymous reader's), passing each one's through check, when given and
// it has any, before they join the list (a prover's Consents).
func (c *Client) ConsentsEach(ctx context.Context, ps []Pseudonym, check func(c *Client, id string, cs []*consent.Consent) ([]*consent.Consent, error)) ([]*consent.Consent, error) {
	out := []*consent.Consent{}
	for _, p := range ps {
		r := c
		if p.Key != nil {
			r = c.WithKey(p.Key)
		}
		mine, err := r.Consents(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		if check != nil && len(mine) > 0 {
			if mine, err = check(r, p.ID, mine); err != nil {
				return nil, err
			}
		}
		out = append(out, mine...)
	}
	return out, nil
}

// EraseEach erases every pseudonym's records (Erase); a pseudonym without
// any has nothing to erase, which is not a failure of the others' (only
// when none has a record is the answer nothing_to_erase).
func (c *Client) EraseEach(ctx context.Context, ps []Pseudonym, progress func(left int)) (*Erasure, error) {
	e := &Erasure{Records: []*records.Record{}, Txs: []string{}}
	var nothing error
	for _, p := range ps {
		one, err := c.Erase(ctx, p.Key, progress)
		var problem *Problem
		if errors.As(err, &problem) && problem.Code == records.ErrNothingToErase.Name {
			nothing = err
			continue
		}
		if err != nil {
			return nil, err
		}
		e.Records, e.Txs = append(e.Records, one.Records...), append(e.Txs, one.Txs...)
	}
	if len(e.Records) == 0 && nothing != nil {
		return nil, nothing
	}
	return e, nil
}

// RotatePseudonyms rotates each of a patient's pairwise pseudonyms to the
// pseudonym key newKey derives for its organisation, with the rotation
// transaction typ and its key holder's fields (h), waiting for each; done
// is told of each as it is rotated (to list it in the new key's file). Run
// it before rotating the key itself: the old key still derives any left,
// should one fail. The error names the pseudonym that failed.
func (c *Client) RotatePseudonyms(ctx context.Context, ps []Pseudonym, newKey ed25519.PrivateKey, typ string, h *ledger.KeyHolder, done func(p Pseudonym) error) error {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Custodian == "" {
			continue
		}
		next := identity.PairwiseKey(newKey, chainID, p.Custodian)
		body := map[string]any{h.Key: hex.EncodeToString(next.Public().(ed25519.PublicKey)), h.Proof: h.Prove(next, chainID, p.ID)}
		if _, err := c.Send(ctx, p.Key, typ, body, true); err != nil {
			return &RotateError{Pseudonym: p, Err: err}
		}
		if err := done(p); err != nil {
			return &RotateError{Pseudonym: p, Rotated: true, Err: err}
		}
	}
	return nil
}

// RotateError is where RotatePseudonyms stopped: the pseudonym, whether it
// was rotated (and done failed), and why.
type RotateError struct {
	Pseudonym Pseudonym
	Rotated   bool
	Err       error
}

func (e *RotateError) Error() string {
	return fmt.Sprintf("pseudonym at %s: %v", e.Pseudonym.Custodian, e.Err)
}

func (e *RotateError) Unwrap() error { return e.Err }

// Custodian is the id of the organisation s names or identifies, where a
// patient may hold a pseudonym: the one of that id, or the only active one
// of that name (in any case). One that keeps no patient records, no such
// organisation and a name several share are refused with a *NameError.
func (c *Client) Custodian(ctx context.Context, s string) (string, error) {
	o, err := c.organisation(ctx, s)
	if err != nil {
		return "", err
	}
	if !slices.Contains(records.CustodianTypes(), o.OrgType) {
		return "", &NameError{s, fmt.Sprintf("a %s keeps no patient records; a patient holds pseudonyms at a %s", o.OrgType, strings.Join(records.CustodianTypes(), ", "))}
	}
	return o.ID, nil
}

// Organisation is the id of the organisation s names or identifies: the
// one of that id, or the only active one of that name (in any case); no
// such organisation and a name several share are refused with a
// *NameError.
func (c *Client) Organisation(ctx context.Context, s string) (string, error) {
	o, err := c.organisation(ctx, s)
	if err != nil {
		return "", err
	}
	return o.ID, nil
}

func (c *Client) organisation(ctx context.Context, s string) (*identity.Identity, error) {
	orgs, err := c.Identities(ctx, "organisation")
	if err != nil {
		return nil, err
	}
	var named []*identity.Identity // active organisations of that name
	for _, o := range orgs {
		if o.ID == s {
			return o, nil
		}
		if strings.EqualFold(o.Name, s) && o.Status == identity.StatusActive {
			named = append(named, o)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		return nil, &NameError{s, "no active organisation of that name or id (see 'primum identity list --kind organisation')"}
	}
	ids := make([]string, len(named))
	for i, o := range named {
		ids[i] = o.ID
	}
	return nil, &NameError{s, fmt.Sprintf("%d organisations have that name (%s): give its id", len(named), strings.Join(ids, ", "))}
}

// A NameError is a name that names no organisation it could: why not.
type NameError struct{ Name, Reason string }

func (e *NameError) Error() string { return fmt.Sprintf("%q: %s", e.Name, e.Reason) }

// PatientID is the id of the patient holding key: the identity it signs
// for (a rotated key's keeps its first key's id), or, for a key the ledger
// does not know, its own address.
func (c *Client) PatientID(ctx context.Context, key ed25519.PrivateKey) (string, error) {
	info, err := c.Self(ctx, key)
	if err != nil {
		return "", err
	}
	if info.Identity == nil {
		return ledger.Address(key.Public().(ed25519.PublicKey)), nil
	}
	return info.Identity.ID, nil
}
