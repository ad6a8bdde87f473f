package federated_test

import (
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/records"
)

// TestConsentedTask: a task on consented records takes features and a
// label the sites can read from records, and a site's samples and
// holdout together are at most the patients it declared (records.use),
// each holding a research consent for the task naming the site.
func TestConsentedTask(t *testing.T) {
	recs := records.New(records.StudyKind{Prefix: federated.StudyPrefix, Refuses: federated.Study})
	w := moduletest.New(t, federated.Declare(), recs.Declare(), consent.New(recs).Declare(), identity.Declare())
	w.AddOrg("institute", "research")
	w.AddOrg("h1", "hospital")
	w.AddOrg("h2", "hospital")
	w.Commit()
	patients := []string{"p1", "p2", "p3", "p4"}
	for _, p := range patients {
		w.AddPatient(p)
	}
	task := func(change func(*federated.Task)) federated.Task {
		tk := federated.Task{ID: "t2d-rec", Title: "Type 2 diabetes risk", Features: []string{"age", "bmi"}, Label: "diabetes",
			LearningRate: 500_000, LocalEpochs: 5, Clip: 5 << federated.ScaleBits, Rounds: 1, RoundBlocks: 50,
			Participants: []string{w.ID("h1"), w.ID("h2")}, Consented: true}
		if change != nil {
			change(&tk)
		}
		return tk
	}
	year := w.Now.AddDate(1, 0, 0).Format(time.RFC3339)
	contribution := func(samples, held int64) federated.Contribute {
		return federated.Contribute{Task: "t2d-rec", Round: 1, Samples: samples, Weights: []int64{1, 2, 3},
			Eval: &federated.Eval{HoldoutCommitment: holdout, HoldoutSize: held, AccuracyPPM: 1, AUCPPM: 1}}
	}
	steps := []struct {
		name, as, typ string
		body          any
		want          error
	}{
		{"a feature no record gives", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Features = []string{"age", "shoe_size"} }), federated.ErrBadTask},
		{"a label no record gives", "institute", federated.TypeTask, task(func(k *federated.Task) { k.Label = "gout" }), federated.ErrBadTask},
		{"defined", "institute", federated.TypeTask, task(nil), nil},
		{"h1 has declared no one", "h1", federated.TypeContribute, contribution(1, 1), federated.ErrBeyondCohort},
	}
	for _, p := range patients[:3] {
		steps = append(steps, struct {
			name, as, typ string
			body          any
			want          error
		}{p + " consents to h1's research in t2d-rec", p, consent.TypeGrant,
			consent.Grant{Grantee: w.ID("h1"), Scope: consent.Scope{Studies: []string{"fl:t2d-rec"}}, Purpose: "research", Expires: year}, nil})
	}
	steps = append(steps, []struct {
		name, as, typ string
		body          any
		want          error
	}{
		{"h1 declares p4, who did not consent", "h1", records.TypeUse, records.Use{Study: "fl:t2d-rec", Patients: []string{w.ID("p1"), w.ID("p4")}}, records.ErrNoResearch},
		{"h1 declares its three", "h1", records.TypeUse, records.Use{Study: "fl:t2d-rec", Patients: []string{w.ID("p1"), w.ID("p2"), w.ID("p3")}}, nil},
		{"more samples than patients", "h1", federated.TypeContribute, contribution(3, 1), federated.ErrBeyondCohort},
		{"h2 cannot use h1's cohort", "h2", federated.TypeContribute, contribution(1, 1), federated.ErrBeyondCohort},
		{"within its cohort", "h1", federated.TypeContribute, contribution(2, 1), nil},
	}...)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { w.Try(t, s.as, s.typ, s.body, s.want) })
	}
	if _, err := federated.Get(w.St.Committed(), "t2d-rec"); err != nil {
		t.Fatal(err)
	}
}
