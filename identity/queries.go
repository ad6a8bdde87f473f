package identity

import (
	"errors"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// queries are the identity module's reads. Organisations, practitioners
// and their devices are public; a patient's pseudonym, and a device a
// patient registered, only to whoever may read about that patient
// (Request.MayRead): a pseudonym is still personal data.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/identities", Columns: ledger.Cols("ID", "id", "KIND", "kind", "NAME", "name", "TYPE", "org_type", "PROFESSION", "profession", "LICENCE", "licence", "DEVICE", "device_type", "ORGANISATION", "@org_id", "STATUS", "status"), Name: "list", Read: ledger.Public, Answer: ledger.Page{Items: []*Identity{}},
			Doc: "Registered identities, optionally of one kind, a page at a time (Link: rel=\"next\"): patients' pseudonyms (and their devices) only to the regulator and to each patient their own.",
			Params: []ledger.Param{{Name: "kind", Doc: "organisation, practitioner, patient or device"}, {Name: "limit", Doc: "1-10000 (default 1000)"},
				{Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				kind := ledger.Kind(q.Query.Get("kind"))
				switch kind {
				case "", ledger.KindOrganisation, ledger.KindPractitioner, ledger.KindPatient, ledger.KindDevice:
				default:
					return nil, ledger.ErrBadRequest.Wrapf("kind must be organisation, practitioner, patient or device")
				}
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				// Patients (and their devices) only to the regulator and
				// to themselves: a list of pseudonyms is nobody else's to
				// browse (one is looked up by id, with standing). The
				// filter is inside the page, so a page is full of what the
				// caller may see, and the next one goes on from there.
				var verr error
				visible := func(ident *Identity) bool {
					p, err := AboutPatient(q.State, ident)
					if err != nil {
						verr = err
						return false
					}
					return p == "" || p == q.Caller.ID || q.Caller.IsRegulator()
				}
				list, next, err := ListPage(q.State, kind, after, limit, visible)
				if err == nil {
					err = verr
				}
				if err != nil {
					return nil, err
				}
				return ledger.Page{Items: list, Next: next}, nil
			}},
		{Path: "/api/v1/identities/{id}", Name: "show", Read: ledger.Public, Answer: &Identity{},
			Doc: "One identity: its kind, key, standing and credential. A patient's (or a patient's device's) only to whoever may read about that patient.",
			Handle: func(q *ledger.Request) (any, error) {
				ident, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				return ident, mayRead(q, ident)
			}},
		{Path: "/api/v1/identities/{id}/members", Columns: ledger.Cols("ID", "id", "KIND", "kind", "PROFESSION", "profession", "LICENCE", "licence", "DEVICE", "device_type", "STATUS", "status"), Name: "members", Read: ledger.Public, Answer: []*Identity{},
			Doc: "The practitioners and devices an organisation (or a patient, to whoever may read about them) has registered.",
			Handle: func(q *ledger.Request) (any, error) {
				ident, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if err := mayRead(q, ident); err != nil {
					return nil, err
				}
				return MembersOf(q.State, q.Path("id"))
			}},
	}
}

// AboutPatient names the patient an identity is about: the patient
// themself, or the patient who registered a device; "" for anyone else.
func AboutPatient(r ledger.Reader, ident *Identity) (string, error) {
	switch ident.Kind {
	case ledger.KindPatient:
		return ident.ID, nil
	case ledger.KindDevice:
		owner, err := Get(r, ident.OrgID)
		if errors.Is(err, ledger.ErrNotFound) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		if owner.Kind == ledger.KindPatient {
			return owner.ID, nil
		}
	}
	return "", nil
}

// mayRead refuses a patient's (or a patient's device's) entry to whoever
// may not read about them, as if it did not exist: a refusal that differed
// from "not found" would tell anyone which ids are patients.
func mayRead(q *ledger.Request, ident *Identity) error {
	p, err := AboutPatient(q.State, ident)
	if err != nil || p == "" {
		return err
	}
	if q.MayRead(p) != nil {
		return ledger.ErrNotFound.Wrapf("no identity %q", ident.ID)
	}
	return nil
}

// keySpaces say who may read the module's state through proofs.
func keySpaces() []ledger.KeySpace {
	// An absent identity is proven as a patient's would be (to the
	// regulator, and to nobody else, since nobody has standing with it):
	// were absences public, a caller holding a key could tell a patient's
	// (refused) from an unknown one (proven absent).
	byID := func(r ledger.Reader, id string) (string, error) {
		ident, err := Get(r, id)
		if errors.Is(err, ledger.ErrNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
		return AboutPatient(r, ident)
	}
	return []ledger.KeySpace{
		{Prefix: string(prefixIdentity), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			return byID(r, key[len(prefixIdentity):])
		}},
		{Prefix: string(prefixNonce), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			return byID(r, key[len(prefixNonce):])
		}},
		{Prefix: string(prefixKey), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			var e KeyEntry
			found, err := ledger.GetJSON(r, []byte(key), &e)
			if err != nil {
				return "", err
			}
			if !found {
				return key[len(prefixKey):], nil // as an absent identity
			}
			return byID(r, e.ID)
		}},
		// kind/<kind>/<id>: public for organisations and practitioners; a
		// patient's device's entry (or an absent one) is the patient's, so
		// that its presence does not tell a key holder that a key is a
		// patient's device.
		{Prefix: string(prefixKind), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			kind, id, _ := strings.Cut(key[len(prefixKind):], "/")
			if kind == string(ledger.KindOrganisation) || kind == string(ledger.KindPractitioner) {
				return "", nil
			}
			return byID(r, id)
		}},
		{Prefix: string(prefixMembers), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			org, _, _ := strings.Cut(key[len(prefixMembers):], "/")
			return byID(r, org)
		}},
		{Prefix: string(prefixLicence), Read: ledger.Public},
		// Suspension periods of a licence at an organisation: public, as
		// the statuses they follow are.
		{Prefix: string(prefixStatus), Read: ledger.Public},
		{Prefix: string(prefixVoucher), Read: ledger.Public}, // a hash and its issuer: nobody's identity
		{Prefix: string(keyPolicy), Read: ledger.Public},
	}
}
