package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/primum-health/primum/research"
)

// The demo's research aggregates: a dataset over the three hospitals, the
// institute's approved project, and its first query.
const (
	Dataset       = "diabetes-care"
	Project       = "t2d-burden"
	ResearchQuery = "t2d-by-age-2026q4"
)

// researchAggregates: the regulator registers the diabetes-care dataset
// over St Luke's, Riverside and Eastfield (a cap of ε = 5) and approves the
// institute's project (a budget of ε = 3); the institute asks type 2
// diabetes by age band in the last quarter (ε = 1); each hospital counts its
// own (synthetic) rows, adds its noise and posts its cells; the ledger
// releases the sums.
func researchAggregates(ctx context.Context, env *Env) error {
	regulator, err := env.Key("National Medicines Agency")
	if err != nil {
		return err
	}
	institute, err := env.Key(Institute)
	if err != nil {
		return err
	}
	ids := make([]string, len(flSites))
	for i, s := range flSites {
		ids[i] = env.ID(s)
	}
	rc := env.Client.WithKey(regulator)
	var d research.DatasetState
	if err := rc.Get(ctx, "/api/v1/research/datasets/"+Dataset, &d); absent(err) != nil {
		return err
	} else if err != nil {
		if _, err := env.Client.Send(ctx, regulator, research.TypeDataset, research.Dataset{ID: Dataset, Title: "Diabetes and hypertension care in the consortium's hospitals",
			Custodians: ids, Values: research.SynthValues, CapMicroEps: 5_000_000}, true); err != nil {
			return fmt.Errorf("registering %s: %w", Dataset, err)
		}
	}
	var p research.Project
	if err := rc.Get(ctx, "/api/v1/research/projects/"+Project, &p); err != nil {
		if _, err := env.Client.Send(ctx, regulator, research.TypeApprove, research.Approve{Project: Project, Title: "The burden of type 2 diabetes by age",
			Researcher: env.ID(Institute), Dataset: Dataset, BudgetMicroEps: 3_000_000, Expires: time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339),
			EthicsReference: "REC 26/NE/0042"}, true); err != nil {
			return fmt.Errorf("approving %s: %w", Project, err)
		}
	}
	var q research.Query
	if err := env.Client.WithKey(institute).Get(ctx, "/api/v1/research/queries/"+ResearchQuery, &q); absent(err) != nil {
		return err
	} else if err != nil {
		if _, err := env.Client.Send(ctx, institute, research.TypeQuery, research.Ask{ID: ResearchQuery, Project: Project, GroupBy: research.DimAgeBand,
			Cohort: research.Cohort{Category: []string{"t2d"}, Period: []string{"2026-Q4"}}, EpsMicro: 1_000_000}, true); err != nil {
			return fmt.Errorf("asking %s: %w", ResearchQuery, err)
		}
		if err := env.Client.WithKey(institute).Get(ctx, "/api/v1/research/queries/"+ResearchQuery, &q); err != nil {
			return err
		}
	}
	for i, name := range flSites {
		if q.Status != research.StatusOpen || slices.Contains(q.Answered, ids[i]) {
			continue
		}
		key, err := env.Key(name)
		if err != nil {
			return err
		}
		cells := research.Noisy(research.Count(research.SynthRows(i+1), &q, &research.SynthValues), q.EpsMicro)
		if _, err := env.Client.Send(ctx, key, research.TypeCells, research.Cells{Query: q.ID, Cells: cells}, true); err != nil {
			return fmt.Errorf("%s answering %s: %w", name, q.ID, err)
		}
	}
	return nil
}
