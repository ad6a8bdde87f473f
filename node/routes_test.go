package node_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/records"
)

// TestRouteAuthorisationTable: every API route against every kind of
// caller, with the answer expected, in one table. Reads of ledger data are
// public to the consortium (pseudonyms, never health data); transactions
// are authorised on the ledger (their own table: app.TestPermissionTable);
// the routes that act for an identity need the bearer token of a key the
// node holds. A route of the OpenAPI document missing from the table fails
// the test.
func TestRouteAuthorisationTable(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"manufacturer", "manufacturer"}, {"pharmacy", "pharmacy"},
		{"regulator", "regulator"}}, "practitioner", "suspended", "patient", "device")
	ctx := context.Background()
	until := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	if _, err := c.Send(ctx, m["patient"].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
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
	var cons []consent.Consent
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/consents", "", nil), &cons)

	callers := []struct{ name, token string }{{"anonymous", ""}, {"hospital", m["hospital"].token}, {"manufacturer", m["manufacturer"].token},
		{"pharmacy", m["pharmacy"].token}, {"regulator", m["regulator"].token}, {"practitioner", m["practitioner"].token},
		{"suspended practitioner", m["suspended"].token}, {"patient", m["patient"].token}, {"device", m["device"].token},
		{"forged token", strings.Repeat("ab", 24)}}
	doc := string(epcisDoc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:0614141.812345.6789"]}`))
	all := func(code int) [10]int { return [10]int{code, code, code, code, code, code, code, code, code, code} }
	// tokenOnly: 401 without a valid token; the others as given for the
	// eight token holders (hospital … device).
	tokenOnly := func(holders ...int) [10]int {
		out := [10]int{401}
		copy(out[1:9], holders)
		out[9] = 401
		return out
	}
	routes := []struct {
		method, path string
		body         any
		want         [10]int // anonymous, hospital, manufacturer, pharmacy, regulator, practitioner, suspended, patient, device, forged
	}{
		{"GET", "/healthz", nil, all(200)},
		{"GET", "/metrics", nil, all(200)},
		{"GET", "/", nil, all(200)},
		{"GET", "/verify.html", nil, all(200)},
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
		{"GET", "/api/v1/proposals", nil, all(200)},
		{"GET", "/api/v1/proposals/1", nil, all(404)},
		{"GET", "/api/v1/txs/" + strings.Repeat("00", 32), nil, all(404)},
		{"GET", "/api/v1/proof?key=meta/chain_id", nil, all(200)},
		{"GET", "/api/v1/verify?code=(01)09506000134352(21)X", nil, all(200)},
		{"GET", "/api/v1/dscsa/verify?gtin=09506000134352&serialNumber=X", nil, all(200)},
		{"GET", "/api/v1/supply/recalls", nil, all(200)},
		{"GET", "/api/v1/supply/suspects", nil, all(200)},
		{"GET", "/api/v1/supply/assets", nil, all(200)},
		{"GET", "/api/v1/supply/products/09506000134352", nil, all(404)},
		{"GET", "/api/v1/supply/objects/sgtin:09506000134352.X", nil, all(404)},
		{"GET", "/epcis/events", nil, all(200)},
		{"GET", "/epcis/eventTypes/ObjectEvent/events", nil, all(200)},
		{"GET", "/epcis/bizSteps/shipping/events", nil, all(200)},
		{"GET", "/epcis/epcs/urn:epc:id:sgtin:0614141.812345.6789/events", nil, all(200)},
		{"GET", "/epcis/capture/nope", nil, all(404)},
		{"POST", "/api/v1/txs", []byte(`{"tx":"AQ=="}`), all(400)},
		{"POST", "/api/v1/txs/batch", []byte(`{"txs":["AQ=="]}`), all(200)}, // answered per transaction: this one malformed
		// Capture jobs are accepted for any member key the node holds; the
		// ledger then refuses events whose signer may not record them.
		{"POST", "/epcis/capture", []byte(doc), tokenOnly(202, 202, 202, 202, 403, 403, 403, 403)},
		{"GET", "/api/v1/records/" + record, nil, all(200)},
		{"GET", "/api/v1/patients/" + patient + "/records", nil, all(200)},
		{"GET", "/api/v1/patients/" + patient + "/consents", nil, all(200)},
		{"GET", "/api/v1/patients/" + patient + "/access", nil, all(200)},
		{"GET", "/api/v1/consents/" + cons[0].ID, nil, all(200)},
		{"GET", "/api/v1/access?emergency=true", nil, all(200)},
		{"GET", "/api/v1/cases", nil, all(200)},
		{"GET", "/api/v1/cases/nope", nil, all(404)},
		{"GET", "/fhir/metadata", nil, all(200)},
		{"GET", "/fhir/AuditEvent?patient=" + patient, nil, all(200)},
		{"GET", "/fhir/DocumentReference/" + record, nil, all(200)},
		{"GET", "/api/v1/me", nil, tokenOnly(200, 200, 200, 200, 200, 403, 200, 200)},
		{"POST", "/fhir/Observation?patient=" + patient, sentinelObservation(), tokenOnly(201, 403, 201, 403, 403, 403, 403, 403)},
		{"POST", "/fhir?patient=" + patient, []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation","status":"final"}}]}`),
			tokenOnly(200, 403, 200, 403, 403, 403, 403, 403)},
		{"POST", "/api/v1/records/" + record + "/read", api_ReadRequest{Purpose: "treatment"}, tokenOnly(403, 403, 403, 403, 200, 403, 403, 403)},
		{"POST", "/api/v1/records/" + record + "/fetch", []byte(`{}`), all(400)},
		{"GET", "/api/v1/patients/" + patient + "/export", nil, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403)},
		// Personal: whether and when the patient asked for erasure, and which
		// records which custodian keeps on which legal basis. The patient's
		// own token only, like the export.
		{"GET", "/api/v1/patients/" + patient + "/erasure", nil, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403)},
		{"POST", "/api/v1/act", map[string]any{"type": identity.TypeRotateKey, "body": map[string]string{"new_key": "", "proof": ""}},
			tokenOnly(400, 400, 400, 400, 400, 403, 400, 400)},
		{"POST", "/api/v1/act", map[string]any{"type": records.TypeErase}, tokenOnly(403, 403, 403, 403, 403, 403, 200, 403)},
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
}
