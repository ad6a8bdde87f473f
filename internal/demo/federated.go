package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/internal/flrun"
)

// FLTask is the demo's federated learning task: the three-hospital
// synthetic example (federated.SynthSites), trained by St Luke's,
// Riverside and Eastfield for the institute.
const FLTask = "t2d-demo"

// flSites are the demo's hospitals, one for each site of the example.
var flSites = []string{"St Luke's Hospital", "Riverside General Hospital", ThirdHospital}

// federatedLearning: the institute defines the diabetes-risk task over the
// three hospitals; each trains on its own synthetic patients (generated
// here, at each hospital's side) and posts its model each round, until
// the task's rounds are done. A demo restarted mid-way picks up at the
// open round.
func federatedLearning(ctx context.Context, env *Env) error {
	institute, err := env.Key(Institute)
	if err != nil {
		return err
	}
	c := env.Client.WithKey(institute)
	var st federated.State
	if err := c.Get(ctx, "/api/v1/fl/tasks/"+FLTask, &st); absent(err) != nil {
		return err
	} else if err != nil {
		ids := make([]string, len(flSites))
		for i, s := range flSites {
			ids[i] = env.ID(s)
		}
		task := federated.Task{ID: FLTask, Title: "Type 2 diabetes risk from age, BMI, blood pressure and HbA1c (synthetic patients)",
			Features: federated.SynthFeatures, Label: federated.SynthLabel, LearningRate: 500_000, LocalEpochs: 5, Clip: 5 << federated.ScaleBits,
			Rounds: 8, RoundBlocks: 30, Participants: ids}
		if _, err := env.Client.Send(ctx, institute, federated.TypeTask, task, true); err != nil {
			return fmt.Errorf("defining %s: %w", FLTask, err)
		}
	} else if st.Status == federated.StatusDone {
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(flSites))
	for i, name := range flSites {
		key, err := env.Key(name)
		if err != nil {
			return err
		}
		train, holdout := federated.Split(federated.Synth(federated.SynthSites[i], uint64(i+1)))
		site := &flrun.Site{Client: env.Client, Key: key, Task: FLTask, Train: train, Holdout: holdout, Poll: 200 * time.Millisecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = site.Run(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s training %s: %w", flSites[i], FLTask, err)
		}
	}
	return nil
}
