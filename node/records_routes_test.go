package node_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/records"
)

// TestEveryPathThatReturnsARecordLogsFirst walks every route of the
// OpenAPI document, as every kind of caller, with every id a record route
// could take. Any answer that shows the record's content must come with a
// new granted access entry for that record and that caller on the ledger.
func TestEveryPathThatReturnsARecordLogsFirst(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	patient := m["patient"].id
	out := mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, m["stlukes"].token, sentinelObservation())
	var docRef struct{ ID string }
	_ = json.Unmarshal(out, &docRef)
	record := docRef.ID
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": consent.Grant{
		Grantee: m["drremote"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}})
	var cons []consent.Consent
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/consents", m["patient"].token, nil), &cons)
	// One access entry exists, so that its id is among the values tried.
	mustCall(t, 200, "POST", base+"/api/v1/records/"+record+"/read", m["patient"].token, api_ReadRequest{Purpose: "patient"})
	trail := func() []records.Access {
		var tr []records.Access
		_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/access", m["patient"].token, nil), &tr)
		return tr
	}
	ids := []string{record, patient, cons[0].ID, trail()[0].ID, m["stlukes"].id, m["drremote"].id}
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/openapi.json", "", nil), &spec); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(spec.Paths))
	for p := range spec.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	callers := []struct{ name, token, id string }{{"anonymous", "", ""}, {"patient", m["patient"].token, patient},
		{"consented practitioner", m["drremote"].token, m["drremote"].id}, {"other practitioner", m["drlocal"].token, m["drlocal"].id},
		{"custodian", m["stlukes"].token, m["stlukes"].id}}
	bodies := []any{api_ReadRequest{Purpose: "treatment"}, api_ReadRequest{Purpose: "patient"}, map[string]any{}}
	tried, shown := 0, 0
	for _, p := range paths {
		for method := range spec.Paths[p] {
			method = strings.ToUpper(method)
			var urls []string
			for _, id := range ids {
				u := strings.NewReplacer("{id}", id, "{type}", "DocumentReference", "{hash}", strings.Repeat("0", 64), "{key}", strings.Repeat("0", 64),
					"{code}", "x", "{gtin}", "x", "{epc}", "x", "{eventType}", "ObjectEvent", "{bizStep}", "x").Replace(p)
				urls = append(urls, u, u+"?patient="+patient)
			}
			for _, typ := range []string{"Observation", "Consent", "AuditEvent", "Patient"} {
				if strings.Contains(p, "{type}") {
					urls = append(urls, strings.Replace(strings.Replace(p, "{type}", typ, 1), "{id}", record, 1)+"?patient="+patient)
				}
			}
			for _, u := range urls {
				if strings.HasPrefix(u, "/epcis/capture") || u == "/api/v1/txs" || strings.HasPrefix(u, "/fhir") && method == "POST" {
					continue // writes of other kinds, tested elsewhere
				}
				for _, c := range callers {
					send := []any{nil}
					if method == "POST" {
						send = bodies
					}
					for _, body := range send {
						before := len(trail())
						status, out := call(t, method, base+u, c.token, body)
						tried++
						if !strings.Contains(string(out), sentinel) {
							continue
						}
						shown++
						after := trail()
						if status != http.StatusOK || len(after) <= before {
							t.Errorf("%s %s as %s showed the record without a new access entry", method, u, c.name)
							continue
						}
						last := after[len(after)-1]
						if last.Outcome != records.Granted || last.Record != record || last.Requester != c.id {
							t.Errorf("%s %s as %s showed the record; the newest entry is %+v", method, u, c.name, last)
						}
					}
				}
			}
		}
	}
	if shown == 0 || tried < 500 {
		t.Fatalf("tried %d requests, %d showed the record: the walk did not reach the record routes", tried, shown)
	}
}
