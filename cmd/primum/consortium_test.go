package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/localnet"
	"github.com/primum-health/primum/ledger"
)

// primumBinary builds the command once per test run.
func primumBinary(t *testing.T) string {
	t.Helper()
	return buildPrimum(t, "primum")
}

// buildPrimum builds the command once per test run with extra go build
// flags (a test variant: -tags byzantine, a clock-skew overlay); name tells
// the variants apart.
func buildPrimum(t *testing.T, name string, flags ...string) string {
	t.Helper()
	bin, err := localnet.Build(name, flags...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// stopGrace is how long a test lets a node stop after SIGTERM before it
// fails.
const stopGrace = time.Minute

// startLocalnet writes a network's homes with the real command in a folder
// of the test's, starts every node as its own OS process and waits for each
// one's first block. The nodes are killed when the test ends, their logs
// (at most logTail bytes of each; 0: all) shown if it failed.
func startLocalnet(t *testing.T, o localnet.Options, logTail int) *localnet.Network {
	t.Helper()
	o.Bin, o.Dir = primumBinary(t), t.TempDir()
	net, err := localnet.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		net.Close()
		if t.Failed() {
			for i, nd := range net.Nodes {
				log := nd.Log()
				if logTail > 0 {
					log = log[max(0, len(log)-logTail):]
				}
				t.Logf("node%d log:\n%s", i, log)
			}
		}
	})
	if err := net.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return net
}

// startConsortium writes an n-validator testnet with the real command and
// starts every node as its own OS process; orgTypes are the organisation
// types of node0, node1, … (default: primum testnet's).
func startConsortium(t *testing.T, n int, orgTypes ...string) ([]*localnet.Node, string) {
	t.Helper()
	return startConsortiumLogging(t, n, "error", orgTypes...)
}

// startConsortiumLogging is startConsortium with the nodes logging at level.
func startConsortiumLogging(t *testing.T, n int, level string, orgTypes ...string) ([]*localnet.Node, string) {
	t.Helper()
	net := startLocalnet(t, localnet.Options{Validators: n, ChainID: "primum-consortium-test", OrgTypes: orgTypes, LogLevel: level}, 0)
	return net.Nodes, net.Dir
}

// restart starts a stopped or killed node again.
func restart(t *testing.T, nd *localnet.Node) {
	t.Helper()
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
}

func operatorKey(t *testing.T, nd *localnet.Node) ed25519.PrivateKey {
	t.Helper()
	k, err := nd.OperatorKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// operatorToken is the API token a testnet node holds for its operator key.
func operatorToken(t *testing.T, nd *localnet.Node) string {
	t.Helper()
	if nd.Token == "" {
		t.Fatalf("%s has no API token", nd.Home)
	}
	return nd.Token
}

// blockAppHash reads the app hash in the header of block h from CometBFT's own RPC.
func blockAppHash(ctx context.Context, rpc string, h int64) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/block?height=%d", rpc, h), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		Result struct {
			Block struct {
				Header struct {
					AppHash string `json:"app_hash"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", err
	}
	if body.Result.Block.Header.AppHash == "" {
		return "", fmt.Errorf("no block %d at %s", h, rpc)
	}
	return body.Result.Block.Header.AppHash, nil
}

// waitIdentity polls a node until it knows id.
// waitIdentity waits until c's node knows key's identity, reading it as
// that identity (a patient's is theirs to read).
func waitIdentity(ctx context.Context, c *client.Client, key ed25519.PrivateKey) error {
	id := ledger.Address(key.Public().(ed25519.PublicKey))
	for {
		_, err := c.WithKey(key).Identity(ctx, id)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never saw %s: %w", c.BaseURL(), id, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func newPatient(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConsortiumFourProcesses: four validators from 'primum testnet' as
// separate processes; a transaction sent to any node is committed and readable
// on all; one validator killed with SIGKILL, the chain keeps committing;
// restarted, it catches up to the same app hash.
func TestConsortiumFourProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consortium test (-short)")
	}
	procs, _ := startConsortium(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// One transaction through each node, readable on all four.
	var ids []ed25519.PrivateKey
	for i, p := range procs {
		pat := newPatient(t)
		if _, err := client.New(p.API).Send(ctx, pat, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatalf("register via node%d: %v", i, err)
		}
		ids = append(ids, pat)
	}
	org := operatorKey(t, procs[1])
	doc := newPatient(t)
	if _, err := client.New(procs[2].API).RegisterPractitioner(ctx, org, doc, identity.RegisterPractitioner{
		Licence: "MD-42", Profession: "doctor", ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, doc)
	for _, p := range procs {
		for _, id := range ids {
			if err := waitIdentity(ctx, client.New(p.API), id); err != nil {
				t.Fatal(err)
			}
		}
	}

	// SIGKILL node3: 30 of 40 power remains (> 2/3), so the chain goes on.
	procs[3].Kill()
	c0 := client.New(procs[0].API)
	var during []ed25519.PrivateKey
	for i := 0; i < 5; i++ {
		pat := newPatient(t)
		if _, err := c0.Send(ctx, pat, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatalf("commit with one validator down: %v", err)
		}
		during = append(during, pat)
	}

	// Restart it: it catches up on its own and agrees on every app hash.
	restart(t, procs[3])
	s0, err := c0.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c3 := client.New(procs[3].API)
	if err := c3.WaitHeight(ctx, s0.Height); err != nil {
		t.Fatalf("restarted node did not catch up: %v", err)
	}
	for _, id := range during {
		if err := waitIdentity(ctx, c3, id); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(1); h <= s0.Height; h++ {
		want, err := blockAppHash(ctx, procs[0].RPC, h)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range procs[1:] {
			got, err := blockAppHash(ctx, p.RPC, h)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("height %d: node%d app hash %s, node0 %s", h, i+1, got, want)
			}
		}
	}

	// An answer of node0's proven from the genesis, its headers cross-checked
	// with node3's: signed by at least three of the four validators.
	genesis, err := types.GenesisDocFromFile(filepath.Join(procs[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	// (The patient's identity is theirs to read: the prover signs as them.)
	// (MaxAge: this checks provenance; a loaded machine may leave an idle
	// chain's newest header older than the default. TestStaleNodeIsNotBelieved
	// checks freshness.)
	prover, err := prove.New(ctx, c0.WithKey(during[0]), procs[0].RPC, prove.TrustRoot{Genesis: genesis, Witnesses: []string{procs[3].RPC}, MaxAge: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := prover.Get(ctx, "id/"+ledger.Address(during[0].Public().(ed25519.PublicKey))); err != nil || !got.Exists || got.Of != 4 || got.Signers < 3 {
		t.Fatalf("proven answer: %+v %v", got, err)
	}
}
