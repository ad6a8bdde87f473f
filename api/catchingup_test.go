package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
)

// noChain is a consensus engine the API must not reach: a test that gets
// this far fails.
type noChain struct{ t *testing.T }

func (c noChain) Status(context.Context) (*coretypes.ResultStatus, error) {
	c.t.Error("the API asked the chain for its status")
	return nil, context.Canceled
}

func (c noChain) Validators(context.Context, *int64, *int, *int) (*coretypes.ResultValidators, error) {
	c.t.Error("the API asked the chain for its validators")
	return nil, context.Canceled
}

func (c noChain) BroadcastTxSync(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTx, error) {
	c.t.Error("a transaction reached the mempool of a node that is catching up")
	return nil, context.Canceled
}

// TestCatchingUpTakesNoTransactions: a node still catching up with the
// chain answers 503 catching_up to every way in for a transaction, and to
// the nonce a client would sign with (EPCIS capture and FHIR create
// refuse before they start a job or store anything), instead of accepting a transaction
// checked against a state the chain has left behind (issue 22: a node 3 s
// after its restart accepted transactions that were then neither committed
// nor refused).
func TestCatchingUpTakesNoTransactions(t *testing.T) {
	a := testLedger(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, key, _ := ed25519.GenerateKey(nil)
	token := "operator-token"
	srv := httptest.NewServer(New(Backend{Ledger: a, Chain: noChain{t}, CatchingUp: func() bool { return true },
		Gatherer: prometheus.NewRegistry(), Logger: logger, Signers: map[string]ed25519.PrivateKey{token: key}}))
	defer srv.Close()
	raw, err := envelope.Build("primum-test", key, 0, identity.TypeRegisterPatient, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	tx := base64.StdEncoding.EncodeToString(raw)
	cases := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"submit", "POST", "/api/v1/txs", "", map[string]string{"tx": tx}, http.StatusServiceUnavailable},
		{"submit and wait", "POST", "/api/v1/txs?wait=true", "", map[string]string{"tx": tx}, http.StatusServiceUnavailable},
		{"batch", "POST", "/api/v1/txs/batch", "", map[string][]string{"txs": {tx}}, http.StatusOK}, // answered per transaction
		{"next nonce", "GET", "/api/v1/keys/" + hex.EncodeToString(key.Public().(ed25519.PublicKey)), "", nil, http.StatusServiceUnavailable},
		{"act", "POST", "/api/v1/act", token, map[string]any{"type": identity.TypeRegisterPatient, "body": struct{}{}}, http.StatusServiceUnavailable},
		{"EPCIS capture", "POST", "/epcis/capture", token, json.RawMessage(`{"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[{"type":"ObjectEvent"}]}}`), http.StatusServiceUnavailable},
		{"FHIR create", "POST", "/fhir/Observation?patient=p", token, json.RawMessage(`{"resourceType":"Observation","status":"final"}`), http.StatusServiceUnavailable}, // an OperationOutcome
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != nil {
				b, _ := json.Marshal(c.body)
				body = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(c.method, srv.URL+c.path, body)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			out, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.want {
				t.Fatalf("HTTP %d, want %d: %s", res.StatusCode, c.want, out)
			}
			if !bytes.Contains(out, []byte(`"catching_up"`)) && !bytes.Contains(out, []byte(`"diagnostics": "catching_up: `)) {
				t.Fatalf("the answer does not say the node is catching up: %s", out)
			}
		})
	}
}
