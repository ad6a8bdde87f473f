package research

import (
	"slices"

	"github.com/primum-health/primum/ledger"
)

// researchers ask queries: research institutes and hospitals' research
// departments, on an approved project.
var researchers = []string{"organisation:research", "organisation:hospital"}

// Declare declares the research aggregates module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "research", Doc: "Research aggregates: counts over the custodians' records, noised at each custodian, suppressed below 11, and paid for from a privacy budget the ledger debits; differencing queries refused.",
		Txs: routes(), Queries: queries(), Keys: []ledger.KeySpace{
			{Prefix: string(prefixDataset), Read: ledger.Members},
			// Projects, budgets, queries, their cohorts and the cells
			// not yet released: the queries show them to the parties;
			// a proof, to the regulator.
			{Prefix: string(prefixProject), Read: ledger.Regulator},
			{Prefix: string(prefixBudget), Read: ledger.Regulator},
			{Prefix: string(prefixQuery), Read: ledger.Regulator},
			{Prefix: string(prefixPosted), Read: ledger.Regulator},
			{Prefix: string(prefixCohort), Read: ledger.Regulator},
		}}
}

func routes() []ledger.Route {
	regulator := []string{"organisation:regulator"}
	return []ledger.Route{
		{Type: TypeDataset, Verb: "dataset add", Args: []string{"id", "title"}, Allow: regulator, Orgs: []string{"custodians"}, Handle: ledger.Handle(registerDataset),
			Doc:     "The regulator registers a dataset: the custodians whose records it covers, each dimension's values, and the consortium-wide privacy cap (micro-ε) every researcher's queries together may spend on it.",
			Example: `{"id":"diabetes-care","title":"Diabetes care in the consortium's hospitals","custodians":["<org id>","<org id>"],"values":{"category":["t2d","t1d"],"region":["NORTH","SOUTH"],"age_band":["18-39","40-64","65+"],"period":["2026-Q3","2026-Q4"]},"cap_micro_eps":5000000}`},
		{Type: TypeApprove, Args: []string{"project", "title"}, Allow: regulator, Orgs: []string{"researcher"}, Handle: ledger.Handle(approve),
			Doc:     "The regulator (as the ethics committee's record) approves a researcher's (a research institute's or a hospital's) project on a dataset with a privacy budget (micro-ε) and an expiry; a researcher's budgets on a dataset together stay within its cap.",
			Example: `{"project":"t2d-burden","title":"Type 2 diabetes burden by age","researcher":"<org id>","dataset":"diabetes-care","budget_micro_eps":2000000,"expires":"2027-12-31T00:00:00Z","ethics_reference":"REC 26/NE/0042"}`},
		{Type: TypeQuery, Args: []string{"id", "project"}, Allow: researchers, Handle: ledger.Handle(ask),
			Doc:     "A researcher asks a count by one dimension over a cohort, spending ε (micro-ε) of its budget, debited now; refused over budget or over the dataset's cap, and refused when the cohort differs from an earlier query's by a single slice (a differencing attack). The custodians answer with noisy cells.",
			Example: `{"id":"q-age-2026q4","project":"t2d-burden","group_by":"age_band","cohort":{"category":["t2d"],"period":["2026-Q4"]},"eps_micro":500000}`},
		{Type: TypeCells, Args: []string{"query"}, Allow: []string{"organisation"}, Handle: ledger.Handle(cells),
			Doc:     "A custodian posts its noisy cells for a query (counted and noised at its site: 'primum research answer'); the last custodian's releases the query: the sums, with any below 11 suppressed.",
			Example: `{"query":"q-age-2026q4","cells":[12,40,57]}`},
		{Type: TypeClose, Args: []string{"query"}, Allow: []string{"organisation"}, Handle: ledger.Handle(closeQuery),
			Doc:     "After a query's deadline, its researcher, a custodian or the regulator releases it with the custodians that answered.",
			Example: `{"query":"q-age-2026q4"}`},
	}
}

// Reads says whether caller may read a researcher's queries, budgets,
// projects and releases on dataset d: the researcher, a custodian of d, a
// regulator.
func Reads(caller ledger.Signer, researcher string, d *Dataset) bool {
	return caller.IsRegulator() || caller.Kind == ledger.KindOrganisation && (caller.ID == researcher || slices.Contains(d.Custodians, caller.ID))
}

func queries() []ledger.Query {
	paging := []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}}
	return []ledger.Query{
		{Path: "/api/v1/research/datasets", Name: "dataset list", Read: ledger.Members, Answer: ledger.Page{Items: []*DatasetState{}}, Params: paging,
			Columns: ledger.Cols("DATASET", "id", "TITLE", "title", "CUSTODIANS", "@custodians", "CAP_MICRO_EPS", "cap_micro_eps", "SPENT", "spent_micro_eps", "QUERIES", "queries"),
			Doc:     "The datasets, with their custodians, values, privacy cap and what has been spent on them.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[DatasetState](q.State, prefixDataset, after, limit, nil)
				if page == nil {
					page = []*DatasetState{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/research/datasets/{id}", Name: "dataset show", Read: ledger.Members, Answer: &DatasetState{},
			Doc: "One dataset: its custodians, each dimension's values, its cap and what has been spent.",
			Handle: func(q *ledger.Request) (any, error) {
				return GetDataset(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/research/datasets/{id}/budgets/{researcher}", Name: "budget", Read: ledger.Members, Answer: &Budget{}, Orgs: []string{"researcher"},
			Doc: "A researcher's budget on a dataset: granted and spent (micro-ε), to the researcher, the dataset's custodians and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				d, err := GetDataset(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !Reads(q.Caller, q.Path("researcher"), &d.Dataset) {
					return nil, ErrNoStanding
				}
				return GetBudget(q.State, d.ID, q.Path("researcher"))
			}},
		{Path: "/api/v1/research/projects/{id}", Name: "project", Read: ledger.Members, Answer: &Project{},
			Doc: "An approved project, to its researcher, its dataset's custodians and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				p, err := get[Project](q.State, key(prefixProject, q.Path("id")), ErrNoApproval.Wrapf("no project %q", ledger.Echo(q.Path("id"))))
				if err != nil {
					return nil, err
				}
				d, err := GetDataset(q.State, p.Dataset)
				if err != nil {
					return nil, err
				}
				if !Reads(q.Caller, p.Researcher, &d.Dataset) {
					return nil, ErrNoStanding
				}
				return p, nil
			}},
		{Path: "/api/v1/research/queries", Name: "queries", Read: ledger.Members, Answer: ledger.Page{Items: []*Query{}},
			Params:  append([]ledger.Param{{Name: "status", Doc: "open or released"}}, paging...),
			Columns: ledger.Cols("QUERY", "id", "RESEARCHER", "@researcher", "DATASET", "dataset", "BY", "group_by", "EPS_MICRO", "eps_micro", "STATUS", "status", "ANSWERED", "@answered"),
			Doc:     "Queries the caller may read, by id: the regulator every one, a researcher its own, a custodian those on its datasets; with their releases.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				status := q.Query.Get("status")
				datasets := map[string]*DatasetState{}
				var derr error
				page, next, err := ledger.ScanPage(q.State, prefixQuery, after, limit, func(x *Query) bool {
					if status != "" && x.Status != status {
						return false
					}
					d, ok := datasets[x.Dataset]
					if !ok {
						if d, derr = GetDataset(q.State, x.Dataset); derr != nil {
							return false
						}
						datasets[x.Dataset] = d
					}
					return Reads(q.Caller, x.Researcher, &d.Dataset)
				})
				if err == nil {
					err = derr
				}
				if page == nil {
					page = []*Query{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/research/queries/{id}", Name: "show", Read: ledger.Members, Answer: &Query{},
			Doc: "A query with its release (the noisy sums, null where suppressed), to its researcher, the dataset's custodians and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				x, err := GetQuery(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				d, err := GetDataset(q.State, x.Dataset)
				if err != nil {
					return nil, err
				}
				if !Reads(q.Caller, x.Researcher, &d.Dataset) {
					return nil, ErrNoStanding
				}
				return x, nil
			}},
	}
}
