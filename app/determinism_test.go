package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/trials"
)

// workload builds a sequence of blocks mixing valid and invalid transactions
// of every module, from a seed.
func workload(t *testing.T, seed uint64, blocks int) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	gen := newHarness(t) // only used to sign with tracked nonces
	orgs := []ed25519.PrivateKey{hospitalKey, hospital2Key, pharmacyKey, regulatorKey, insurerKey}
	var docs, patients []ed25519.PrivateKey
	var recs []string
	var out [][][]byte
	for b := 0; b < blocks; b++ {
		txs := supplySteps(gen, b) // first: signed, and so executed, before the random ones
		for i := 0; i < 1+rng.IntN(20); i++ {
			org := orgs[rng.IntN(2)]
			switch rng.IntN(10) {
			case 0, 1:
				doc := testKey(fmt.Sprintf("doc-%d-%d", b, i))
				docs = append(docs, doc)
				txs = append(txs, gen.registerPractitioner(org, doc))
			case 2:
				p := testKey(fmt.Sprintf("patient-%d-%d", b, i))
				patients = append(patients, p)
				txs = append(txs, gen.tx(p, identity.TypeRegisterPatient, struct{}{}))
			case 3:
				if len(docs) > 0 {
					status := []string{"active", "suspended", "revoked"}[rng.IntN(3)]
					txs = append(txs, gen.tx(org, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(docs[rng.IntN(len(docs))]), Status: status}))
				}
			case 4:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
					Member: newMember(fmt.Sprintf("Clinic %d-%d", b, i), "clinic", testKey(fmt.Sprintf("clinic-%d-%d", b, i)), nil, 0)}))
			case 5:
				txs = append(txs, gen.tx(orgs[rng.IntN(len(orgs))], governance.TypeVote, governance.Vote{ProposalID: uint64(1 + rng.IntN(5)), Vote: []string{"yes", "no"}[rng.IntN(2)]}))
			case 6: // records indexed by a hospital
				if len(patients) > 0 {
					rec := fmt.Sprintf("obs-%d-%d", b, i)
					recs = append(recs, rec)
					txs = append(txs, gen.tx(org, records.TypeRegister, records.Register{Records: []records.NewRecord{{ID: rec,
						Patient: id(patients[rng.IntN(len(patients))]), Category: []string{"observation", "condition"}[rng.IntN(2)], Commitment: commitment(rec)}}}))
				}
			case 7: // consents, some of which fail (unknown grantee, wrong patient)
				if len(patients) > 0 && len(docs) > 0 {
					txs = append(txs, gen.tx(patients[rng.IntN(len(patients))], consent.TypeGrant, consent.Grant{Grantee: id(docs[rng.IntN(len(docs))]),
						Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: []string{"treatment", "research"}[rng.IntN(2)],
						Expires: gen.now.Add(time.Duration(b+rng.IntN(30)) * time.Second).Format(time.RFC3339)}))
				}
			case 8, 9: // access requests, granted or refused, at either hospital
				if len(recs) > 0 && len(docs) > 0 {
					doc := docs[rng.IntN(len(docs))]
					req := records.AccessRequest{ChainID: testChain, Requester: id(doc), Record: recs[rng.IntN(len(recs))], Purpose: "treatment",
						KeyDigest: commitment("k"), Nonce: fmt.Sprintf("%032x", rng.Uint64()),
						NotAfter: gen.now.Add(time.Duration(b+1)*time.Second + 5*time.Minute).Format(time.RFC3339)}
					if rng.IntN(5) == 0 {
						req.Purpose, req.EmergencyReason = "emergency", "life_threatening"
					}
					txs = append(txs, gen.tx(org, records.TypeAccess, records.AccessLog{Request: req, Signature: req.Sign(doc)}))
				}
			}
		}
		// Erasures (some with nothing to erase) under a retention policy,
		// at fixed blocks: they take nothing from the random sequence.
		if b == 3 {
			txs = append(txs, gen.tx(hospitalKey, records.TypeSetRetention, records.SetRetention{Holds: []records.Hold{
				{Category: "observation", Basis: "legal_obligation", Years: 10}}}),
				gen.tx(hospital2Key, records.TypeSetRetention, records.SetRetention{Holds: []records.Hold{
					{Category: "condition", Basis: "legal_claims", Years: 5}}}))
		}
		if b%10 == 9 && len(patients) > 0 {
			txs = append(txs, gen.tx(patients[b%len(patients)], records.TypeErase, records.Erase{}))
		}
		txs = append(txs, trialSteps(gen, b)...)
		txs = append(txs, claimSteps(gen, b)...)
		txs = append(txs, capacitySteps(gen, b)...)
		txs = append(txs, flSteps(gen, b)...)
		txs = append(txs, researchSteps(gen, b)...)
		txs = append(txs, useSteps(gen, b)...)
		txs = append(txs, deviceSteps(gen, b)...)
		txs = append(txs, coldSteps(gen, b)...)
		if rng.IntN(4) == 0 { // a replayed transaction
			txs = append(txs, txs[0])
		}
		out = append(out, txs)
	}
	return out
}

// trialPatient is the workload's trial participant.
var trialPatient = testKey("trial-patient")

// trialSteps are the trial registry's transactions of block b, at fixed
// blocks (nothing from the random sequence): a trial registered, its
// participant's research consent and enrolment, an amendment that
// switches the primary outcome (flagged), an anchored data batch, a
// withdrawal, results with an added outcome; and refusals (an enrolment by
// a non-site, results for an unknown outcome, a batch for the withdrawn
// participant).
func trialSteps(gen *harness, b int) [][]byte {
	p := trials.Protocol{Title: "Workload trial", Conditions: []string{"Hypertension"}, Interventions: []string{"amlodipine"},
		Inclusion: "adults", Exclusion: "pregnancy", SampleSize: 50,
		PrimaryOutcomes:   []trials.Outcome{{ID: "sbp", Measure: "systolic blood pressure", TimeFrame: "12 weeks"}},
		SecondaryOutcomes: []trials.Outcome{{ID: "dbp", Measure: "diastolic blood pressure", TimeFrame: "12 weeks"}},
		Sites:             []string{id(hospitalKey), id(hospital2Key)}, ProtocolCommitment: strings.Repeat("0f", 32)}
	const trial = "WL-0001"
	switch b {
	case 2:
		return [][]byte{gen.tx(hospitalKey, trials.TypeRegister, trials.Register{ID: trial, Protocol: p}),
			gen.tx(trialPatient, identity.TypeRegisterPatient, struct{}{})}
	case 3:
		return [][]byte{gen.tx(trialPatient, consent.TypeGrant, consent.Grant{Grantee: id(hospital2Key), Scope: consent.Scope{All: true},
			Purpose: "research", Expires: "2099-01-01T00:00:00Z"})}
	case 4:
		return [][]byte{gen.tx(pharmacyKey, trials.TypeEnrol, trials.Enrol{Trial: trial, Participant: id(trialPatient)}),
			gen.tx(hospital2Key, trials.TypeEnrol, trials.Enrol{Trial: trial, Participant: id(trialPatient)})}
	case 5:
		p.PrimaryOutcomes = []trials.Outcome{{ID: "bpc", Measure: "blood pressure controlled", TimeFrame: "8 weeks"}}
		return [][]byte{gen.tx(hospitalKey, trials.TypeAmend, trials.Amend{ID: trial, Reason: "switch", Protocol: p}),
			gen.tx(hospital2Key, trials.TypeAnchor, trials.Anchor{Trial: trial, Root: strings.Repeat("2b", 32), Size: 40, Participants: []string{id(trialPatient)}})}
	case 8:
		// After the withdrawal: refused.
		return [][]byte{gen.tx(hospital2Key, trials.TypeAnchor, trials.Anchor{Trial: trial, Root: strings.Repeat("3c", 32), Size: 10, Participants: []string{id(trialPatient)}})}
	case 6:
		return [][]byte{gen.tx(trialPatient, trials.TypeWithdraw, trials.Withdraw{Trial: trial, Participant: id(trialPatient)}),
			gen.tx(hospitalKey, trials.TypeResults, trials.RegisterResults{Trial: trial, Results: trials.Results{
				Reported: []trials.Reported{{ID: "sbp", Summary: "x", AnalysisCommitment: strings.Repeat("1a", 32)}}}})}
	case 7:
		return [][]byte{gen.tx(hospitalKey, trials.TypeResults, trials.RegisterResults{Trial: trial, Results: trials.Results{
			Reported: []trials.Reported{{ID: "bpc", Summary: "61% vs 48%", AnalysisCommitment: strings.Repeat("1a", 32)}},
			Added:    []trials.AddedOutcome{{ID: "hr", Measure: "heart rate", Summary: "-2/min"}}}})}
	}
	return nil
}

// claimPatient is the workload's insured patient.
var claimPatient = testKey("claim-patient")

// claimSteps are the claims module's transactions of block b, at fixed
// blocks: the regulator's tables, a policy (and two refused: a double, a
// rule over the cost estimate), a coverage, the payment consent; a claim
// adjudicated (a line covered, one denied by a rule), one pended by a rule
// that fails when it runs (no fee for the code), one refused (an unknown
// code); then the same service again (a duplicate), a review, a payment,
// an appeal.
func claimSteps(gen *harness, b int) [][]byte {
	rs := claims.SampleRuleSet()
	rs.Rules = append(rs.Rules, claims.Rule{ID: "fee-lookup", When: `fees[line.code] > 100000`, Outcome: claims.Denied, Reason: "CO-45"})
	line := func(code string, charge int64) claims.SubmitLine {
		return claims.SubmitLine{Code: code, Units: 1, Charge: charge, Dx: []int64{1}}
	}
	submit := func(claim string, lines ...claims.SubmitLine) []byte {
		return gen.tx(hospitalKey, claims.TypeSubmit, claims.Submit{ID: claim, Coverage: "WL-COV", Patient: id(claimPatient), ServiceDate: "2025-12-20",
			Diagnoses: []string{"I10"}, Lines: lines})
	}
	switch b {
	case 10:
		bad := claims.SampleRuleSet()
		bad.Rules = append(bad.Rules, claims.Rule{ID: "double", When: `double(line.charge) > 1.5`, Outcome: claims.Denied, Reason: "CO-45"})
		costly := claims.SampleRuleSet()
		costly.Rules = append(costly.Rules, claims.Rule{ID: "costly", When: `lists["cosmetic"].all(a, lists["preventive"].all(b, lists["diabetes_dx"].exists(c, a + b == c)))`,
			Outcome: claims.Denied, Reason: "CO-45"})
		return [][]byte{
			gen.tx(regulatorKey, claims.TypeTable, claims.Table{Kind: claims.TableCodes, Version: "WL1", Effective: "2025-01-01", Codes: claims.SampleCodes}),
			gen.tx(regulatorKey, claims.TypeTable, claims.Table{Kind: claims.TablePTP, Version: "WL1", Effective: "2025-01-01", PTP: claims.SamplePTP}),
			gen.tx(regulatorKey, claims.TypeTable, claims.Table{Kind: claims.TableMUE, Version: "WL1", Effective: "2025-01-01", MUE: claims.SampleMUE}),
			gen.tx(insurerKey, claims.TypePublish, claims.Publish{ID: "wl-double", Effective: "2025-01-01", RuleSet: bad}),
			gen.tx(insurerKey, claims.TypePublish, claims.Publish{ID: "wl-costly", Effective: "2025-01-01", RuleSet: costly}),
			gen.tx(insurerKey, claims.TypePublish, claims.Publish{ID: "wl-gold", Effective: "2025-01-01", RuleSet: rs}),
			gen.tx(claimPatient, identity.TypeRegisterPatient, struct{}{}),
			gen.tx(insurerKey, claims.TypeCover, claims.Cover{ID: "WL-COV", Member: id(claimPatient), Policy: "wl-gold", Start: "2025-01-01", End: "2026-12-31"}), // no consent yet: refused
			gen.tx(claimPatient, consent.TypeGrant, consent.Grant{Grantee: id(insurerKey), Scope: consent.Scope{All: true}, Purpose: "payment", Expires: "2099-01-01T00:00:00Z"}),
			gen.tx(insurerKey, claims.TypeCover, claims.Cover{ID: "WL-COV", Member: id(claimPatient), Policy: "wl-gold", Start: "2025-01-01", End: "2026-12-31"})}
	case 11:
		return [][]byte{submit("WL-C0", line("99213", 15000)), // no treatment relation: refused
			gen.tx(claimPatient, consent.TypeGrant, consent.Grant{Grantee: id(hospitalKey), Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: "2099-01-01T00:00:00Z"}),
			submit("WL-C1", line("99213", 15000), line("83036", 4500)),
			submit("WL-C2", line("15780", 90000)),
			submit("WL-C9", line("99999", 100))}
	case 12:
		return [][]byte{submit("WL-C3", line("99213", 15000)),
			gen.tx(insurerKey, claims.TypeReview, claims.Review{Claim: "WL-C2", Lines: []claims.ReviewLine{{N: 1, Outcome: claims.Denied, Reason: "CO-96"}}}),
			gen.tx(insurerKey, claims.TypePay, claims.Pay{Claim: "WL-C1", Remittance: "EFT-WL-1"}),
			gen.tx(claimPatient, claims.TypeAppeal, claims.Appeal{Claim: "WL-C3", Reason: "billed once"})}
	}
	return nil
}

// manufacturerKey is a member the workload admits by vote in its first
// block, so that its supply steps have a manufacturer.
var manufacturerKey = testKey("manufacturer")

// capacitySteps are the capacity module's transactions of block b, at
// fixed blocks: regions, two hospitals' sites and reports, a need, holds
// (one refused: more than is free; one confirmed and transferred, moving
// a ventilator; one left to expire) and a report after the transfer.
func capacitySteps(gen *harness, b int) [][]byte {
	site := func(key ed25519.PrivateKey, id, region string, lat, lon int64) []byte {
		return gen.tx(key, capacity.TypeSite, capacity.SiteBody{ID: id, Name: id, Region: region, LatE6: lat, LonE6: lon, Services: []string{"icu", "oxygen"}})
	}
	report := func(key ed25519.PrivateKey, id string, vents, used int64) []byte {
		return gen.tx(key, capacity.TypeReport, capacity.ReportBody{Site: id, Items: []capacity.Item{{Type: "icu-bed", Total: 20, InUse: 15}, {Type: "ventilator", Total: vents, InUse: used}},
			Oxygen: &capacity.Oxygen{Litres: 100_000 * vents, BurnLPH: 900}})
	}
	hold := func(id string, units int64) []byte {
		return gen.tx(hospitalKey, capacity.TypeHold, capacity.HoldBody{ID: id, Site: "WL-RGH", Type: "ventilator", Units: units, To: "WL-SLH", Minutes: 30})
	}
	switch b {
	case 10:
		return [][]byte{gen.tx(regulatorKey, capacity.TypeRegion, capacity.RegionBody{Code: "WL-N", Name: "North"}),
			gen.tx(regulatorKey, capacity.TypeRegion, capacity.RegionBody{Code: "WL-S", Name: "South"}),
			site(hospitalKey, "WL-SLH", "WL-N", 51_507_400, -127_800), site(hospital2Key, "WL-RGH", "WL-S", 50_900_000, -1_400_000),
			site(hospital2Key, "WL-BAD", "WL-E", 0, 0), // an unknown region: refused
			gen.tx(hospital2Key, capacity.TypeEquipment, capacity.EquipmentBody{ID: "WL-VENT", Site: "WL-RGH", Type: "ventilator", Model: "C6", Serial: "1"}),
			gen.tx(regulatorKey, capacity.TypeNeed, capacity.NeedBody{Region: "WL-N", Type: "ventilator", Units: 12})}
	case 11:
		return [][]byte{report(hospitalKey, "WL-SLH", 10, 10), report(hospital2Key, "WL-RGH", 8, 4),
			hold("WL-H1", 5), // more than is free: refused
			gen.tx(hospitalKey, capacity.TypeHold, capacity.HoldBody{ID: "WL-H2", Site: "WL-RGH", Type: "ventilator", Units: 1, Equipment: "WL-VENT", To: "WL-SLH", Minutes: 30}),
			hold("WL-H3", 2)}
	case 12:
		return [][]byte{gen.tx(hospital2Key, capacity.TypeConfirm, capacity.HoldRef{Hold: "WL-H2"}),
			gen.tx(hospital2Key, capacity.TypeTransfer, capacity.HoldRef{Hold: "WL-H2"}),
			gen.tx(hospitalKey, capacity.TypeTransfer, capacity.HoldRef{Hold: "WL-H3"}), // not the sender: refused
			report(hospital2Key, "WL-RGH", 7, 4)}
	}
	return nil
}

// flSteps are federated learning's transactions of block b, at fixed
// blocks: a task over the two hospitals, round 1 closed by their two
// contributions (the integer average), round 2 with one contribution then
// closed after its deadline; and refusals (a contribution outside the
// clipping bound, one of the wrong dimension, a close before the
// deadline).
func flSteps(gen *harness, b int) [][]byte {
	contribute := func(key ed25519.PrivateKey, round, samples int64, w ...int64) []byte {
		return gen.tx(key, federated.TypeContribute, federated.Contribute{Task: "wl-task", Round: round, Samples: samples, Weights: w})
	}
	switch b {
	case 14:
		return [][]byte{gen.tx(hospitalKey, federated.TypeTask, federated.Task{ID: "wl-task", Title: "workload", Features: []string{"age", "bmi"}, Label: "y",
			LearningRate: 500_000, LocalEpochs: 2, Clip: 1 << 18, Rounds: 2, RoundBlocks: 3, Participants: []string{id(hospitalKey), id(hospital2Key)}})}
	case 15:
		return [][]byte{contribute(hospitalKey, 1, 120, 70_000, -3_001, 17), contribute(hospital2Key, 1, 7, 1, 1<<18+1, 0),
			contribute(hospital2Key, 1, 7, 1, 2), contribute(hospital2Key, 1, 7, -65_536, 12_345, -999)}
	case 16:
		return [][]byte{contribute(hospitalKey, 2, 130, 1, 2, 3), gen.tx(hospital2Key, federated.TypeClose, federated.Close{Task: "wl-task", Round: 2})}
	case 20:
		return [][]byte{gen.tx(hospital2Key, federated.TypeClose, federated.Close{Task: "wl-task", Round: 2})}
	}
	return nil
}

// useSteps are a study on consented records, at fixed blocks: a
// consented learning task over the two hospitals; the trial participant's
// research consent naming it and the second hospital; the participant
// declared by that hospital and refused to the first; a contribution
// within the second's cohort of one, and the first's beyond its empty one.
func useSteps(gen *harness, b int) [][]byte {
	use := func(key ed25519.PrivateKey) []byte {
		return gen.tx(key, records.TypeUse, records.Use{Study: "fl:wl-rec", Patients: []string{id(trialPatient)}})
	}
	contribute := func(key ed25519.PrivateKey) []byte {
		return gen.tx(key, federated.TypeContribute, federated.Contribute{Task: "wl-rec", Round: 1, Samples: 1, Weights: []int64{5, -5, 1}})
	}
	switch b {
	case 21:
		return [][]byte{gen.tx(hospitalKey, federated.TypeTask, federated.Task{ID: "wl-rec", Title: "workload on records", Features: []string{"age", "bmi"}, Label: "diabetes",
			LearningRate: 500_000, LocalEpochs: 2, Clip: 1 << 18, Rounds: 1, RoundBlocks: 5, Participants: []string{id(hospitalKey), id(hospital2Key)}, Consented: true}),
			gen.tx(trialPatient, consent.TypeGrant, consent.Grant{Grantee: id(hospital2Key), Scope: consent.Scope{Studies: []string{"fl:wl-rec"}},
				Purpose: "research", Expires: "2099-01-01T00:00:00Z"})}
	case 22:
		return [][]byte{use(hospital2Key), use(hospitalKey)}
	case 23:
		return [][]byte{contribute(hospital2Key), contribute(hospitalKey)}
	}
	return nil
}

// wearable is the workload's patient-owned device.
var wearable = testKey("wearable")

// deviceSteps are a wearable's batches, at fixed blocks: registered by
// the trial participant; a first batch of 3 readings, a second of 8
// consistent with it; the hospital keeping wearables' readings (5 a day),
// named keeper by the patient, indexing the batches' records and saying
// they keep them; and refusals (a log that rewrote a committed reading,
// one that shrank, a batch signed by an organisation, a keeper that does
// not keep wearables' readings, a batch over the keeper's quota).
func deviceSteps(gen *harness, b int) [][]byte {
	log := make([][]byte, 8)
	for i := range log {
		log[i] = devices.Reading{Time: 1_790_000_000 + int64(i)*60, Code: 147842, Value: 70_00 + int64(i)}.Encode()
	}
	first, _ := devices.Next(log[:3], nil)
	root, _ := hex.DecodeString(first.Root)
	second, _ := devices.Next(log, &devices.Entry{Seq: 1, Size: 3, Root: hex.EncodeToString(root)})
	rewritten := append([][]byte{devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 99_00}.Encode()}, log[1:]...)
	forged, _ := devices.Next(rewritten, &devices.Entry{Seq: 1, Size: 3, Root: hex.EncodeToString(mustRoot(rewritten[:3]))})
	kept := []string{devices.KeptID(id(wearable), 1, 0, log[:3]), devices.KeptID(id(wearable), 2, 0, log[3:])}
	switch b {
	case 24:
		return [][]byte{gen.tx(trialPatient, identity.TypeRegisterDevice, device(trialPatient, wearable, "wearable")),
			gen.tx(hospitalKey, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 5})}
	case 25:
		refused := gen.tx(hospitalKey, devices.TypeBatch, first)
		gen.nonces[pubHex(hospitalKey)]-- // refused before its nonce counts: the hospital's next one has it
		return [][]byte{gen.tx(wearable, devices.TypeBatch, first), refused}
	case 26:
		return [][]byte{gen.tx(wearable, devices.TypeBatch, forged), gen.tx(wearable, devices.TypeBatch, devices.Batch{Size: 2, Root: first.Root}),
			gen.tx(wearable, devices.TypeBatch, second),
			gen.tx(trialPatient, devices.TypeKeeper, devices.Keep{Device: id(wearable), Keeper: id(hospital2Key)}),
			gen.tx(trialPatient, devices.TypeKeeper, devices.Keep{Device: id(wearable), Keeper: id(hospitalKey)})}
	case 27:
		var regs []records.NewRecord
		for _, r := range kept {
			regs = append(regs, records.NewRecord{ID: r, Patient: id(trialPatient), Category: "observation", Commitment: hex.EncodeToString(mustRoot([][]byte{[]byte(r)}))})
		}
		return [][]byte{gen.tx(hospitalKey, records.TypeRegister, records.Register{Records: regs})}
	case 28:
		// The first batch kept; the second over the keeper's quota (3 of
		// 5 readings kept today, 5 more).
		return [][]byte{gen.tx(hospitalKey, devices.TypeKept, devices.KeptBody{Device: id(wearable), Batch: 1, Records: kept[:1]}),
			gen.tx(hospitalKey, devices.TypeKept, devices.KeptBody{Device: id(wearable), Batch: 2, Records: kept[1:]})}
	}
	return nil
}

// coldSteps are the cold chain's, at fixed blocks: a storage rule, a lot
// shipped with its carrier, received with a logger's readings that break
// the rule, and the manufacturer's release; and refusals (a stranger's
// observation, a reading out of time order, a pharmacy's decision).
func coldSteps(gen *harness, b int) [][]byte {
	const gtin = "09506000134352"
	packs := []string{"(01)" + gtin + "(21)V1", "(01)" + gtin + "(21)V2"}
	const t0 = 1_767_100_000
	warm := &supply.Sensor{Device: "urn:epc:id:giai:4000001.111"}
	for i, c := range []int64{450, 520, 1150, 1210, 610} {
		warm.Readings = append(warm.Readings, supply.Reading{T: t0 + int64(i)*1800, C: c})
	}
	switch b {
	case 27:
		return [][]byte{gen.tx(manufacturerKey, supply.TypeStorageRule, supply.SetStorageRule{GTIN: gtin, MinC: 200, MaxC: 800,
			Alarms: []supply.Alarm{{When: "at_or_above", C: 4500, Seconds: 3600}}}),
			gen.tx(manufacturerKey, supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L3", Expiry: "2028-12-31", Serials: []string{"V1", "V2"}})}
	case 28:
		return [][]byte{gen.tx(manufacturerKey, supply.TypeShip, supply.Ship{Codes: packs, To: id(pharmacyKey), Carrier: "ColdExpress"}),
			gen.tx(insurerKey, supply.TypeObserve, supply.Observe{Codes: packs[:1], Sensor: warm})} // not its packs: refused
	case 29:
		backwards := &supply.Sensor{Readings: []supply.Reading{{T: t0 + 60, C: 500}, {T: t0, C: 500}}}
		return [][]byte{gen.tx(pharmacyKey, supply.TypeReceive, supply.Receive{Codes: packs, Sensor: backwards}), // refused
			gen.tx(pharmacyKey, supply.TypeReceive, supply.Receive{Codes: packs, Sensor: warm})}
	case 30:
		return [][]byte{gen.tx(pharmacyKey, supply.TypeExcursionDecision, supply.ExcursionDecision{ID: supply.ExcursionID(0, gtin), Decision: "release", Note: "x"}), // refused
			gen.tx(manufacturerKey, supply.TypeExcursionDecision, supply.ExcursionDecision{ID: supply.ExcursionID(0, gtin), Decision: "release", Note: "within the stability budget"})}
	}
	return nil
}

func mustRoot(log [][]byte) []byte {
	r, err := anchor.Root(log)
	if err != nil {
		panic(err)
	}
	return r
}

// researchSteps are research aggregates' transactions of block b, at
// fixed blocks: a dataset over the two hospitals, St Luke's research
// project, a query answered by both (a cell suppressed), a differencing
// query and one over budget refused.
func researchSteps(gen *harness, b int) [][]byte {
	ask := func(id string, eps int64, cohort research.Cohort) []byte {
		return gen.tx(hospitalKey, research.TypeQuery, research.Ask{ID: id, Project: "wl-project", GroupBy: research.DimAgeBand, Cohort: cohort, EpsMicro: eps})
	}
	switch b {
	case 17:
		return [][]byte{gen.tx(regulatorKey, research.TypeDataset, research.Dataset{ID: "wl-ds", Title: "workload", Custodians: []string{id(hospitalKey), id(hospital2Key)},
			Values: research.Values{Category: []string{"t2d", "htn"}, Region: []string{"N"}, AgeBand: []string{"young", "old"}, Period: []string{"q3", "q4"}}, CapMicroEps: 2_000_000})}
	case 18:
		return [][]byte{gen.tx(regulatorKey, research.TypeApprove, research.Approve{Project: "wl-project", Title: "workload", Researcher: id(hospitalKey), Dataset: "wl-ds",
			BudgetMicroEps: 1_500_000, Expires: gen.now.AddDate(1, 0, 0).Format(time.RFC3339)})}
	case 19:
		return [][]byte{ask("wl-q1", 1_000_000, research.Cohort{Category: []string{"t2d"}}),
			ask("wl-q2", 100_000, research.Cohort{Category: []string{"t2d"}, Period: []string{"q4"}}), // differencing: refused
			ask("wl-q3", 600_000, research.Cohort{})}                                                  // over budget: refused
	case 20:
		return [][]byte{gen.tx(hospitalKey, research.TypeCells, research.Cells{Query: "wl-q1", Cells: []int64{4, 30}}),
			gen.tx(hospital2Key, research.TypeCells, research.Cells{Query: "wl-q1", Cells: []int64{3, 17}})}
	}
	return nil
}

// supplySteps are the supply chain's transactions of block b of the
// workload, at fixed blocks (they take nothing from its random sequence):
// a manufacturer voted in, its company prefix claimed, a product, a lot commissioned, packed into a
// case, shipped, received, dispensed (twice: the second is refused), an
// EPCIS capture, a recall, a suspect report with its quarantine, a
// returnable asset's life, a location, a decommissioning, a prefix the
// regulator reassigns; and some that fail (an unknown pack, a pack's case
// shipped by whom does not hold it, a location under another's prefix).
func supplySteps(gen *harness, b int) [][]byte {
	const gtin = "09506000134352"
	pack := func(serial string) string { return "(01)" + gtin + "(21)" + serial }
	const sscc, grai = "(00)106141412345678908", "(8003)00614141123452400"
	pharmacy := id(pharmacyKey)
	switch b {
	case 0:
		return [][]byte{gen.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
			Member: newMember("Acme Pharma", "manufacturer", manufacturerKey, nil, 0)}),
			gen.tx(hospital2Key, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}),
			gen.tx(pharmacyKey, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}),
			gen.tx(regulatorKey, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"})}
	case 1:
		return [][]byte{gen.tx(manufacturerKey, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}),
			gen.tx(manufacturerKey, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}),
			gen.tx(pharmacyKey, supply.TypeRegisterLocation, supply.RegisterLocation{GLN: "0614141000005"})}
	case 2:
		return [][]byte{gen.tx(manufacturerKey, supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2028-06-30", Serials: []string{"S1", "S2", "S3", "S4"}}),
			gen.tx(manufacturerKey, supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L2", Expiry: "2028-09-30", Serials: []string{"T1", "T2"}})}
	case 3:
		return [][]byte{gen.tx(manufacturerKey, supply.TypePack, supply.Pack{Parent: sscc, Children: []string{pack("S1"), pack("S2"), pack("S3")}}),
			gen.tx(pharmacyKey, supply.TypeShip, supply.Ship{Codes: []string{sscc}, To: id(hospitalKey)})} // not its case: refused
	case 4:
		return [][]byte{gen.tx(manufacturerKey, supply.TypeShip, supply.Ship{Codes: []string{sscc, pack("T1")}, To: pharmacy})}
	case 5:
		return [][]byte{gen.tx(pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{sscc, pack("T1")}})}
	case 6:
		return [][]byte{gen.tx(pharmacyKey, supply.TypeUnpack, supply.Pack{Parent: sscc}),
			gen.tx(pharmacyKey, supply.TypeDispense, supply.Dispense{Code: pack("S1")}),
			gen.tx(pharmacyKey, supply.TypeDispense, supply.Dispense{Code: pack("S1")}), // twice: refused
			gen.tx(pharmacyKey, supply.TypeDispense, supply.Dispense{Code: pack("NOPE")})}
	case 7:
		return [][]byte{gen.tx(pharmacyKey, supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{
			{Step: "dispense", Codes: []string{pack("S2")}, EventID: "urn:uuid:0b1f2a5e-0000-4000-8000-000000000001", EventTime: "2026-01-01T00:00:07Z"},
			{Step: "decommission", Codes: []string{pack("S3")}, Reason: "damaged"}}}),
			gen.tx(regulatorKey, supply.TypeRecall, supply.RecallLot{GTIN: gtin, Lot: "L2", Reason: "out-of-specification dissolution results"})}
	case 8:
		return [][]byte{gen.tx(pharmacyKey, supply.TypeReportSuspect, supply.ReportSuspect{Code: pack("T1"), Reason: "damaged seal"}),
			gen.tx(hospitalKey, supply.TypeRegisterAsset, supply.RegisterAsset{Code: grai, AssetType: "oxygen-cylinder-10l", InspectionDue: "2027-06-01"})}
	case 9:
		return [][]byte{gen.tx(regulatorKey, supply.TypeReleaseQuarantine, supply.Release{Code: pack("T1")}),
			gen.tx(hospitalKey, supply.TypeAssetEvent, supply.AssetEvent{Code: grai, Action: "fill"}),
			gen.tx(hospitalKey, supply.TypeAssetEvent, supply.AssetEvent{Code: grai, Action: "inspect", InspectionDue: "2028-06-01"}),
			gen.tx(manufacturerKey, supply.TypeDecommission, supply.Decommission{Codes: []string{pack("S4")}, Reason: "sample"}),
			gen.tx(hospitalKey, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}),
			gen.tx(pharmacyKey, supply.TypeRegisterLocation, supply.RegisterLocation{GLN: "0614141000012"}), // under the hospital's prefix: refused
			gen.tx(regulatorKey, supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "0614141", Org: pharmacy, Reason: "GS1 allocation"})}
	}
	return nil
}

// TestDeterminism: two app instances fed the same blocks reach the same app
// hash at every height, and so does one that restarts half-way.
func TestDeterminism(t *testing.T) {
	blocks := workload(t, 42, 60)
	a, b := newHarness(t), newHarness(t)
	restartDir := t.TempDir()
	c := openHarness(t, restartDir, true)
	outcomes := map[uint32]int{}
	for i, txs := range blocks {
		ra, rb := a.block(txs...), b.block(txs...)
		rc := c.block(txs...)
		if !bytes.Equal(ra.AppHash, rb.AppHash) || !bytes.Equal(ra.AppHash, rc.AppHash) {
			t.Fatalf("block %d: app hashes differ: %X %X %X", i+1, ra.AppHash, rb.AppHash, rc.AppHash)
		}
		for j := range ra.TxResults {
			outcomes[ra.TxResults[j].Code]++
			if ra.TxResults[j].Code != rb.TxResults[j].Code || ra.TxResults[j].Code != rc.TxResults[j].Code {
				t.Fatalf("block %d tx %d: results differ", i+1, j)
			}
		}
		if i == len(blocks)/2 {
			c.store.Close()
			h, now := c.height, c.now
			c = openHarness(t, restartDir, false)
			c.height, c.now = h, now
		}
	}
	if outcomes[0] < 100 || len(outcomes) < 5 {
		t.Fatalf("workload too uniform to prove anything: %v", outcomes)
	}
	trail, _ := records.Trail(a.store.Committed())
	decided := map[string]int{}
	for _, e := range trail {
		decided[e.Outcome]++
	}
	if decided[records.Granted] == 0 || decided[records.Refused] == 0 {
		t.Fatalf("the workload's access requests were all %v", decided)
	}
	erasures, _ := records.Erasures(a.store.Committed())
	retained := 0
	for _, e := range erasures {
		retained += e.Retained
	}
	if len(erasures) == 0 || retained == 0 {
		t.Fatalf("the workload made %d erasures, retained %d records", len(erasures), retained)
	}
	statetest.NoEmptyValues(t, a.store.Committed())
	info, _ := a.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != int64(len(blocks)) {
		t.Fatalf("height %d", info.LastBlockHeight)
	}
}

// TestDifferentBlocksDifferentHash guards against an app hash that ignores state.
func TestDifferentBlocksDifferentHash(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	a.block()
	b.block()
	ra := a.block(a.tx(testKey("p1"), identity.TypeRegisterPatient, struct{}{}))
	rb := b.block(b.tx(testKey("p2"), identity.TypeRegisterPatient, struct{}{}))
	if bytes.Equal(ra.AppHash, rb.AppHash) {
		t.Fatal("different state, same app hash")
	}
}

// TestAppHashPinned pins the app hash the determinism workload reaches. A
// change of how the state is encoded or hashed changes it, and nodes of the
// old and new versions would then fork at the first block that differs: such
// a change needs a coordinated upgrade, and this constant changed with it,
// deliberately. Changes outside the state (results, caches, the API) leave
// it as it is.
func TestAppHashPinned(t *testing.T) {
	// Moved on 2026-12-04 only by adding the trials module's steps to the
	// workload (without them it reaches the hash pinned before,
	// 8F0C9D2EF37D7C51C0DEFF969ED16F93B3FF3052773A38C02BD556B8E0E914D7),
	// and the same day only by adding the claims module's (without them:
	// 5D55DC62D15C8DCF5E5AEFDB11925B2D20342A1A80F34DC0A26FEA48EEF1CBDB);
	// then by the identity module's suspension periods (written by the
	// workload's status changes) and the capacity module's steps; then
	// (the next session) only by adding federated learning's and research
	// aggregates' steps (without them:
	// 6049E2DA02A476C32C626D3450305FD0804FB81C3AA8BC40694F83E4173CD3CC);
	// then only by adding a study on consented records (useSteps; without
	// them: 607DEA768043975C26A5FC524D91A27475209A2B186731E0F4C7B8DA4D4C6928);
	// then only by adding a wearable's batches (deviceSteps; without them:
	// AA7E77B53DB44275F76AFC9B49FC3D3C9804CC859DCEA2FEA8847AF57AE863D2);
	// then only by adding the cold chain's (coldSteps; without them:
	// 16E465C8223F5107CBA3047A36EDC35005D7F4CAB07D374DCD1E800C2278D13B);
	// then (2026-12-05) only by the index of EPCIS events by id that error
	// declarations find them by (sup/eis/; without it:
	// 7AF273D7929750B273A6D646E351B8CACCA7D7A812BBFDD01E03C7E3F291D9E2);
	// then only by adding a keeper of the wearable's readings, its quota
	// and the batches it keeps to deviceSteps (without them:
	// ABF793C9C12AFD86A43A7F2747227C77C225BFDED7752DB2583C8B045DD4E5B4),
	// and by the hospital's transactions after block 25 now executing: a
	// batch it was refused there had left its signer a nonce ahead, so
	// that every later one was refused as out of order; then only by the
	// index of EPCIS events by event time (sup/et/, orderBy=eventTime;
	// without it: 60F2DF098F57FB12DABD9DCC52BAD3719CD46F6FBE0D7F5D006768F39C61505B);
	// then by counting a keeper's quota per patient and keeper instead of
	// per wearable (dev/q/<patient>/<keeper>/<day>; before:
	// 489A035C9F4C039E0AD642978C2FFC82CEDADE4A5FBD7693D207044593E591CD).
	const want = "610ABC60EDCAD92E2119834243339DD9B7D105A4B7E230698BB3A7FA9FD26597"
	h := newHarness(t)
	var last []byte
	for _, txs := range workload(t, 42, 60) {
		last = h.block(txs...).AppHash
	}
	if got := fmt.Sprintf("%X", last); got != want {
		t.Fatalf("app hash after the workload is %s, pinned %s: the state's encoding or hashing changed", got, want)
	}
	// The claims' steps did what they say.
	for claim, want := range map[string]string{"WL-C1": claims.StatusPaid, "WL-C2": claims.StatusAdjudicated, "WL-C3": claims.StatusAppealed} {
		if c, err := claims.GetClaim(h.store.Committed(), claim); err != nil || c.Status != want {
			t.Fatalf("the workload's claim %s: %+v, %v", claim, c, err)
		}
	}
	for _, refused := range []string{"WL-C0", "WL-C9"} {
		if _, err := claims.GetClaim(h.store.Committed(), refused); err == nil {
			t.Fatalf("the refused claim %s was stored", refused)
		}
	}
	// The cold chain's steps did what they say: one excursion, released.
	if e, err := supply.GetExcursion(h.store.Committed(), 0, "09506000134352"); err != nil || e.Decision != "release" || e.Packs != 2 || e.Carrier != "ColdExpress" {
		t.Fatalf("the workload's excursion: %v %+v", err, e)
	}
	if _, err := supply.GetColdRecord(h.store.Committed(), 1); err == nil {
		t.Fatal("a refused temperature record was stored")
	}
	// The trial's steps did what they say (the pin covers its state).
	tr, err := trials.Get(h.store.Committed(), "WL-0001")
	if err != nil || tr.Version != 2 || len(tr.Flags) != 2 || tr.Withdrawn != 1 || tr.Batches != 1 || tr.Score == nil || tr.Score.Missing != 1 || !tr.Score.PrimarySwitched {
		t.Fatalf("the workload's trial: %+v, %v", tr, err)
	}
	// Federated learning's: round 1 averaged from the two valid
	// contributions ((120·70000 + 7·-65536) / 127 = 62529.5, a half: 62530), round
	// 2 closed after its deadline with one, the task done.
	m1, err := federated.GetModel(h.store.Committed(), "wl-task", 1)
	if err != nil || len(m1.Contributors) != 2 || m1.Weights[0] != 62530 || m1.Samples != 127 {
		t.Fatalf("the workload's round 1: %+v, %v", m1, err)
	}
	if m2, err := federated.GetModel(h.store.Committed(), "wl-task", 2); err != nil || len(m2.Contributors) != 1 || m2.Weights[0] != 62530 || m2.CarriedOver == "" {
		t.Fatalf("the workload's round 2: %+v, %v", m2, err)
	}
	// Research aggregates': one query released (7 suppressed, and 47 with
	// it: complementary suppression), the differencing and the over-budget
	// ones refused.
	if q, err := research.GetQuery(h.store.Committed(), "wl-q1"); err != nil || q.Release == nil || q.Release.Cells[0] != nil || q.Release.Cells[1] != nil || q.Release.Suppressed != 2 {
		t.Fatalf("the workload's query: %+v, %v", q, err)
	}
	for _, refused := range []string{"wl-q2", "wl-q3"} {
		if _, err := research.GetQuery(h.store.Committed(), refused); err == nil {
			t.Fatalf("the refused query %s was stored", refused)
		}
	}
	// The wearable's: kept by the hospital (not by the second hospital,
	// which keeps none), its first batch kept, its second over the quota.
	if k, err := devices.KeeperOf(h.store.Committed(), id(wearable)); err != nil || k == nil || k.Keeper != id(hospitalKey) {
		t.Fatalf("the workload's wearable's keeper: %+v, %v", k, err)
	}
	if k, err := devices.KeptOf(h.store.Committed(), id(wearable), 1); err != nil || k == nil || len(k.Records) != 1 {
		t.Fatalf("the workload's first batch kept: %+v, %v", k, err)
	}
	if k, err := devices.KeptOf(h.store.Committed(), id(wearable), 2); err != nil || k != nil {
		t.Fatalf("the batch over the quota was kept: %+v, %v", k, err)
	}
	// The capacity steps too: the ventilator moved, one hold was refused,
	// the other left to expire.
	if e, err := capacity.GetEquipment(h.store.Committed(), "WL-VENT"); err != nil || e.Site != "WL-SLH" || e.Moves != 1 {
		t.Fatalf("the workload's ventilator: %+v, %v", e, err)
	}
	if _, err := capacity.GetHold(h.store.Committed(), "WL-H1"); err == nil {
		t.Fatal("the refused hold was stored")
	}
	if hd, err := capacity.GetHold(h.store.Committed(), "WL-H3"); err != nil || hd.Status != capacity.HoldHeld {
		t.Fatalf("the workload's open hold: %+v, %v", hd, err)
	}
	if _, err := capacity.GetSite(h.store.Committed(), "WL-BAD"); err == nil {
		t.Fatal("a site in an unknown region was stored")
	}
}
