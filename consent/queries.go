package consent

import (
	"errors"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// queries are the consent module's reads: a patient's own, and the
// consents that name the caller, to those with standing (ledger.PatientAudit).
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/patients/{id}/consents", Columns: ledger.Cols("CONSENT", "id", "PATIENT", "patient", "GRANTEE", "@grantee", "PURPOSE", "purpose", "ALL", "scope.all", "CATEGORIES", "scope.categories", "RECORDS", "scope.records", "STUDIES", "scope.studies", "EXPIRES", "expires", "STATUS", "status"), Name: "list", Read: ledger.PatientAudit, Answer: ledger.Page{Items: []*Consent{}},
			Doc:    "A patient's consents, in force or not, by id, a page at a time: all of them to the patient and the regulator, those that name the caller (or its organisation) to anyone else with standing.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				page, next, err := OfPatientPage(q.State, q.Path("id"), after, limit, func(c *Consent) bool { return q.Sees(c) })
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/consents/{id}", Name: "show", Read: ledger.PatientAudit, Answer: &Consent{},
			Doc: "One consent: to its patient, its grantee and the regulator.",
			Subject: func(q *ledger.Request) (string, error) {
				c, err := Get(q.State, q.Path("id"))
				if err != nil {
					return "", err
				}
				return c.Patient, nil
			},
			Handle: func(q *ledger.Request) (any, error) {
				c, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !q.Viewer.Sees(c) {
					return nil, ledger.ErrNoStanding.Wrapf("this consent does not name you")
				}
				return c, nil
			}},
	}
}

// keySpaces say who may read the module's state through proofs: each key
// is about the patient it names.
func keySpaces() []ledger.KeySpace {
	inKey := func(prefix []byte) func(ledger.Reader, string) (string, error) {
		return func(_ ledger.Reader, key string) (string, error) {
			patient, _, _ := strings.Cut(key[len(prefix):], "/")
			return patient, nil
		}
	}
	return []ledger.KeySpace{
		{Prefix: string(prefixConsent), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, key string) (string, error) {
			c, err := Get(r, key[len(prefixConsent):])
			if errors.Is(err, ledger.ErrNotFound) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			return c.Patient, nil
		}},
		{Prefix: string(prefixPatient), Read: ledger.PatientAudit, Subject: inKey(prefixPatient)},
		{Prefix: string(prefixPair), Read: ledger.PatientAudit, Subject: inKey(prefixPair)},
	}
}
