package claims

import (
	"slices"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// providers may submit claims: care organisations and their practitioners.
var providers = []string{"organisation:hospital", "organisation:clinic", "organisation:lab", "organisation:pharmacy", "practitioner"}

// ErrNotShown refuses a read of what only insurers and the regulator see.
var ErrNotShown = ledger.NewError("claims", 26, "insurers_and_regulator_only", 403, "signals and billing profiles are shown to insurers (those that concern them) and the regulator")

// Declare declares the claims module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "claims", Doc: "Insurance claims: policies as CEL rules, reference tables, claims adjudicated in the block and replayable by any member, fraud signals across payers, payment.",
		Txs: routes(), Queries: queries(), Keys: []ledger.KeySpace{
			{Prefix: string(prefixPolicy), Read: ledger.Public},
			{Prefix: string(prefixVersion), Read: ledger.Public},
			{Prefix: string(prefixTable), Read: ledger.Public},
			{Prefix: string(prefixCode), Read: ledger.Public},
			{Prefix: string(prefixPTP), Read: ledger.Public},
			{Prefix: string(prefixPTP1), Read: ledger.Public},
			{Prefix: string(prefixMUE), Read: ledger.Public},
			// A claim, and the indexes naming a patient: the patient's
			// (their circle's — a payment consent names the insurer —
			// and the regulator's).
			{Prefix: string(prefixClaim), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, k string) (string, error) {
				c, err := GetClaim(r, k[len(prefixClaim):])
				if err != nil {
					return "", err
				}
				return c.Patient, nil
			}},
			{Prefix: string(prefixCoverage), Read: ledger.PatientAudit, Subject: func(r ledger.Reader, k string) (string, error) {
				c, err := GetCoverage(r, k[len(prefixCoverage):])
				if err != nil {
					return "", err
				}
				return c.Member, nil
			}},
			{Prefix: string(prefixByPatient), Read: ledger.PatientSelf, Subject: func(_ ledger.Reader, k string) (string, error) {
				p, _, _ := strings.Cut(k[len(prefixByPatient):], "/")
				return p, nil
			}},
			// Indexes that name patients inside (hashes, days, queues,
			// accumulators, signals): the regulator's.
			{Prefix: string(prefixAcc), Read: ledger.Regulator},
			{Prefix: string(prefixByInsurer), Read: ledger.Regulator},
			{Prefix: string(prefixByProvider), Read: ledger.Regulator},
			{Prefix: string(prefixQueue), Read: ledger.Regulator},
			{Prefix: string(prefixDup), Read: ledger.Regulator},
			{Prefix: string(prefixDay), Read: ledger.Regulator},
			{Prefix: string(prefixSignal), Read: ledger.Regulator},
			{Prefix: string(prefixSignalIns), Read: ledger.Regulator},
			{Prefix: string(prefixEM), Read: ledger.Regulator},
		}}
}

func routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypePublish, Verb: "policy publish", Args: []string{"id"}, Allow: []string{"organisation:insurer"}, Handle: ledger.Handle(publish),
			Doc:     "An insurer publishes a policy, or a new version of one: its plan (deductible, coinsurance, out-of-pocket maximum), fee schedule, code lists and coverage rules in CEL, each checked (types, determinism, cost) before it is accepted. Claims keep the version they were decided under.",
			Example: `{"id":"careshield-gold","effective":"2026-01-01","rule_set":{"plan":{"name":"CareShield Gold","deductible":50000,"coinsurance_percent":20,"oop_max":300000},"fees":[{"code":"99213","cents":9200}],"lists":[{"name":"diabetes_dx","codes":["E11.9","E11.65"]}],"rules":[{"id":"hba1c-needs-diabetes","when":"line.code == \"83036\" && !line.dx.exists(d, d in lists[\"diabetes_dx\"])","outcome":"denied","reason":"CO-50"}]}}`},
		{Type: TypeRetire, Verb: "policy retire", Args: []string{"id", "from"}, Allow: []string{"organisation:insurer"}, Handle: ledger.Handle(retire),
			Doc:     "The insurer retires a policy from a date of service on.",
			Example: `{"id":"careshield-gold","from":"2027-01-01"}`},
		{Type: TypeTable, Allow: []string{"organisation:regulator"}, Handle: ledger.Handle(table),
			Doc:     "The regulator registers a reference table version from its effective date: codes (ICD-10-CM, CPT, HCPCS; a code retired with retired), NCCI procedure-to-procedure edits (each column-2 code's complete list of column-1 partners) or medically unlikely edits (units per code).",
			Example: `{"kind":"mue","version":"2026Q4","effective":"2026-10-01","mue":[{"code":"99213","units":1}]}`},
		{Type: TypeCover, Args: []string{"id", "member", "policy"}, Allow: []string{"organisation:insurer"}, Handle: ledger.Handle(cover),
			Doc:     "The insurer registers a member's coverage under one of its policies, for a period.",
			Example: `{"id":"CS-000123","member":"<patient id>","policy":"careshield-gold","start":"2026-01-01","end":"2026-12-31"}`},
		{Type: TypeSubmit, Allow: providers, Handle: ledger.Handle(submit),
			Doc:     "A provider submits a claim; the ledger adjudicates it in the block: the practitioner's credential, the patient's payment consent, the codes on the date of service, the NCCI edits, the policy's rules, the member's deductible and out-of-pocket so far.",
			Example: `{"id":"SLH-2026-0001","coverage":"CS-000123","patient":"<patient id>","service_date":"2026-11-20","diagnoses":["E11.9"],"lines":[{"code":"99213","units":1,"charge":15000,"dx":[1]},{"code":"83036","units":1,"charge":4500,"dx":[1]}]}`},
		{Type: TypeReview, Args: []string{"claim"}, Allow: []string{"organisation:insurer"}, Handle: ledger.Handle(review),
			Doc:     "The insurer decides a pended claim's pended lines, or an appealed claim's lines, by hand: covered with an allowed amount in cents (3000 is 30.00), or denied with a reason code.",
			Example: `{"claim":"SLH-2026-0002","lines":[{"n":1,"outcome":"covered","allowed":3000}],"note":"records reviewed"}`},
		{Type: TypeAppeal, Args: []string{"claim", "reason..."}, Allow: []string{"organisation", "practitioner", "patient"}, Handle: ledger.Handle(appeal),
			Doc:     "The provider or the patient appeals an adjudicated claim (once, before payment); the insurer reviews it.",
			Example: `{"claim":"SLH-2026-0003","reason":"HbA1c monitors a diagnosed diabetes: see the attached record"}`},
		{Type: TypePay, Args: []string{"claim", "remittance"}, Allow: []string{"organisation:insurer"}, Handle: ledger.Handle(pay),
			Doc:     "The insurer pays an adjudicated claim its payer amount, with the remittance reference.",
			Example: `{"claim":"SLH-2026-0001","remittance":"EFT-20261121-0001"}`},
	}
}

// ClaimRow is a claim as a list shows it.
type ClaimRow struct {
	ID           string   `json:"id"`
	Status       string   `json:"status"`
	ServiceDate  string   `json:"service_date"`
	Provider     string   `json:"provider"`
	Insurer      string   `json:"insurer"`
	Patient      string   `json:"patient"`
	Charge       int64    `json:"charge"`
	Allowed      int64    `json:"allowed"`
	PatientShare int64    `json:"patient_share"`
	Payer        int64    `json:"payer"`
	Signals      []string `json:"signals,omitempty"`
	Height       int64    `json:"height"`
}

func rowOf(c *Claim) *ClaimRow {
	return &ClaimRow{ID: c.ID, Status: c.Status, ServiceDate: c.ServiceDate, Provider: c.Provider, Insurer: c.Insurer, Patient: c.Patient,
		Charge: c.Charge, Allowed: c.Allowed, PatientShare: c.PatientShare, Payer: c.Payer, Signals: c.Signals, Height: c.Height}
}

// Party says whether the caller may read the claim: its provider (or a
// practitioner of it), its insurer, its patient, or the regulator.
func Party(caller ledger.Signer, c *Claim) bool {
	return caller.ID != "" && (caller.ActsFor() == c.Provider || caller.ActsFor() == c.Insurer || caller.ID == c.Patient || caller.IsRegulator())
}

// SeesCoverage says whether the caller may read the coverage: its
// insurer, its member, or the regulator.
func SeesCoverage(caller ledger.Signer, c *Coverage) bool {
	return caller.ID != "" && (caller.ActsFor() == c.Insurer || caller.ID == c.Member || caller.IsRegulator())
}

// claimOf reads a claim for the caller: one they are no party to is not
// found (its existence is not theirs to learn).
func claimOf(q *ledger.Request, id string) (*Claim, error) {
	c, err := GetClaim(q.State, id)
	if err != nil {
		return nil, err
	}
	if !Party(q.Caller, c) {
		return nil, ErrUnknownClaim.Wrapf("%q", id)
	}
	return c, nil
}

// claimByIndex loads a claim named by an index key's rest (<height>/<claim>).
func claimByIndex(r ledger.Reader, rest string) (*Claim, error) {
	return GetClaim(r, rest[9:])
}

var claimCols = ledger.Cols("CLAIM", "id", "STATUS", "status", "SERVICE", "service_date", "PROVIDER", "@provider", "INSURER", "@insurer",
	"CHARGE", "$charge", "ALLOWED", "$allowed", "PATIENT PAYS", "$patient_share", "PAYER", "$payer", "SIGNALS", "signals")

func queries() []ledger.Query {
	paging := []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}}
	return []ledger.Query{
		{Path: "/api/v1/claims", Name: "list", Read: ledger.Members, Answer: ledger.Page{Items: []*ClaimRow{}}, Columns: claimCols,
			Doc:    "Your claims, newest first: an insurer's made to it (queue=true: those waiting for its review, pended or appealed), a provider's it submitted, every claim for the regulator.",
			Params: append(slices.Clone(paging), ledger.Param{Name: "queue", Doc: "true: an insurer's pended and appealed claims (by claim id)"}),
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				var page []*Claim
				var next string
				me := q.Caller.ActsFor()
				queue := q.Query.Get("queue")
				if queue != "" && queue != "true" && queue != "false" {
					return nil, ledger.ErrBadRequest.Wrapf("queue is true or false")
				}
				switch {
				case queue == "true":
					page, next, err = ledger.IndexedPage(q.State, append(ledger.Key(prefixQueue, me), '/'), after, false, limit, GetClaim, nil)
				case q.Caller.IsRegulator():
					page, next, err = ledger.ScanPage[Claim](q.State, prefixClaim, after, limit, nil)
				case q.Caller.Kind == ledger.KindPatient:
					page, next, err = ledger.IndexedPage(q.State, append(ledger.Key(prefixByPatient, q.Caller.ID), '/'), after, true, limit, claimByIndex, nil)
				case q.Caller.Kind == ledger.KindOrganisation && q.Caller.OrgType == "insurer":
					page, next, err = ledger.IndexedPage(q.State, append(ledger.Key(prefixByInsurer, me), '/'), after, true, limit, claimByIndex, nil)
				default: // a provider, or one of its practitioners
					page, next, err = ledger.IndexedPage(q.State, append(ledger.Key(prefixByProvider, me), '/'), after, true, limit, claimByIndex, nil)
				}
				rows := make([]*ClaimRow, 0, len(page))
				for _, c := range page {
					if Party(q.Caller, c) {
						rows = append(rows, rowOf(c))
					}
				}
				return ledger.Page{Items: rows, Next: next}, err
			}},
		{Path: "/api/v1/patients/{id}/claims", Name: "patient", Read: ledger.PatientSelf, Answer: ledger.Page{Items: []*ClaimRow{}}, Columns: claimCols,
			Doc:    "A patient's claims and what each left them to pay (their explanation of benefits), newest first.",
			Params: paging,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.IndexedPage(q.State, append(ledger.Key(prefixByPatient, q.Path("id")), '/'), after, true, limit, claimByIndex, nil)
				rows := make([]*ClaimRow, 0, len(page))
				for _, c := range page {
					row := rowOf(c)
					row.Signals = nil // the payers' and the regulator's business
					rows = append(rows, row)
				}
				return ledger.Page{Items: rows, Next: next}, err
			}},
		{Path: "/api/v1/claims/{id}", Name: "show", Read: ledger.Members, Answer: &Claim{},
			Doc: "A claim and its adjudication: each line's outcome, reason codes, allowed amount and shares, the rule set's hash, the trace's hash, the inputs it was decided from, its signals and steps. To its provider, insurer, patient and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				return claimOf(q, q.Path("id"))
			}},
		{Path: "/api/v1/claim-policies", Name: "policy list", Read: ledger.Public, Answer: ledger.Page{Items: []*PolicyHead{}},
			Columns: ledger.Cols("POLICY", "id", "NAME", "name", "INSURER", "@insurer", "VERSION", "version", "EFFECTIVE", "effective", "RETIRED", "retired", "HASH", "hash"),
			Doc:     "Every insurer's policies: the latest version of each, its rule set's hash, and from when it is retired.",
			Params:  paging,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[PolicyHead](q.State, prefixPolicy, after, limit, nil)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/claim-policies/{id}", Name: "policy show", Read: ledger.Public, Answer: []*Policy{},
			Doc: "A policy's versions, newest first, each with its rules, plan, fees and lists.",
			Handle: func(q *ledger.Request) (any, error) {
				head, err := GetPolicy(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				out := []*Policy{}
				for v := head.Version; v > 0; v-- {
					p, err := GetVersion(q.State, head.ID, v)
					if err != nil {
						return nil, err
					}
					out = append(out, p)
				}
				return out, nil
			}},
		{Path: "/api/v1/claim-tables", Name: "tables", Read: ledger.Public, Answer: ledger.Page{Items: []*TableVersion{}},
			Columns: ledger.Cols("KIND", "kind", "VERSION", "version", "EFFECTIVE", "effective", "ENTRIES", "entries", "HASH", "hash"),
			Doc:     "The reference tables the regulator registered, by kind and effective date.",
			Params:  paging,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[TableVersion](q.State, prefixTable, after, limit, nil)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/claim-codes/{system}/{code}", Name: "code", Read: ledger.Public, Answer: &CodeEntry{},
			Doc:    "A code as the code set has it on a date (default: the last block's): its display, or not found / retired.",
			Params: []ledger.Param{{Name: "date", Doc: "YYYY-MM-DD"}},
			Handle: func(q *ledger.Request) (any, error) {
				day := q.Query.Get("date")
				if day == "" {
					day = q.BlockTime.UTC().Format("2006-01-02")
				} else if _, ok := date(day); !ok {
					return nil, ledger.ErrBadRequest.Wrapf("date: YYYY-MM-DD")
				}
				e, err := LookupCode(q.State, q.Path("system"), q.Path("code"), day)
				if err != nil {
					return nil, err
				}
				if e == nil {
					return nil, ledger.ErrNotFound.Wrapf("no code %s %s in the code set on %s", q.Path("system"), q.Path("code"), day)
				}
				return e, nil
			}},
		{Path: "/api/v1/claim-signals", Name: "signals", Read: ledger.Members, Answer: ledger.Page{Items: []*Signal{}},
			Columns: ledger.Cols("SIGNAL", "kind", "CLAIM", "claim", "LINE", "line", "CODE", "code", "PROVIDER", "@provider", "INSURER", "@insurer", "DETAIL", "detail", "TIME", "time"),
			Doc:     "Fraud and error signals, newest first: an insurer's (those on claims made to it; a cross-payer duplicate names neither the other payer nor its claim), every one for the regulator.",
			Params:  paging,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				var page []*Signal
				var next string
				switch {
				case q.Caller.IsRegulator():
					page, next, err = ledger.ScanPageNewest[Signal](q.State, prefixSignal, after, limit)
				case q.Caller.Kind == ledger.KindOrganisation && q.Caller.OrgType == "insurer":
					page, next, err = ledger.ScanPageNewest[Signal](q.State, append(ledger.Key(prefixSignalIns, q.Caller.ID), '/'), after, limit)
				default:
					return nil, ErrNotShown
				}
				if page == nil {
					page = []*Signal{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/claim-em/{month}", Name: "em", Read: ledger.Members, Answer: []*EMProfile{},
			Columns: ledger.Cols("PROVIDER", "@provider", "TYPE", "org_type", "VISITS", "visits", "LEVELS 1-5", "levels", "HIGH ‰", "high_permille", "PEER MEDIAN ‰", "peer_median_permille", "PERCENTILE", "percentile", "OUTLIER", "outlier"),
			Doc:     "Evaluation-and-management billing profiles for a month (YYYY-MM): each provider's share of level 4-5 visits in per mille, its percentile among providers of its type, and whether it sits far above them (in the style of CMS's comparative billing reports). Insurers and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				if !q.Caller.IsRegulator() && !(q.Caller.Kind == ledger.KindOrganisation && q.Caller.OrgType == "insurer") {
					return nil, ErrNotShown
				}
				month := q.Path("month")
				if _, ok := date(month + "-01"); !ok {
					return nil, ledger.ErrBadRequest.Wrapf("month: YYYY-MM")
				}
				counts, err := ledger.ScanJSON[EMCounts](q.State, append(ledger.Key(prefixEM, month), '/'), 1000)
				if err != nil {
					return nil, err
				}
				return Profiles(counts), nil
			}},
		{Path: "/api/v1/coverage/{id}", Name: "coverage", Read: ledger.Members, Answer: &Coverage{},
			Doc: "A member's coverage: its insurer, policy and period. To the insurer, the member and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				c, err := GetCoverage(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !SeesCoverage(q.Caller, c) {
					return nil, ErrUnknownCoverage.Wrapf("%q", q.Path("id"))
				}
				return c, nil
			}},
	}
}

// OfPatient lists a patient's claims, newest first, a page at a time
// (the page token after from the previous page; "" first).
func OfPatient(r ledger.Reader, patient, after string, limit int) ([]*Claim, string, error) {
	return ledger.IndexedPage(r, append(ledger.Key(prefixByPatient, patient), '/'), after, true, limit, claimByIndex, nil)
}
