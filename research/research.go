// Package research is research aggregates on the ledger (SPEC F11): the
// regulator registers a dataset (its custodians, the values of its
// dimensions, and a consortium-wide privacy cap) and approves a
// researcher's project with a privacy budget on it; the researcher asks a
// count by one dimension over a cohort (a subset of each dimension's
// values); each custodian computes its own cells, adds noise sampled at
// its site (discrete Laplace, crypto/rand) and posts only the noisy cells;
// the ledger sums them and suppresses a released cell below 11 (the CMS
// rule), after noise, and one more cell beside a lone suppressed one
// (complementary suppression), so that a total cannot give it back.
//
// The budget is debited atomically in the transaction that authorises
// the query, against its project's budget, the researcher's budget on the
// dataset and the dataset's consortium-wide cap, so researchers cannot
// pool budgets. A query whose cohort differs from any earlier one on the
// dataset by a single value of one dimension is refused (unless both
// group by that dimension): the difference of the two releases would
// isolate that slice (a differencing attack). Every cohort asked is kept,
// indexed, so the check is bounded by the query (at most 96 look-ups), not
// by how many queries came before.
//
// Integers only: budgets in micro-ε, counts, block heights. Noise is
// sampled off-chain (noise.go); the ledger checks and sums integers.
package research

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// Transaction types.
const (
	TypeDataset = "research.dataset"
	TypeApprove = "research.approve"
	TypeQuery   = "research.query"
	TypeCells   = "research.cells"
	TypeClose   = "research.close"
)

// Dimensions a dataset's rows have; a query groups by one of them.
const (
	DimCategory = "category"
	DimRegion   = "region"
	DimAgeBand  = "age_band"
	DimPeriod   = "period"
)

// Dimensions, in the order a cohort lists them.
var Dimensions = []string{DimCategory, DimRegion, DimAgeBand, DimPeriod}

// Limits: every transaction's work is bounded by the transaction.
const (
	MaxCustodians   = 20
	MaxValues       = 24 // a dimension's values
	MaxCapMicroEps  = 100_000_000
	MaxCount        = 1_000_000_000
	MaxQueryBlocks  = 10_000
	SuppressBelow   = 11 // the CMS small-cell rule
	MaxTitle        = 200
	DefaultDeadline = 100 // blocks
)

// Query statuses.
const (
	StatusOpen     = "open"
	StatusReleased = "released"
)

// Errors of codespace "research". Codes are stable.
var (
	ErrBadDataset     = ledger.NewError("research", 1, "bad_dataset", 400, "a dataset needs an id (3-40 of a-z, 0-9, '-'), a title, 1-20 custodians (active member organisations, once each), each dimension's values (1-24, each 1-32 of A-Z, a-z, 0-9, '-', '+', once) and a privacy cap (1 to 100,000,000 micro-ε)")
	ErrDatasetExists  = ledger.NewError("research", 2, "dataset_exists", 409, "a dataset with this id exists")
	ErrUnknownDataset = ledger.NewError("research", 3, "unknown_dataset", 404, "no dataset with this id")
	ErrBadApproval    = ledger.NewError("research", 4, "bad_approval", 400, "an approval needs a project id (3-40 of a-z, 0-9, '-'), a title, a researcher (a research institute or hospital), a dataset, a budget (1 micro-ε or more) and an expiry (RFC 3339, in the future)")
	ErrProjectExists  = ledger.NewError("research", 5, "project_exists", 409, "a project with this id exists")
	ErrOverCap        = ledger.NewError("research", 6, "over_cap", 409, "the researcher's budgets on this dataset would exceed the dataset's cap")
	ErrNoApproval     = ledger.NewError("research", 7, "no_approval", 403, "the query needs a project approved for this researcher on this dataset, not expired")
	ErrOverBudget     = ledger.NewError("research", 8, "over_budget", 409, "the query's ε exceeds what is left of its project's budget, of the researcher's budget on the dataset, or of the dataset's consortium-wide cap")
	ErrBadQuery       = ledger.NewError("research", 9, "bad_query", 400, "a query needs an id (3-40 of a-z, 0-9, '-'), a project, a dimension to group by, a filter of the dataset's values (each dimension's a subset; none: all) and ε (1 micro-ε or more)")
	ErrQueryExists    = ledger.NewError("research", 10, "query_exists", 409, "a query with this id exists")
	ErrDifferencing   = ledger.NewError("research", 11, "differencing", 409, "the query's cohort differs from one asked before on this dataset by a single value of one dimension (both queries not grouped by it): the two releases would isolate that slice")
	ErrUnknownQuery   = ledger.NewError("research", 12, "unknown_query", 404, "no query with this id")
	ErrNotCustodian   = ledger.NewError("research", 13, "not_custodian", 403, "only the dataset's custodians post cells")
	ErrQueryClosed    = ledger.NewError("research", 14, "query_closed", 409, "the query is released, or its deadline has passed")
	ErrAnswered       = ledger.NewError("research", 15, "already_answered", 409, "this custodian has posted its cells for this query already")
	ErrBadCells       = ledger.NewError("research", 16, "bad_cells", 400, "cells are one noisy count per value the query groups by, in the dataset's order, each within ±1,000,000,000")
	ErrQueryOpen      = ledger.NewError("research", 17, "query_open", 409, "the query is open until its custodians answer or its deadline passes")
	ErrNotParty       = ledger.NewError("research", 18, "not_query_party", 403, "a query is closed by its researcher, a custodian or the regulator")
	ErrNoStanding     = ledger.NewError("research", 19, "no_research_standing", 403, "a researcher's queries, budgets and releases are read by the researcher, the dataset's custodians and the regulator")
)

// Values are a dimension's values, in order.
type Values struct {
	Category []string `json:"category"`
	Region   []string `json:"region"`
	AgeBand  []string `json:"age_band"`
	Period   []string `json:"period"`
}

// Of is the values of dimension d.
func (v *Values) Of(d string) []string {
	return *field(&v.Category, &v.Region, &v.AgeBand, &v.Period, d)
}

// field is dimension d's list among four, in Dimensions' order (a list of
// none for another name).
func field(category, region, ageBand, period *[]string, d string) *[]string {
	switch d {
	case DimCategory:
		return category
	case DimRegion:
		return region
	case DimAgeBand:
		return ageBand
	case DimPeriod:
		return period
	}
	return new([]string)
}

// Dataset is what the regulator registers.
type Dataset struct {
	ID         string   `json:"id" doc:"3-40 of a-z, 0-9, '-'"`
	Title      string   `json:"title"`
	Custodians []string `json:"custodians" doc:"the member organisations whose records it covers (ids, or names on the command line)"`
	Values     Values   `json:"values" doc:"each dimension's values, in order (e.g. age_band: 0-17, 18-39, 40-64, 65+)"`
	// CapMicroEps is the consortium-wide cap on ε spent on the dataset,
	// by every researcher together, in millionths.
	CapMicroEps int64 `json:"cap_micro_eps" doc:"the consortium-wide privacy cap, in micro-ε (5000000 = ε 5)"`
	// Consented: the custodians count from their own records store, the
	// patients holding a research consent for the querying project that
	// names them (declared with records.use: each on their trail). Its
	// categories are then conditions of records.StudyConditions, its age
	// bands "A-B" or "A+" (whole years), its periods quarters
	// ("2026-Q4", of the condition's onset).
	Consented bool `json:"consented,omitempty" doc:"count the custodians' records of patients with a research consent for the querying project (declared with records.use, each on their trail); categories from: diabetes, t1d, htn; age bands A-B or A+; periods YYYY-Qn"`
}

// DatasetState is a dataset as it stands.
type DatasetState struct {
	Dataset
	// SpentMicroEps is what every researcher's queries spent on it.
	SpentMicroEps int64  `json:"spent_micro_eps"`
	Queries       int64  `json:"queries"`
	Created       string `json:"created"`
}

// Approve is the regulator's approval of a researcher's project.
type Approve struct {
	Project         string `json:"project"`
	Title           string `json:"title"`
	Researcher      string `json:"researcher" doc:"the research institute or hospital (an id, or a name on the command line)"`
	Dataset         string `json:"dataset" doc:"the dataset's id"`
	BudgetMicroEps  int64  `json:"budget_micro_eps" doc:"ε the project may spend on the dataset, in millionths"`
	Expires         string `json:"expires" doc:"RFC 3339"`
	DeadlineBlocks  int64  `json:"deadline_blocks,omitempty" doc:"how long a query waits for its custodians, in blocks (default 100)"`
	EthicsReference string `json:"ethics_reference,omitempty" doc:"the ethics committee's reference"`
}

// Project is an approved project.
type Project struct {
	Approve
	Approver      string `json:"approver"`
	Approved      string `json:"approved"`
	SpentMicroEps int64  `json:"spent_micro_eps"`
}

// Budget is a researcher's budget on a dataset: the sum of their approved
// projects', and what they have spent.
type Budget struct {
	Dataset       string `json:"dataset"`
	Researcher    string `json:"researcher"`
	GrantedMicro  int64  `json:"granted_micro_eps"`
	SpentMicroEps int64  `json:"spent_micro_eps"`
}

// Cohort is a subset of each dimension's values (none: all of them).
type Cohort struct {
	Category []string `json:"category,omitempty"`
	Region   []string `json:"region,omitempty"`
	AgeBand  []string `json:"age_band,omitempty"`
	Period   []string `json:"period,omitempty"`
}

// Of is the cohort's values of dimension d, all of the dataset's when it
// names none.
func (c *Cohort) Of(d string, all *Values) []string {
	v := *c.named(d)
	if len(v) == 0 {
		return all.Of(d)
	}
	return v
}

// named is the values the cohort names of dimension d (none: all).
func (c *Cohort) named(d string) *[]string {
	return field(&c.Category, &c.Region, &c.AgeBand, &c.Period, d)
}

// Ask is a researcher's query.
type Ask struct {
	ID       string `json:"id"`
	Project  string `json:"project"`
	GroupBy  string `json:"group_by" doc:"category, region, age_band or period"`
	Cohort   Cohort `json:"cohort" doc:"the values counted, per dimension (none: all)"`
	EpsMicro int64  `json:"eps_micro" doc:"ε the query spends, in millionths (each custodian's noise has scale 1/ε)"`
}

// Query is a query as it stands, with its release once released.
type Query struct {
	Ask
	Dataset    string   `json:"dataset"`
	Researcher string   `json:"researcher"`
	Status     string   `json:"status"`
	Groups     []string `json:"groups" doc:"the values it groups by, in order: one cell each"`
	Answered   []string `json:"answered" doc:"custodians that have posted, sorted"`
	Deadline   int64    `json:"deadline_height"`
	Asked      string   `json:"asked"`
	Height     int64    `json:"height"`
	Release    *Release `json:"release,omitempty"`
}

// Release is a query's answer: the noisy sum per group, nil where
// suppressed (below 11 after noise).
type Release struct {
	Cells      []*int64 `json:"cells"`
	Suppressed int      `json:"suppressed"`
	Custodians int      `json:"custodians"`
	Time       string   `json:"time"`
	Height     int64    `json:"height"`
}

// Cells are a custodian's noisy counts for a query.
type Cells struct {
	Query string  `json:"query"`
	Cells []int64 `json:"cells" doc:"one noisy count per group, in the query's order"`
}

// CloseQuery releases a query whose deadline has passed with the
// custodians that answered.
type CloseQuery struct {
	Query string `json:"query"`
}

// posted is a custodian's cells as kept until the release.
type posted struct {
	Query     string  `json:"query"`
	Custodian string  `json:"custodian"`
	Cells     []int64 `json:"cells"`
}

// asked is the index entry of a cohort asked on a dataset: the
// dimensions it was grouped by.
type asked struct {
	GroupBy []string `json:"group_by"`
}

var (
	idRule    = regexp.MustCompile(`^[a-z0-9-]{3,40}$`)
	valueRule = regexp.MustCompile(`^[A-Za-z0-9+-]{1,32}$`)
)

// State keys.
var (
	prefixDataset = []byte("rs/d/") // rs/d/<dataset> -> DatasetState
	prefixProject = []byte("rs/p/") // rs/p/<project> -> Project
	prefixBudget  = []byte("rs/b/") // rs/b/<dataset>/<researcher> -> Budget
	prefixQuery   = []byte("rs/q/") // rs/q/<query> -> Query
	prefixPosted  = []byte("rs/c/") // rs/c/<query>/<custodian> -> posted
	prefixCohort  = []byte("rs/k/") // rs/k/<dataset>/<cohort hash> -> asked
)

func key(prefix []byte, parts ...string) []byte {
	k := append([]byte{}, prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, '/')
		}
		k = append(k, p...)
	}
	return k
}

func get[T any](r ledger.Reader, k []byte, missing error) (*T, error) {
	var v T
	found, err := ledger.GetJSON(r, k, &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, missing
	}
	return &v, nil
}

// GetDataset reads a dataset.
func GetDataset(r ledger.Reader, id string) (*DatasetState, error) {
	return get[DatasetState](r, key(prefixDataset, id), ErrUnknownDataset.Wrapf("%q", ledger.Echo(id)))
}

// StudyPrefix marks a research project's id as a study (records.use,
// research consents): "research:<project>".
const StudyPrefix = "research"

// Study says why custodian may not compute on records for project id at
// now ("": it may): an approved, unexpired project on a consented dataset
// it is a custodian of (records' StudyKind).
func Study(r ledger.Reader, id, custodian string, now time.Time) (string, error) {
	var p Project
	if found, err := ledger.GetJSON(r, key(prefixProject, id), &p); err != nil || !found {
		return "no approved research project " + id, err
	}
	expires, _ := time.Parse(time.RFC3339, p.Expires)
	if !now.Before(expires) {
		return "the project's approval expired on " + p.Expires, nil
	}
	var d DatasetState
	if found, err := ledger.GetJSON(r, key(prefixDataset, p.Dataset), &d); err != nil || !found {
		return "no dataset " + p.Dataset, err
	}
	switch {
	case !d.Consented:
		return "the project's dataset " + d.ID + " is not counted on consented records", nil
	case !slices.Contains(d.Custodians, custodian):
		return "this custodian is not one of the dataset's custodians", nil
	}
	return "", nil
}

// GetQuery reads a query.
func GetQuery(r ledger.Reader, id string) (*Query, error) {
	return get[Query](r, key(prefixQuery, id), ErrUnknownQuery.Wrapf("%q", ledger.Echo(id)))
}

// GetBudget reads a researcher's budget on a dataset (zero if none).
func GetBudget(r ledger.Reader, dataset, researcher string) (*Budget, error) {
	b, err := get[Budget](r, key(prefixBudget, dataset, researcher), nil)
	if b == nil && err == nil {
		b = &Budget{Dataset: dataset, Researcher: researcher}
	}
	return b, err
}

func checkValues(name string, vs []string) error {
	if len(vs) == 0 || len(vs) > MaxValues {
		return ErrBadDataset.Wrapf("values.%s: 1-%d", name, MaxValues)
	}
	for i, v := range vs {
		if !valueRule.MatchString(v) || slices.Contains(vs[:i], v) {
			return ErrBadDataset.Wrapf("values.%s[%d]", name, i)
		}
	}
	return nil
}

// Check checks a dataset's items.
func (d *Dataset) Check() error {
	if !idRule.MatchString(d.ID) || d.Title == "" || len(d.Title) > MaxTitle || d.CapMicroEps < 1 || d.CapMicroEps > MaxCapMicroEps ||
		len(d.Custodians) == 0 || len(d.Custodians) > MaxCustodians {
		return ErrBadDataset
	}
	for _, dim := range Dimensions {
		if err := checkValues(dim, d.Values.Of(dim)); err != nil {
			return err
		}
	}
	for i, c := range d.Custodians {
		if slices.Contains(d.Custodians[:i], c) {
			return ErrBadDataset.Wrapf("custodians[%d] is named twice", i)
		}
	}
	if d.Consented {
		for i, c := range d.Values.Category {
			if !slices.Contains(records.StudyConditions, c) {
				return ErrBadDataset.Wrapf("values.category[%d]: a consented dataset counts conditions from the records: one of %s", i, strings.Join(records.StudyConditions, ", "))
			}
		}
		for i, b := range d.Values.AgeBand {
			if _, _, ok := AgeBand(b); !ok {
				return ErrBadDataset.Wrapf("values.age_band[%d]: a consented dataset's age bands are A-B or A+ (whole years, A <= B)", i)
			}
		}
		for i, p := range d.Values.Period {
			if !quarter.MatchString(p) {
				return ErrBadDataset.Wrapf("values.period[%d]: a consented dataset's periods are quarters, YYYY-Qn", i)
			}
		}
	}
	return nil
}

var (
	quarter = regexp.MustCompile(`^[0-9]{4}-Q[1-4]$`)
	band    = regexp.MustCompile(`^[0-9]{1,3}(-[0-9]{1,3}|\+)$`)
)

// AgeBand reads "A-B" (A to B years, both included) or "A+" (A and over).
func AgeBand(b string) (lo, hi int, ok bool) {
	if !band.MatchString(b) {
		return 0, 0, false
	}
	if a, found := strings.CutSuffix(b, "+"); found {
		n, err := strconv.Atoi(a)
		return n, 200, err == nil && n >= 0 && n <= 150
	}
	a, z, found := strings.Cut(b, "-")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(z)
	return l, h, err1 == nil && err2 == nil && l >= 0 && l <= h && h <= 150
}

func activeOrg(r ledger.Reader, id string) (*identity.Identity, error) {
	i, err := identity.Get(r, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if i.Kind != ledger.KindOrganisation || i.Status != identity.StatusActive {
		return nil, nil
	}
	return i, nil
}

func registerDataset(ctx *ledger.Context, m *Dataset) error {
	if err := m.Check(); err != nil {
		return err
	}
	for i, c := range m.Custodians {
		if o, err := activeOrg(ctx.State, c); err != nil {
			return err
		} else if o == nil {
			return ErrBadDataset.Wrapf("custodians[%d] is not an active member organisation", i)
		}
	}
	if b, err := ctx.State.Get(key(prefixDataset, m.ID)); err != nil {
		return err
	} else if b != nil {
		return ErrDatasetExists.Wrapf("%s", m.ID)
	}
	ledger.SetJSON(ctx.State, key(prefixDataset, m.ID), DatasetState{Dataset: *m, Created: ctx.Time.UTC().Format(time.RFC3339)})
	ctx.Emit("research.dataset", [2]string{"dataset", m.ID})
	return nil
}

func approve(ctx *ledger.Context, m *Approve) error {
	expires, err := time.Parse(time.RFC3339, m.Expires)
	if !idRule.MatchString(m.Project) || m.Title == "" || len(m.Title) > MaxTitle || m.BudgetMicroEps < 1 || m.BudgetMicroEps > MaxCapMicroEps ||
		err != nil || !expires.After(ctx.Time) || m.DeadlineBlocks < 0 || m.DeadlineBlocks > MaxQueryBlocks || len(m.EthicsReference) > MaxTitle {
		return ErrBadApproval
	}
	d, err := GetDataset(ctx.State, m.Dataset)
	if err != nil {
		return err
	}
	if o, err := activeOrg(ctx.State, m.Researcher); err != nil {
		return err
	} else if o == nil || !slices.Contains(researchers, "organisation:"+o.OrgType) {
		return ErrBadApproval.Wrapf("the researcher must be an active research institute or hospital")
	}
	if b, err := ctx.State.Get(key(prefixProject, m.Project)); err != nil {
		return err
	} else if b != nil {
		return ErrProjectExists.Wrapf("%s", m.Project)
	}
	b, err := GetBudget(ctx.State, d.ID, m.Researcher)
	if err != nil {
		return err
	}
	if b.GrantedMicro+m.BudgetMicroEps > d.CapMicroEps {
		return ErrOverCap.Wrapf("granted %d + %d micro-ε > the cap of %d", b.GrantedMicro, m.BudgetMicroEps, d.CapMicroEps)
	}
	b.GrantedMicro += m.BudgetMicroEps
	ledger.SetJSON(ctx.State, key(prefixBudget, d.ID, m.Researcher), b)
	ledger.SetJSON(ctx.State, key(prefixProject, m.Project), Project{Approve: *m, Approver: ctx.Signer.ID, Approved: ctx.Time.UTC().Format(time.RFC3339)})
	ctx.Emit("research.approved", [2]string{"project", m.Project})
	return nil
}

// checkCohort checks a cohort's values against the dataset's.
func checkCohort(c *Cohort, d *Dataset) error {
	for _, dim := range Dimensions {
		vs := *c.named(dim)
		if len(vs) > MaxValues {
			return ErrBadQuery.Wrapf("cohort.%s: at most %d values", dim, MaxValues)
		}
		for i, v := range vs {
			if !slices.Contains(d.Values.Of(dim), v) || slices.Contains(vs[:i], v) {
				return ErrBadQuery.Wrapf("cohort.%s: %q is not one of the dataset's values (%s), or is named twice", dim, ledger.Echo(v), strings.Join(d.Values.Of(dim), ", "))
			}
		}
	}
	return nil
}

// Differs says whether two cohorts differ by exactly one value of one
// dimension (one holds all the other's values of it and one more), equal
// in every other: the shape of a differencing attack. groupBy exempts a
// dimension both queries group by: each of its values is then a cell of
// its own in both releases, noised and suppressed when small. A swapped
// value (two differences) is not caught here, nor is a combination of
// three or more queries: those are left to the noise and the budget.
func Differs(a, b *Cohort, groupBy string, all *Values) bool {
	differing := 0
	for _, dim := range Dimensions {
		x, y := a.Of(dim, all), b.Of(dim, all)
		onlyX, onlyY := 0, 0
		for _, v := range x {
			if !slices.Contains(y, v) {
				onlyX++
			}
		}
		for _, v := range y {
			if !slices.Contains(x, v) {
				onlyY++
			}
		}
		switch {
		case onlyX == 0 && onlyY == 0:
			continue
		case onlyX+onlyY == 1 && dim == groupBy:
			continue
		case onlyX+onlyY == 1:
			differing++
		default:
			return false // differs by more than a slice in this dimension
		}
	}
	return differing == 1
}

func ask(ctx *ledger.Context, m *Ask) error {
	switch {
	case !idRule.MatchString(m.ID):
		return ErrBadQuery.Wrapf("id: 3-40 of a-z, 0-9, '-'")
	case !slices.Contains(Dimensions, m.GroupBy):
		return ErrBadQuery.Wrapf("group_by: one of %s", strings.Join(Dimensions, ", "))
	case m.EpsMicro < 1 || m.EpsMicro > MaxCapMicroEps:
		return ErrBadQuery.Wrapf("eps_micro: 1 to %d", MaxCapMicroEps)
	}
	p, err := get[Project](ctx.State, key(prefixProject, m.Project), ErrNoApproval.Wrapf("no project %q", ledger.Echo(m.Project)))
	if err != nil {
		return err
	}
	expires, _ := time.Parse(time.RFC3339, p.Expires)
	if p.Researcher != ctx.Signer.ID || !ctx.Time.Before(expires) {
		return ErrNoApproval.Wrapf("%s", p.Project)
	}
	d, err := GetDataset(ctx.State, p.Dataset)
	if err != nil {
		return err
	}
	if err := checkCohort(&m.Cohort, &d.Dataset); err != nil {
		return err
	}
	if b, err := ctx.State.Get(key(prefixQuery, m.ID)); err != nil {
		return err
	} else if b != nil {
		return ErrQueryExists.Wrapf("%s", m.ID)
	}
	b, err := GetBudget(ctx.State, d.ID, p.Researcher)
	if err != nil {
		return err
	}
	if p.SpentMicroEps+m.EpsMicro > p.BudgetMicroEps || b.SpentMicroEps+m.EpsMicro > b.GrantedMicro || d.SpentMicroEps+m.EpsMicro > d.CapMicroEps {
		return ErrOverBudget.Wrapf("asks %d micro-ε: %d left of the project's budget, %d of the researcher's on the dataset, %d of the dataset's cap",
			m.EpsMicro, p.BudgetMicroEps-p.SpentMicroEps, b.GrantedMicro-b.SpentMicroEps, d.CapMicroEps-d.SpentMicroEps)
	}
	if err := checkNeighbours(ctx.State, &d.Dataset, &m.Cohort, m.GroupBy); err != nil {
		return err
	}
	ck := key(prefixCohort, d.ID, CohortKey(&m.Cohort, &d.Values))
	seen, err := get[asked](ctx.State, ck, nil)
	if err != nil {
		return err
	}
	if seen == nil {
		seen = &asked{}
	}
	if !slices.Contains(seen.GroupBy, m.GroupBy) {
		seen.GroupBy = append(seen.GroupBy, m.GroupBy)
		slices.Sort(seen.GroupBy)
		ledger.SetJSON(ctx.State, ck, seen)
	}
	p.SpentMicroEps += m.EpsMicro
	ledger.SetJSON(ctx.State, key(prefixProject, p.Project), p)
	b.SpentMicroEps += m.EpsMicro
	ledger.SetJSON(ctx.State, key(prefixBudget, d.ID, p.Researcher), b)
	d.SpentMicroEps += m.EpsMicro
	d.Queries++
	ledger.SetJSON(ctx.State, key(prefixDataset, d.ID), d)
	deadline := p.DeadlineBlocks
	if deadline == 0 {
		deadline = DefaultDeadline
	}
	q := Query{Ask: *m, Dataset: d.ID, Researcher: p.Researcher, Status: StatusOpen, Groups: m.Cohort.Of(m.GroupBy, &d.Values),
		Answered: []string{}, Deadline: ctx.Height + deadline, Asked: ctx.Time.UTC().Format(time.RFC3339), Height: ctx.Height}
	ledger.SetJSON(ctx.State, key(prefixQuery, m.ID), q)
	ctx.Emit("research.query", [2]string{"query", m.ID}, [2]string{"dataset", d.ID})
	return nil
}

func cells(ctx *ledger.Context, m *Cells) error {
	q, err := GetQuery(ctx.State, m.Query)
	if err != nil {
		return err
	}
	d, err := GetDataset(ctx.State, q.Dataset)
	if err != nil {
		return err
	}
	if ctx.Signer.Kind != ledger.KindOrganisation || !slices.Contains(d.Custodians, ctx.Signer.ID) {
		return ErrNotCustodian.Wrapf("%s", q.ID)
	}
	if q.Status != StatusOpen || ctx.Height > q.Deadline {
		return ErrQueryClosed.Wrapf("%s", q.ID)
	}
	if slices.Contains(q.Answered, ctx.Signer.ID) {
		return ErrAnswered.Wrapf("%s", q.ID)
	}
	if len(m.Cells) != len(q.Groups) {
		return ErrBadCells.Wrapf("%d cells for %d groups", len(m.Cells), len(q.Groups))
	}
	for i, c := range m.Cells {
		if c > MaxCount || c < -MaxCount {
			return ErrBadCells.Wrapf("cells[%d]", i)
		}
	}
	ledger.SetJSON(ctx.State, key(prefixPosted, q.ID, ctx.Signer.ID), posted{Query: q.ID, Custodian: ctx.Signer.ID, Cells: m.Cells})
	i, _ := slices.BinarySearch(q.Answered, ctx.Signer.ID)
	q.Answered = slices.Insert(q.Answered, i, ctx.Signer.ID)
	if len(q.Answered) == len(d.Custodians) {
		return release(ctx, q)
	}
	ledger.SetJSON(ctx.State, key(prefixQuery, q.ID), q)
	return nil
}

func closeQuery(ctx *ledger.Context, m *CloseQuery) error {
	q, err := GetQuery(ctx.State, m.Query)
	if err != nil {
		return err
	}
	d, err := GetDataset(ctx.State, q.Dataset)
	if err != nil {
		return err
	}
	if ctx.Signer.ID != q.Researcher && !ctx.Signer.IsRegulator() && !slices.Contains(d.Custodians, ctx.Signer.ID) {
		return ErrNotParty.Wrapf("%s", q.ID)
	}
	if q.Status != StatusOpen {
		return ErrQueryClosed.Wrapf("%s", q.ID)
	}
	if ctx.Height <= q.Deadline {
		return ErrQueryOpen.Wrapf("%s is open until height %d", q.ID, q.Deadline)
	}
	return release(ctx, q)
}

// release sums the posted cells (at most MaxCustodians reads), suppresses
// a sum below SuppressBelow, and deletes the custodians' own cells: what
// stays is the release.
func release(ctx *ledger.Context, q *Query) error {
	sums := make([]int64, len(q.Groups))
	for _, c := range q.Answered {
		p, err := get[posted](ctx.State, key(prefixPosted, q.ID, c), nil)
		if err != nil {
			return err
		}
		if p == nil {
			panic(fmt.Sprintf("research: %s names %s's cells, which are missing", q.ID, c))
		}
		for i, v := range p.Cells {
			sums[i] += v
		}
		ctx.State.Delete(key(prefixPosted, q.ID, c))
	}
	r := &Release{Cells: make([]*int64, len(sums)), Custodians: len(q.Answered), Time: ctx.Time.UTC().Format(time.RFC3339), Height: ctx.Height}
	smallest := -1 // the smallest cell kept
	for i, s := range sums {
		if s < SuppressBelow {
			r.Suppressed++
			continue
		}
		v := s
		r.Cells[i] = &v
		if smallest < 0 || s < sums[smallest] {
			smallest = i
		}
	}
	// Complementary suppression: a lone suppressed cell would follow from
	// the cohort's total (another grouping of it gives the total), so the
	// smallest cell kept goes too.
	if r.Suppressed == 1 && smallest >= 0 {
		r.Cells[smallest] = nil
		r.Suppressed++
	}
	q.Release, q.Status = r, StatusReleased
	ledger.SetJSON(ctx.State, key(prefixQuery, q.ID), q)
	ctx.Emit("research.released", [2]string{"query", q.ID})
	return nil
}

// CohortKey names a cohort canonically: for each dimension its values
// (all of the dataset's when it names none) in the dataset's order, hashed.
func CohortKey(c *Cohort, all *Values) string {
	h := sha256.New()
	for _, d := range Dimensions {
		h.Write([]byte(d + "="))
		for _, v := range all.Of(d) {
			if slices.Contains(c.Of(d, all), v) {
				h.Write([]byte(v + ","))
			}
		}
		h.Write([]byte{';'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// checkNeighbours refuses a cohort one value away, in one dimension, from a
// cohort asked before on the dataset, unless both queries grouped by that
// dimension and the earlier cohort was never asked grouped otherwise. It looks up each neighbour: at most one per value of each
// dimension (4 × 24).
func checkNeighbours(r ledger.Reader, d *Dataset, c *Cohort, groupBy string) error {
	for _, dim := range Dimensions {
		have := c.Of(dim, &d.Values)
		for _, v := range d.Values.Of(dim) {
			var next []string
			if slices.Contains(have, v) {
				if len(have) == 1 {
					continue // a cohort holds at least one value
				}
				next = slices.DeleteFunc(slices.Clone(have), func(x string) bool { return x == v })
			} else {
				next = append(slices.Clone(have), v)
			}
			n := *c
			*n.named(dim) = next
			seen, err := get[asked](r, key(prefixCohort, d.ID, CohortKey(&n, &d.Values)), nil)
			if err != nil {
				return err
			}
			// Exempt only when the neighbour was asked grouped by this
			// dimension alone: one asked otherwise too released its
			// total, and the slice would follow by subtraction.
			if seen != nil && !(dim == groupBy && slices.Equal(seen.GroupBy, []string{dim})) {
				return ErrDifferencing.Wrapf("one %s value apart", dim)
			}
		}
	}
	return nil
}
