package node_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRouteAuthorisationTable: every API route against every kind of
// caller, with the answer expected. Reads are public consortium data (no
// personal health data exists in them); writes are either signed
// transactions (their own table: app.TestPermissionTable) or EPCIS captures,
// which need a member's API token. When identity-bound routes arrive, they
// get their column here.
func TestRouteAuthorisationTable(t *testing.T) {
	n, _, m := startSupplyNode(t)
	callers := []struct{ name, token string }{
		{"anonymous", ""}, {"manufacturer", m["manufacturer"].token}, {"pharmacy", m["pharmacy"].token}, {"forged token", strings.Repeat("ab", 24)},
	}
	doc := string(epcisDoc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:0614141.812345.6789"]}`))
	routes := []struct {
		method, path, body string
		want               [4]int // per caller, in the order above
	}{
		{"GET", "/healthz", "", [4]int{200, 200, 200, 200}},
		{"GET", "/metrics", "", [4]int{200, 200, 200, 200}},
		{"GET", "/", "", [4]int{200, 200, 200, 200}},
		{"GET", "/verify.html", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/openapi.json", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/status", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/tx-types", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/errors", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/identities", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/identities/" + m["pharmacy"].id, "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/identities/" + m["pharmacy"].id + "/members", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/keys/" + strings.Repeat("00", 32), "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/proposals", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/proposals/1", "", [4]int{404, 404, 404, 404}},
		{"GET", "/api/v1/txs/" + strings.Repeat("00", 32), "", [4]int{404, 404, 404, 404}},
		{"GET", "/api/v1/proof?key=meta/chain_id", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/verify?code=(01)09506000134352(21)X", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/dscsa/verify?gtin=09506000134352&serialNumber=X", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/supply/recalls", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/supply/suspects", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/supply/assets", "", [4]int{200, 200, 200, 200}},
		{"GET", "/api/v1/supply/products/09506000134352", "", [4]int{404, 404, 404, 404}},
		{"GET", "/api/v1/supply/objects/sgtin:09506000134352.X", "", [4]int{404, 404, 404, 404}},
		{"GET", "/epcis/events", "", [4]int{200, 200, 200, 200}},
		{"GET", "/epcis/capture/nope", "", [4]int{404, 404, 404, 404}},
		{"POST", "/api/v1/txs", `{"tx":"AQ=="}`, [4]int{400, 400, 400, 400}},
		{"POST", "/epcis/capture", doc, [4]int{401, 202, 202, 401}},
		{"DELETE", "/", "", [4]int{405, 405, 405, 405}},
	}
	for _, r := range routes {
		for i, c := range callers {
			req, _ := http.NewRequest(r.method, n.APIURL()+r.path, strings.NewReader(r.body))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != r.want[i] {
				t.Errorf("%s %s as %s: %d, want %d", r.method, r.path, c.name, res.StatusCode, r.want[i])
			}
		}
	}
}
