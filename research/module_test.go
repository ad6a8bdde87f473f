package research_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// TestAggregates: a dataset, approvals within its cap, a query debiting
// the budget, custodians' noisy cells summed with a small cell
// suppressed, a differencing query refused, budgets and the cap
// enforced, a query released after its deadline with one custodian; every
// refusal with its own code and no change; reads to the parties only.
func TestAggregates(t *testing.T) {
	w := moduletest.New(t, research.Declare(), identity.Declare())
	for _, o := range [][2]string{{"reg", "regulator"}, {"inst", "research"}, {"inst2", "research"}, {"h1", "hospital"}, {"h2", "hospital"}, {"pharm", "pharmacy"}} {
		w.AddOrg(o[0], o[1])
	}
	w.Commit()
	ds := research.Dataset{ID: "diabetes-care", Title: "Diabetes care", Custodians: []string{w.ID("h1"), w.ID("h2")},
		Values: research.Values{Category: []string{"t2d", "t1d"}, Region: []string{"NORTH", "SOUTH"}, AgeBand: []string{"18-39", "40-64", "65+"},
			Period: []string{"2026-Q3", "2026-Q4"}}, CapMicroEps: 3_000_000}
	expires := w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	approval := func(project, researcher string, budget int64) research.Approve {
		return research.Approve{Project: project, Title: "T2D burden", Researcher: w.ID(researcher), Dataset: ds.ID, BudgetMicroEps: budget, Expires: expires, DeadlineBlocks: 20}
	}
	q1 := research.Ask{ID: "q-age", Project: "p-one", GroupBy: research.DimAgeBand, Cohort: research.Cohort{Category: []string{"t2d"}}, EpsMicro: 1_000_000}
	budget := func(t *testing.T, who string) *research.Budget {
		b, err := research.GetBudget(w.St.Committed(), ds.ID, w.ID(who))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	steps := []struct {
		name, as, typ string
		body          any
		want          error
		then          func(t *testing.T)
	}{
		{"a hospital registers no dataset", "h1", research.TypeDataset, ds, ledger.ErrUnauthorized, nil},
		{"a value twice", "reg", research.TypeDataset, func() research.Dataset { d := ds; d.Values.Region = []string{"N", "N"}; return d }(), research.ErrBadDataset, nil},
		{"a custodian that is no member", "reg", research.TypeDataset, func() research.Dataset {
			d := ds
			d.Custodians = []string{"0000000000000000000000000000000000000000"}
			return d
		}(), research.ErrBadDataset, nil},
		{"registered", "reg", research.TypeDataset, ds, nil, nil},
		{"a hospital approves nothing", "h1", research.TypeApprove, approval("p-one", "inst", 2_000_000), ledger.ErrUnauthorized, nil},
		{"a pharmacy is no researcher", "reg", research.TypeApprove, approval("p-one", "pharm", 2_000_000), research.ErrBadApproval, nil},
		{"approved", "reg", research.TypeApprove, approval("p-one", "inst", 2_000_000), nil, nil},
		{"another researcher's", "reg", research.TypeApprove, approval("p-two", "inst2", 2_000_000), nil, nil},
		{"over the cap for one researcher", "reg", research.TypeApprove, approval("p-three", "inst", 1_500_000), research.ErrOverCap, nil},
		{"a query on another's project", "inst2", research.TypeQuery, q1, research.ErrNoApproval, nil},
		{"a value the dataset lacks", "inst", research.TypeQuery, research.Ask{ID: "q-bad", Project: "p-one", GroupBy: research.DimRegion,
			Cohort: research.Cohort{Region: []string{"EAST"}}, EpsMicro: 1}, research.ErrBadQuery, nil},
		{"asked: the budget debited", "inst", research.TypeQuery, q1, nil, func(t *testing.T) {
			if b := budget(t, "inst"); b.SpentMicroEps != 1_000_000 || b.GrantedMicro != 2_000_000 {
				t.Fatalf("%+v", b)
			}
			q, _ := research.GetQuery(w.St.Committed(), "q-age")
			if len(q.Groups) != 3 || q.Status != research.StatusOpen {
				t.Fatalf("%+v", q)
			}
		}},
		{"a pharmacy posts no cells", "pharm", research.TypeCells, research.Cells{Query: "q-age", Cells: []int64{1, 2, 3}}, research.ErrNotCustodian, nil},
		{"cells of the wrong length", "h1", research.TypeCells, research.Cells{Query: "q-age", Cells: []int64{1, 2}}, research.ErrBadCells, nil},
		{"h1's cells", "h1", research.TypeCells, research.Cells{Query: "q-age", Cells: []int64{5, 30, 60}}, nil, nil},
		{"h1's again", "h1", research.TypeCells, research.Cells{Query: "q-age", Cells: []int64{5, 30, 60}}, research.ErrAnswered, nil},
		{"h2's: released, the small cell suppressed and the next smallest with it", "h2", research.TypeCells, research.Cells{Query: "q-age", Cells: []int64{3, 20, -1}}, nil, func(t *testing.T) {
			q, _ := research.GetQuery(w.St.Committed(), "q-age")
			r := q.Release
			if q.Status != research.StatusReleased || r == nil || r.Cells[0] != nil || r.Cells[1] != nil || *r.Cells[2] != 59 || r.Suppressed != 2 {
				t.Fatalf("%+v %+v", q, r)
			}
			// The custodians' own cells are gone: only the release stays.
			if b, _ := w.St.Committed().Get([]byte("rs/c/q-age/" + w.ID("h1"))); b != nil {
				t.Fatal("h1's cells outlived the release")
			}
		}},
		{"a differencing query (the same cohort less one period)", "inst", research.TypeQuery, research.Ask{ID: "q-diff", Project: "p-one", GroupBy: research.DimAgeBand,
			Cohort: research.Cohort{Category: []string{"t2d"}, Period: []string{"2026-Q3"}}, EpsMicro: 100_000}, research.ErrDifferencing, nil},
		{"grouped by what differs, but the earlier query was not: refused", "inst", research.TypeQuery, research.Ask{ID: "q-per", Project: "p-one", GroupBy: research.DimPeriod,
			Cohort: research.Cohort{Category: []string{"t2d"}, Period: []string{"2026-Q3"}}, EpsMicro: 500_000}, research.ErrDifferencing, nil},
		{"the same cohort grouped otherwise", "inst", research.TypeQuery, research.Ask{ID: "q-per0", Project: "p-one", GroupBy: research.DimPeriod,
			Cohort: research.Cohort{Category: []string{"t2d"}}, EpsMicro: 100_000}, nil, nil},
		{"still refused: the cohort's total was released by the age-band query", "inst", research.TypeQuery, research.Ask{ID: "q-per", Project: "p-one", GroupBy: research.DimPeriod,
			Cohort: research.Cohort{Category: []string{"t2d"}, Period: []string{"2026-Q3"}}, EpsMicro: 300_000}, research.ErrDifferencing, nil},
		{"another cohort grouped by period", "inst", research.TypeQuery, research.Ask{ID: "q-per1", Project: "p-one", GroupBy: research.DimPeriod,
			Cohort: research.Cohort{Category: []string{"t1d"}}, EpsMicro: 100_000}, nil, nil},
		{"both grouped by what differs, and only by it: allowed", "inst", research.TypeQuery, research.Ask{ID: "q-per", Project: "p-one", GroupBy: research.DimPeriod,
			Cohort: research.Cohort{Category: []string{"t1d"}, Period: []string{"2026-Q3"}}, EpsMicro: 300_000}, nil, nil},
		{"over the researcher's budget", "inst", research.TypeQuery, research.Ask{ID: "q-over", Project: "p-one", GroupBy: research.DimRegion, EpsMicro: 600_000}, research.ErrOverBudget, nil},
		{"over the dataset's cap (budgets cannot be pooled)", "inst2", research.TypeQuery, research.Ask{ID: "q-cap", Project: "p-two", GroupBy: research.DimRegion, EpsMicro: 1_600_000}, research.ErrOverBudget, nil},
		{"closed before its deadline", "inst", research.TypeClose, research.CloseQuery{Query: "q-per"}, research.ErrQueryOpen, nil},
		{"h1 answers q3", "h1", research.TypeCells, research.Cells{Query: "q-per", Cells: []int64{44}}, nil, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
	for range 21 {
		w.Begin()
		w.Commit()
	}
	w.Try(t, "h2", research.TypeCells, research.Cells{Query: "q-per", Cells: []int64{1}}, research.ErrQueryClosed)
	w.Try(t, "pharm", research.TypeClose, research.CloseQuery{Query: "q-per"}, research.ErrNotParty)
	w.Try(t, "inst", research.TypeClose, research.CloseQuery{Query: "q-per"}, nil)
	if q, _ := research.GetQuery(w.St.Committed(), "q-per"); q.Release == nil || q.Release.Custodians != 1 || *q.Release.Cells[0] != 44 {
		t.Fatalf("q-per %+v", q)
	}
	// Reads: a budget and a query to the researcher, the custodians and
	// the regulator; not to another researcher or a pharmacy.
	for who, ok := range map[string]bool{"inst": true, "h2": true, "reg": true, "inst2": false, "pharm": false} {
		_, err := w.Query(who, "/api/v1/research/datasets/"+ds.ID+"/budgets/"+w.ID("inst"), nil)
		_, qerr := w.Query(who, "/api/v1/research/queries/q-age", nil)
		if ok != (err == nil) || ok != (qerr == nil) || !ok && !errors.Is(err, research.ErrNoStanding) {
			t.Errorf("%s reads inst's budget and query: %v, %v", who, err, qerr)
		}
		items, err := w.Query(who, "/api/v1/research/queries", nil)
		if n := len(items.([]*research.Query)); err != nil || ok != (n == 4) || !ok && n != 0 {
			t.Errorf("%s lists %d queries: %v", who, n, err)
		}
	}
}

// TestDiffers: the differencing rule over the shapes it must and must not
// catch.
func TestDiffers(t *testing.T) {
	all := &research.Values{Category: []string{"a", "b"}, Region: []string{"N", "S"}, AgeBand: []string{"x", "y", "z"}, Period: []string{"p", "q"}}
	for _, c := range []struct {
		name    string
		a, b    research.Cohort
		groupBy string
		want    bool
	}{
		{"the same cohort", research.Cohort{}, research.Cohort{}, research.DimRegion, false},
		{"one period less", research.Cohort{}, research.Cohort{Period: []string{"p"}}, research.DimRegion, true},
		{"one age band less", research.Cohort{AgeBand: []string{"x", "y"}}, research.Cohort{}, research.DimRegion, true},
		{"one swapped", research.Cohort{AgeBand: []string{"x", "y"}}, research.Cohort{AgeBand: []string{"x", "z"}}, research.DimRegion, false},
		{"two less", research.Cohort{AgeBand: []string{"x"}}, research.Cohort{}, research.DimRegion, false},
		{"one less, grouped by it", research.Cohort{}, research.Cohort{Period: []string{"p"}}, research.DimPeriod, false},
		{"one less in two dimensions", research.Cohort{Period: []string{"p"}, Region: []string{"N"}}, research.Cohort{}, research.DimAgeBand, false},
	} {
		if got := research.Differs(&c.a, &c.b, c.groupBy, all); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestNoise: the custodian's noise is centred on the count, with the
// spread of a discrete Laplace of scale 1/ε (mean absolute deviation
// about 1/ε for small ε), and counts land in their groups.
func TestNoise(t *testing.T) {
	const n = 20000
	var sum, abs float64
	for range n {
		v := research.Noisy([]int64{100}, 500_000)[0] - 100
		sum += float64(v)
		abs += max(float64(v), -float64(v))
	}
	if mean, mad := sum/n, abs/n; mean < -0.2 || mean > 0.2 || mad < 1.5 || mad > 2.5 {
		t.Fatalf("noise at ε=0.5: mean %.3f, mean absolute deviation %.3f (want about 0 and 2)", mean, mad)
	}
	all := &research.Values{Category: []string{"t2d"}, Region: []string{"N"}, AgeBand: []string{"x", "y"}, Period: []string{"p"}}
	q := &research.Query{Ask: research.Ask{GroupBy: research.DimAgeBand}, Groups: []string{"x", "y"}}
	rows := []research.Row{{"t2d", "N", "x", "p"}, {"t2d", "N", "y", "p"}, {"t2d", "N", "y", "p"}, {"t1d", "N", "y", "p"}}
	if got := research.Count(rows, q, all); got[0] != 1 || got[1] != 2 {
		t.Fatalf("counts %v", got)
	}
}

// TestDifferencingRemembered: the differencing rule remembers every cohort
// asked, however many queries came after it (no window to push it out of),
// and names no other query in its refusal; a project spends only its own
// budget, whatever the researcher's other projects hold.
func TestDifferencingRemembered(t *testing.T) {
	w := moduletest.New(t, research.Declare(), identity.Declare())
	for _, o := range [][2]string{{"reg", "regulator"}, {"inst", "research"}, {"h1", "hospital"}} {
		w.AddOrg(o[0], o[1])
	}
	w.Commit()
	var quarters []string
	for i := 1; i <= 12; i++ {
		quarters = append(quarters, fmt.Sprintf("Q%d", i))
	}
	values := research.Values{Category: []string{"t2d", "t1d", "htn"}, Region: []string{"NORTH", "SOUTH"}, AgeBand: []string{"18-39", "40-64", "65+"}, Period: quarters}
	ds := research.Dataset{ID: "ds-one", Title: "D", Custodians: []string{w.ID("h1")}, Values: values, CapMicroEps: 100_000_000}
	w.Try(t, "reg", research.TypeDataset, ds, nil)
	expires := w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	w.Try(t, "reg", research.TypeApprove, research.Approve{Project: "big", Title: "Big", Researcher: w.ID("inst"), Dataset: ds.ID, BudgetMicroEps: 50_000_000, Expires: expires}, nil)
	w.Try(t, "reg", research.TypeApprove, research.Approve{Project: "tiny", Title: "Tiny", Researcher: w.ID("inst"), Dataset: ds.ID, BudgetMicroEps: 10, Expires: expires}, nil)
	w.Try(t, "inst", research.TypeQuery, research.Ask{ID: "base", Project: "big", GroupBy: research.DimAgeBand, Cohort: research.Cohort{Category: []string{"t2d"}}, EpsMicro: 1}, nil)
	// Seventy-two other cohorts, one value of each dimension (a swap, not
	// a slice, away from one another and from the base).
	n := 0
	for _, cat := range []string{"t1d", "htn"} {
		for _, band := range values.AgeBand {
			for _, per := range quarters {
				n++
				w.Try(t, "inst", research.TypeQuery, research.Ask{ID: fmt.Sprintf("fill-%d", n), Project: "big", GroupBy: research.DimRegion,
					Cohort: research.Cohort{Category: []string{cat}, Region: []string{"NORTH"}, AgeBand: []string{band}, Period: []string{per}}, EpsMicro: 1}, nil)
			}
		}
	}
	if n < 64 {
		t.Fatalf("only %d fillers", n)
	}
	diff := research.Ask{ID: "diff", Project: "big", GroupBy: research.DimAgeBand, Cohort: research.Cohort{Category: []string{"t2d"}, Period: quarters[1:]}, EpsMicro: 1}
	w.Try(t, "inst", research.TypeQuery, diff, research.ErrDifferencing)
	w.Begin()
	err := w.Run("inst", research.TypeQuery, diff)
	w.Commit()
	if err == nil || strings.Contains(err.Error(), "base") {
		t.Fatalf("the refusal names the earlier query: %v", err)
	}
	// The tiny project cannot spend the big one's budget.
	w.Try(t, "inst", research.TypeQuery, research.Ask{ID: "spend", Project: "tiny", GroupBy: research.DimRegion, EpsMicro: 11}, research.ErrOverBudget)
	w.Try(t, "inst", research.TypeQuery, research.Ask{ID: "spend", Project: "tiny", GroupBy: research.DimRegion, EpsMicro: 10}, nil)
}

// TestExemptionNotLaundered: a cohort asked grouped by another dimension
// released its total; asking it again grouped by region does not then let
// a one-region neighbour through (total − NORTH would give SOUTH).
func TestExemptionNotLaundered(t *testing.T) {
	w := moduletest.New(t, research.Declare(), identity.Declare())
	for _, o := range [][2]string{{"reg", "regulator"}, {"inst", "research"}, {"h1", "hospital"}} {
		w.AddOrg(o[0], o[1])
	}
	w.Commit()
	w.Try(t, "reg", research.TypeDataset, research.Dataset{ID: "ds-two", Title: "D", Custodians: []string{w.ID("h1")}, Values: research.SynthValues, CapMicroEps: 10_000_000}, nil)
	w.Try(t, "reg", research.TypeApprove, research.Approve{Project: "proj", Title: "P", Researcher: w.ID("inst"), Dataset: "ds-two", BudgetMicroEps: 10_000_000,
		Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, nil)
	ask := func(id, by string, c research.Cohort) research.Ask {
		return research.Ask{ID: id, Project: "proj", GroupBy: by, Cohort: c, EpsMicro: 1}
	}
	w.Try(t, "inst", research.TypeQuery, ask("q-total", research.DimCategory, research.Cohort{}), nil)
	w.Try(t, "inst", research.TypeQuery, ask("q-north", research.DimRegion, research.Cohort{Region: []string{"NORTH"}}), research.ErrDifferencing)
	w.Try(t, "inst", research.TypeQuery, ask("q-launder", research.DimRegion, research.Cohort{}), nil)
	w.Try(t, "inst", research.TypeQuery, ask("q-north", research.DimRegion, research.Cohort{Region: []string{"NORTH"}}), research.ErrDifferencing)
	// Grouped by region only, a neighbour is fine: its region is a cell.
	w.Try(t, "inst", research.TypeQuery, ask("q-t1d", research.DimRegion, research.Cohort{Category: []string{"t1d"}}), nil)
	w.Try(t, "inst", research.TypeQuery, ask("q-t1d-n", research.DimRegion, research.Cohort{Category: []string{"t1d"}, Region: []string{"NORTH"}}), nil)
}

func TestAgeBand(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{{"18-39", 18, 39, true}, {"65+", 65, 200, true}, {"0-17", 0, 17, true}, {"40-39", 0, 0, false}, {"+5+", 0, 0, false},
		{"5-+10", 0, 0, false}, {"young", 0, 0, false}, {"151+", 0, 0, false}, {"", 0, 0, false}} {
		lo, hi, ok := research.AgeBand(c.in)
		if ok != c.ok || (ok && (lo != c.lo || hi != c.hi)) {
			t.Errorf("AgeBand(%q) = %d, %d, %v", c.in, lo, hi, ok)
		}
	}
}
