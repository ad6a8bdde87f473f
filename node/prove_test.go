package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/api"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tamper"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/wire"
)

// lyingNode serves the node's API, changing its proofs with tamper.
func lyingNode(t *testing.T, apiURL string, change func(*wire.ProofResponse)) *client.Client {
	return client.New(tamper.JSON(t, apiURL, "/api/v1/proof", change))
}

// forged is a proof of a value the chain never held, from a state of its
// own: consistent in itself, with an app hash no validator signed.
func forged(t *testing.T, key string, height int64) wire.ProofResponse {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range height { // at the height the node answers for
		st.Staged().Set([]byte(key), []byte(`{"kind":"organisation"}`))
		if _, _, err := st.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := api.ProveKey(st, key)
	if err != nil {
		t.Fatal(err)
	}
	return *p
}

// SPEC F14: an answer is checked against a header the validators signed,
// from the consortium's genesis, without trusting the node: what the node
// holds is proven, present or absent, and a node that changes a value, hides
// one or answers for another key is caught, as is a chain that is not the
// one the genesis describes.
func TestProvenAnswers(t *testing.T) {
	org := newKey(t)
	// Lying nodes are proxies in front of this one, each on its own address.
	n, c := startSingle(t, org, func(s *node.Settings) { s.Authorities = []string{"*"} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	patient := newKey(t)
	reg, err := c.Send(ctx, patient, identity.TypeRegisterPatient, struct{}{}, true)
	if err != nil {
		t.Fatal(err)
	}
	present := "id/" + ledger.Address(patient.Public().(ed25519.PublicKey))
	want, err := n.App.Store().Committed().Get([]byte(present))
	if err != nil || want == nil {
		t.Fatalf("the patient's identity is not in the state: %v", err)
	}
	// An absence proven to anyone: no product has this GTIN. (An absent
	// identity is proven only to the regulator, as a patient's is.)
	absent := "sup/prod/00000000000000"
	rpc := n.RPCAddr()
	genesis := n.Comet.GenesisDoc()

	// The patient's identity is theirs to read: the prover signs its
	// requests with the patient's key.
	c = c.WithKey(patient)
	p, err := prove.New(ctx, c, rpc, prove.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key    string
		exists bool
		value  []byte
	}{{present, true, want}, {absent, false, nil}, {"meta/chain_id", true, []byte("primum-node-test")}} {
		got, err := p.Get(ctx, tc.key)
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if got.Exists != tc.exists || !bytes.Equal(got.Value, tc.value) || got.Header != got.Height+1 || got.Signers != 1 || got.Of != 1 {
			t.Fatalf("%s: %+v", tc.key, got)
		}
	}
	// Once blocks have passed that changed nothing, the newest state's own
	// header carries its app hash: the proof is checked against it, without
	// waiting for the next block (up to the empty-block interval).
	if err := c.WaitHeight(ctx, reg.Height+2); err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	watched := tamper.JSON(t, n.APIURL(), "/api/v1/proof", func(pr *wire.ProofResponse) { served.Store(pr.Height) })
	pw, err := prove.New(ctx, client.New(watched).WithKey(patient), rpc, prove.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pw.Get(ctx, present); err != nil || got.Header != served.Load() || got.Height != got.Header-1 || !got.Exists {
		t.Fatalf("a proof of the state after block %d in an idle chain: %+v, %v", served.Load(), got, err)
	}

	for _, tc := range []struct {
		name   string
		key    string
		tamper func(*wire.ProofResponse)
		says   string
	}{
		{"a changed value", present, func(pr *wire.ProofResponse) {
			pr.Value = base64.StdEncoding.EncodeToString([]byte(`{"id":"x","kind":"organisation"}`))
		}, "does not lead to the app hash"},
		{"a present key said absent", present, func(pr *wire.ProofResponse) { pr.Exists, pr.Value = false, "" }, "does not lead to the app hash"},
		{"an absent key said present", absent, func(pr *wire.ProofResponse) {
			pr.Exists, pr.Value = true, base64.StdEncoding.EncodeToString([]byte(`{}`))
		}, "does not lead to the app hash"},
		{"another key's proof", present, func(pr *wire.ProofResponse) { pr.Key = "meta/chain_id" }, "the proof is of"},
		{"a forged state", present, func(pr *wire.ProofResponse) { *pr = forged(t, present, pr.Height) }, "in the header the validators signed"},
		{"a garbled proof", present, func(pr *wire.ProofResponse) { pr.Proof = "AAAA" }, "malformed proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			liar := lyingNode(t, n.APIURL(), tc.tamper).WithKey(patient)
			p, err := prove.New(ctx, liar, rpc, prove.TrustRoot{Genesis: genesis})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := p.Get(ctx, tc.key); !errors.Is(err, prove.ErrNotProven) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("the lie was not caught: %+v, %v", got, err)
			}
		})
	}

	// A trust root older than the trusting period: not a lie, but nothing
	// can be proven from it; the error says what to do.
	stale, err := prove.New(ctx, c, rpc, prove.TrustRoot{Genesis: genesis, Period: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stale.Get(ctx, present); err == nil || errors.Is(err, prove.ErrNotProven) || !strings.Contains(err.Error(), "start from a recent header") {
		t.Fatalf("an expired trust root: %v", err)
	}

	// A genesis whose validator is not the one that signs this chain.
	other := *genesis
	other.Validators = []types.GenesisValidator{{PubKey: cmted25519.GenPrivKey().PubKey(), Power: 10, Name: "impostor"}}
	if _, err := prove.New(ctx, c, rpc, prove.TrustRoot{Genesis: &other}); !errors.Is(err, prove.ErrNotProven) {
		t.Fatalf("a chain not of the genesis given: %v", err)
	}
}
