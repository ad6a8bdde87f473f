package demo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
)

// SecondInsurer joins by the members' vote, so that the demo shows a
// service billed to two payers: a signal neither could see alone.
const SecondInsurer = "Northstar Health"

// The demo's policy and the coverages of Patient 1.
const (
	DemoPolicy        = "careshield-gold"
	DemoCoverage      = "CS-100001"
	SecondPolicy      = "northstar-standard"
	SecondCoverage    = "NS-200001"
	demoTablesVersion = "2026-A"
)

// DemoClaims are the demo's claims by St Luke's for Patient 1, each left
// in a state the insurer's page shows.
var DemoClaims = []string{"SLH-DEMO-1", "SLH-DEMO-2", "SLH-DEMO-3", "SLH-DEMO-4", "SLH-DEMO-5", "SLH-DEMO-6", "SLH-DEMO-7"}

// insuranceClaims: the regulator registers the code set and the NCCI
// edits; CareShield publishes its policy, covers Patient 1, who consents
// to payment; Northstar Health is voted in and covers Patient 1 too. St
// Luke's submits seven claims, adjudicated in their blocks: one paid, one
// pended for review, one denied by a rule and appealed by the patient, one
// appealed and re-adjudicated, one with a bundled ECG tracing, one billing
// the ECG's interpretation apart (unbundling), and the same ECG billed to
// Northstar (a cross-payer duplicate). Each step is skipped when the
// ledger shows it done.
func insuranceClaims(ctx context.Context, env *Env) error {
	regulator, err := env.Key("National Medicines Agency")
	if err != nil {
		return err
	}
	careshield, err := env.Key("CareShield Insurance")
	if err != nil {
		return err
	}
	northstar, err := env.Add(Member{Name: SecondInsurer, Kind: "organisation", OrgType: "insurer"})
	if err != nil {
		return err
	}
	var tables []*claims.TableVersion
	if err := env.Client.Get(ctx, "/api/v1/claim-tables", &tables); err != nil {
		return err
	}
	if len(tables) == 0 {
		for _, t := range []claims.Table{
			{Kind: claims.TableCodes, Version: demoTablesVersion, Effective: "2026-01-01", Codes: claims.SampleCodes},
			{Kind: claims.TableCodes, Version: "2026-B", Effective: "2026-10-01", Codes: claims.SampleCodeUpdate},
			{Kind: claims.TablePTP, Version: demoTablesVersion, Effective: "2026-01-01", PTP: claims.SamplePTP},
			{Kind: claims.TableMUE, Version: demoTablesVersion, Effective: "2026-01-01", MUE: claims.SampleMUE},
		} {
			if _, err := env.Client.Send(ctx, regulator, claims.TypeTable, t, true); err != nil {
				return fmt.Errorf("the %s table: %w", t.Kind, err)
			}
		}
	}
	// The second insurer, voted in by the founders (and the institute).
	if err := admit(ctx, env, northstar, SecondInsurer, "insurer", "a second payer in the region", append(append([]string{}, voters...),
		"CareShield Insurance", "National Medicines Agency", Institute)); err != nil {
		return fmt.Errorf("admitting %s: %w", SecondInsurer, err)
	}
	patient, err := env.Key(patientName(1))
	if err != nil {
		return err
	}
	year := time.Now().UTC().Year()
	start, end := fmt.Sprintf("%d-01-01", year-1), fmt.Sprintf("%d-12-31", year+1)
	// CareShield Gold with a low deductible (so the demo's claims show the
	// payer's part too); Northstar's plan is the sample's with its own
	// cost share.
	gold := claims.SampleRuleSet()
	gold.Plan.Deductible = 100_00
	second := claims.SampleRuleSet()
	second.Plan = claims.Plan{Name: "Northstar Standard", Deductible: 1000_00, CoinsurancePercent: 30, OOPMax: 5000_00}
	for _, p := range []struct {
		insurer          string
		policy, coverage string
		rules            claims.RuleSet
	}{{"CareShield Insurance", DemoPolicy, DemoCoverage, gold}, {SecondInsurer, SecondPolicy, SecondCoverage, second}} {
		key := careshield
		if p.insurer == SecondInsurer {
			key = northstar
		}
		var versions []*claims.Policy
		if err := absent(env.Client.Get(ctx, "/api/v1/claim-policies/"+p.policy, &versions)); err != nil {
			return err
		}
		if len(versions) == 0 {
			if _, err := env.Client.Send(ctx, key, claims.TypePublish, claims.Publish{ID: p.policy, Effective: "2026-01-01", RuleSet: p.rules}, true); err != nil {
				return fmt.Errorf("%s's policy: %w", p.insurer, err)
			}
		}
		var cov claims.Coverage
		if err := absent(env.Client.WithKey(key).Get(ctx, "/api/v1/coverage/"+p.coverage, &cov)); err != nil {
			return err
		}
		if cov.ID == "" {
			// The patient agrees to the insurer's handling of their
			// claims first; then the insurer registers the coverage.
			if _, err := env.Client.Send(ctx, patient, consent.TypeGrant, consent.Grant{Grantee: env.ID(p.insurer), Scope: consent.Scope{All: true},
				Purpose: "payment", Expires: time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
				return fmt.Errorf("%s's payment consent: %w", patientName(1), err)
			}
			if _, err := env.Client.Send(ctx, key, claims.TypeCover, claims.Cover{ID: p.coverage, Member: env.ID(patientName(1)), Policy: p.policy,
				Start: start, End: end}, true); err != nil {
				return fmt.Errorf("%s's coverage: %w", p.insurer, err)
			}
		}
	}

	// The claims: St Luke's, rendered by Dr Amara Okafor, on recent days.
	doctor, err := env.Key("Dr Amara Okafor")
	if err != nil {
		return err
	}
	stLukes, err := env.Key("St Luke's Hospital")
	if err != nil {
		return err
	}
	day := func(ago int) string { return time.Now().UTC().AddDate(0, 0, -ago).Format(time.DateOnly) }
	line := func(code string, charge int64, dx ...int64) claims.SubmitLine {
		return claims.SubmitLine{Code: code, Units: 1, Charge: charge, Dx: dx}
	}
	submissions := []claims.Submit{
		{ID: DemoClaims[0], Coverage: DemoCoverage, ServiceDate: day(20), Diagnoses: []string{"E11.9", "I10"},
			Lines: []claims.SubmitLine{line("99214", 25000, 1, 2), line("83036", 4500, 1), line("36415", 1500, 1)}},
		{ID: DemoClaims[1], Coverage: DemoCoverage, ServiceDate: day(12), Diagnoses: []string{"J06.9"},
			Lines: []claims.SubmitLine{line("99215", 32000, 1)}},
		{ID: DemoClaims[2], Coverage: DemoCoverage, ServiceDate: day(9), Diagnoses: []string{"I10"},
			Lines: []claims.SubmitLine{line("99213", 15000, 1), line("83036", 4500, 1)}},
		{ID: DemoClaims[3], Coverage: DemoCoverage, ServiceDate: day(7), Diagnoses: []string{"R07.9"},
			Lines: []claims.SubmitLine{line("99214", 25000, 1), line("93000", 9000, 1), line("93005", 5000, 1)}},
		{ID: DemoClaims[4], Coverage: DemoCoverage, ServiceDate: day(7), Diagnoses: []string{"R07.9"},
			Lines: []claims.SubmitLine{line("93010", 4000, 1)}},
		{ID: DemoClaims[5], Coverage: SecondCoverage, ServiceDate: day(7), Diagnoses: []string{"R07.9"},
			Lines: []claims.SubmitLine{line("93000", 9000, 1)}},
		{ID: DemoClaims[6], Coverage: DemoCoverage, ServiceDate: day(5), Diagnoses: []string{"M17.11"},
			Lines: []claims.SubmitLine{line("20610", 20000, 1), {Code: "96372", Modifiers: []string{"59"}, Units: 1, Charge: 6000, Dx: []int64{1}}, {Code: "J3301", Units: 4, Charge: 2400, Dx: []int64{1}}}},
	}
	// Each claim's supporting records: those St Luke's holds for the
	// patient (their diabetes, the HbA1c, the prescription).
	held, err := env.Client.WithToken(env.File.Member(patientName(1)).APIToken).Records(ctx, env.ID(patientName(1)))
	if err != nil {
		return err
	}
	var support []string
	for _, r := range held {
		if r.Custodian == env.ID("St Luke's Hospital") {
			support = append(support, r.ID)
		}
	}
	asHospital := env.Client.WithKey(stLukes)
	status := map[string]string{}
	for _, s := range submissions {
		s.Records = support
		var c claims.Claim
		if err := absent(asHospital.Get(ctx, "/api/v1/claims/"+s.ID, &c)); err != nil {
			return err
		}
		if c.ID == "" {
			s.Patient = env.ID(patientName(1))
			if _, err := env.Client.Send(ctx, doctor, claims.TypeSubmit, s, true); err != nil {
				return fmt.Errorf("claim %s: %w", s.ID, err)
			}
			if err := asHospital.Get(ctx, "/api/v1/claims/"+s.ID, &c); err != nil {
				return err
			}
		}
		status[s.ID] = c.Status
	}
	// CareShield pays the first; the patient appeals the HbA1c denied for
	// hypertension alone (left for CareShield's review); St Luke's appeals
	// the bundled ECG tracing, which CareShield re-adjudicates.
	steps := []struct {
		claim, when string
		send        func() error
	}{
		{DemoClaims[0], claims.StatusAdjudicated, func() error {
			_, err := env.Client.Send(ctx, careshield, claims.TypePay, claims.Pay{Claim: DemoClaims[0], Remittance: "EFT-CS-" + day(18)}, true)
			return err
		}},
		{DemoClaims[2], claims.StatusAdjudicated, func() error {
			_, err := env.Client.Send(ctx, patient, claims.TypeAppeal, claims.Appeal{Claim: DemoClaims[2], Reason: "the HbA1c test monitors my diabetes, diagnosed last year"}, true)
			return err
		}},
		{DemoClaims[3], claims.StatusAdjudicated, func() error {
			_, err := env.Client.Send(ctx, stLukes, claims.TypeAppeal, claims.Appeal{Claim: DemoClaims[3], Reason: "tracing done at a separate session before the full ECG"}, true)
			return err
		}},
		{DemoClaims[3], claims.StatusAppealed, func() error {
			_, err := env.Client.Send(ctx, careshield, claims.TypeReview, claims.Review{Claim: DemoClaims[3],
				Lines: []claims.ReviewLine{{N: 3, Outcome: claims.Denied, Reason: "CO-97"}}, Note: "one session documented: the tracing is part of the complete ECG"}, true)
			return err
		}},
	}
	for _, st := range steps {
		if status[st.claim] != st.when {
			continue
		}
		if err := st.send(); err != nil {
			return fmt.Errorf("claim %s: %w", st.claim, err)
		}
		var c claims.Claim
		if err := asHospital.Get(ctx, "/api/v1/claims/"+st.claim, &c); err != nil {
			return err
		}
		status[st.claim] = c.Status
	}
	return visitProfiles(ctx, env, careshield)
}

// ThirdHospital joins by vote so that the hospitals' visit-level billing
// has three peers to compare (a profile is compared with at least three).
const ThirdHospital = "Eastfield Hospital"

// visit is an office visit a hospital bills this month: for which
// patient, at which E/M level's code.
type visit struct {
	patient int
	code    string
}

// visitProfiles: Eastfield Hospital is voted in; Patients 2 and 3 are
// covered by CareShield too and consent to treatment at the three
// hospitals; each hospital bills six office visits this month for them. Riverside and St
// Luke's bill mostly level 3 and below; Eastfield bills five of six at
// level 4 or 5, which CareShield's and the regulator's billing profile
// for the month shows far above its peers. Each step is skipped when the
// ledger shows it done.
func visitProfiles(ctx context.Context, env *Env, careshield ed25519.PrivateKey) error {
	eastfield, err := env.Add(Member{Name: ThirdHospital, Kind: "organisation", OrgType: "hospital"})
	if err != nil {
		return err
	}
	if err := admit(ctx, env, eastfield, ThirdHospital, "hospital", "a third hospital in the region", append(append([]string{}, voters...),
		"CareShield Insurance", "National Medicines Agency", Institute)); err != nil {
		return fmt.Errorf("admitting %s: %w", ThirdHospital, err)
	}
	hospitals := []string{"St Luke's Hospital", "Riverside General Hospital", ThirdHospital}
	year := time.Now().UTC().Year()
	// Patients 2 and 3: covered by CareShield, with a consent to
	// treatment by each hospital.
	for i := 2; i <= patients; i++ {
		name := patientName(i)
		key, err := env.Key(name)
		if err != nil {
			return err
		}
		consents, err := env.Client.WithToken(env.File.Member(name).APIToken).Consents(ctx, env.ID(name))
		if err != nil {
			return err
		}
		has := func(grantee, purpose string) bool {
			return slices.ContainsFunc(consents, func(c *consent.Consent) bool {
				return c.Grantee == env.ID(grantee) && c.Purpose == purpose && c.Status == consent.StatusActive
			})
		}
		for _, h := range hospitals {
			if !has(h, "treatment") {
				if _, err := env.Client.Send(ctx, key, consent.TypeGrant, consent.Grant{Grantee: env.ID(h), Scope: consent.Scope{All: true}, Purpose: "treatment",
					Expires: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
					return fmt.Errorf("%s's consent to treatment at %s: %w", name, h, err)
				}
			}
		}
		if !has("CareShield Insurance", "payment") {
			if _, err := env.Client.Send(ctx, key, consent.TypeGrant, consent.Grant{Grantee: env.ID("CareShield Insurance"), Scope: consent.Scope{All: true},
				Purpose: "payment", Expires: time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
				return fmt.Errorf("%s's payment consent: %w", name, err)
			}
		}
		var cov claims.Coverage
		if err := absent(env.Client.WithKey(careshield).Get(ctx, "/api/v1/coverage/"+coverageOf(i), &cov)); err != nil {
			return err
		}
		if cov.ID == "" {
			if _, err := env.Client.Send(ctx, careshield, claims.TypeCover, claims.Cover{ID: coverageOf(i), Member: env.ID(name), Policy: DemoPolicy,
				Start: fmt.Sprintf("%d-01-01", year-1), End: fmt.Sprintf("%d-12-31", year+1)}, true); err != nil {
				return fmt.Errorf("%s's coverage: %w", name, err)
			}
		}
	}
	// Six visits each, on the days of this month so far (the same day for
	// all when it is the first): no two of a hospital's visits share a
	// patient and a code, nor bill one patient an NCCI pair (99215 with
	// 99213 or 99214), so none is a duplicate or unbundled whatever the
	// day. Patients 2 and 3 (Patient 1's claims tell the story above).
	visits := map[string][]visit{
		"St Luke's Hospital":         {{2, "99213"}, {3, "99213"}, {2, "99212"}, {3, "99214"}, {2, "99211"}, {3, "99212"}},
		"Riverside General Hospital": {{2, "99213"}, {3, "99213"}, {2, "99212"}, {3, "99212"}, {2, "99214"}, {3, "99211"}},
		ThirdHospital:                {{2, "99215"}, {3, "99215"}, {2, "99204"}, {3, "99204"}, {2, "99205"}, {3, "99212"}},
	}
	now := time.Now().UTC()
	for _, h := range hospitals {
		key, err := env.Key(h)
		if err != nil {
			return err
		}
		for n, v := range visits[h] {
			id := fmt.Sprintf("%s-%s-%d", visitPrefix(h), now.Format("200601"), n+1)
			var c claims.Claim
			if err := absent(env.Client.WithKey(key).Get(ctx, "/api/v1/claims/"+id, &c)); err != nil {
				return err
			}
			if c.ID != "" {
				continue
			}
			served := now.AddDate(0, 0, -min(n, now.Day()-1)).Format(time.DateOnly)
			s := claims.Submit{ID: id, Coverage: coverageOf(v.patient), Patient: env.ID(patientName(v.patient)), ServiceDate: served,
				Diagnoses: []string{"I10"}, Lines: []claims.SubmitLine{{Code: v.code, Units: 1, Charge: visitCharge[v.code], Dx: []int64{1}}}}
			if _, err := env.Client.Send(ctx, key, claims.TypeSubmit, s, true); err != nil {
				return fmt.Errorf("claim %s: %w", id, err)
			}
		}
	}
	return nil
}

// coverageOf is Patient i's CareShield coverage.
func coverageOf(i int) string { return fmt.Sprintf("CS-10000%d", i) }

// visitPrefix starts the ids of a hospital's visit claims.
func visitPrefix(hospital string) string {
	switch hospital {
	case "St Luke's Hospital":
		return "SLH-EM"
	case "Riverside General Hospital":
		return "RGH-EM"
	}
	return "EFH-EM"
}

// visitCharge is what the demo's hospitals charge for an office visit.
var visitCharge = map[string]int64{"99211": 6000, "99212": 9000, "99213": 15000, "99214": 25000, "99215": 32000, "99204": 28000, "99205": 36000}
