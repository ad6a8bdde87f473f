package claims_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// setup: a regulator with the sample tables, two insurers with the sample
// policy, a hospital with a practitioner, a second hospital, and patients
// alice (covered by both insurers, payment consent to both) and bob
// (covered, no payment consent).
func setup(t testing.TB) *moduletest.World {
	recs := records.New()
	w := moduletest.New(t, claims.Declare(), consent.New(recs).Declare(), recs.Declare(), identity.Declare())
	w.AddOrg("reg", "regulator")
	w.AddOrg("careshield", "insurer")
	w.AddOrg("northstar", "insurer")
	w.AddOrg("hosp", "hospital")
	w.AddOrg("clinic", "clinic")
	w.Commit()
	w.AddPractitioner("drA", "hosp")
	w.AddPatient("alice")
	w.AddPatient("bob")
	for _, tb := range []claims.Table{
		{Kind: claims.TableCodes, Version: "2026A", Effective: "2026-01-01", Codes: claims.SampleCodes},
		{Kind: claims.TableCodes, Version: "2026B", Effective: "2026-10-01", Codes: claims.SampleCodeUpdate},
		{Kind: claims.TablePTP, Version: "2026Q1", Effective: "2026-01-01", PTP: claims.SamplePTP},
		{Kind: claims.TableMUE, Version: "2026Q1", Effective: "2026-01-01", MUE: claims.SampleMUE},
	} {
		w.Try(t, "reg", claims.TypeTable, tb, nil)
	}
	for _, ins := range []string{"careshield", "northstar"} {
		w.Try(t, ins, claims.TypePublish, claims.Publish{ID: ins + "-gold", Effective: "2026-01-01", RuleSet: claims.SampleRuleSet()}, nil)
		w.Try(t, ins, claims.TypeCover, claims.Cover{ID: ins + "-alice", Member: w.ID("alice"), Policy: ins + "-gold", Start: "2026-01-01", End: "2026-12-31"}, claims.ErrNoPaymentConsent)
		w.Try(t, "alice", consent.TypeGrant, consent.Grant{Grantee: w.ID(ins), Scope: consent.Scope{All: true}, Purpose: "payment",
			Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, nil)
		w.Try(t, ins, claims.TypeCover, claims.Cover{ID: ins + "-alice", Member: w.ID("alice"), Policy: ins + "-gold", Start: "2026-01-01", End: "2026-12-31"}, nil)
	}
	// Alice is treated at the hospital (a treatment consent); bob too.
	for _, p := range []string{"alice", "bob"} {
		w.Try(t, p, consent.TypeGrant, consent.Grant{Grantee: w.ID("hosp"), Scope: consent.Scope{All: true}, Purpose: "treatment",
			Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, nil)
	}
	// Bob consented to payment, was covered, then revoked the consent.
	w.Try(t, "bob", consent.TypeGrant, consent.Grant{Grantee: w.ID("careshield"), Scope: consent.Scope{All: true}, Purpose: "payment",
		Expires: w.Now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, nil)
	w.Try(t, "careshield", claims.TypeCover, claims.Cover{ID: "careshield-bob", Member: w.ID("bob"), Policy: "careshield-gold", Start: "2026-01-01", End: "2026-12-31"}, nil)
	w.Commit()
	bobs, err := consent.OfPatient(w.St.Committed(), w.ID("bob"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range bobs {
		if c.Purpose == "payment" {
			w.Try(t, "bob", consent.TypeRevoke, consent.Revoke{ID: c.ID}, nil)
		}
	}
	w.Commit()
	return w
}

func claim(w *moduletest.World, id, coverage, patient string, lines ...claims.SubmitLine) claims.Submit {
	return claims.Submit{ID: id, Coverage: coverage, Patient: w.ID(patient), ServiceDate: "2026-11-20", Diagnoses: []string{"E11.9", "I10"}, Lines: lines}
}

func line(code string, units, charge int64, dx ...int64) claims.SubmitLine {
	if len(dx) == 0 {
		dx = []int64{1}
	}
	return claims.SubmitLine{Code: code, Units: units, Charge: charge, Dx: dx}
}

func get(t testing.TB, w *moduletest.World, id string) *claims.Claim {
	t.Helper()
	c, err := claims.GetClaim(w.St.Committed(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClaimLifecycle: a claim adjudicated in the block (deductible and
// coinsurance, the fee schedule, a rule's denial, a waived preventive
// line), paid; a pended claim reviewed; an appeal re-adjudicated; each
// decision replayed to the same trace; every refusal coded and changing
// nothing.
func TestClaimLifecycle(t *testing.T) {
	w := setup(t)
	w.Now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	// 1: a visit and an HbA1c for diabetes, a wellness visit.
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "SLH-1", "careshield-alice", "alice",
		line("99213", 1, 15000), line("83036", 1, 4500), line("G0439", 1, 20000, 2)), nil)
	w.Commit()
	c := get(t, w, "SLH-1")
	if c.Status != claims.StatusAdjudicated || c.RuleSet != sampleHash() || len(c.Trace) != 64 {
		t.Fatalf("claim 1: %+v", c)
	}
	// 99213: allowed 9200 (fee), all deductible; 83036: 1300 deductible;
	// G0439: 13000, waived.
	want := []struct {
		outcome                    string
		allowed, ded, coins, payer int64
		reasons                    string
	}{
		{claims.Covered, 9200, 9200, 0, 0, "CO-45,PR-1"},
		{claims.Covered, 1300, 1300, 0, 0, "CO-45,PR-1"},
		{claims.Covered, 13000, 0, 0, 13000, "CO-45"},
	}
	for i, wl := range want {
		l := c.Lines[i]
		if l.Outcome != wl.outcome || l.Allowed != wl.allowed || l.Deductible != wl.ded || l.Coinsurance != wl.coins || l.Payer != wl.payer || strings.Join(l.Reasons, ",") != wl.reasons {
			t.Errorf("line %d: %+v, want %+v", i+1, l, wl)
		}
	}
	if c.PatientShare != 10500 || c.Payer != 13000 {
		t.Fatalf("totals: patient %d payer %d", c.PatientShare, c.Payer)
	}

	// 2: the deductible so far counts: 500_00 - 10500 left.
	c2 := claim(w, "SLH-2", "careshield-alice", "alice", line("99214", 1, 60000), line("83036", 1, 4500, 2))
	c2.ServiceDate = "2026-11-22"
	w.Try(t, "drA", claims.TypeSubmit, c2, nil)
	w.Commit()
	c = get(t, w, "SLH-2")
	if l := c.Lines[0]; l.Allowed != 13100 || l.Deductible != 13100 {
		t.Fatalf("claim 2 line 1: %+v", l)
	}
	if l := c.Lines[1]; l.Outcome != claims.Denied || l.Rule != "hba1c-needs-diabetes" || strings.Join(l.Reasons, ",") != "CO-50" {
		t.Fatalf("claim 2 line 2 (HbA1c for hypertension): %+v", l)
	}
	if c.Practitioner != w.ID("drA") {
		t.Fatalf("the practitioner who signed renders: %q", c.Practitioner)
	}

	// Replay: the same decision from the recorded inputs.
	for _, id := range []string{"SLH-1", "SLH-2"} {
		c := get(t, w, id)
		p, err := claims.GetVersion(w.St.Committed(), c.Policy, c.PolicyVersion)
		if err != nil {
			t.Fatal(err)
		}
		if _, diffs, err := claims.Replay(c, p); err != nil || len(diffs) > 0 {
			t.Fatalf("replay %s: %v %v", id, err, diffs)
		}
		c.Lines[0].Allowed++ // a tampered decision does not replay
		if _, diffs, _ := claims.Replay(c, p); len(diffs) == 0 {
			t.Fatalf("replay of a tampered %s agreed", id)
		}
	}

	// Pay 1; appeal 2 (the patient), review, pay.
	w.Try(t, "careshield", claims.TypePay, claims.Pay{Claim: "SLH-1", Remittance: "EFT-1"}, nil)
	w.Try(t, "northstar", claims.TypePay, claims.Pay{Claim: "SLH-2", Remittance: "EFT-2"}, claims.ErrUnknownClaim)
	w.Try(t, "careshield", claims.TypePay, claims.Pay{Claim: "SLH-1", Remittance: "EFT-1"}, claims.ErrWrongStatus)
	w.Try(t, "bob", claims.TypeAppeal, claims.Appeal{Claim: "SLH-2", Reason: "not mine"}, claims.ErrUnknownClaim)
	w.Try(t, "alice", claims.TypeAppeal, claims.Appeal{Claim: "SLH-2"}, claims.ErrBadAppeal)
	w.Try(t, "careshield", claims.TypePublish, claims.Publish{ID: "careshield-gold", Effective: "2026-01-01", RuleSet: claims.SampleRuleSet()}, claims.ErrNoChange)
	w.Try(t, "alice", claims.TypeAppeal, claims.Appeal{Claim: "SLH-2", Reason: "HbA1c monitors my diabetes"}, nil)
	w.Try(t, "careshield", claims.TypePay, claims.Pay{Claim: "SLH-2", Remittance: "EFT-2"}, claims.ErrWrongStatus)
	w.Try(t, "careshield", claims.TypeReview, claims.Review{Claim: "SLH-2", Lines: []claims.ReviewLine{{N: 2, Outcome: claims.Covered, Allowed: 9999}}}, claims.ErrBadReview)
	w.Try(t, "careshield", claims.TypeReview, claims.Review{Claim: "SLH-2", Lines: []claims.ReviewLine{{N: 2, Outcome: claims.Covered, Allowed: 1300}}, Note: "E11.9 on file"}, nil)
	w.Try(t, "careshield", claims.TypePay, claims.Pay{Claim: "SLH-2", Remittance: "EFT-2"}, nil)
	w.Commit()
	c = get(t, w, "SLH-2")
	if c.Status != claims.StatusPaid || !c.Lines[1].Reviewed || c.Lines[1].Outcome != claims.Covered || c.Paid != c.Payer {
		t.Fatalf("claim 2 after appeal: %+v", c)
	}
	if got := []string{c.Steps[0].Status, c.Steps[1].Status, c.Steps[2].Status, c.Steps[3].Status}; strings.Join(got, ",") != "adjudicated,appealed,readjudicated,paid" {
		t.Fatalf("steps: %v", got)
	}

	// 3: pended by a rule (a level-5 visit for a cold), then reviewed.
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "SLH-3", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-11-21",
		Diagnoses: []string{"J06.9"}, Lines: []claims.SubmitLine{line("99215", 1, 30000)}}, nil)
	w.Commit()
	if c := get(t, w, "SLH-3"); c.Status != claims.StatusPended || c.Lines[0].Rule != "high-level-visit-review" {
		t.Fatalf("claim 3: %+v", c.Lines[0])
	}
	w.Try(t, "careshield", claims.TypeReview, claims.Review{Claim: "SLH-3", Lines: []claims.ReviewLine{{N: 1, Outcome: claims.Denied, Reason: "CO-150"}}}, nil)
	if c := get(t, w, "SLH-3"); c.Status != claims.StatusAdjudicated || c.Lines[0].Outcome != claims.Denied {
		t.Fatalf("claim 3 reviewed: %+v", c)
	}

	// Refusals: each its code, nothing changed.
	for _, tc := range []struct {
		name, as string
		body     claims.Submit
		want     error
	}{
		{"duplicate id", "hosp", claim(w, "SLH-1", "careshield-alice", "alice", line("99213", 1, 100)), claims.ErrClaimExists},
		{"unknown code", "hosp", claim(w, "SLH-9", "careshield-alice", "alice", line("99999", 1, 100)), claims.ErrUnknownCode},
		{"retired code", "hosp", claims.Submit{ID: "SLH-9", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-11-20", Diagnoses: []string{"N18.3"},
			Lines: []claims.SubmitLine{line("99213", 1, 100)}}, claims.ErrCodeNotValid},
		{"no payment consent", "hosp", claim(w, "SLH-9", "careshield-bob", "bob", line("99213", 1, 100)), claims.ErrNoPaymentConsent},
		{"another's coverage", "hosp", claim(w, "SLH-9", "careshield-alice", "bob", line("99213", 1, 100)), claims.ErrUnknownCoverage},
		{"future service", "hosp", claims.Submit{ID: "SLH-9", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-12-01", Diagnoses: []string{"I10"},
			Lines: []claims.SubmitLine{line("99213", 1, 100)}}, claims.ErrBadClaim},
		{"overflowing charge", "hosp", claim(w, "SLH-9", "careshield-alice", "alice", line("99213", 1, 1<<62)), claims.ErrBadClaim},
		{"bad pointer", "hosp", claim(w, "SLH-9", "careshield-alice", "alice", line("99213", 1, 100, 3)), claims.ErrBadClaim},
		{"another's practitioner", "clinic", claims.Submit{ID: "SLH-9", Coverage: "careshield-alice", Patient: w.ID("alice"), Practitioner: w.ID("drA"), ServiceDate: "2026-11-20",
			Diagnoses: []string{"I10"}, Lines: []claims.SubmitLine{line("99213", 1, 100)}}, claims.ErrPractitioner},
		{"not a provider", "careshield", claim(w, "SLH-9", "careshield-alice", "alice", line("99213", 1, 100)), ledger.ErrUnauthorized},
		{"no relation with the patient", "clinic", claim(w, "SLH-9", "careshield-alice", "alice", line("99213", 1, 100)), claims.ErrNoRelation},
	} {
		t.Run(tc.name, func(t *testing.T) { w.Try(t, tc.as, claims.TypeSubmit, tc.body, tc.want) })
	}
	// A suspended practitioner renders nothing.
	w.Try(t, "hosp", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("drA"), Status: identity.StatusSuspended, Note: "licence review"}, nil)
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "SLH-9", Coverage: "careshield-alice", Patient: w.ID("alice"), Practitioner: w.ID("drA"), ServiceDate: "2026-11-20",
		Diagnoses: []string{"I10"}, Lines: []claims.SubmitLine{line("99213", 1, 100)}}, claims.ErrPractitioner)
}

// TestSignals: NCCI edits on one claim and across claims, units over the
// cap, the same service twice to one payer, and to another payer — which
// each payer sees without the other's name.
func TestSignals(t *testing.T) {
	w := setup(t)
	w.Now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	// An ECG complete and its tracing on one claim: the tracing is bundled.
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "A-1", "careshield-alice", "alice", line("93000", 1, 5000), line("93005", 1, 3000), line("36415", 3, 900)), nil)
	// The interpretation on a separate claim the same day: unbundling.
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "A-2", "careshield-alice", "alice", line("93010", 1, 3000)), nil)
	// An injection with arthrocentesis: allowed with modifier 59.
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "A-3", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-11-19", Diagnoses: []string{"M17.11"},
		Lines: []claims.SubmitLine{line("20610", 1, 20000), {Code: "96372", Modifiers: []string{"59"}, Units: 1, Charge: 5000, Dx: []int64{1}}}}, nil)
	// Column 2 first, column 1 on a later claim: signalled too.
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "A-6", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-11-18", Diagnoses: []string{"E11.9"},
		Lines: []claims.SubmitLine{line("80048", 1, 2000)}}, nil)
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "A-7", Coverage: "careshield-alice", Patient: w.ID("alice"), ServiceDate: "2026-11-18", Diagnoses: []string{"E11.9"},
		Lines: []claims.SubmitLine{line("80053", 1, 3000)}}, nil)
	// The same ECG again to CareShield, and to Northstar.
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "A-4", "careshield-alice", "alice", line("93000", 1, 5000)), nil)
	w.Try(t, "hosp", claims.TypeSubmit, claim(w, "A-5", "northstar-alice", "alice", line("93000", 1, 5000)), nil)
	w.Commit()
	check := func(id string, n int, outcome, reason string) {
		t.Helper()
		l := get(t, w, id).Lines[n-1]
		if l.Outcome != outcome || !strings.Contains(strings.Join(l.Reasons, ","), reason) {
			t.Errorf("%s line %d: %s %v (%s), want %s %s", id, n, l.Outcome, l.Reasons, l.Rule, outcome, reason)
		}
	}
	check("A-1", 2, claims.Denied, "CO-97")
	check("A-1", 3, claims.Denied, "CO-151")
	check("A-2", 1, claims.Denied, "CO-97")
	check("A-3", 2, claims.Covered, "PR-")
	check("A-4", 1, claims.Denied, "CO-18")
	check("A-5", 1, claims.Pended, "CO-133")

	if sig := get(t, w, "A-1").Signals; !slices.Contains(sig, claims.SignalCrossPayer) {
		t.Errorf("the earlier claim of a service billed to two payers shows no signal: %v", sig)
	}
	signals := func(who string) map[string]int {
		t.Helper()
		q, err := w.Query(who, "/api/v1/claim-signals", nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, s := range q.([]*claims.Signal) {
			out[s.Kind+" "+s.Claim]++
			if who == "northstar" && strings.Contains(s.Detail, "A-") {
				t.Errorf("Northstar learns of another payer's claim: %+v", s)
			}
			if who != "reg" && s.Insurer != w.ID(who) {
				t.Errorf("%s sees a signal of another insurer: %+v", who, s)
			}
		}
		return out
	}
	cs := signals("careshield")
	for _, k := range []string{"unbundling A-2", "unbundling A-7", "units_over_cap A-1", "duplicate A-4", "cross_payer_duplicate A-1"} {
		if cs[k] == 0 {
			t.Errorf("CareShield lacks %q: %v", k, cs)
		}
	}
	// Northstar: its claim's cross-payer duplicate, and the ECG billed
	// apart from its parts (billed to another payer, unnamed).
	if ns := signals("northstar"); ns["cross_payer_duplicate A-5"] == 0 || ns["unbundling A-5"] == 0 || len(ns) != 2 {
		t.Errorf("Northstar: %v", ns)
	}
	if reg := signals("reg"); len(reg) < 5 {
		t.Errorf("regulator: %v", reg)
	}
	if _, err := w.Query("hosp", "/api/v1/claim-signals", nil); !errors.Is(err, claims.ErrNotShown) {
		t.Errorf("a hospital reads signals: %v", err)
	}
}

func sampleHash() string {
	rs := claims.SampleRuleSet()
	return rs.Hash()
}

// TestSuspendedOnServiceDate: a practitioner suspended and reinstated
// since; claims for services dated inside the suspension (its first and
// last day included) are denied CO-B7 and signalled, the others are not.
func TestSuspendedOnServiceDate(t *testing.T) {
	w := setup(t)
	at := func(day int) { w.Now = time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC) }
	at(10)
	w.Try(t, "hosp", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("drA"), Status: identity.StatusSuspended, Note: "licence review"}, nil)
	w.Commit()
	at(15)
	w.Try(t, "hosp", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("drA"), Status: identity.StatusActive}, nil)
	w.Commit()
	at(25)
	for _, tc := range []struct {
		date   string
		denied bool
	}{
		{"2026-11-05", false}, {"2026-11-10", true}, {"2026-11-12", true}, {"2026-11-15", true}, {"2026-11-16", false},
	} {
		id := "S-" + tc.date
		w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: id, Coverage: "careshield-alice", Patient: w.ID("alice"), Practitioner: w.ID("drA"), ServiceDate: tc.date,
			Diagnoses: []string{"I10"}, Lines: []claims.SubmitLine{line("99213", 1, 10000), line("36415", 1, 900)}}, nil)
		w.Commit()
		c := get(t, w, id)
		signalled := slices.Contains(c.Signals, claims.SignalSuspended)
		for _, l := range c.Lines {
			if got := l.Outcome == claims.Denied && slices.Contains(l.Reasons, "CO-B7"); got != tc.denied {
				t.Errorf("%s line %d: %s %v, want denied CO-B7 %v", tc.date, l.N, l.Outcome, l.Reasons, tc.denied)
			}
		}
		if signalled != tc.denied {
			t.Errorf("%s: signals %v", tc.date, c.Signals)
		}
		// The decision replays from what the claim recorded.
		p, err := claims.GetVersion(w.St.Committed(), c.Policy, c.PolicyVersion)
		if err != nil {
			t.Fatal(err)
		}
		if _, diffs, err := claims.Replay(c, p); err != nil || len(diffs) > 0 {
			t.Errorf("%s: replay: %v %v", tc.date, err, diffs)
		}
	}
	// A second identity of the same doctor at the hospital does not clear
	// the days of the first's suspension.
	b := w.PractitionerBody("drA2", "hosp")
	b.Licence = "LIC-drA"
	w.Try(t, "hosp", identity.TypeRegisterPractitioner, b, nil)
	w.Commit()
	w.Try(t, "hosp", claims.TypeSubmit, claims.Submit{ID: "S-SECOND", Coverage: "careshield-alice", Patient: w.ID("alice"), Practitioner: w.ID("drA2"), ServiceDate: "2026-11-12",
		Diagnoses: []string{"I10"}, Lines: []claims.SubmitLine{line("99213", 1, 10000)}}, nil)
	w.Commit()
	if c := get(t, w, "S-SECOND"); c.Lines[0].Outcome != claims.Denied || !slices.Contains(c.Signals, claims.SignalSuspended) {
		t.Errorf("billed under a second identity: %+v %v", c.Lines[0], c.Signals)
	}
	for _, who := range []string{"careshield", "reg"} {
		q, err := w.Query(who, "/api/v1/claim-signals", nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range q.([]*claims.Signal) {
			if s.Kind == claims.SignalSuspended {
				n++
				if !strings.Contains(s.Detail, "suspended") {
					t.Errorf("signal: %+v", s)
				}
			}
		}
		if n != 4 {
			t.Errorf("%s sees %d suspended_practitioner signals, want 4", who, n)
		}
	}
}
