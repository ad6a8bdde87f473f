package node_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/flrun"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
)

// TestResearchOnConsentedRecords: studies computed on the records the
// hospitals hold, of the patients who consented, each of whom sees it on
// their trail. h1's node (research_records) takes part in a consented
// learning task and answers a query on a consented dataset by itself; h2
// takes part here with the same library, as its node would. Two of h1's
// patients did not consent: no model and no cell counts them, and their
// trails show nothing.
func TestResearchOnConsentedRecords(t *testing.T) {
	n, c, m := startMembersWith(t, func(s *node.Settings) {
		s.ResearchRecords, s.ResearchKey = true, filepath.Join("keys", "h1.json")
	}, [][2]string{{"institute", "research"}, {"h1", "hospital"}, {"h2", "hospital"}, {"regulator", "regulator"}})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	send := func(who string, typ string, body any) {
		t.Helper()
		if _, err := c.Send(ctx, m[who].key, typ, body, true); err != nil {
			t.Fatalf("%s by %s: %v", typ, who, err)
		}
	}
	const task, project = "rec-task", "rec-project"
	at := time.Now().UTC().AddDate(0, 0, -1)
	year := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	// Patients: 10 at h1 (8 consent), 8 at h2 (all consent).
	type patient struct {
		key     ed25519.PrivateKey
		id      string
		consent bool
	}
	var byHospital = map[string][]patient{}
	for _, h := range []struct {
		name     string
		n, agree int
		site     int
	}{{"h1", 10, 8, 0}, {"h2", 8, 8, 1}} {
		examples := federated.Synth(federated.SynthSites[h.site], uint64(h.site+1))
		for i := range h.n {
			key := newKey(t)
			if _, err := c.Send(ctx, key, identity.TypeRegisterPatient, identity.RegisterPatient{}, true); err != nil {
				t.Fatal(err)
			}
			id := ledger.Address(key.Public().(ed25519.PublicKey))
			if _, err := c.ImportFHIR(ctx, m[h.name].token, id, flrun.SynthBundle(examples[i], at, "NORTH")); err != nil {
				t.Fatalf("import: %v", err)
			}
			p := patient{key: key, id: id, consent: i < h.agree}
			if p.consent {
				if _, err := c.Send(ctx, key, consent.TypeGrant, consent.Grant{Grantee: m[h.name].id, Purpose: "research",
					Scope: consent.Scope{Studies: []string{"fl:" + task, "research:" + project}}, Expires: year}, true); err != nil {
					t.Fatal(err)
				}
			}
			byHospital[h.name] = append(byHospital[h.name], p)
		}
	}

	// Learning: h1's node on its own; h2 here.
	send("institute", federated.TypeTask, federated.Task{ID: task, Title: "On records", Features: federated.SynthFeatures, Label: federated.SynthLabel,
		LearningRate: 500_000, LocalEpochs: 5, Clip: 5 << federated.ScaleBits, Rounds: 2, RoundBlocks: 60,
		Participants: []string{m["h1"].id, m["h2"].id}, Consented: true})
	cohort, err := flrun.Cohort(ctx, c, m["h2"].key, n.Docs, "fl:"+task, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ex, used, err := flrun.Examples(cohort, federated.SynthFeatures, federated.SynthLabel)
	if err != nil || len(used) != 8 {
		t.Fatalf("h2's cohort: %d used, %v", len(used), err)
	}
	train, holdout := federated.Split(ex)
	h2 := &flrun.Site{Client: c, Key: m["h2"].key, Task: task, Train: train, Holdout: holdout, Poll: 100 * time.Millisecond}
	if _, _, err := h2.Step(ctx); err == nil {
		t.Fatal("h2 contributed before declaring its cohort")
	}
	if err := flrun.Declare(ctx, c, m["h2"].key, "fl:"+task, used); err != nil {
		t.Fatal(err)
	}
	st, err := h2.Run(ctx)
	if err != nil || st.Status != federated.StatusDone {
		t.Fatalf("task %+v, %v", st, err)
	}
	var accounts []*federated.Account
	if err := c.WithKey(m["institute"].key).Get(ctx, "/api/v1/fl/tasks/"+task+"/accounts", &accounts); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if a.Rounds != 2 {
			t.Errorf("%s contributed to %d rounds of 2", a.Site, a.Rounds)
		}
	}
	if len(accounts) != 2 {
		t.Fatalf("accounts %+v", accounts)
	}

	// Research: a consented dataset, counted by h1's node; h2 answers here.
	send("regulator", research.TypeDataset, research.Dataset{ID: "rec-ds", Title: "On records", Custodians: []string{m["h1"].id, m["h2"].id}, Consented: true,
		Values:      research.Values{Category: []string{"diabetes", "htn"}, Region: []string{"NORTH", "SOUTH"}, AgeBand: []string{"0-44", "45+"}, Period: []string{quarter(at.AddDate(0, -1, 0))}},
		CapMicroEps: 5_000_000})
	send("regulator", research.TypeApprove, research.Approve{Project: project, Title: "On records", Researcher: m["institute"].id, Dataset: "rec-ds",
		BudgetMicroEps: 1_000_000, Expires: year})
	send("institute", research.TypeQuery, research.Ask{ID: "rec-q", Project: project, GroupBy: research.DimCategory, EpsMicro: 500_000})
	var q research.Query
	var d research.DatasetState
	if err := c.WithKey(m["h2"].key).Get(ctx, "/api/v1/research/queries/rec-q", &q); err != nil {
		t.Fatal(err)
	}
	if err := c.WithKey(m["h2"].key).Get(ctx, "/api/v1/research/datasets/rec-ds", &d); err != nil {
		t.Fatal(err)
	}
	rows, counted := flrun.Rows(cohort, &d.Values)
	if err := flrun.Declare(ctx, c, m["h2"].key, "research:"+project, counted); err != nil {
		t.Fatal(err)
	}
	if err := flrun.Answer(ctx, c, m["h2"].key, rows, &q, &d); err != nil {
		t.Fatal(err)
	}
	for q.Status != research.StatusReleased {
		if ctx.Err() != nil {
			t.Fatalf("h1's node never answered: %+v", q)
		}
		time.Sleep(200 * time.Millisecond)
		if err := c.WithKey(m["institute"].key).Get(ctx, "/api/v1/research/queries/rec-q", &q); err != nil {
			t.Fatal(err)
		}
	}

	// Trails: each consenting patient of h1 sees the task (and, if a
	// diabetic counted, the project), as themself; the others nothing.
	for i, p := range byHospital["h1"] {
		trail, err := c.WithKey(p.key).Trail(ctx, p.id)
		if err != nil {
			t.Fatal(err)
		}
		var studies []string
		for _, a := range trail {
			if a.Outcome == records.OutcomeUsed {
				if a.Custodian != m["h1"].id || a.Purpose != "research" || a.Record != "" {
					t.Fatalf("a use on the trail: %+v", a)
				}
				studies = append(studies, a.Study)
			}
		}
		if p.consent != slices.Contains(studies, "fl:"+task) || (!p.consent && len(studies) > 0) {
			t.Fatalf("patient %d (consented %v) sees uses %v", i, p.consent, studies)
		}
	}
}

func quarter(t time.Time) string { return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1) }
