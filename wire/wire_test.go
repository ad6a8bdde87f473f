package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mailru/easyjson"

	"github.com/primum-health/primum/ledger"
)

// The JSON names are what clients in any language read: a rename breaks
// them. Every field is set, so a field that changes name or disappears fails.
func TestJSONGolden(t *testing.T) {
	resp := SubmitResponse{Hash: "ab", Committed: true, Height: 7, Index: 1, Type: "identity.register_patient", Signer: "pat1x"}
	problem := &Problem{Type: "https://primum.dev/problems/bad_nonce", Title: "bad nonce", Status: 409, Detail: "d", Code: "bad_nonce",
		Codespace: "ledger", ABCICode: 3, Hash: "ab", Height: 7, Refusal: "no_consent", Access: "a1"}
	for _, c := range []struct {
		v    any
		want string
	}{
		{problem, `{"type":"https://primum.dev/problems/bad_nonce","title":"bad nonce","status":409,"detail":"d","code":"bad_nonce","codespace":"ledger","abci_code":3,"hash":"ab","height":7,"refusal":"no_consent","access":"a1"}`},
		{Status{ChainID: "c", NodeID: "n", Moniker: "m", Height: 2, AppHash: "AA", BlockTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			CatchingUp: true, RPC: "tcp://x", Validators: []Validator{{Address: "A", PubKey: "p", Power: 10}}},
			`{"chain_id":"c","node_id":"n","moniker":"m","height":2,"app_hash":"AA","block_time":"2026-01-02T03:04:05Z","catching_up":true,"cometbft_rpc":"tcp://x","validators":[{"address":"A","pub_key":"p","power":10}]}`},
		{resp, `{"hash":"ab","committed":true,"height":7,"index":1,"type":"identity.register_patient","signer":"pat1x"}`},
		{BatchResponse{Accepted: 1, Refused: 1, Results: []BatchItem{{Status: 200, SubmitResponse: resp, Problem: problem}}},
			`{"accepted":1,"refused":1,"results":[{"status":200,"hash":"ab","committed":true,"height":7,"index":1,"type":"identity.register_patient","signer":"pat1x","problem":` +
				`{"type":"https://primum.dev/problems/bad_nonce","title":"bad nonce","status":409,"detail":"d","code":"bad_nonce","codespace":"ledger","abci_code":3,"hash":"ab","height":7,"refusal":"no_consent","access":"a1"}}]}`},
		{KeyInfo{Address: "a", Nonce: 3, Retired: true, Standing: "ok", ChainID: "c"}, `{"address":"a","nonce":3,"retired":true,"standing":"ok","chain_id":"c"}`},
		{ProofResponse{Key: "k", Value: "dg==", Exists: true, Height: 4, Proof: "cA==", AppHash: "AB"}, `{"key":"k","value":"dg==","exists":true,"height":4,"proof":"cA==","app_hash":"AB"}`},
		{TxResult{Hash: "ab", Height: 7, Index: 1, Code: 3, Codespace: "ledger", Error: "bad_nonce", Log: "l", Type: "t", Signer: "s",
			Events: []ledger.Event{{Type: "never.on.the.wire"}}},
			`{"hash":"ab","height":7,"index":1,"code":3,"codespace":"ledger","error":"bad_nonce","log":"l","type":"t","signer":"s"}`},
		{SubmitRequest{Tx: "AAEC"}, `{"tx":"AAEC"}`},
		{BatchRequest{Txs: []string{"AAEC"}}, `{"txs":["AAEC"]}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T:\n got %s %v\nwant %s", c.v, b, err, c.want)
		}
	}
	// The generated encoders of the submission bodies agree.
	for _, v := range []easyjson.Marshaler{&SubmitRequest{Tx: "AAEC"}, &BatchRequest{Txs: []string{"AAEC"}}} {
		b, err := easyjson.Marshal(v)
		std, _ := json.Marshal(v)
		if err != nil || string(b) != string(std) {
			t.Errorf("%T: easyjson %s, encoding/json %s", v, b, std)
		}
	}
}
