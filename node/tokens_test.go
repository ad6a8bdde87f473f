package node_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/tokens"
)

// TestServiceTokens: a service token made while the node runs works at
// once for its scopes only (an EHR's token imports FHIR but may not act as
// the hospital or read as it), is refused once revoked (within a second,
// without a restart), and an unknown token is refused like none.
func TestServiceTokens(t *testing.T) {
	base, m, _, home := recordsNode(t)
	patient := m["patient"].id
	secret, tok, err := tokens.Create(home, filepath.Join("keys", "stlukes.json"), []string{tokens.ScopeFHIRCreate}, time.Hour, "EHR import", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the node reads the file again at most once a second
	mustCall(t, http.StatusCreated, "POST", base+"/fhir/Observation?patient="+patient, secret, sentinelObservation())
	mustCall(t, http.StatusForbidden, "POST", base+"/api/v1/act", secret, map[string]any{"type": "records.set_retention", "body": map[string]any{"holds": []any{}}})
	mustCall(t, http.StatusForbidden, "GET", base+"/api/v1/me", secret, nil) // no read scope: token_scope
	if status, out := call(t, "POST", base+"/epcis/capture", secret, epcisDoc(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"inspecting","epcList":["urn:epc:id:sgtin:0614141.812345.6789"]}`)); status != http.StatusForbidden || !strings.Contains(string(out), "token_scope") {
		t.Fatalf("an EPCIS capture with a FHIR-only token: %d %s", status, out)
	}
	mustCall(t, http.StatusUnauthorized, "POST", base+"/fhir/Observation?patient="+patient, secret+"x", sentinelObservation())

	if _, err := tokens.Revoke(home, tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	out := mustCall(t, http.StatusUnauthorized, "POST", base+"/fhir/Observation?patient="+patient, secret, sentinelObservation())
	if !strings.Contains(string(out), "token_expired") {
		t.Fatalf("a revoked token: %s", out)
	}
}
