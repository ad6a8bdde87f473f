package consent

import "github.com/primum-health/primum/ledger"

// queries are the consent module's reads.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/patients/{id}/consents", Name: "list", Read: ledger.Public, Answer: []*Consent{},
			Doc: "A patient's consents, in force or not.",
			Handle: func(q *ledger.Request) (any, error) {
				return OfPatient(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/consents/{id}", Name: "show", Read: ledger.Public, Answer: &Consent{},
			Doc: "One consent.",
			Handle: func(q *ledger.Request) (any, error) {
				return Get(q.State, q.Path("id"))
			}},
	}
}
