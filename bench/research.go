package bench

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/research"
)

// benchProject is the first hospital's research project on its dataset.
const benchProject = "bench-project"

// prepareResearch: the regulator registers a dataset the hospital holds
// (a cap large enough for the run) and approves the hospital's research
// project on it; committed before the run.
func prepareResearch(ctx context.Context, c *client.Client, hospitalKey ed25519.PrivateKey) error {
	hospital := ledger.Address(hospitalKey.Public().(ed25519.PublicKey))
	regulator := benchKey("regulator", 0) // admitted by admitMembers
	if _, err := c.Send(ctx, regulator, research.TypeDataset, research.Dataset{ID: "bench-ds", Title: "Bench dataset", Custodians: []string{hospital},
		Values:      research.Values{Category: []string{"t2d"}, Region: []string{"N"}, AgeBand: []string{"18-39", "40-64", "65+"}, Period: []string{"q4"}},
		CapMicroEps: research.MaxCapMicroEps}, true); err != nil {
		return err
	}
	_, err := c.Send(ctx, regulator, research.TypeApprove, research.Approve{Project: benchProject, Title: "Bench project", Researcher: hospital, Dataset: "bench-ds",
		BudgetMicroEps: research.MaxCapMicroEps, Expires: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true)
	return err
}

// benchTask is a federated learning task over the hospital and Bench
// General (admitted by admitMembers).
func benchTask(id, hospital string) federated.Task {
	general := ledger.Address(benchKey("capacity-hospital", 0).Public().(ed25519.PublicKey))
	return federated.Task{ID: id, Title: "Bench task", Features: federated.SynthFeatures, Label: federated.SynthLabel, LearningRate: 500_000,
		LocalEpochs: 5, Clip: 5 << federated.ScaleBits, Rounds: 10, RoundBlocks: 1000, Participants: []string{hospital, general}}
}
