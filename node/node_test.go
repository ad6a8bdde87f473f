package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/store/stateproof"
	"github.com/primum-health/primum/wire"
)

// freePorts picks three distinct free loopback ports.
func freePorts(t testing.TB) node.Ports {
	t.Helper()
	p, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return p[0]
}

// startSingle starts a real one-validator node (CometBFT in-process) in a
// temporary home, with org as its founding member.
func startSingle(t *testing.T, org ed25519.PrivateKey, tweak ...func(*node.Settings)) (*node.Node, *client.Client) {
	t.Helper()
	home := initSingle(t, org)
	if len(tweak) > 0 {
		s, err := node.LoadSettings(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tweak {
			f(&s)
		}
		if err := node.SaveSettings(home, s); err != nil {
			t.Fatal(err)
		}
	}
	return startHome(t, home)
}

// initSingle sets up the home of a one-validator consortium whose only
// member is org.
func initSingle(t *testing.T, org ed25519.PrivateKey) (home string) {
	t.Helper()
	home = t.TempDir()
	val, _, err := node.InitHome(home, node.InitOptions{Moniker: "test", Ports: freePorts(t)})
	if err != nil {
		t.Fatal(err)
	}
	gen := &app.Genesis{Members: []governance.NewMember{{Name: "St Luke's", OrgType: "hospital",
		Key: hex.EncodeToString(org.Public().(ed25519.PublicKey)), ValidatorKey: hex.EncodeToString(val), Power: 10}}}
	if err := node.WriteGenesis(home, "primum-node-test", gen, time.Now()); err != nil {
		t.Fatal(err)
	}
	return home
}

// startHome starts the node in home and waits for its first block, whose
// commit admits the founding members.
func startHome(t testing.TB, home string) (*node.Node, *client.Client) {
	t.Helper()
	// The node's log goes to a file in its home, as an operator's would
	// (tests that look for what must never be logged read it there).
	logFile, err := os.Create(filepath.Join(home, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	n, err := node.Start(context.Background(), node.Options{Home: home, Logger: slog.New(slog.NewTextHandler(logFile, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	c := client.New(n.APIURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return n, c
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNodeEndToEnd(t *testing.T) {
	org := newKey(t)
	n, c := startSingle(t, org)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	doc, patient := newKey(t), newKey(t)
	res, err := c.RegisterPractitioner(ctx, org, doc, identity.RegisterPractitioner{Licence: "MD-1", Profession: "doctor",
		ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || res.Height < 1 {
		t.Fatalf("not committed: %+v", res)
	}
	if _, err := c.Send(ctx, patient, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	// Several in a row without waiting: the key's next nonce counts those
	// still in the mempool.
	for i := range 3 {
		if _, err := c.RegisterDevice(ctx, org, newKey(t), "ecg", i == 2); err != nil {
			t.Fatalf("device %d sent without waiting for the one before: %v", i, err)
		}
	}
	got, err := c.Identity(ctx, ledger.Address(doc.Public().(ed25519.PublicKey)))
	if err != nil || got.Kind != ledger.KindPractitioner || got.Licence != "MD-1" {
		t.Fatalf("practitioner: %+v %v", got, err)
	}
	tx, err := c.Tx(ctx, res.Hash)
	if err != nil || tx.Height != res.Height || tx.Code != 0 {
		t.Fatalf("tx lookup: %+v %v", tx, err)
	}

	// Rejections carry the stable code, from CheckTx and from a replay.
	var p *client.Problem
	_, err = c.Send(ctx, patient, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{}, true)
	if !errors.As(err, &p) || p.Code != "unauthorized" || p.Status != 403 {
		t.Fatalf("unauthorised: %v", err)
	}
	chainID, _ := c.ChainID(ctx)
	stale, _ := envelope.Build(chainID, patient, 0, identity.TypeRegisterDevice, identity.RegisterDevice{Key: hex.EncodeToString(newKey(t).Public().(ed25519.PublicKey)), DeviceType: "ecg"})
	if _, err := c.Submit(ctx, stale, true); !errors.As(err, &p) || p.Code != "bad_nonce" {
		t.Fatalf("replayed nonce: %v", err)
	}
	wrong, _ := envelope.Build("other-chain", org, 1, identity.TypeRegisterPatient, struct{}{})
	if _, err := c.Submit(ctx, wrong, false); !errors.As(err, &p) || p.Code != "wrong_chain" {
		t.Fatalf("wrong chain: %v", err)
	}

	// The HTTP edge: problem+json, OpenAPI, health, metrics, the web page.
	for _, tc := range []struct {
		method, path, body string
		status             int
		contentType, has   string
	}{
		{"GET", "/healthz", "", 200, "application/json", `"status": "ok"`},
		{"GET", "/api/v1/openapi.json", "", 200, "application/json", `"openapi": "3.0.3"`},
		{"GET", "/metrics", "", 200, "text/plain", "primum_txs_total"},
		{"GET", "/", "", 200, "text/html", "<title>Primum node</title>"},
		{"GET", "/api/v1/identities/nope", "", 404, "application/problem+json", `"code":"not_found"`},
		{"GET", "/api/v1/nothing-here", "", 404, "application/problem+json", `"code":"no_such_route"`},
		{"POST", "/api/v1/txs", `{"tx":`, 400, "application/problem+json", `"code":"bad_request"`},
		{"POST", "/api/v1/txs", `{"tx":"!!"}`, 400, "application/problem+json", `"code":"bad_request"`},
		{"POST", "/api/v1/txs", `{"tx":"` + strings.Repeat("A", 300<<10) + `"}`, 413, "application/problem+json", `"code":"body_too_large"`},
		{"GET", "/api/v1/identities?kind=alien", "", 400, "application/problem+json", `"code":"bad_request"`},
		{"GET", "/api/v1/proof?key=id/" + ledger.Address(doc.Public().(ed25519.PublicKey)), "", 200, "application/json", `"exists": true`},
		{"GET", "/../../etc/passwd", "", 404, "", ""},
	} {
		req, _ := http.NewRequest(tc.method, n.APIURL()+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(b), tc.has) {
			t.Errorf("%s %s: %d %s %.200s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	// Proofs verify with the stock ICS23 SmtSpec against the app hash:
	// the practitioner's identity is present, an unknown product absent
	// (an absent identity is proven only as a patient's would be).
	for _, pc := range []struct {
		key    string
		exists bool
	}{{"id/" + ledger.Address(doc.Public().(ed25519.PublicKey)), true}, {"sup/prod/00000000000000", false}} {
		var pr wire.ProofResponse
		if err := c.Get(ctx, "/api/v1/proof?key="+pc.key, &pr); err != nil || pr.Exists != pc.exists {
			t.Fatalf("proof of %s: %+v %v", pc.key, pr, err)
		}
		raw, _ := base64.StdEncoding.DecodeString(pr.Proof)
		value, _ := base64.StdEncoding.DecodeString(pr.Value)
		root, _ := hex.DecodeString(pr.AppHash)
		var proof ics23.CommitmentProof
		if err := proof.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		// An absence proof names its neighbours by hash only: it verifies
		// under RedactedSpec, for the key's hash.
		keyHash := sha256.Sum256([]byte(pc.key))
		ok := ics23.VerifyNonMembership(stateproof.RedactedSpec, root, &proof, keyHash[:])
		if pc.exists {
			ok = ics23.VerifyMembership(ics23.SmtSpec, root, &proof, []byte(pc.key), value)
		}
		if !ok {
			t.Errorf("proof of %s (exists %v) does not verify against app hash %s", pc.key, pc.exists, pr.AppHash)
		}
	}
	var spec map[string]any
	if err := c.Get(ctx, "/api/v1/openapi.json", &spec); err != nil {
		t.Fatal(err)
	}
	paths := spec["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/txs", "/api/v1/status", "/api/v1/identities/{id}", "/api/v1/proposals"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}
	var st json.RawMessage
	if err := c.Get(ctx, "/api/v1/status", &st); err != nil || !strings.Contains(string(st), "primum-node-test") {
		t.Fatalf("status: %s %v", st, err)
	}
}

// TestOldStateFormatRefused: a home whose state an earlier Primum wrote as
// an IAVL tree is refused at start with what to do, not replayed into a
// state whose app hashes the chain's headers would contradict.
func TestOldStateFormatRefused(t *testing.T) {
	home := initSingle(t, newKey(t))
	db, err := pebble.Open(filepath.Join(home, "data", "primum"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// An IAVL node of version 1, as the earlier format kept them.
	if err := errors.Join(db.Set([]byte("ts\x00\x00\x00\x01"), []byte("node"), pebble.Sync), db.Close()); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Options{Home: home, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		n.Stop()
		t.Fatal("started on an IAVL state")
	}
	if !strings.Contains(err.Error(), "earlier Primum") || !strings.Contains(err.Error(), "set up a new home") {
		t.Fatalf("error does not say what happened and what to do: %v", err)
	}
}

// TestBadGenesisWritesNothing: a genesis the app would refuse at InitChain
// (a module setting, a member, the validator set) stops the node with a
// message about it (not "invalid transaction body"), and once corrected
// the same home starts: CometBFT never saw the bad document, so it does
// not hold its hash against the good one.
func TestBadGenesisWritesNothing(t *testing.T) {
	cases := []struct {
		name, want string
		spoil      func(doc map[string]any)
	}{
		{"a misspelt module setting", `modules.governance: unknown field "voting_perod"`, func(doc map[string]any) {
			doc["app_state"].(map[string]any)["modules"] = map[string]any{"governance": map[string]any{"voting_perod": "1h"}}
		}},
		{"an unknown organisation type", `hosptial`, func(doc map[string]any) {
			doc["app_state"].(map[string]any)["members"].([]any)[0].(map[string]any)["org_type"] = "hosptial"
		}},
		{"a validator's power not the member's", `not a founding member with that power`, func(doc map[string]any) {
			doc["validators"].([]any)[0].(map[string]any)["power"] = "11"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := initSingle(t, newKey(t))
			path := filepath.Join(home, "config", "genesis.json")
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(good, &doc); err != nil {
				t.Fatal(err)
			}
			c.spoil(doc)
			bad, _ := json.Marshal(doc)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			n, err := node.Start(context.Background(), node.Options{Home: home, Logger: quiet})
			if err == nil {
				n.Stop()
				t.Fatal("started on a bad genesis")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "transaction") {
				t.Fatalf("error: %v", err)
			}
			if err := os.WriteFile(path, good, 0o644); err != nil {
				t.Fatal(err)
			}
			n, err = node.Start(context.Background(), node.Options{Home: home, Logger: quiet})
			if err != nil {
				t.Fatalf("the corrected genesis: %v", err)
			}
			n.Stop()
		})
	}
}

// TestGovernanceChangesCometBFTValidators: a passed add_member proposal
// reaches CometBFT's validator set through FinalizeBlock's validator updates.
func TestGovernanceChangesCometBFTValidators(t *testing.T) {
	org := newKey(t)
	n, c := startSingle(t, org)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	newOrg, newVal := newKey(t), newKey(t)
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// One member: its own yes is more than 2/3. Power 1 keeps the running
	// validator above 2/3 of the new total, so the chain goes on.
	member := governance.ProvedMember(chainID, "St Olav", "hospital", newOrg, newVal)
	member.Power = 1
	res, err := c.Send(ctx, org, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: member}, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Proposal(ctx, 1)
	if err != nil || p.Status != governance.StatusPassed {
		t.Fatalf("proposal: %+v %v", p, err)
	}
	// Updates returned at height H take effect at H+2.
	if err := c.WaitHeight(ctx, res.Height+2); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range st.Validators {
		if v.PubKey == hex.EncodeToString(newVal.Public().(ed25519.PublicKey)) && v.Power == 1 {
			found = true
		}
	}
	if len(st.Validators) != 2 || !found {
		t.Fatalf("validators after the vote: %+v", st.Validators)
	}
	// A light client that trusts only the genesis (one validator) follows
	// the change: the new member is proven by a header of the new set.
	prover, err := prove.New(ctx, c, n.RPCAddr(), prove.TrustRoot{Genesis: n.Comet.GenesisDoc()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := prover.Get(ctx, "id/"+ledger.Address(newOrg.Public().(ed25519.PublicKey)))
	if err != nil || !got.Exists || got.Of != 2 || got.Signers != 1 {
		t.Fatalf("the new member proven from the genesis: %+v %v", got, err)
	}
}

// TestAPIAbuse: a flood from one key gets 429 with Retry-After while other
// keys go on; a client that never finishes its headers is cut off.
func TestAPIAbuse(t *testing.T) {
	org := newKey(t)
	n, c := startSingle(t, org, func(s *node.Settings) { s.RatePerKey, s.RateBurst = 5, 5 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flooder := newKey(t)
	limited := 0
	for i := 0; i < 30; i++ {
		raw, _ := envelope.Build(chainID, flooder, uint64(i), identity.TypeRegisterPatient, struct{}{})
		_, err := c.Submit(ctx, raw, false)
		var p *client.Problem
		if errors.As(err, &p) && p.Code == "rate_limited" {
			if p.Status != http.StatusTooManyRequests {
				t.Fatalf("rate limit status %d", p.Status)
			}
			limited++
		}
	}
	if limited < 20 {
		t.Fatalf("only %d of 30 rapid submissions from one key were limited", limited)
	}
	if _, err := c.Send(ctx, newKey(t), identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatalf("another key was limited too: %v", err)
	}
	// In a batch: the key's burst is offered, the next is limited, and
	// the key's transactions after it are not offered — nor is their
	// signature checked: a key over its limit costs the node no
	// verification, however many transactions it sends.
	// (A registered patient registering devices: a key the ledger does not
	// know may have only one transaction waiting.)
	burst := newKey(t)
	if _, err := c.Send(ctx, burst, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // the key's burst refills
	var raws [][]byte
	checksBefore := signatureChecks(t, n.APIURL())
	for i := range 100 {
		_, dev, _ := ed25519.GenerateKey(nil)
		raw, _ := envelope.Build(chainID, burst, uint64(i+1), identity.TypeRegisterDevice, identity.RegisterDevice{DeviceType: "glucose-meter",
			Key: hex.EncodeToString(dev.Public().(ed25519.PublicKey)), Proof: identity.ProvePossession(dev, chainID, identity.ProofDevice, ledger.Address(burst.Public().(ed25519.PublicKey)))})
		raws = append(raws, raw)
	}
	batch, err := c.SubmitBatch(ctx, raws)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range batch.Results {
		want, code := http.StatusAccepted, ""
		switch {
		case i == 5:
			want, code = http.StatusTooManyRequests, "rate_limited"
		case i > 5:
			want, code = http.StatusFailedDependency, "not_offered"
		}
		if got := ""; r.Status != want || (r.Problem != nil && r.Problem.Code != code) || (r.Problem == nil) != (code == "") {
			if r.Problem != nil {
				got = r.Problem.Code
			}
			t.Errorf("batch item %d: %d %s, want %d %s", i, r.Status, got, want, code)
		}
	}
	if checked := signatureChecks(t, n.APIURL()) - checksBefore; checked > 10 {
		t.Errorf("a batch of 100 from a key with a burst of 5 cost %d signature checks", checked)
	}
	raw, _ := envelope.Build(chainID, flooder, 99, identity.TypeRegisterPatient, struct{}{})
	body, _ := json.Marshal(map[string]string{"tx": base64.StdEncoding.EncodeToString(raw)})
	resp, err := http.Post(n.APIURL()+"/api/v1/txs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	// Slow client: headers never completed.
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.APIURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	start := time.Now()
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	if waited := time.Since(start); waited > 12*time.Second {
		t.Fatalf("a client that never finished its headers was kept %s", waited)
	}
}

// TestSubmitBatch: a batch is answered item by item, in order. Accepted
// transactions commit (a signer's consecutive nonces in order); a bad
// signature, another chain's transaction and a second copy are refused on
// their own without stopping the rest; one committed before answers with
// its height. A malformed, empty or oversized batch is refused whole.
func TestSubmitBatch(t *testing.T) {
	org := newKey(t)
	n, c := startSingle(t, org)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chainID, err := c.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := envelope.Build(chainID, newKey(t), 0, identity.TypeRegisterPatient, struct{}{})
	committed, err := c.Submit(ctx, before, true)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Key(ctx, org.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	doctor := func(i uint64) []byte {
		doc := newKey(t)
		raw, _ := envelope.Build(chainID, org, info.Nonce+i, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{
			Key: hex.EncodeToString(doc.Public().(ed25519.PublicKey)), Licence: fmt.Sprintf("MD-%d", i), Profession: "doctor",
			Proof:      identity.ProvePossession(doc, chainID, identity.ProofPractitioner, info.Identity.ID),
			ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)})
		return raw
	}
	patient, _ := envelope.Build(chainID, newKey(t), 0, identity.TypeRegisterPatient, struct{}{})
	forger := newKey(t)
	forged, _ := envelope.Build(chainID, forger, 0, identity.TypeRegisterPatient, struct{}{})
	forged[len(forged)-1] ^= 1
	forgersNext, _ := envelope.Build(chainID, forger, 1, identity.TypeRegisterPatient, struct{}{})
	elsewhere, _ := envelope.Build("other-chain", newKey(t), 0, identity.TypeRegisterPatient, struct{}{})
	first, second := doctor(0), doctor(1)
	items := []struct {
		raw    []byte
		status int
		code   string
	}{
		{first, 202, ""},
		{patient, 202, ""},
		{forged, 401, "bad_signature"},
		{second, 202, ""},
		{elsewhere, 400, "wrong_chain"},
		{patient, 409, "duplicate_tx"},
		{forgersNext, 424, "not_offered"}, // its nonce would follow a gap
		{before, 200, ""},
	}
	raws := make([][]byte, len(items))
	for i, it := range items {
		raws[i] = it.raw
	}
	res, err := c.SubmitBatch(ctx, raws)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != len(items) || res.Accepted != 3 || res.Refused != 4 {
		t.Fatalf("batch answered %d results, %d accepted, %d refused: %+v", len(res.Results), res.Accepted, res.Refused, res)
	}
	for i, it := range items {
		got := res.Results[i]
		code := ""
		if got.Problem != nil {
			code = got.Problem.Code
		}
		if got.Status != it.status || code != it.code || got.Hash != hex.EncodeToString(envelope.Hash(it.raw)) {
			t.Errorf("item %d: status %d code %q hash %s, want %d %q", i, got.Status, code, got.Hash, it.status, it.code)
		}
	}
	if got := res.Results[7]; !got.Committed || got.Height != committed.Height {
		t.Errorf("the transaction committed before: %+v, want height %d", got, committed.Height)
	}
	for _, raw := range [][]byte{first, patient, second} {
		hash := hex.EncodeToString(envelope.Hash(raw))
		var tx *wire.TxResult
		for tx, err = c.Tx(ctx, hash); err != nil && ctx.Err() == nil; tx, err = c.Tx(ctx, hash) {
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || tx.Code != 0 {
			t.Fatalf("accepted %s did not commit: %+v %v", hash, tx, err)
		}
	}

	// A transaction committed before that failed: committed, with its
	// height and index, and refused with its failure. CheckTx does not run
	// handlers, so a second registration of the same practitioner's key is
	// admitted, and fails in its block.
	info, err = c.Key(ctx, org.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	practitionerKey := newKey(t)
	practitioner := hex.EncodeToString(practitionerKey.Public().(ed25519.PublicKey))
	register := func(i uint64) []byte {
		raw, _ := envelope.Build(chainID, org, info.Nonce+i, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{
			Key: practitioner, Licence: fmt.Sprintf("MD-twice-%d", i), Profession: "doctor",
			Proof:      identity.ProvePossession(practitionerKey, chainID, identity.ProofPractitioner, info.Identity.ID),
			ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)})
		return raw
	}
	once, twice := register(0), register(1)
	if res, err = c.SubmitBatch(ctx, [][]byte{once, twice}); err != nil || res.Accepted != 2 {
		t.Fatalf("two registrations of one key: %+v %v", res, err)
	}
	var failed *wire.TxResult
	for failed, err = c.Tx(ctx, hex.EncodeToString(envelope.Hash(twice))); err != nil && ctx.Err() == nil; failed, err = c.Tx(ctx, hex.EncodeToString(envelope.Hash(twice))) {
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || failed.Code == 0 {
		t.Fatalf("the second registration of one key: %+v %v, want it failed", failed, err)
	}
	res, err = c.SubmitBatch(ctx, [][]byte{twice})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Results[0]; res.Refused != 1 || !got.Committed || got.Height != failed.Height || got.Index != failed.Index ||
		got.Problem == nil || got.Problem.Code != failed.Error || got.Problem.Height != failed.Height {
		t.Errorf("a failed transaction submitted again: %+v (problem %+v), want committed at %d/%d and refused with %s", got, got.Problem, failed.Height, failed.Index, failed.Error)
	}
	var p *client.Problem // alone, the same: its failure, where it was committed
	if _, err := c.Submit(ctx, twice, false); !errors.As(err, &p) || p.Code != failed.Error || p.Height != failed.Height {
		t.Errorf("a failed transaction submitted again alone: %v, want %s at height %d", err, failed.Error, failed.Height)
	}

	tooMany := `{"txs":[` + strings.TrimSuffix(strings.Repeat(`"AA==",`, wire.MaxBatchTxs+1), ",") + `]}`
	for _, tc := range []struct{ name, body, has string }{
		{"not JSON", `{"txs":`, "malformed JSON"},
		{"not base64", `{"txs":["` + base64.StdEncoding.EncodeToString(patient) + `","!!"]}`, "txs[1]"},
		{"empty", `{"txs":[]}`, "1 to"},
		{"too many", tooMany, "1 to"},
	} {
		resp, err := http.Post(n.APIURL()+"/api/v1/txs/batch", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":"bad_request"`) || !strings.Contains(string(b), tc.has) {
			t.Errorf("%s: %d %.300s", tc.name, resp.StatusCode, b)
		}
	}
}

// TestActAnswersBeforeTheWriteTimeout: a request the node signs for its
// caller waits for the block at most commit_wait_ms, then answers 202
// commit_timeout with the hash and where to poll, never a dropped
// connection; the transaction still commits.
func TestActAnswersBeforeTheWriteTimeout(t *testing.T) {
	n, c, m := startMembersWith(t, func(s *node.Settings) { s.CommitWaitMS = 1 }, [][2]string{{"hospital", "hospital"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"type": identity.TypeRegisterDevice, "body": map[string]any{}})
	req, _ := http.NewRequestWithContext(ctx, "POST", n.APIURL()+"/api/v1/act", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+m["hospital"].token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Code, Hash string }
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode == http.StatusAccepted {
		if p.Code != "commit_timeout" || p.Hash == "" || resp.Header.Get("Location") != "/api/v1/txs/"+p.Hash {
			t.Fatalf("202 without what to poll: %+v, Location %q", p, resp.Header.Get("Location"))
		}
		// The transaction is refused in its block (an empty device), but it
		// is committed: polling finds it.
		for {
			var r struct{ Committed bool }
			if err := c.Get(ctx, "/api/v1/txs/"+p.Hash, &r); err == nil {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatal("the transaction never committed")
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	t.Fatalf("status %d (%+v), want 202 commit_timeout", resp.StatusCode, p)
}

// signatureChecks reads primum_signature_checks_total from a node's metrics.
func signatureChecks(t *testing.T, api string) int {
	t.Helper()
	res, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "primum_signature_checks_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no primum_signature_checks_total in /metrics")
	return 0
}
