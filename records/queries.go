package records

import (
	"errors"
	"strings"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// ErrNoEndpoint: the custodian has not said where its node answers. Its
// codespace is the API's, where it was first declared (codes are stable).
var ErrNoEndpoint = ledger.NewError("api", 35, "no_custodian_endpoint", 502, "the custodian has not published where its node answers")

// queries are the records module's reads of the ledger (never of a record
// itself: that is the custodian's release, an API route of its node).
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/records/{id}", Name: "show", Read: ledger.Members, Answer: &Record{},
			Doc: "A record's index entry (patient pseudonym, custodian, category, commitment; never its content), by its id: to whoever may see it in the patient's index (the patient, its custodian, a consent in force, an emergency access) or may ask its custodian for it (a practitioner of a care provider, an identity a consent of the patient names: the request would be on the trail).",
			Handle: func(q *ledger.Request) (any, error) {
				rec, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				ok, err := SeesRecord(q.State, q.Caller, rec, q.BlockTime)
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, ledger.ErrNoStanding.Wrapf("you may neither see nor ask for this record")
				}
				return rec.AsOf(q.BlockTime), nil
			}},
		{Path: "/api/v1/patients/{id}/records", Columns: ledger.Cols("RECORD", "id", "CATEGORY", "category", "CUSTODIAN", "@custodian", "REGISTERED", "registered", "STATUS", "status", "KEPT UNTIL", "retained_until", "BASIS", "retention_basis"), Name: "list", Read: ledger.PatientCircle, Answer: ledger.Page{Items: []*Record{}},
			Doc:    "The index entries of a patient's records, by id, a page at a time: all of them to the patient; to anyone else with standing, those a consent in force covers, those their organisation holds, or all of them for a day after an emergency access.",
			Params: pageParams,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				page, next, err := OfPatientPage(q.State, q.Path("id"), after, limit, func(rec *Record) bool { return q.Sees(rec) })
				for i, rec := range page {
					page[i] = rec.AsOf(q.BlockTime)
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/patients/{id}/access", Columns: accessColumns, Name: "trail", Read: ledger.PatientAudit, Answer: ledger.Page{Items: []*Access{}},
			Doc:    "The access trail of a patient's records, oldest first, a page at a time, every access granted or refused: all of it to the patient and the regulator; to anyone else with standing, their own accesses and those of the records their organisation holds.",
			Params: pageParams,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				page, next, err := AccessPage(q.State, q.Path("id"), after, false, limit, func(a *Access) bool { return q.Sees(a) })
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/patients/{id}/erasure", Name: "erasure", Read: ledger.PatientSelf, Answer: &ErasureStatus{},
			Doc: "The patient's erasure status (GDPR Art. 17), for the patient's own token only: whether and when they asked, whether the erasure is complete (each records.erase reaches at most 500 records), how many records are erased, and which each custodian still keeps under a retention duty (Art. 17(3)), on which basis and until when.",
			Handle: func(q *ledger.Request) (any, error) {
				return StatusOf(q.State, q.Path("id"), q.BlockTime)
			}},
		{Path: "/api/v1/access", Columns: auditColumns, Name: "audit", Read: ledger.Regulator, Answer: ledger.Page{Items: []*Access{}, NextParam: "before"},
			Doc: "Access entries of every patient, newest first, a page at a time (the regulator's audit; a page examines at most 10,000 entries).",
			Params: []ledger.Param{{Name: "emergency", Doc: "true: emergency (break-glass) accesses only"}, {Name: "outcome", Doc: "granted or refused"},
				{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "before", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, err := q.Limit(1000, 10000)
				if err != nil {
					return nil, err
				}
				emergency, outcome := q.Query.Get("emergency") == "true", q.Query.Get("outcome")
				if outcome != "" && outcome != Granted && outcome != Refused {
					return nil, ledger.ErrBadRequest.Wrapf("outcome must be %s or %s", Granted, Refused)
				}
				before := q.Query.Get("before")
				if len(before) > 128 {
					return nil, ledger.ErrBadRequest.Wrapf("before must be a page token from a Link header")
				}
				// Newest first: an auditor looks at what just happened. A
				// page reads what it returns (and at most
				// ledger.MaxPageScan entries), wherever it starts.
				page, next, err := AccessPage(q.State, "", before, true, limit, func(a *Access) bool {
					return (!emergency || a.Emergency) && (outcome == "" || outcome == a.Outcome)
				})
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/cases", Columns: ledger.Cols("CASE", "id", "PATIENT", "patient", "REQUESTER", "@requester", "SPECIALIST", "@specialist", "RECORDS", "records", "SHARED", "shared", "OPINION", "opinion"), Name: "cases", Read: ledger.Members, Answer: ledger.Page{Items: []*Case{}},
			Doc:    "Second-opinion cases the caller is part of (as patient, requester or specialist; the regulator: all), optionally those of one practitioner.",
			Params: []ledger.Param{{Name: "practitioner", Doc: "cases shared by or with this practitioner"}, {Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				who := q.Query.Get("practitioner")
				me, all := q.Caller.ID, q.Caller.IsRegulator()
				page, next, err := CasesPage(q.State, after, limit, func(c *Case) bool {
					return (all || c.Patient == me || c.Requester == me || c.Specialist == me) &&
						(who == "" || c.Specialist == who || c.Requester == who)
				})
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/cases/{id}", Name: "case", Read: ledger.PatientAudit, Answer: &Case{},
			Doc: "One second-opinion case: to its patient, requester and specialist, and the regulator.",
			Subject: func(q *ledger.Request) (string, error) {
				c, err := GetCase(q.State, q.Path("id"))
				if err != nil {
					return "", err
				}
				return c.Patient, nil
			},
			Handle: func(q *ledger.Request) (any, error) {
				c, err := GetCase(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !q.Viewer.Sees(c) {
					return nil, ledger.ErrNoStanding.Wrapf("you are not part of this case")
				}
				return c, nil
			}},
		{Path: "/api/v1/identities/{id}/endpoint", Name: "endpoint", Read: ledger.Public, Answer: map[string]string{},
			Doc: "Where a custodian's node answers record requests.",
			Handle: func(q *ledger.Request) (any, error) {
				if err := anOrganisation(q); err != nil {
					return nil, err
				}
				e, err := Endpoint(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if e == "" {
					return nil, ErrNoEndpoint
				}
				return map[string]string{"endpoint": e}, nil
			}},
		{Path: "/api/v1/identities/{id}/retention", Name: "retention-policy", Read: ledger.Public, Answer: &Retention{},
			Doc: "An organisation's retention policy (GDPR Art. 17(3)): which record categories it keeps after an erasure request, on which basis, for how many years after registration; no holds: it erases everything at once.",
			Handle: func(q *ledger.Request) (any, error) {
				id := q.Path("id")
				if err := anOrganisation(q); err != nil {
					return nil, err
				}
				p, err := GetRetention(q.State, id)
				if err == nil && p == nil {
					p = &Retention{Custodian: id, Holds: []Hold{}}
				}
				return p, err
			}},
	}
}

// pageParams document a listing's paging parameters (ledger.Request.Paging).
var pageParams = []ledger.Param{{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}}

// anOrganisation refuses, as not found, an id that is not an
// organisation's: the routes about custodians must not tell a patient's id
// from one that does not exist.
func anOrganisation(q *ledger.Request) error {
	ident, err := identity.Get(q.State, q.Path("id"))
	if err == nil && ident.Kind != ledger.KindOrganisation {
		err = ledger.ErrNotFound.Wrapf("no organisation %q", q.Path("id"))
	}
	return err
}

// keySpaces say who may read the module's state through proofs.
func keySpaces() []ledger.KeySpace {
	inKey := func(prefix []byte) func(ledger.Reader, string) (string, error) {
		return func(_ ledger.Reader, key string) (string, error) {
			patient, _, _ := strings.Cut(key[len(prefix):], "/")
			return patient, nil
		}
	}
	// of names the patient of the object a key holds ("" when absent).
	of := func(prefix []byte, patientOf func(ledger.Reader, string) (string, error)) func(ledger.Reader, string) (string, error) {
		return func(r ledger.Reader, key string) (string, error) {
			p, err := patientOf(r, key[len(prefix):])
			if errors.Is(err, ledger.ErrNotFound) {
				return "", nil
			}
			return p, err
		}
	}
	return []ledger.KeySpace{
		{Prefix: string(prefixRecord), Read: ledger.PatientCircle, Subject: of(prefixRecord, func(r ledger.Reader, id string) (string, error) {
			rec, err := Get(r, id)
			if err != nil {
				return "", err
			}
			return rec.Patient, nil
		})},
		{Prefix: string(prefixByPatient), Read: ledger.PatientCircle, Subject: inKey(prefixByPatient)},
		{Prefix: string(prefixErasedBy), Read: ledger.PatientCircle, Subject: inKey(prefixErasedBy)},
		{Prefix: string(prefixHoldEnd), Read: ledger.Regulator},
		{Prefix: string(prefixRetention), Read: ledger.Public},
		{Prefix: string(prefixEndpoint), Read: ledger.Public},
		{Prefix: string(prefixAccess), Read: ledger.PatientAudit, Subject: of(prefixAccess, func(r ledger.Reader, id string) (string, error) {
			a, err := GetAccess(r, id)
			if err != nil {
				return "", err
			}
			return a.Patient, nil
		})},
		{Prefix: string(prefixAccByPat), Read: ledger.PatientAudit, Subject: inKey(prefixAccByPat)},
		{Prefix: string(prefixAccAll), Read: ledger.Regulator},
		{Prefix: string(prefixNonce), Read: ledger.Regulator},
		{Prefix: string(prefixCase), Read: ledger.PatientAudit, Subject: of(prefixCase, func(r ledger.Reader, id string) (string, error) {
			c, err := GetCase(r, id)
			if err != nil {
				return "", err
			}
			return c.Patient, nil
		})},
		{Prefix: string(prefixErasure), Read: ledger.PatientSelf, Subject: inKey(prefixErasure)},
		{Prefix: string(prefixUse), Read: ledger.PatientAudit, Subject: func(_ ledger.Reader, key string) (string, error) {
			parts := strings.SplitN(key[len(prefixUse):], "/", 3) // study/custodian/patient
			if len(parts) < 3 {
				return "", nil
			}
			return parts[2], nil
		}},
		{Prefix: string(prefixUseCount), Read: ledger.Public},
	}
}

// auditColumns show the regulator's audit: the trail's, and whose.
var auditColumns = append(ledger.Cols("PATIENT", "patient", "CUSTODIAN", "@custodian"), accessColumns...)

// accessColumns show a patient's access trail.
var accessColumns = ledger.Cols("TIME", "time", "WHO", "@requester", "KIND", "requester_kind", "RECORD", "record", "PURPOSE", "purpose",
	"OUTCOME", "outcome", "STUDY", "study", "REFUSAL", "refusal", "EMERGENCY", "emergency_reason")
