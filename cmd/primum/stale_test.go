package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/supply"
)

// TestStaleNodeIsNotBelieved: a node cut off from the consortium before a
// recall keeps answering from its old state, with proofs the validators
// really signed. A scanner that proves its answers sees that the newest
// header it can be shown is older than --max-age and refuses the answer as
// stale, instead of reporting the recalled pack genuine; the same scan
// through a node that follows the chain says recalled; once the cut-off
// node is back and has caught up, it says recalled too.
func TestStaleNodeIsNotBelieved(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consortium test (-short)")
	}
	net := startLocalnet(t, localnet.Options{Validators: 4, ChainID: "primum-stale", Proxied: true,
		OrgTypes: []string{"manufacturer", "pharmacy", "hospital", "regulator"}}, 3000)
	nodes := net.Nodes
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maker := operatorKey(t, nodes[0])
	c0 := client.New(nodes[0].API)
	for _, tx := range []struct {
		typ  string
		body any
	}{
		{supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: "09506000134352", Name: "Insulin glargine", Form: "pen", Strength: "100 U/ml"}},
		{supply.TypeCommission, supply.Commission{GTIN: "09506000134352", Lot: "INS1", Expiry: "2029-03-31", Serials: []string{"A1"}}},
	} {
		if _, err := c0.Send(ctx, maker, tx.typ, tx.body, true); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c0.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodes[3].WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	genesis, err := types.GenesisDocFromFile(filepath.Join(nodes[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Shorter than the default, to keep the test short: a live chain's
	// answer whose header is older is proven against the next header
	// instead (the prover waits for it up to maxAge).
	const maxAge = 15 * time.Second
	verify := func(nd *localnet.Node) (*supply.Verdict, error) {
		p, err := prove.New(ctx, client.New(nd.API), nd.RPC, prove.TrustRoot{Genesis: genesis, MaxAge: maxAge})
		if err != nil {
			return nil, err
		}
		v, _, err := p.Verify(ctx, "(01)09506000134352(21)A1", "", time.Now())
		return v, err
	}
	if v, err := verify(nodes[3]); err != nil || v.Verdict == supply.VerdictRecalled {
		t.Fatalf("before the recall, through node3: %+v, %v", v, err)
	}

	// node3 is cut off; the other three (3/4 of the power) recall the lot.
	net.Partition(3, true)
	if _, err := c0.Send(ctx, maker, supply.TypeRecall, supply.RecallLot{GTIN: "09506000134352", Lot: "INS1", Reason: "contamination"}, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(maxAge + time.Second)
	if v, err := verify(nodes[3]); !errors.Is(err, prove.ErrStale) {
		t.Fatalf("through the cut-off node: %+v, %v; want the answer refused as stale", v, err)
	}
	if v, err := verify(nodes[1]); err != nil || v.Verdict != supply.VerdictRecalled {
		t.Fatalf("through a node that follows the chain: %+v, %v", v, err)
	}

	// Back in the consortium, node3 catches up and answers freshly.
	net.Partition(3, false)
	st, err = c0.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodes[3].WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	if v, err := verify(nodes[3]); err != nil || v.Verdict != supply.VerdictRecalled {
		t.Fatalf("node3 after it caught up: %+v, %v", v, err)
	}
}
