package identity

import "github.com/primum-health/primum/ledger"

// queries are the identity module's reads. Identities are pseudonyms and
// public keys (never names of patients): readable by the consortium.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/identities", Name: "list", Read: ledger.Public, Answer: []*Identity{},
			Doc:    "Registered identities, optionally of one kind.",
			Params: []ledger.Param{{Name: "kind", Doc: "organisation, practitioner, patient or device"}, {Name: "limit", Doc: "1-10000 (default 1000)"}},
			Handle: func(q *ledger.Request) (any, error) {
				kind := ledger.Kind(q.Query.Get("kind"))
				switch kind {
				case "", ledger.KindOrganisation, ledger.KindPractitioner, ledger.KindPatient, ledger.KindDevice:
				default:
					return nil, ledger.ErrBadRequest.Wrapf("kind must be organisation, practitioner, patient or device")
				}
				limit, err := q.Limit(1000, 10000)
				if err != nil {
					return nil, err
				}
				return List(q.State, kind, limit)
			}},
		{Path: "/api/v1/identities/{id}", Name: "show", Read: ledger.Public, Answer: &Identity{},
			Doc: "One identity: its kind, key, standing and credential.",
			Handle: func(q *ledger.Request) (any, error) {
				return Get(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/identities/{id}/members", Name: "members", Read: ledger.Public, Answer: []*Identity{},
			Doc: "The practitioners and devices an organisation has registered.",
			Handle: func(q *ledger.Request) (any, error) {
				if _, err := Get(q.State, q.Path("id")); err != nil {
					return nil, err
				}
				return MembersOf(q.State, q.Path("id"))
			}},
	}
}
