package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/trials"
)

// TestRouteAuthorisationTable: every API route against every kind of
// caller, with the answer expected, in one table. Supply-chain answers,
// chain status and organisations are public; a read about a patient (their
// pseudonym, records index, consents, trail, cases, FHIR resources, proofs
// of their state) only to the patient and those with standing with them
// (records.View); the global audit only to the regulator. Transactions are
// authorised on the ledger (their own table: app.TestPermissionTable); the
// routes that act for an identity need the bearer token of a key the node
// holds. A route of the OpenAPI document missing from the table fails the
// test. (Callers here use tokens; TestSignedReads shows a signature is the
// same caller.)
func TestRouteAuthorisationTable(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"manufacturer", "manufacturer"}, {"pharmacy", "pharmacy"},
		{"regulator", "regulator"}}, "practitioner", "suspended", "patient", "device", "stranger", "outsider")
	ctx := context.Background()
	until := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	for _, p := range []string{"patient", "stranger"} {
		if _, err := c.Send(ctx, m[p].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatal(err)
		}
	}
	// outsider: a practitioner of another organisation, with no standing
	// with the patient.
	if _, err := c.RegisterPractitioner(ctx, m["pharmacy"].key, m["outsider"].key, identity.RegisterPractitioner{Licence: "PH-outsider", Profession: "pharmacist", ValidUntil: until}, true); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"practitioner", "suspended"} {
		if _, err := c.RegisterPractitioner(ctx, m["hospital"].key, m[doc].key, identity.RegisterPractitioner{Licence: "MD-" + doc, Profession: "doctor", ValidUntil: until}, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RegisterDevice(ctx, m["hospital"].key, m["device"].key, "glucose-monitor", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["hospital"].key, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: m["suspended"].id, Status: "suspended"}, true); err != nil {
		t.Fatal(err)
	}
	base := n.APIURL()
	patient := m["patient"].id
	var docRef struct{ ID string }
	_ = json.Unmarshal(mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["hospital"].token, sentinelObservation()), &docRef)
	record := docRef.ID
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": consent.Grant{
		Grantee: m["practitioner"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: until}})
	// A trial the manufacturer sponsors with the hospital as its site,
	// which enrols the patient on a research consent for it.
	mustCall(t, 200, "POST", base+"/api/v1/act", m["manufacturer"].token, map[string]any{"type": trials.TypeRegister, "body": trials.Register{ID: "PRM-ROUTES",
		Protocol: trials.Protocol{Title: "Route trial", Conditions: []string{"Asthma"}, Interventions: []string{"budesonide"}, Inclusion: "adults", Exclusion: "smokers",
			SampleSize: 10, PrimaryOutcomes: []trials.Outcome{{ID: "fev1", Measure: "FEV1", TimeFrame: "12 weeks"}}, Sites: []string{m["hospital"].id},
			ProtocolCommitment: strings.Repeat("ab", 32)}}})
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": consent.Grant{
		Grantee: m["hospital"].id, Scope: consent.Scope{Studies: []string{"PRM-ROUTES"}}, Purpose: "research", Expires: until}})
	mustCall(t, 200, "POST", base+"/api/v1/act", m["hospital"].token, map[string]any{"type": trials.TypeEnrol, "body": trials.Enrol{Trial: "PRM-ROUTES", Participant: patient}})
	mustCall(t, 200, "POST", base+"/api/v1/act", m["hospital"].token, map[string]any{"type": federated.TypeTask, "body": federated.Task{ID: "route-task",
		Title: "Route task", Features: []string{"age"}, Label: "diabetes", LearningRate: 500_000, LocalEpochs: 1, Clip: 1 << 20, Rounds: 1, RoundBlocks: 100,
		Participants: []string{m["hospital"].id, m["pharmacy"].id}}})
	mustCall(t, 200, "POST", base+"/api/v1/act", m["regulator"].token, map[string]any{"type": research.TypeDataset, "body": research.Dataset{ID: "route-ds",
		Title: "Route dataset", Custodians: []string{m["hospital"].id}, CapMicroEps: 1_000_000,
		Values: research.Values{Category: []string{"t2d"}, Region: []string{"N"}, AgeBand: []string{"40-64"}, Period: []string{"2026-Q4"}}}})
	// The patient's wearable, with one committed batch.
	watchKey := newKey(t)
	if _, err := c.RegisterDevice(ctx, m["patient"].key, watchKey, "wearable", true); err != nil {
		t.Fatal(err)
	}
	firstBatch, _ := devices.Next([][]byte{devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 72_00}.Encode()}, nil)
	if _, err := c.Send(ctx, watchKey, devices.TypeBatch, firstBatch, true); err != nil {
		t.Fatal(err)
	}
	watch := ledger.Address(watchKey.Public().(ed25519.PublicKey))
	if _, err := c.Send(ctx, m["hospital"].key, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["patient"].key, devices.TypeKeeper, devices.Keep{Device: watch, Keeper: m["hospital"].id}, true); err != nil {
		t.Fatal(err)
	}
	subject := trials.SubjectID(&trials.Participant{Trial: "PRM-ROUTES", Participant: patient})
	var cons []consent.Consent
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/consents", m["patient"].token, nil), &cons)
	// The practitioner's consent first (the patient also gave the
	// hospital a research consent for the trial, which the hospital may
	// read as its grantee).
	slices.SortFunc(cons, func(a, b consent.Consent) int {
		return strings.Compare(strings.TrimPrefix(a.Grantee, m["practitioner"].id), strings.TrimPrefix(b.Grantee, m["practitioner"].id))
	})
	if cons[0].Grantee != m["practitioner"].id {
		t.Fatalf("the practitioner's consent: %+v", cons)
	}

	callers := []struct{ name, token string }{{"anonymous", ""}, {"hospital", m["hospital"].token}, {"manufacturer", m["manufacturer"].token},
		{"pharmacy", m["pharmacy"].token}, {"regulator", m["regulator"].token}, {"practitioner", m["practitioner"].token},
		{"suspended practitioner", m["suspended"].token}, {"patient", m["patient"].token}, {"device", m["device"].token},
		{"another patient", m["stranger"].token}, {"practitioner without standing", m["outsider"].token},
		{"forged token", strings.Repeat("ab", 24)}}
	doc := string(epcisDoc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:0614141.812345.6789"]}`))
	all := func(code int) [12]int {
		return [12]int{code, code, code, code, code, code, code, code, code, code, code, code}
	}
	// tokenOnly: 401 without a valid token; the others as given for the
	// ten token holders (hospital … practitioner without standing).
	tokenOnly := func(holders ...int) [12]int {
		out := [12]int{401}
		copy(out[1:11], holders)
		out[11] = 401
		return out
	}
	// Reads about the patient: the records index (PatientCircle: the
	// patient, the custodian hospital, the practitioner with a consent),
	// and the audit (PatientAudit: also the regulator). A suspended
	// practitioner is refused as who they are (403).
	index := tokenOnly(200, 403, 403, 403, 200, 403, 200, 403, 403, 403)
	audit := tokenOnly(200, 403, 403, 200, 200, 403, 200, 403, 403, 403)
	// wearable: audit, where the refusals are answered as not found.
	wearable := tokenOnly(200, 404, 404, 200, 200, 403, 200, 404, 404, 404)
	regulatorOnly := tokenOnly(403, 403, 403, 200, 403, 403, 403, 403, 403, 403)
	hidden := [12]int{404, 200, 404, 404, 200, 200, 404, 200, 404, 404, 404, 404}
	proofAudit := tokenOnly(403, 403, 403, 200, 403, 403, 200, 403, 403, 403)
	proofSelf := tokenOnly(403, 403, 403, 403, 403, 403, 200, 403, 403, 403)
	routes := []struct {
		method, path string
		body         any
		want         [12]int // anonymous, hospital, manufacturer, pharmacy, regulator, practitioner, suspended, patient, device, another patient, practitioner without standing, forged
	}{
		{"GET", "/healthz", nil, all(200)},
		{"GET", "/metrics", nil, all(200)},
		{"GET", "/", nil, all(200)},
		{"GET", "/verify.html", nil, all(200)},
		{"GET", "/devices.html", nil, all(200)},
		{"GET", "/patient.html", nil, all(200)},
		{"GET", "/api/v1/openapi.json", nil, all(200)},
		{"GET", "/api/v1/status", nil, all(200)},
		{"GET", "/api/v1/tx-types", nil, all(200)},
		{"GET", "/api/v1/errors", nil, all(200)},
		{"GET", "/api/v1/identities", nil, all(200)},
		{"GET", "/api/v1/identities/" + m["pharmacy"].id, nil, all(200)},
		{"GET", "/api/v1/identities/" + m["hospital"].id + "/members", nil, all(200)},
		{"GET", "/api/v1/identities/" + m["hospital"].id + "/endpoint", nil, all(200)},
		{"GET", "/api/v1/identities/" + strings.Repeat("ab", 20) + "/endpoint", nil, all(404)},
		{"GET", "/api/v1/identities/" + m["hospital"].id + "/retention", nil, all(200)},
		{"GET", "/api/v1/identities/" + strings.Repeat("ab", 20) + "/retention", nil, all(404)},
		{"GET", "/api/v1/keys/" + strings.Repeat("00", 32), nil, all(200)},
		// A patient's key reads as unknown to those who may not read
		// about the patient (TestKeyInfoOnlyToThoseWhoMayRead): 200 for
		// all, what it says differs.
		{"GET", "/api/v1/keys/" + hex.EncodeToString(m["patient"].key.Public().(ed25519.PublicKey)), nil, all(200)},
		{"GET", "/api/v1/proposals", nil, all(200)},
		{"GET", "/api/v1/proposals/1", nil, all(404)},
		// Public: every node must know an upgrade is coming, and when.
		{"GET", "/api/v1/governance/upgrade", nil, all(200)},
		{"GET", "/api/v1/txs/" + strings.Repeat("00", 32), nil, all(404)},
		// A patient's identity is refused as if it did not exist: a
		// different answer would tell which ids are patients.
		{"GET", "/api/v1/identities/" + patient, nil, hidden},
		{"GET", "/api/v1/identities/" + patient + "/members", nil, hidden},
		{"GET", "/api/v1/identities/" + patient + "/endpoint", nil, all(404)},
		{"GET", "/api/v1/identities/" + patient + "/retention", nil, all(404)},
		{"GET", "/api/v1/proof?key=meta/chain_id", nil, all(200)},
		{"GET", "/api/v1/proof?key=sup/recall/09506000134352/X", nil, all(200)},
		{"GET", "/api/v1/proof?key=id/" + m["hospital"].id, nil, all(200)},
		// A proof shows a whole entry: a patient's are proven to the patient,
		// the audit's to the regulator too; others ask the queries, which
		// narrow. An absent key's proof names its neighbours by hash only.
		{"GET", "/api/v1/proof?key=id/" + patient, nil, proofAudit},
		// An absent identity is proven as a patient's: holding a key must
		// not tell a patient's (refused) from an unknown one.
		{"GET", "/api/v1/proof?key=id/" + strings.Repeat("0", 40), nil, regulatorOnly},
		{"GET", "/api/v1/proof?key=key/" + strings.Repeat("0", 40), nil, regulatorOnly},
		{"GET", "/api/v1/proof?key=nonce/" + strings.Repeat("0", 40), nil, regulatorOnly},
		{"GET", "/api/v1/proof?key=conp/" + patient + "/" + cons[0].ID, nil, proofAudit},
		{"GET", "/api/v1/proof?key=con/" + cons[0].ID, nil, proofAudit},
		{"GET", "/api/v1/proof?key=rec/" + record, nil, proofSelf},
		{"GET", "/api/v1/proof?key=rec/absent-record", nil, all(200)},
		{"GET", "/api/v1/proof?key=acct/", nil, regulatorOnly},
		{"GET", "/api/v1/proof?key=era/" + patient, nil, proofSelf},
		{"GET", "/api/v1/proof?key=t/" + strings.Repeat("00", 32), nil, all(403)},
		{"GET", "/api/v1/verify?code=(01)09506000134352(21)X", nil, all(200)},
		{"GET", "/api/v1/dscsa/verify?gtin=09506000134352&serialNumber=X", nil, all(200)},
		{"GET", "/api/v1/blocks", nil, all(200)},
		{"GET", "/api/v1/trials", nil, all(200)},
		{"GET", "/api/v1/trial-flags", nil, all(200)},
		{"GET", "/fhir/ResearchStudy", nil, all(200)},
		{"GET", "/fhir/ResearchStudy/PRM-NONE", nil, all(404)},
		{"GET", "/api/v1/trials/PRM-NONE", nil, all(404)},
		{"GET", "/api/v1/trials/PRM-NONE/history", nil, all(404)},
		{"GET", "/api/v1/trials/PRM-NONE/batches", nil, all(404)},
		{"GET", "/api/v1/trials/PRM-NONE/batches/1", nil, all(404)},
		// A trial's enrolments: the sponsor (manufacturer), its site
		// (the hospital and its practitioner), the regulator and the
		// participant read them; another patient reads only their own
		// (none: an empty list, and an enrolment not theirs answers as
		// none); everyone else is refused before anything is looked up,
		// an enrolled participant and an unknown one alike.
		{"GET", "/api/v1/trials/PRM-NONE/participants", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/trials/PRM-ROUTES/participants", nil, tokenOnly(200, 200, 403, 200, 200, 403, 200, 403, 200, 403)},
		{"GET", "/api/v1/trials/PRM-ROUTES/participants/" + patient, nil, tokenOnly(200, 200, 403, 200, 200, 403, 200, 403, 404, 403)},
		{"GET", "/api/v1/trials/PRM-ROUTES/participants/" + strings.Repeat("0", 40), nil, tokenOnly(404, 404, 403, 404, 404, 403, 404, 403, 404, 403)},
		{"GET", "/fhir/ResearchSubject?study=PRM-ROUTES", nil, tokenOnly(200, 200, 403, 200, 200, 403, 200, 403, 200, 403)},
		{"GET", "/fhir/ResearchSubject/" + subject, nil, tokenOnly(200, 200, 403, 200, 200, 403, 200, 403, 404, 403)},
		{"GET", "/fhir/ResearchSubject/PRM-ROUTES.0123456789abcdef", nil, tokenOnly(404, 404, 403, 404, 404, 403, 404, 403, 404, 403)},
		// Federated learning: tasks, models and accounts to every signed
		// caller; a round's contributions (each site's model) to the
		// task's owner (and its practitioners), its participants and the
		// regulator.
		{"GET", "/api/v1/fl/tasks", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/fl/tasks/route-task", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/fl/tasks/no-task", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/fl/tasks/route-task/accounts", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/fl/tasks/route-task/models", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/fl/tasks/route-task/models/0", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/fl/tasks/route-task/rounds/1/contributions", nil, tokenOnly(200, 403, 200, 200, 200, 403, 403, 403, 403, 403)},
		// Research aggregates: datasets to every signed caller; a
		// researcher's budget (here the manufacturer's, none granted) to
		// the researcher, the dataset's custodians (the hospital) and the
		// regulator; queries listed as each may read them.
		{"GET", "/api/v1/research/datasets", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		// A patient's wearable's batches: as the patient's audit, and to
		// anyone else not found (as a device without batches).
		// Who keeps wearables' readings, and their quotas: public.
		{"GET", "/api/v1/devices/keepers", nil, all(200)},
		{"GET", "/api/v1/devices/" + watch + "/batches", nil, wearable},
		{"GET", "/api/v1/devices/" + watch + "/latest", nil, wearable},
		{"GET", "/api/v1/devices/" + watch + "/batches/1", nil, wearable},
		{"GET", "/api/v1/devices/" + watch + "/keeper", nil, wearable},
		{"GET", "/api/v1/devices/" + watch + "/kept", nil, wearable},
		{"GET", "/api/v1/devices/" + watch + "/kept/1", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		// Its kept readings through the FHIR facade: read for the token's
		// holder as records are (none kept here: an empty page).
		{"GET", "/fhir/Observation?device=" + watch, nil, wearable},
		// Its readings are uploaded by the watch itself (signed with its
		// key: TestWearableReadingsKept), no one else.
		{"POST", "/api/v1/devices/" + watch + "/batches/1/readings", []byte(`{"readings":[]}`), tokenOnly(403, 403, 403, 403, 403, 403, 403, 403, 403, 403)},
		// An organisation's device without batches: not found, to members.
		{"GET", "/api/v1/devices/" + m["device"].id + "/batches", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/research/datasets/route-ds", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/research/datasets/no-ds", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/research/datasets/route-ds/budgets/" + m["manufacturer"].id, nil, tokenOnly(200, 200, 403, 200, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/research/projects/no-project", nil, tokenOnly(403, 403, 403, 403, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/research/queries", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/research/queries/no-query", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/MeasureReport/research-no-query", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/ResearchSubject/PRM-NONE.0123456789abcdef", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/claims", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/claims/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/patients/" + patient + "/claims", nil, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403, 403, 403)},
		{"GET", "/fhir/ExplanationOfBenefit?patient=" + patient, nil, tokenOnly(403, 403, 403, 200, 403, 403, 200, 403, 403, 403)},
		{"GET", "/api/v1/coverage/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		// Signals and billing profiles: insurers (none here) and the regulator.
		{"GET", "/api/v1/claim-signals", nil, tokenOnly(403, 403, 403, 200, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/claim-em/2026-11", nil, tokenOnly(403, 403, 403, 200, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/claim-policies", nil, all(200)},
		// Capacity: facility data, to every registered identity; holds to
		// organisations (their own) and their practitioners.
		{"GET", "/api/v1/capacity/regions", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/capacity/sites", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/capacity/sites/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/capacity/equipment/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/capacity/shortages", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/capacity/oxygen", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/capacity/nearest?lat=51.5&lon=-0.1&needs=icu-bed", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/capacity/nearest?lat=91&lon=0&needs=icu-bed", nil, tokenOnly(400, 400, 400, 400, 400, 403, 400, 400, 400, 400)},
		{"GET", "/api/v1/capacity/holds", nil, tokenOnly(200, 200, 200, 200, 200, 403, 403, 403, 403, 200)},
		{"GET", "/api/v1/capacity/holds/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/capacity/nhsn/2026-11-28", nil, tokenOnly(200, 200, 200, 200, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/capacity/nhsn/2026-11-27", nil, tokenOnly(400, 400, 400, 400, 403, 403, 403, 403, 403, 403)},
		{"GET", "/fhir/Location/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/HealthcareService/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/MeasureReport/region-NOPE", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/Device/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/api/v1/claim-policies/nope", nil, all(404)},
		{"GET", "/api/v1/claim-tables", nil, all(200)},
		{"GET", "/api/v1/claim-codes/icd10cm/E11.9", nil, all(404)},
		{"GET", "/api/v1/claim-codes/icd10cm/E11.9?date=tomorrow", nil, all(400)},
		{"GET", "/api/v1/blocks?limit=21", nil, all(400)},
		{"GET", "/api/v1/supply/recalls", nil, all(200)},
		{"GET", "/api/v1/supply/suspects", nil, all(200)},
		{"GET", "/api/v1/supply/lots/09506000134352/AMX2026A/packs", nil, all(200)},
		{"GET", "/api/v1/supply/lots/09506000134352/AMX%201/packs", nil, all(400)},
		{"GET", "/api/v1/supply/assets", nil, all(200)},
		{"GET", "/api/v1/supply/excursions", nil, all(200)},
		{"GET", "/api/v1/supply/excursions?gtin=09506000134352", nil, all(200)},
		{"GET", "/api/v1/supply/excursions/counts", nil, all(200)},
		{"GET", "/api/v1/supply/cold/0", nil, all(404)},
		{"GET", "/api/v1/supply/cold/x", nil, all(404)},
		{"GET", "/api/v1/supply/products/09506000134352/storage-rule", nil, all(404)},
		{"GET", "/api/v1/supply/products/09506000134352", nil, all(404)},
		{"GET", "/api/v1/supply/objects/sgtin:09506000134352.X", nil, all(404)},
		{"GET", "/api/v1/supply/prefixes", nil, all(200)},
		{"GET", "/api/v1/supply/prefixes?code=(01)09506000134352", nil, all(200)},
		{"GET", "/api/v1/supply/prefixes/9506000", nil, all(404)},
		{"GET", "/api/v1/supply/objects/sgtin:09506000134352.X/children", nil, all(404)},
		{"GET", "/epcis/events", nil, all(200)},
		{"GET", "/epcis/eventTypes/ObjectEvent/events", nil, all(200)},
		{"GET", "/epcis/bizSteps/shipping/events", nil, all(200)},
		{"GET", "/epcis/epcs/urn:epc:id:sgtin:0614141.812345.6789/events", nil, all(200)},
		{"GET", "/epcis/capture/nope", nil, all(404)},
		{"POST", "/api/v1/txs", []byte(`{"tx":"AQ=="}`), all(400)},
		{"POST", "/api/v1/txs/batch", []byte(`{"txs":["AQ=="]}`), all(200)}, // answered per transaction: this one malformed
		// Capture jobs are accepted for any member key the node holds; the
		// ledger then refuses events whose signer may not record them.
		{"POST", "/epcis/capture", []byte(doc), tokenOnly(202, 202, 202, 202, 403, 403, 403, 403, 403, 403)},
		{"GET", "/api/v1/records/" + record, nil, index},
		{"GET", "/api/v1/patients/" + patient + "/records", nil, index},
		{"GET", "/api/v1/patients/" + patient + "/consents", nil, audit},
		{"GET", "/api/v1/patients/" + patient + "/access", nil, audit},
		// The consent names the practitioner, not the hospital.
		{"GET", "/api/v1/consents/" + cons[0].ID, nil, tokenOnly(403, 403, 403, 200, 200, 403, 200, 403, 403, 403)},
		{"GET", "/api/v1/access?emergency=true", nil, regulatorOnly},
		{"GET", "/api/v1/cases", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		{"GET", "/api/v1/cases/nope", nil, tokenOnly(404, 404, 404, 404, 404, 403, 404, 404, 404, 404)},
		{"GET", "/fhir/metadata", nil, all(200)},
		{"GET", "/fhir/AuditEvent?patient=" + patient, nil, audit},
		{"GET", "/fhir/AuditEvent", nil, regulatorOnly},
		{"GET", "/fhir/Consent", nil, regulatorOnly},
		{"GET", "/fhir/Consent?patient=" + patient, nil, audit},
		{"GET", "/fhir/DocumentReference?patient=" + patient, nil, index},
		{"GET", "/fhir/DocumentReference/" + record, nil, index},
		{"GET", "/fhir/Patient/" + patient, nil, audit},
		{"GET", "/fhir/Patient?_id=" + patient, nil, audit},
		{"GET", "/api/v1/me", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200, 200, 200)},
		// Another observation than the hospital's above (the same again
		// would be recorded already: 200), new to each custodian.
		{"POST", "/fhir/Observation?patient=" + patient, []byte(`{"resourceType":"Observation","status":"final","code":{"text":"pulse"}}`),
			tokenOnly(201, 403, 201, 403, 403, 403, 403, 403, 403, 403)},
		{"POST", "/fhir?patient=" + patient, []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation","status":"final"}}]}`),
			tokenOnly(200, 403, 200, 403, 403, 403, 403, 403, 403, 403)},
		{"POST", "/api/v1/records/" + record + "/read", api_ReadRequest{Purpose: "treatment"}, tokenOnly(403, 403, 403, 403, 200, 403, 403, 403, 403, 403)},
		{"POST", "/api/v1/records/" + record + "/fetch", []byte(`{}`), all(400)},
		{"GET", "/api/v1/patients/" + patient + "/export", nil, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403, 403, 403)},
		// Personal: whether and when the patient asked for erasure, and which
		// records which custodian keeps on which legal basis. The patient's
		// own token only, like the export.
		{"GET", "/api/v1/patients/" + patient + "/erasure", nil, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403, 403, 403)},
		{"POST", "/api/v1/act", map[string]any{"type": identity.TypeRotateKey, "body": map[string]string{"new_key": "", "proof": ""}},
			tokenOnly(400, 400, 400, 400, 400, 403, 400, 400, 400, 400)},
		// Each patient erases only their own records: the other patient's
		// request is about theirs (they have none: 409), not this patient's.
		{"POST", "/api/v1/act", map[string]any{"type": records.TypeErase}, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403, 409, 403)},
		{"DELETE", "/", nil, all(405)},
	}
	for _, r := range routes {
		for i, c := range callers {
			if status, out := call(t, r.method, base+r.path, c.token, r.body); status != r.want[i] {
				t.Errorf("%s %s as %s: %d, want %d: %.160s", r.method, r.path, c.name, status, r.want[i], out)
			}
		}
	}

	// Every route the OpenAPI document describes has a row.
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/openapi.json", "", nil), &spec)
	for path, ops := range spec.Paths {
		pattern := regexp.MustCompile(`^` + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(path), `[^?]+`) + `(\?.*)?$`)
		for method := range ops {
			found := false
			for _, r := range routes {
				found = found || (strings.EqualFold(r.method, method) && pattern.MatchString(r.path))
			}
			if !found {
				t.Errorf("%s %s has no row in the authorisation table", strings.ToUpper(method), path)
			}
		}
	}

	// Refused requests for the record left no trace in the patient's
	// trail: only those with standing (the patient's own export, the
	// custodian hospital and its practitioners) appear in it, never the
	// others who asked.
	var trail []records.Access
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/access", m["patient"].token, nil), &trail)
	for _, a := range trail {
		if a.Requester != patient && a.Requester != m["hospital"].id && a.Requester != m["practitioner"].id && a.Requester != m["suspended"].id {
			t.Errorf("the trail shows a request by %s, who has no standing with the patient", a.Requester)
		}
	}
	if len(trail) == 0 {
		t.Error("the trail is empty: the practitioner's granted read is missing")
	}
}

// TestSignedReads: a caller who signs requests with their own key (RFC
// 9421) is the same caller as with a token, and the node never holds the
// key: the patient and the practitioner their consent names read the
// patient's records index, another patient and a practitioner without
// standing are refused, a key the ledger does not know is anonymous, and
// the patient's pseudonym is in no one else's identity list.
func TestSignedReads(t *testing.T) {
	_, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"regulator", "regulator"}}, "practitioner", "patient", "stranger", "unregistered")
	ctx := context.Background()
	until := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	for _, p := range []string{"patient", "stranger"} {
		if _, err := c.Send(ctx, m[p].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RegisterPractitioner(ctx, m["hospital"].key, m["practitioner"].key, identity.RegisterPractitioner{Licence: "MD-1", Profession: "doctor", ValidUntil: until}, true); err != nil {
		t.Fatal(err)
	}
	patient := m["patient"].id
	if _, err := c.Send(ctx, m["patient"].key, consent.TypeGrant, consent.Grant{Grantee: m["practitioner"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: until}, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who, path, code string
	}{
		{"patient", "/api/v1/patients/" + patient + "/consents", ""},
		{"practitioner", "/api/v1/patients/" + patient + "/consents", ""},
		{"regulator", "/api/v1/patients/" + patient + "/access", ""},
		{"stranger", "/api/v1/patients/" + patient + "/consents", "no_standing"},
		{"regulator", "/api/v1/patients/" + patient + "/records", "no_standing"},
		{"unregistered", "/api/v1/patients/" + patient + "/consents", "token_required"},
		{"patient", "/api/v1/me", ""},
		{"stranger", "/api/v1/identities/" + patient, "not_found"},
		{"patient", "/api/v1/proof?key=id/" + patient, ""},
		{"stranger", "/api/v1/proof?key=id/" + patient, "no_standing"},
	} {
		_, err := c.WithKey(m[tc.who].key).Query(ctx, tc.path, nil)
		var p *client.Problem
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s signing GET %s: %v", tc.who, tc.path, err)
		case tc.code != "" && (!errors.As(err, &p) || p.Code != tc.code):
			t.Errorf("%s signing GET %s: %v, want %s", tc.who, tc.path, err, tc.code)
		}
	}
	// Patients' pseudonyms are listed to the regulator and to no one else
	// (each patient sees their own entry).
	for who, want := range map[string]int{"regulator": 2, "hospital": 0, "practitioner": 0, "patient": 1, "unregistered": 0} {
		var list []identity.Identity
		raw, err := c.WithKey(m[who].key).Query(ctx, "/api/v1/identities", url.Values{"kind": {"patient"}})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(raw, &list)
		if len(list) != want {
			t.Errorf("%s lists %d patients, want %d", who, len(list), want)
		}
	}
}

// TestKeyInfoOnlyToThoseWhoMayRead: GET /keys/{key} of a patient's key
// (or their device's) tells who the key is, its standing and its nonce
// only to the patient (asking with the key itself, or their token) and
// those who may read about them; to anyone else, holding the key, it reads
// exactly as a key the ledger does not know. An organisation's or a
// practitioner's key is public.
func TestKeyInfoOnlyToThoseWhoMayRead(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"manufacturer", "manufacturer"}, {"regulator", "regulator"}},
		"patient", "stranger", "watch", "doctor")
	ctx := context.Background()
	for _, p := range []string{"patient", "stranger"} {
		if _, err := c.Send(ctx, m[p].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RegisterDevice(ctx, m["patient"].key, m["watch"].key, "glucose-monitor", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterPractitioner(ctx, m["hospital"].key, m["doctor"].key, identity.RegisterPractitioner{Licence: "MD-1", Profession: "doctor",
		ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
		t.Fatal(err)
	}
	// Registering, a device and a grant: the patient's next nonce is 3,
	// which must not show to others.
	if _, err := c.Send(ctx, m["patient"].key, consent.TypeGrant, consent.Grant{Grantee: m["doctor"].id, Scope: consent.Scope{All: true},
		Purpose: "treatment", Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}, true); err != nil {
		t.Fatal(err)
	}
	_, unknown, _ := ed25519.GenerateKey(nil)
	base := n.APIURL()
	pub := func(name string) string { return hex.EncodeToString(m[name].key.Public().(ed25519.PublicKey)) }
	ask := func(key, token string) map[string]any {
		var out map[string]any
		if err := json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/keys/"+key, token, nil), &out); err != nil {
			t.Fatal(err)
		}
		delete(out, "address")
		return out
	}
	asUnknown := ask(hex.EncodeToString(unknown.Public().(ed25519.PublicKey)), "")
	for _, tc := range []struct {
		name, key, token string
		told             bool
	}{
		{"anyone, of a patient", pub("patient"), "", false},
		{"another patient", pub("patient"), m["stranger"].token, false},
		{"a manufacturer", pub("patient"), m["manufacturer"].token, false},
		{"anyone, of a patient's device", pub("watch"), "", false},
		{"the patient, by token", pub("patient"), m["patient"].token, true},
		{"the practitioner with a consent", pub("patient"), m["doctor"].token, true},
		{"the regulator", pub("patient"), m["regulator"].token, true},
		{"the patient, of their device", pub("watch"), m["patient"].token, true},
		{"the device, of itself", pub("watch"), m["watch"].token, true},
		{"anyone, of an organisation", pub("hospital"), "", true},
		{"anyone, of a practitioner", pub("doctor"), "", true},
	} {
		got := ask(tc.key, tc.token)
		if tc.told != (got["identity"] != nil) {
			t.Fatalf("%s: told %v, want %v: %v", tc.name, got["identity"] != nil, tc.told, got)
		}
		if !tc.told && fmt.Sprint(got) != fmt.Sprint(asUnknown) {
			t.Fatalf("%s: %v, not what an unknown key reads (%v)", tc.name, got, asUnknown)
		}
	}
	// Nor does the kind index prove a patient's device to anyone else (an
	// absent entry reads the same, to all but the regulator); an
	// organisation's and a practitioner's entries are public.
	for _, tc := range []struct {
		name, key, token string
		status           int
	}{
		{"anyone, of a patient's device", "kind/device/" + m["watch"].id, "", 401},
		{"a manufacturer, of a patient's device", "kind/device/" + m["watch"].id, m["manufacturer"].token, 403},
		{"anyone, of an unknown device", "kind/device/" + strings.Repeat("0", 40), "", 401},
		{"the patient, of their device", "kind/device/" + m["watch"].id, m["patient"].token, 200},
		{"anyone, of an organisation", "kind/organisation/" + m["hospital"].id, "", 200},
		{"anyone, of a practitioner", "kind/practitioner/" + m["doctor"].id, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) { mustCall(t, tc.status, "GET", base+"/api/v1/proof?key="+tc.key, tc.token, nil) })
	}
	// The holder, signing with the key itself (RFC 9421), as the CLI and
	// the portal ask.
	self, err := client.New(base).Self(ctx, m["patient"].key)
	if err != nil || self.Identity == nil || self.Identity.ID != m["patient"].id || self.Nonce != 3 {
		t.Fatalf("the patient asking with their key: %+v, %v", self, err)
	}
}
