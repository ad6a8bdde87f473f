package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/release"
)

// call makes one API request and returns the status and body.
func call(t testing.TB, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustCall fails unless the request answers want.
func mustCall(t testing.TB, want int, method, url, token string, body any) []byte {
	t.Helper()
	status, out := call(t, method, url, token, body)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, status, want, out)
	}
	return out
}

// recordsNode is a node holding keys for two hospitals, a regulator, a
// patient and a practitioner at each hospital, all registered.
func recordsNode(t *testing.T) (base string, m map[string]*member, docs *docstore.Store, home string) {
	return recordsNodeGenesis(t, nil)
}

// recordsNodeGenesis is recordsNode with its genesis changed by tweak; a
// genesis that asks for vouchers has the patient register with one St
// Luke's issued.
func recordsNodeGenesis(t *testing.T, tweak func(*app.Genesis)) (base string, m map[string]*member, docs *docstore.Store, home string) {
	n, c, m := startMembersGenesis(t, nil, tweak, [][2]string{{"stlukes", "hospital"}, {"riverside", "hospital"}, {"agency", "regulator"}},
		"patient", "drlocal", "drremote")
	ctx := context.Background()
	var reg identity.RegisterPatient
	if g := (&app.Genesis{}); tweak != nil {
		if tweak(g); g.PatientRegistration == identity.PolicyVoucher {
			code, _ := identity.NewVoucher()
			if _, err := c.Send(ctx, m["stlukes"].key, identity.TypeIssueVouchers, identity.IssueVouchers{Vouchers: []string{identity.VoucherHash(code)}}, true); err != nil {
				t.Fatal(err)
			}
			reg.Voucher = code
		}
	}
	if _, err := c.Send(ctx, m["patient"].key, identity.TypeRegisterPatient, reg, true); err != nil {
		t.Fatal(err)
	}
	until := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	for _, p := range [][2]string{{"drlocal", "stlukes"}, {"drremote", "riverside"}} {
		if _, err := c.RegisterPractitioner(ctx, m[p[1]].key, m[p[0]].key, identity.RegisterPractitioner{
			Licence: "MD-" + p[0], Profession: "doctor", ValidUntil: until}, true); err != nil {
			t.Fatal(err)
		}
	}
	return n.APIURL(), m, n.Docs, filepath.Dir(n.Comet.Config().DBDir())
}

func syntheaBundle(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(conformance.Dir(t, "fhir-r4"), "synthea.bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sentinel is health data no ledger, log or file may ever show in clear.
const sentinel = "SENTINEL-PHI-Qx81vTz"

func sentinelObservation() []byte {
	return []byte(`{"resourceType":"Observation","status":"final","code":{"text":"blood glucose"},"valueString":"` + sentinel + `"}`)
}

func TestRecordsEndToEnd(t *testing.T) {
	base, m, docs, _ := recordsNode(t)
	patient := m["patient"].id
	hospital := m["stlukes"].token

	// Import: the whole Synthea bundle, and one resource.
	out := mustCall(t, 200, "POST", base+"/fhir?patient="+patient, hospital, syntheaBundle(t))
	var batch struct {
		Type  string
		Entry []struct {
			Resource struct{ ID string }
		}
	}
	if err := json.Unmarshal(out, &batch); err != nil || batch.Type != "batch-response" || len(batch.Entry) != 27 {
		t.Fatalf("bundle import: %s", out)
	}
	out = mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, hospital, sentinelObservation())
	var docRef struct{ ID string }
	_ = json.Unmarshal(out, &docRef)
	obs := docRef.ID
	var index []records.Record
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/records", m["patient"].token, nil), &index)
	if len(index) != 28 {
		t.Fatalf("%d records indexed", len(index))
	}

	read := func(token, record, purpose, reason string) (int, []byte) {
		return call(t, "POST", base+"/api/v1/records/"+record+"/read", token, api_ReadRequest{Purpose: purpose, EmergencyReason: reason})
	}
	// No consent: refused, and the refusal is on the ledger.
	status, body := read(m["drremote"].token, obs, "treatment", "")
	if status != 403 || !strings.Contains(string(body), `"refusal": "no_consent"`) && !strings.Contains(string(body), `"refusal":"no_consent"`) {
		t.Fatalf("without consent: %d %s", status, body)
	}
	// Grant, read, revoke, refused.
	grant := consent.Grant{Grantee: m["drremote"].id, Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment",
		Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": grant})
	status, body = read(m["drremote"].token, obs, "treatment", "")
	if status != 200 || !strings.Contains(string(body), sentinel) || !strings.Contains(string(body), `"verified": true`) {
		t.Fatalf("with consent: %d %s", status, body)
	}
	var cons []consent.Consent
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/consents", m["patient"].token, nil), &cons)
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeRevoke, "body": consent.Revoke{ID: cons[0].ID}})
	if status, body = read(m["drremote"].token, obs, "treatment", ""); status != 403 {
		t.Fatalf("after revocation: %d %s", status, body)
	}
	// Emergency: granted, flagged to the regulator.
	if status, body = read(m["drlocal"].token, obs, "emergency", "patient_unconscious"); status != 200 {
		t.Fatalf("emergency: %d %s", status, body)
	}
	var flagged []records.Access
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/access?emergency=true", m["agency"].token, nil), &flagged)
	if len(flagged) != 1 || flagged[0].Requester != m["drlocal"].id || flagged[0].Patient != patient {
		t.Fatalf("emergency entries: %+v", flagged)
	}
	// The patient's trail: refused, granted, refused, emergency.
	var trail []records.Access
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/access", m["patient"].token, nil), &trail)
	var outcomes []string
	for _, a := range trail {
		outcomes = append(outcomes, fmt.Sprintf("%s/%v", a.Outcome, a.Emergency))
	}
	if got := strings.Join(outcomes, " "); got != "refused/false granted/false refused/false granted/true" {
		t.Fatalf("trail: %s", got)
	}

	// FHIR facade: everything it serves conforms to the R4 definitions.
	v := conformance.LoadFHIR(t)
	for _, path := range []string{"/fhir/metadata", "/fhir/Consent?patient=" + patient, "/fhir/Consent/" + cons[0].ID,
		"/fhir/AuditEvent?patient=" + patient + "&date=ge2020-01-01", "/fhir/AuditEvent/" + trail[0].ID,
		"/fhir/DocumentReference?patient=" + patient, "/fhir/DocumentReference/" + obs, "/fhir/Patient/" + patient,
		"/fhir/Patient?_id=" + patient} {
		out := mustCall(t, 200, "GET", base+path, m["patient"].token, nil)
		if problems := v.Validate(out); len(problems) > 0 {
			t.Errorf("%s: %v", path, problems)
		}
	}
	for _, bad := range []struct {
		path   string
		status int
	}{{"/fhir/Observation?patient=" + patient, 400}, {"/fhir/AuditEvent?date=yesterday", 400}, {"/fhir/Consent/nope", 404},
		{"/fhir/AuditEvent?colour=red", 400}, {"/fhir/AuditEvent?patient=" + patient + "&_offset=10", 400},
		{"/fhir/AuditEvent?patient=" + patient + "&_count=0", 400}} {
		out := mustCall(t, bad.status, "GET", base+bad.path, m["patient"].token, nil)
		if problems := v.Validate(out); !strings.Contains(string(out), "OperationOutcome") || len(problems) > 0 && !strings.Contains(problems[0], "OperationOutcome") {
			t.Errorf("%s: %s", bad.path, out)
		}
	}
	// Paging: next links the following page; a search reads its page, so
	// it counts the matches (total) only when the first page holds them all.
	var page struct {
		Total *int
		Link  []struct{ Relation, URL string }
		Entry []any
	}
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/fhir/DocumentReference?patient="+patient+"&_count=10", m["patient"].token, nil), &page)
	if page.Total != nil || len(page.Entry) != 10 || len(page.Link) != 2 || page.Link[1].Relation != "next" {
		t.Fatalf("first page: total %v, %d entries, links %+v", page.Total, len(page.Entry), page.Link)
	}
	seen := len(page.Entry)
	for len(page.Link) == 2 {
		next := page.Link[1].URL
		page.Link, page.Entry = nil, nil
		_ = json.Unmarshal(mustCall(t, 200, "GET", next, m["patient"].token, nil), &page)
		seen += len(page.Entry)
	}
	if seen != 28 {
		t.Fatalf("paging saw %d of 28", seen)
	}
	// Date search narrows.
	var none struct{ Total int }
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/fhir/AuditEvent?patient="+patient+"&date=lt2020", m["patient"].token, nil), &none)
	if none.Total != 0 {
		t.Fatalf("date=lt2020 found %d", none.Total)
	}

	// Export: every record, consent and access, a page at a time (a
	// page's next link names the following one), each entry once.
	for _, limit := range []int{1000, 10} {
		kinds, ids := map[string]int{}, map[string]bool{}
		pages := 0
		for next := fmt.Sprintf("%s/api/v1/patients/%s/export?limit=%d", base, patient, limit); next != ""; pages++ {
			var export struct {
				Type  string
				Link  []struct{ Relation, URL string }
				Entry []struct {
					FullURL  string
					Resource struct{ ResourceType, ID string }
				}
			}
			_ = json.Unmarshal(mustCall(t, 200, "GET", next, m["patient"].token, nil), &export)
			if export.Type != "collection" || pages > 100 {
				t.Fatalf("export page %d: %s", pages, export.Type)
			}
			next = ""
			for _, l := range export.Link {
				if l.Relation == "next" {
					next = l.URL
				}
			}
			for _, e := range export.Entry {
				kinds[e.Resource.ResourceType]++
				if e.FullURL != "" && ids[e.FullURL] {
					t.Fatalf("limit %d: %s twice", limit, e.FullURL)
				}
				ids[e.FullURL] = true
			}
		}
		// Two Patients: the pseudonymous one, and the one among the records.
		if kinds["Patient"] != 2 || kinds["DocumentReference"] != 28 || kinds["Observation"] != 4 || kinds["Condition"] != 8 ||
			kinds["Consent"] != 1 || kinds["AuditEvent"] < 4+28 || kinds["OperationOutcome"] != 0 || (limit == 10 && pages < 6) {
			t.Fatalf("export, %d entries a page: %d pages, %v", limit, pages, kinds)
		}
	}
	mustCall(t, 400, "GET", base+"/api/v1/patients/"+patient+"/export?after=x1", m["patient"].token, nil)
	mustCall(t, 400, "GET", base+"/api/v1/patients/"+patient+"/export?limit=1001", m["patient"].token, nil)
	mustCall(t, 403, "GET", base+"/api/v1/patients/"+patient+"/export", m["drremote"].token, nil)

	// Erasure: keys destroyed at the custodian; reads fail everywhere.
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": records.TypeErase})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := docs.Get(obs); errors.Is(err, docstore.ErrErased) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("record still readable after erasure: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body = read(m["drlocal"].token, obs, "emergency", "life_threatening"); status != 403 || !strings.Contains(string(body), "record_erased") {
		t.Fatalf("after erasure: %d %s", status, body)
	}
	// The patient sees the erasure's status: complete, every record erased
	// (no custodian here has a retention policy).
	var st records.ErasureStatus
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+patient+"/erasure", m["patient"].token, nil), &st)
	if st.State != records.ErasureComplete || st.Erased != 28 || len(st.Retained) != 0 || st.Remaining != 0 || st.Request == nil || !st.Request.Complete {
		t.Fatalf("erasure status: %+v", st)
	}
	mustCall(t, 403, "GET", base+"/api/v1/patients/"+patient+"/erasure", m["drlocal"].token, nil)
}

// api_ReadRequest mirrors api.ReadRequest (kept here so the test reads as
// a client would).
type api_ReadRequest struct {
	Purpose         string `json:"purpose"`
	EmergencyReason string `json:"emergency_reason,omitempty"`
}

func TestRecordBadInput(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	patient, hospital := m["patient"].id, m["stlukes"].token
	out := mustCall(t, 201, "POST", base+"/fhir/Observation?patient="+patient, hospital, sentinelObservation())
	var docRef struct{ ID string }
	_ = json.Unmarshal(out, &docRef)
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"invalid FHIR", "POST", "/fhir/Observation?patient=" + patient, hospital, []byte(`{"resourceType":"Observation",`), 400, "fhir_invalid"},
		{"type differs from the URL", "POST", "/fhir/Condition?patient=" + patient, hospital, sentinelObservation(), 400, "fhir_invalid"},
		{"unknown patient", "POST", "/fhir/Observation?patient=feedface", hospital, sentinelObservation(), 404, "unknown_patient"},
		{"no token", "POST", "/fhir/Observation?patient=" + patient, "", sentinelObservation(), 401, "token_required"},
		{"a patient cannot be a custodian", "POST", "/fhir/Observation?patient=" + patient, m["patient"].token, sentinelObservation(), 403, "unauthorized"},
		{"unknown record", "POST", "/api/v1/records/nope/read", m["drremote"].token, api_ReadRequest{Purpose: "treatment"}, 404, "unknown_record"},
		{"bad purpose", "POST", "/api/v1/records/" + docRef.ID + "/read", m["drremote"].token, api_ReadRequest{Purpose: "curiosity"}, 400, "bad_purpose"},
		{"free-text emergency reason", "POST", "/api/v1/records/" + docRef.ID + "/read", m["drremote"].token, api_ReadRequest{Purpose: "emergency", EmergencyReason: "x"}, 400, "bad_emergency_reason"},
		{"expired consent", "POST", "/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": consent.Grant{Grantee: m["drremote"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: "2020-01-01T00:00:00Z"}}, 400, "bad_expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, tt.method, base+tt.path, tt.token, tt.body)
			if status != tt.status || !strings.Contains(string(out), tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, out, tt.status, tt.code)
			}
			if strings.Contains(string(out), sentinel) {
				t.Fatal("an error shows health data")
			}
		})
	}

	// A suspended practitioner is refused, on the ledger.
	grant := consent.Grant{Grantee: m["drremote"].id, Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}
	mustCall(t, 200, "POST", base+"/api/v1/act", m["patient"].token, map[string]any{"type": consent.TypeGrant, "body": grant})
	mustCall(t, 200, "POST", base+"/api/v1/act", m["riverside"].token, map[string]any{"type": identity.TypeSetPractitioner,
		"body": identity.SetPractitionerStatus{ID: m["drremote"].id, Status: "suspended"}})
	status, out := call(t, "POST", base+"/api/v1/records/"+docRef.ID+"/read", m["drremote"].token, api_ReadRequest{Purpose: "treatment"})
	if status != 403 || !strings.Contains(string(out), "signer_suspended") {
		t.Fatalf("suspended practitioner: %d %s", status, out)
	}

	// A replayed request is refused and not logged twice.
	ask := release.Ask{ChainID: "primum-members-test", Requester: m["patient"].id, Record: docRef.ID, Purpose: "patient"}
	var commitment struct{ Commitment string }
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/records/"+docRef.ID, m["patient"].token, nil), &commitment)
	one, _ := release.NewKey()
	req := records.AccessRequest{ChainID: ask.ChainID, Requester: ask.Requester, Record: ask.Record, Purpose: ask.Purpose,
		KeyDigest: release.Digest(one.Public()), Nonce: strings.Repeat("ab", 16), NotAfter: time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}
	fb := release.FetchBody{Request: req, Signature: req.Sign(m["patient"].key), PublicKey: one.Public()}
	mustCall(t, 200, "POST", base+"/api/v1/records/"+docRef.ID+"/fetch", "", fb)
	if status, out := call(t, "POST", base+"/api/v1/records/"+docRef.ID+"/fetch", "", fb); status != 409 || !strings.Contains(string(out), "replayed_request") {
		t.Fatalf("replay: %d %s", status, out)
	}
	// Another key than the one the request names gets nothing.
	other, _ := release.NewKey()
	req.Nonce = strings.Repeat("cd", 16)
	fb = release.FetchBody{Request: req, Signature: req.Sign(m["patient"].key), PublicKey: other.Public()}
	if status, out := call(t, "POST", base+"/api/v1/records/"+docRef.ID+"/fetch", "", fb); status != 400 || !strings.Contains(string(out), "key_digest_mismatch") {
		t.Fatalf("substituted key: %d %s", status, out)
	}
}

// A custodian that hands out an altered record is caught by the reader's
// commitment check.
func TestTamperedRecordIsDetected(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	patient := m["patient"].id
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var fb release.FetchBody
		_ = json.NewDecoder(r.Body).Decode(&fb)
		sealed, _ := release.Seal(fb.PublicKey, release.Payload{Record: fb.Request.Record, Access: "a1",
			Content: []byte(`{"resourceType":"Observation","status":"amended"}`), Salt: make([]byte, 32)})
		_ = json.NewEncoder(w).Encode(release.FetchAnswer{Access: records.Access{ID: "a1"}, Sealed: sealed})
	}))
	defer fake.Close()
	// Riverside indexes a record and names the fake as its endpoint.
	mustCall(t, 200, "POST", base+"/api/v1/act", m["riverside"].token, map[string]any{"type": records.TypeRegister,
		"body": records.Register{Endpoint: fake.URL, Records: []records.NewRecord{{ID: "obs-x", Patient: patient, Category: "observation", Commitment: strings.Repeat("00", 32)}}}})
	status, out := call(t, "POST", base+"/api/v1/records/obs-x/read", m["patient"].token, api_ReadRequest{Purpose: "patient"})
	if status != 502 || !strings.Contains(string(out), "commitment_mismatch") {
		t.Fatalf("tampered record: %d %s", status, out)
	}
}

func pubHexOf(k ed25519.PrivateKey) string { return hex.EncodeToString(k.Public().(ed25519.PublicKey)) }

// TestLargeBundleImport: a Bundle larger than one registration transaction
// holds is indexed in several.
func TestLargeBundleImport(t *testing.T) {
	base, m, _, _ := recordsNode(t)
	var entries []string
	for i := 0; i < 2*records.MaxPerRegister+10; i++ {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"step count"},"valueInteger":%d}}`, i, i))
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(entries, ",") + `]}`
	mustCall(t, 200, "POST", base+"/fhir?patient="+m["patient"].id, m["stlukes"].token, []byte(bundle))
	var index []records.Record
	_ = json.Unmarshal(mustCall(t, 200, "GET", base+"/api/v1/patients/"+m["patient"].id+"/records", m["patient"].token, nil), &index)
	if len(index) != len(entries) {
		t.Fatalf("%d of %d records indexed", len(index), len(entries))
	}
}

// TestRecordsEraseManyThroughTheClient: the Go client erases a patient with
// more records than one transaction reaches by sending records.erase until
// the erasure is complete; the patient's status says so.
func TestRecordsEraseManyThroughTheClient(t *testing.T) {
	_, c, m := startMembers(t, [][2]string{{"stlukes", "hospital"}}, "patient")
	ctx := context.Background()
	if _, err := c.Send(ctx, m["patient"].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	const total = 2*records.MaxErasePerTx + 100
	for start := 0; start < total; start += records.MaxPerRegister {
		var reg records.Register
		for i := start; i < min(total, start+records.MaxPerRegister); i++ {
			id := fmt.Sprintf("obs-%04d", i)
			reg.Records = append(reg.Records, records.NewRecord{ID: id, Patient: m["patient"].id, Category: "observation",
				Commitment: hex.EncodeToString(make([]byte, 32))})
		}
		if _, err := c.Send(ctx, m["stlukes"].key, records.TypeRegister, reg, true); err != nil {
			t.Fatal(err)
		}
	}
	var left []int
	e, err := c.Erase(ctx, m["patient"].key, func(n int) { left = append(left, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Txs) != 3 || fmt.Sprint(left) != "[600 100 0]" || e.Count(records.StatusErased) != total {
		t.Fatalf("%d transactions, left after each %v, %d of %d erased", len(e.Txs), left, e.Count(records.StatusErased), total)
	}
	// Asked again, the erasure says it is complete, without a transaction.
	if again, err := c.Erase(ctx, m["patient"].key, nil); err != nil || len(again.Txs) != 0 || again.Count(records.StatusErased) != total {
		t.Fatalf("erasing again: %v", err)
	}
}
