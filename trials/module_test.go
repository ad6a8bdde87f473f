package trials_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/trials"
)

const commitment = "5e0c0f2bd1aa56a1a7f3c1e2b0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"

// setup: a research institute sponsoring, a hospital site with a
// practitioner, a pharmacy that is no site, two patients — alice has a
// research consent for the hospital, bob none.
func setup(t *testing.T) *moduletest.World {
	recs := records.New()
	w := moduletest.New(t, trials.Declare(), consent.New(recs).Declare(), recs.Declare(), identity.Declare())
	w.AddOrg("institute", "research")
	w.AddOrg("hosp", "hospital")
	w.AddOrg("pharm", "pharmacy")
	w.Commit()
	w.AddPractitioner("drA", "hosp")
	w.AddPatient("alice")
	w.AddPatient("bob")
	w.AddPatient("carol")
	w.AddPatient("dave")
	// Study-scoped research consents: bob's for another trial, dave's for
	// this one.
	for _, g := range [][2]string{{"bob", "PRM-OTHER"}, {"dave", "PRM-2026-0001"}} {
		if err := w.Do(g[0], consent.TypeGrant, consent.Grant{Grantee: w.ID("hosp"), Scope: consent.Scope{Studies: []string{g[1]}}, Purpose: "research",
			Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"alice", "carol"} {
		if err := w.Do(p, consent.TypeGrant, consent.Grant{Grantee: w.ID("hosp"), Scope: consent.Scope{All: true}, Purpose: "research",
			Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func protocol(w *moduletest.World, change func(*trials.Protocol)) trials.Protocol {
	p := trials.Protocol{Title: "Metformin XR versus IR", Conditions: []string{"Diabetes mellitus type 2"}, Interventions: []string{"metformin XR"},
		Inclusion: "adults 40-75, HbA1c 7-10%", Exclusion: "eGFR < 45", SampleSize: 240,
		PrimaryOutcomes:   []trials.Outcome{{ID: "hba1c", Measure: "change in HbA1c", TimeFrame: "24 weeks"}},
		SecondaryOutcomes: []trials.Outcome{{ID: "weight", Measure: "change in weight", TimeFrame: "24 weeks"}},
		Sites:             []string{w.ID("hosp")}, ProtocolCommitment: commitment}
	if change != nil {
		change(&p)
	}
	return p
}

// TestTrialLifecycle: register, amend before and after enrolment (the
// switch after enrolment is flagged with its version and time), enrol
// with and without research consent, withdraw, results and their score;
// every refusal with its own code and no change.
func TestTrialLifecycle(t *testing.T) {
	w := setup(t)
	id := "PRM-2026-0001"
	reg := func(change func(*trials.Protocol)) trials.Register {
		return trials.Register{ID: id, Protocol: protocol(w, change)}
	}
	amend := func(reason string, change func(*trials.Protocol)) trials.Amend {
		return trials.Amend{ID: id, Reason: reason, Protocol: protocol(w, change)}
	}
	trial := func(t *testing.T) *trials.Trial {
		tr, err := trials.Get(w.St.Committed(), id)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	bigger := func(p *trials.Protocol) { p.SampleSize = 300 }
	switched := func(p *trials.Protocol) {
		p.SampleSize = 300
		p.PrimaryOutcomes = []trials.Outcome{{ID: "fpg", Measure: "fasting plasma glucose", TimeFrame: "12 weeks"}}
	}
	steps := []struct {
		name, as, typ string
		body          any
		want          error
		then          func(t *testing.T)
	}{
		{"no primary outcome", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.PrimaryOutcomes = nil }), trials.ErrMissingItem, nil},
		{"no sample size", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.SampleSize = 0 }), trials.ErrMissingItem, nil},
		{"no commitment", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.ProtocolCommitment = "" }), trials.ErrMissingItem, nil},
		{"a site that is no member", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.Sites = []string{"0000000000000000000000000000000000000000"} }), trials.ErrBadSite, nil},
		{"an outcome id twice", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.SecondaryOutcomes[0].ID = "hba1c" }), trials.ErrBadItem, nil},
		{"a control character", "institute", trials.TypeRegister, reg(func(p *trials.Protocol) { p.Title = "a\x00b" }), trials.ErrBadItem, nil},
		{"a bad id", "institute", trials.TypeRegister, trials.Register{ID: "a/b", Protocol: protocol(w, nil)}, trials.ErrBadTrialID, nil},
		{"a pharmacy is no sponsor", "pharm", trials.TypeRegister, reg(nil), ledger.ErrUnauthorized, nil},
		{"registered", "institute", trials.TypeRegister, reg(nil), nil, func(t *testing.T) {
			if tr := trial(t); tr.Version != 1 || tr.Status != trials.StatusRecruiting || tr.Sponsor != w.ID("institute") || tr.Registered != w.Now.UTC().Format(time.RFC3339) {
				t.Fatalf("%+v", tr)
			}
		}},
		{"again", "institute", trials.TypeRegister, reg(nil), trials.ErrTrialExists, nil},
		{"amended by another", "hosp", trials.TypeAmend, amend("bigger", bigger), trials.ErrNotSponsor, nil},
		{"an amendment that changes nothing", "institute", trials.TypeAmend, amend("nothing", nil), trials.ErrNoChange, nil},
		{"an amendment without a reason", "institute", trials.TypeAmend, amend("", bigger), trials.ErrMissingItem, nil},
		{"primary outcome changed before enrolment: not flagged", "institute", trials.TypeAmend, amend("pilot", func(p *trials.Protocol) {
			p.PrimaryOutcomes[0].TimeFrame = "26 weeks"
		}), nil, func(t *testing.T) {
			if tr := trial(t); tr.Version != 2 || len(tr.Flags) != 0 {
				t.Fatalf("%+v", tr)
			}
		}},
		{"enrolment with a research consent for another study", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("bob")}, trials.ErrNoConsent, nil},
		{"enrolment with a research consent for this study", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("dave")}, nil, nil},
		{"enrolment by a non-site", "pharm", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("alice")}, trials.ErrNotSite, nil},
		{"enrolment of no patient", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("drA")}, trials.ErrNotPatient, nil},
		{"enrolled by the site's practitioner", "drA", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("alice")}, nil, func(t *testing.T) {
			if tr := trial(t); tr.Enrolled != 2 || tr.FirstEnrol == "" { // dave, alice
				t.Fatalf("%+v", tr)
			}
		}},
		{"enrolled twice", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("alice")}, trials.ErrEnrolled, nil},
		{"enrolled by the site", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("carol")}, nil, nil},
		{"a sample size change after enrolment: not flagged", "institute", trials.TypeAmend, amend("bigger", func(p *trials.Protocol) {
			p.PrimaryOutcomes[0].TimeFrame = "26 weeks"
			p.SampleSize = 300
		}), nil, func(t *testing.T) {
			if tr := trial(t); tr.Version != 3 || len(tr.Flags) != 0 {
				t.Fatalf("%+v", tr)
			}
		}},
		{"the primary outcome switched after enrolment: flagged", "institute", trials.TypeAmend, amend("slow recruitment", switched), nil, func(t *testing.T) {
			tr := trial(t)
			if tr.Version != 4 || len(tr.Flags) != 1 {
				t.Fatalf("%+v", tr)
			}
			f := tr.Flags[0]
			if f.Kind != trials.FlagOutcomeSwitched || f.Version != 4 || f.Time != w.Now.UTC().Format(time.RFC3339) ||
				!slices.Equal(f.Added, []string{"fpg"}) || !slices.Equal(f.Dropped, []string{"hba1c"}) {
				t.Fatalf("flag %+v", f)
			}
		}},
		{"someone else withdraws alice", "bob", trials.TypeWithdraw, trials.Withdraw{Trial: id, Participant: w.ID("alice")}, trials.ErrNotYourWithdraw, nil},
		{"another organisation withdraws alice", "pharm", trials.TypeWithdraw, trials.Withdraw{Trial: id, Participant: w.ID("alice")}, trials.ErrNotYourWithdraw, nil},
		{"alice withdraws", "alice", trials.TypeWithdraw, trials.Withdraw{Trial: id, Participant: w.ID("alice")}, nil, func(t *testing.T) {
			if tr := trial(t); tr.Enrolled != 2 || tr.Withdrawn != 1 || tr.EverEnrolled != 3 {
				t.Fatalf("%+v", tr)
			}
		}},
		{"a batch from a non-site", "pharm", trials.TypeAnchor, trials.Anchor{Trial: id, Root: commitment, Size: 3, Participants: []string{w.ID("carol")}}, trials.ErrNotSite, nil},
		{"a batch without a root", "hosp", trials.TypeAnchor, trials.Anchor{Trial: id, Root: "abc", Size: 3, Participants: []string{w.ID("carol")}}, trials.ErrBadBatch, nil},
		{"a batch naming a participant twice", "hosp", trials.TypeAnchor, trials.Anchor{Trial: id, Root: commitment, Size: 3, Participants: []string{w.ID("carol"), w.ID("carol")}}, trials.ErrBadBatch, nil},
		{"a batch for a withdrawn participant", "hosp", trials.TypeAnchor, trials.Anchor{Trial: id, Root: commitment, Size: 3, Participants: []string{w.ID("alice")}}, trials.ErrWithdrawnData, nil},
		{"a batch for someone never enrolled", "hosp", trials.TypeAnchor, trials.Anchor{Trial: id, Root: commitment, Size: 3, Participants: []string{w.ID("bob")}}, trials.ErrWithdrawnData, nil},
		{"a batch anchored", "drA", trials.TypeAnchor, trials.Anchor{Trial: id, Root: commitment, Size: 3, Participants: []string{w.ID("carol")}}, nil, func(t *testing.T) {
			b, err := trials.GetBatch(w.St.Committed(), id, 1)
			if err != nil || b.Site != w.ID("hosp") || b.Size != 3 || b.Participants != 1 || b.Root != commitment || trial(t).Batches != 1 {
				t.Fatalf("%+v %v", b, err)
			}
		}},
		{"withdrawn twice", "alice", trials.TypeWithdraw, trials.Withdraw{Trial: id, Participant: w.ID("alice")}, trials.ErrNotEnrolled, nil},
		{"results for an unknown outcome", "institute", trials.TypeResults, trials.RegisterResults{Trial: id, Results: trials.Results{
			Reported: []trials.Reported{{ID: "hba1c", Summary: "-0.9", AnalysisCommitment: commitment}}}}, trials.ErrUnknownOutcome, nil},
		{"results by another", "hosp", trials.TypeResults, trials.RegisterResults{Trial: id, Results: trials.Results{
			Reported: []trials.Reported{{ID: "fpg", Summary: "-1.2 mmol/l", AnalysisCommitment: commitment}}}}, trials.ErrNotSponsor, nil},
		{"results", "institute", trials.TypeResults, trials.RegisterResults{Trial: id, Results: trials.Results{
			Reported: []trials.Reported{{ID: "fpg", Summary: "-1.2 mmol/l", AnalysisCommitment: commitment}},
			Added:    []trials.AddedOutcome{{ID: "hypo", Measure: "hypoglycaemia events", Summary: "3 vs 5"}}}}, nil, func(t *testing.T) {
			tr := trial(t)
			want := trials.Score{Registered: 2, Reported: 1, Missing: 1, Added: 1, PrimarySwitched: true}
			if tr.Status != trials.StatusReported || tr.Score == nil || *tr.Score != want || len(tr.Flags) != 2 || tr.Flags[1].Kind != trials.FlagOutcomeAdded {
				t.Fatalf("%+v score %+v", tr, tr.Score)
			}
		}},
		{"enrolment after the results", "hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("bob")}, trials.ErrTrialClosed, nil},
		{"an amendment after the results", "institute", trials.TypeAmend, amend("late", bigger), trials.ErrTrialClosed, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
	// The history, with what changed and the flagged version marked.
	var history ledger.Query
	for _, q := range trials.Declare().Queries {
		if q.Name == "history" {
			history = q
		}
	}
	out, err := history.Handle(&ledger.Request{State: w.St.Committed(), Path: func(string) string { return id }, Now: w.Now})
	if err != nil {
		t.Fatal(err)
	}
	vs := out.(ledger.Page).Items.([]*trials.VersionChange)
	if len(vs) != 4 || vs[0].Changes[0] != "registered" || vs[3].Reason != "slow recruitment" || !vs[3].Flagged || vs[2].Flagged ||
		!slices.Contains(vs[3].Changes, `primary outcome added: fpg "fasting plasma glucose" (12 weeks)`) ||
		!slices.Contains(vs[3].Changes, `primary outcome removed: hba1c "change in HbA1c"`) ||
		!slices.Contains(vs[2].Changes, "sample size: 240 → 300") {
		for _, v := range vs {
			t.Logf("v%d %q flagged %v: %q", v.Version.Version, v.Reason, v.Flagged, v.Changes)
		}
		t.Fatal("history")
	}
	// A page of one version says what changed from the one before it.
	out, err = history.Handle(&ledger.Request{State: w.St.Committed(), Path: func(string) string { return id }, Now: w.Now,
		Query: map[string][]string{"limit": {"1"}, "after": {string([]byte{0, 0, 0, 0, 0, 0, 0, 4})}}})
	if err != nil {
		t.Fatal(err)
	}
	if vs := out.(ledger.Page).Items.([]*trials.VersionChange); len(vs) != 1 || !strings.HasPrefix(vs[0].Changes[0], "sample size") && !slices.Contains(vs[0].Changes, `primary outcome added: fpg "fasting plasma glucose" (12 weeks)`) {
		t.Fatalf("the fourth version alone: %+v", vs)
	}
	// Registry-wide, the flags by trial.
	for _, q := range trials.Declare().Queries {
		if q.Name == "flags" {
			out, err := q.Handle(&ledger.Request{State: w.St.Committed(), Now: w.Now})
			if err != nil {
				t.Fatal(err)
			}
			rows := out.(ledger.Page).Items.([]*trials.FlagRow)
			if len(rows) != 2 || rows[0].Trial != id || rows[0].Kind != trials.FlagOutcomeSwitched || rows[0].Version != 4 || rows[1].Kind != trials.FlagOutcomeAdded {
				t.Fatalf("flags: %+v", rows)
			}
		}
	}
	if _, err := trials.Get(w.St.Committed(), "PRM-NONE"); !errors.Is(err, trials.ErrUnknownTrial) {
		t.Fatalf("an unknown trial: %v", err)
	}
}

// TestEnrolmentReaders: who is enrolled where is read by the sponsor and a
// regulator (every enrolment), a site (those it enrolled, not another
// site's), a participant (their own) — and by no one else; an enrolment
// one may not read answers as one that does not exist, under its
// participant id and its FHIR research subject id alike.
func TestEnrolmentReaders(t *testing.T) {
	w := setup(t)
	w.AddOrg("reg", "regulator")
	w.AddOrg("clinic", "clinic")
	w.Commit()
	w.AddPractitioner("drB", "clinic")
	w.AddPatient("erin")
	if err := w.Do("erin", consent.TypeGrant, consent.Grant{Grantee: w.ID("clinic"), Scope: consent.Scope{All: true}, Purpose: "research",
		Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	id := "PRM-2026-0001"
	for _, s := range []struct {
		as, typ string
		body    any
	}{
		{"institute", trials.TypeRegister, trials.Register{ID: id, Protocol: protocol(w, func(p *trials.Protocol) { p.Sites = append(p.Sites, w.ID("clinic")) })}},
		{"hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("alice")}},
		{"hosp", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("carol")}},
		{"drB", trials.TypeEnrol, trials.Enrol{Trial: id, Participant: w.ID("erin")}},
		{"carol", trials.TypeWithdraw, trials.Withdraw{Trial: id, Participant: w.ID("carol")}},
	} {
		w.Try(t, s.as, s.typ, s.body, nil)
	}
	names := func(items any) []string {
		var out []string
		for _, p := range items.([]*trials.Participant) {
			out = append(out, w.Name(p.Participant))
		}
		return out
	}
	for _, c := range []struct {
		who  string
		want []string // nil: refused
	}{
		{"institute", []string{"alice", "carol", "erin"}},
		{"reg", []string{"alice", "carol", "erin"}},
		{"hosp", []string{"alice", "carol"}},
		{"drA", []string{"alice", "carol"}},
		{"clinic", []string{"erin"}},
		{"drB", []string{"erin"}},
		{"alice", []string{"alice"}},
		{"carol", []string{"carol"}},
		{"bob", []string{}}, // a patient never enrolled: none of their own
		{"pharm", nil},
	} {
		t.Run(c.who, func(t *testing.T) {
			items, err := w.Query(c.who, "/api/v1/trials/"+id+"/participants", nil)
			signer, _ := w.Signer(c.who)
			if c.want == nil {
				if !errors.Is(err, trials.ErrNoTrialStanding) {
					t.Fatalf("listed: %v %v", items, err)
				}
				// Refused alike for an enrolled participant, one not
				// enrolled, and an unknown research subject: no oracle.
				for _, p := range []string{"alice", "bob", "erin"} {
					if _, err := w.Query(c.who, "/api/v1/trials/"+id+"/participants/"+w.ID(p), nil); err == nil || err.Error() != trials.ErrNoTrialStanding.Error() {
						t.Errorf("%s reads %s's enrolment: %v", c.who, p, err)
					}
					_, _, err := trials.Subject(w.St.Committed(), signer, trials.SubjectID(&trials.Participant{Trial: id, Participant: w.ID(p)}))
					if err == nil || err.Error() != trials.ErrNoTrialStanding.Error() {
						t.Errorf("%s reads %s's research subject: %v", c.who, p, err)
					}
				}
				return
			}
			got := append([]string{}, names(items)...)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
			// Each enrolment alone: the visible ones answer, the others
			// (erin's to the hospital) exactly as one that does not
			// exist (bob, never enrolled) — the same words, no id.
			absent := trials.ErrNoEnrolment.Wrapf("in %s", id).Error()
			for _, p := range []string{"alice", "carol", "erin", "bob"} {
				one, err := w.Query(c.who, "/api/v1/trials/"+id+"/participants/"+w.ID(p), nil)
				sees := slices.Contains(c.want, p)
				if sees && (err != nil || one.(*trials.Participant).Participant != w.ID(p)) || !sees && (err == nil || err.Error() != absent) {
					t.Errorf("%s reads %s's enrolment: %v %v", c.who, p, one, err)
				}
				_, sp, err := trials.Subject(w.St.Committed(), signer, trials.SubjectID(&trials.Participant{Trial: id, Participant: w.ID(p)}))
				if sees && (err != nil || sp.Participant != w.ID(p)) || !sees && (err == nil || err.Error() != absent) {
					t.Errorf("%s reads %s's research subject: %v %v", c.who, p, sp, err)
				}
			}
		})
	}
	for _, bad := range []string{"PRM-2026-0001", "PRM-2026-0001.xyz", "a/b." + strings.Repeat("0", 16), "PRM-2026-0001." + strings.Repeat("0", 15)} {
		if _, _, err := trials.ParseSubjectID(bad); !errors.Is(err, trials.ErrBadSubjectID) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
