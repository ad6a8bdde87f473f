package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/trials"
)

// Institute is the demo's research institute: it joins the consortium by
// the members' vote, then sponsors the demo's two trials.
const Institute = "Northfield Research Institute"

// The demo's trials: one run as registered, one whose primary outcome was
// switched after its first participant was enrolled (the ledger flags it).
const (
	CleanTrial    = "PRM-2026-0001"
	SwitchedTrial = "PRM-2026-0002"
)

// voters are the founding members who vote the institute in (with St
// Luke's, which proposes: 5 of 7, more than two thirds).
var voters = []string{"Riverside General Hospital", "Central Pharmacy", "Acme Pharma", "MedLogistics"}

// clinicalTrials: the institute is admitted by a governance vote,
// registers two trials with St Luke's and Riverside as sites, Patient 3
// grants each site a research consent for its study and is enrolled; the
// second trial's primary outcome is then switched; both report results.
// Each step is skipped when the ledger shows it done.
func clinicalTrials(ctx context.Context, env *Env) error {
	institute, err := env.Add(Member{Name: Institute, Kind: "organisation", OrgType: "research"})
	if err != nil {
		return err
	}
	if err := admit(ctx, env, institute, Institute, "research", "sponsor of the demo's clinical trials", voters); err != nil {
		return fmt.Errorf("admitting %s: %w", Institute, err)
	}
	stLukes, riverside := env.ID("St Luke's Hospital"), env.ID("Riverside General Hospital")
	commit := func(doc string) string {
		m := hmac.New(sha256.New, institute.Seed())
		m.Write([]byte(doc))
		return hex.EncodeToString(m.Sum(nil))
	}
	base := func(title, doc string) trials.Protocol {
		return trials.Protocol{Title: title, Conditions: []string{"Diabetes mellitus type 2"},
			Interventions: []string{"metformin 500 mg extended release, once daily"},
			Inclusion:     "adults aged 40-75 with HbA1c 7.0-10.0% on diet alone", Exclusion: "eGFR below 45; pregnancy",
			SampleSize:        240,
			PrimaryOutcomes:   []trials.Outcome{{ID: "hba1c", Measure: "change in HbA1c from baseline", TimeFrame: "24 weeks"}},
			SecondaryOutcomes: []trials.Outcome{{ID: "weight", Measure: "change in body weight", TimeFrame: "24 weeks"}},
			Sites:             []string{stLukes, riverside}, ProtocolCommitment: commit(doc)}
	}
	clean := base("Metformin XR versus IR in early type 2 diabetes (MEXIR)", "MEXIR protocol v1")
	switched := base("Once-daily metformin and glycaemic control (ODMG)", "ODMG protocol v1")
	for _, t := range []struct {
		id string
		p  trials.Protocol
	}{{CleanTrial, clean}, {SwitchedTrial, switched}} {
		if _, err := env.trial(ctx, t.id); errors.Is(err, errNoTrial) {
			if _, err := env.Client.Send(ctx, institute, trials.TypeRegister, trials.Register{ID: t.id, Protocol: t.p}, true); err != nil {
				return fmt.Errorf("registering %s: %w", t.id, err)
			}
		} else if err != nil {
			return err
		}
	}
	// Patient 3 consents to each study at its site (a research consent
	// scoped to the study) and is enrolled in each trial.
	patient, err := env.Key(patientName(3))
	if err != nil {
		return err
	}
	for _, e := range []struct{ trial, site string }{{CleanTrial, "Riverside General Hospital"}, {SwitchedTrial, "St Luke's Hospital"}} {
		t, err := env.trial(ctx, e.trial)
		if err != nil {
			return err
		}
		if t.EverEnrolled > 0 {
			continue
		}
		if _, err := env.Client.Send(ctx, patient, consent.TypeGrant, consent.Grant{Grantee: env.ID(e.site), Scope: consent.Scope{Studies: []string{e.trial}},
			Purpose: "research", Expires: time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
			return fmt.Errorf("%s's research consent: %w", patientName(3), err)
		}
		site, err := env.Key(e.site)
		if err != nil {
			return err
		}
		if _, err := env.Client.Send(ctx, site, trials.TypeEnrol, trials.Enrol{Trial: e.trial, Participant: env.ID(patientName(3))}, true); err != nil {
			return fmt.Errorf("enrolling in %s: %w", e.trial, err)
		}
	}
	// After enrolment, the second trial's primary outcome becomes fasting
	// glucose at 12 weeks: the ledger flags the switch.
	if t, err := env.trial(ctx, SwitchedTrial); err != nil {
		return err
	} else if t.Version == 1 {
		p := switched
		p.PrimaryOutcomes = []trials.Outcome{{ID: "fpg", Measure: "change in fasting plasma glucose", TimeFrame: "12 weeks"}}
		p.ProtocolCommitment = commit("ODMG protocol v2")
		if _, err := env.Client.Send(ctx, institute, trials.TypeAmend, trials.Amend{ID: SwitchedTrial, Reason: "shorter follow-up after slow recruitment", Protocol: p}, true); err != nil {
			return fmt.Errorf("amending %s: %w", SwitchedTrial, err)
		}
	}
	// Riverside anchors its first batch of case-report records for the
	// first trial (kept in the demo's home, to prove a record from it).
	if err := anchorBatch(ctx, env, env.ID(patientName(3))); err != nil {
		return err
	}
	// Results: the first reports what it registered; the second reports
	// its new outcome and one never registered, and not the original.
	results := map[string]trials.Results{
		CleanTrial: {Reported: []trials.Reported{
			{ID: "hba1c", Summary: "HbA1c -0.9 points with XR vs -0.8 with IR (difference -0.1, 95% CI -0.3 to 0.1)", AnalysisCommitment: commit("MEXIR analysis hba1c")},
			{ID: "weight", Summary: "-1.4 kg vs -1.2 kg", AnalysisCommitment: commit("MEXIR analysis weight")}}},
		SwitchedTrial: {Reported: []trials.Reported{
			{ID: "fpg", Summary: "fasting glucose -1.1 mmol/l (95% CI -1.5 to -0.7)", AnalysisCommitment: commit("ODMG analysis fpg")}},
			Added: []trials.AddedOutcome{{ID: "adherence", Measure: "tablets taken as prescribed", Summary: "92% vs 81%"}}},
	}
	for _, id := range []string{CleanTrial, SwitchedTrial} {
		if t, err := env.trial(ctx, id); err != nil {
			return err
		} else if t.Status == trials.StatusRecruiting {
			if _, err := env.Client.Send(ctx, institute, trials.TypeResults, trials.RegisterResults{Trial: id, Results: results[id]}, true); err != nil {
				return fmt.Errorf("results of %s: %w", id, err)
			}
		}
	}
	return nil
}

var errNoTrial = errors.New("no such trial")

// trial reads a trial (errNoTrial if it is not registered yet).
func (e *Env) trial(ctx context.Context, id string) (*trials.Trial, error) {
	var t trials.Trial
	if err := e.Client.Get(ctx, "/api/v1/trials/"+id, &t); err != nil {
		var p *client.Problem
		if errors.As(err, &p) && p.Code == trials.ErrUnknownTrial.Name {
			return nil, errNoTrial
		}
		return nil, err
	}
	return &t, nil
}

// admit has St Luke's propose an organisation (name, orgType, its key) as
// a member and voters vote it in, unless it is a member already (or the
// vote is under way: then the votes still missing are cast).
func admit(ctx context.Context, env *Env, institute ed25519.PrivateKey, name, orgType, reason string, voters []string) error {
	if done, err := env.registered(ctx, institute); err != nil || done {
		return err
	}
	proposals, err := env.Client.Proposals(ctx)
	if err != nil {
		return err
	}
	pub := hex.EncodeToString(institute.Public().(ed25519.PublicKey))
	var open *governance.Proposal
	for _, p := range proposals {
		if p.Status == governance.StatusOpen && p.Member != nil && p.Member.Key == pub {
			open = p
		}
	}
	if open == nil {
		stLukes, err := env.Key("St Luke's Hospital")
		if err != nil {
			return err
		}
		chainID, err := env.Client.ChainID(ctx)
		if err != nil {
			return err
		}
		m := governance.NewMember{Name: name, OrgType: orgType, Key: pub}
		m.KeyProof = identity.ProvePossession(institute, chainID, identity.ProofMember, identity.MemberRegistrant(m.Name, m.OrgType, nil))
		body := governance.Propose{Action: governance.ActionAddMember, Member: &m, Reason: reason}
		res, err := env.Client.Send(ctx, stLukes, governance.TypePropose, body, true)
		if err != nil {
			return err
		}
		if open = env.Client.Decided(ctx, governance.TypePropose, body, res); open == nil {
			return errors.New("the proposal was not found after it committed")
		}
	}
	for _, voterName := range voters {
		voter, err := env.Key(voterName)
		if err != nil {
			return err
		}
		if slices.Contains(open.Yes, env.ID(voterName)) {
			continue
		}
		if _, err := env.Client.Send(ctx, voter, governance.TypeVote, governance.Vote{ProposalID: open.ID, Vote: "yes"}, true); err != nil {
			return fmt.Errorf("%s's vote: %w", voterName, err)
		}
		if done, err := env.registered(ctx, institute); err != nil || done {
			return err // passed: no more votes needed
		}
	}
	if done, err := env.registered(ctx, institute); err != nil || !done {
		return errors.Join(err, fmt.Errorf("the vote did not admit %s", name))
	}
	return nil
}

// BatchFile is where the demo keeps Riverside's anchored batch of the
// first trial (one case-report record a line).
func BatchFile(home string) string {
	return filepath.Join(home, "demo", "trials", CleanTrial+"-batch-1.jsonl")
}

// anchorBatch writes Riverside's batch file (the same every time) and
// anchors it, unless the trial has a batch already.
func anchorBatch(ctx context.Context, env *Env, participant string) error {
	var lines []string
	for i, v := range []struct{ date, hba1c, weight string }{{"2026-10-05", "62", "9120"}, {"2026-11-02", "58", "9050"}, {"2026-11-30", "55", "8990"}} {
		lines = append(lines, fmt.Sprintf(`{"participant":"%s","visit":%d,"date":"%s","hba1c_mmol_mol":%s,"weight_dag":%s}`, participant, i+1, v.date, v.hba1c, v.weight))
	}
	path := BatchFile(env.Home)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	t, err := env.trial(ctx, CleanTrial)
	if err != nil || t.Batches > 0 {
		return err
	}
	recs := make([][]byte, len(lines))
	for i, l := range lines {
		recs[i] = []byte(l)
	}
	root, err := anchor.Root(recs)
	if err != nil {
		return err
	}
	site, err := env.Key("Riverside General Hospital")
	if err != nil {
		return err
	}
	if _, err := env.Client.Send(ctx, site, trials.TypeAnchor, trials.Anchor{Trial: CleanTrial, Root: hex.EncodeToString(root), Size: int64(len(recs)),
		Participants: []string{participant}}, true); err != nil {
		return fmt.Errorf("anchoring a batch of %s: %w", CleanTrial, err)
	}
	return nil
}
