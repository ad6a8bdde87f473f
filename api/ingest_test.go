package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestIngestKeepsWhatMayStillCommit: records a custodian stores while
// their index is being registered are discarded only when the ledger
// refused the index; when the wait for its block runs out (or the client
// leaves), the index may still commit, so the records are kept: deleting
// them would leave the ledger pointing at records nobody can read.
func TestIngestKeepsWhatMayStillCommit(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	a := memberLedger(t, key)
	docs, err := docstore.Open(t.TempDir(), &memUnsealer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docs.Close() })
	obs := []*fhir.Resource{{Type: "Observation", Raw: []byte(`{"resourceType":"Observation","status":"final"}`)}}
	for _, c := range []struct {
		name  string
		chain fixedChain
		kept  int
	}{
		{"accepted, not committed in time", fixedChain{}, 1},
		{"refused by the ledger", fixedChain{code: ledger.ErrUnauthorized.Code, codespace: ledger.ErrUnauthorized.Codespace}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			patient := c.name
			s := &server{Backend: Backend{Ledger: a, Chain: c.chain, Docs: docs, CommitWait: 50 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if _, err := s.ingest(context.Background(), key, patient, obs); err == nil {
				t.Fatal("ingest succeeded without a block")
			}
			kept, err := docs.Records(patient)
			if err != nil || len(kept) != c.kept {
				t.Fatalf("%d records kept (%v), want %d", len(kept), err, c.kept)
			}
		})
	}
}

// TestIngestWaitsOnceForAllItsBlocks: a bundle registered in several
// transactions waits for their blocks within one commit wait in all, not
// one wait each, so that a slow chain cannot hold a request past the
// server's write timeout (a bundle of n chunks used to wait up to n × 40 s).
func TestIngestWaitsOnceForAllItsBlocks(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	a := memberLedger(t, key)
	chain := &slowChain{app: a, delay: 150 * time.Millisecond, height: 1}
	t.Cleanup(chain.blocks.Wait) // before the store closes (cleanups run last first)
	patientKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	reg, _ := envelope.Build(a.ChainID(), patientKey, 0, identity.TypeRegisterPatient, identity.RegisterPatient{})
	done, stop := a.WaitFor(fmt.Sprintf("%x", envelope.Hash(reg)))
	defer stop()
	if res, err := chain.BroadcastTxSync(context.Background(), reg); err != nil || res.Code != 0 {
		t.Fatalf("register a patient: %v %v", res, err)
	}
	<-done
	patient := ledger.Address(patientKey.Public().(ed25519.PublicKey))
	docs, err := docstore.Open(t.TempDir(), &memUnsealer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docs.Close() })
	for _, c := range []struct {
		name string
		wait time.Duration
		ok   bool
	}{
		{"both blocks within the wait", 5 * time.Second, true},
		{"each block within the wait, not both", 250 * time.Millisecond, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Resources of their own: the same again would be recorded
			// already, and need no transaction at all.
			var bundle []*fhir.Resource
			for range records.MaxPerRegister + 1 { // two transactions
				bundle = append(bundle, &fhir.Resource{Type: "Observation", Raw: []byte(`{"resourceType":"Observation","status":"final","code":{"text":"` + c.name + `"}}`)})
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			s := &server{Backend: Backend{Ledger: a, Chain: chain, Docs: docs, CommitWait: c.wait, Logger: quiet}, log: quiet}
			_, err := s.ingest(context.Background(), key, patient, bundle)
			if (err == nil) != c.ok {
				t.Fatalf("ingest: %v, want success %v", err, c.ok)
			}
		})
	}
}

// slowChain checks each transaction into the app's mempool and commits it
// alone in a block after delay.
type slowChain struct {
	fixedChain
	app    *app.App
	delay  time.Duration
	mu     sync.Mutex
	height int64
	blocks sync.WaitGroup
}

func (c *slowChain) BroadcastTxSync(ctx context.Context, tx cmttypes.Tx) (*coretypes.ResultBroadcastTx, error) {
	res, err := c.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil || res.Code != 0 {
		return &coretypes.ResultBroadcastTx{Code: res.GetCode(), Codespace: res.GetCodespace(), Log: res.GetLog()}, err
	}
	c.blocks.Go(func() {
		time.Sleep(c.delay)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.height++
		if _, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: time.Now(), Txs: [][]byte{tx}}); err != nil {
			panic(err)
		}
		if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			panic(err)
		}
	})
	return &coretypes.ResultBroadcastTx{}, nil
}

// fixedChain takes every transaction with the same answer and never
// commits one.
type fixedChain struct {
	code      uint32
	codespace string
}

func (fixedChain) Status(context.Context) (*coretypes.ResultStatus, error) {
	return &coretypes.ResultStatus{}, nil
}
func (fixedChain) Validators(context.Context, *int64, *int, *int) (*coretypes.ResultValidators, error) {
	return &coretypes.ResultValidators{}, nil
}
func (c fixedChain) BroadcastTxSync(context.Context, cmttypes.Tx) (*coretypes.ResultBroadcastTx, error) {
	return &coretypes.ResultBroadcastTx{Code: c.code, Codespace: c.codespace}, nil
}

// memUnsealer keeps the record store's unseal key in memory.
type memUnsealer struct{ cur, next []byte }

func (u *memUnsealer) Keys() ([]byte, []byte, error) {
	if u.cur == nil {
		u.cur = bytes.Repeat([]byte{7}, 32)
	}
	return u.cur, u.next, nil
}
func (u *memUnsealer) Prepare() ([]byte, error) {
	u.next = bytes.Repeat([]byte{8}, 32)
	return u.next, nil
}
func (u *memUnsealer) Commit() error { u.cur, u.next = u.next, nil; return nil }

// TestIngestRecordsNothingTwice: a resource the custodian already holds for
// the patient, in any layout, answers with its record and is not stored
// again; a Bundle holding a resource twice made two records and finds both
// again; a third copy, or the same resource for another patient, is new.
func TestIngestRecordsNothingTwice(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	a := memberLedger(t, key)
	chain := &slowChain{app: a, delay: 10 * time.Millisecond, height: 1}
	t.Cleanup(chain.blocks.Wait)
	var patients []string
	for seed := range byte(2) {
		patientKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed + 1}, 32))
		reg, _ := envelope.Build(a.ChainID(), patientKey, 0, identity.TypeRegisterPatient, identity.RegisterPatient{})
		done, stop := a.WaitFor(fmt.Sprintf("%x", envelope.Hash(reg)))
		if res, err := chain.BroadcastTxSync(context.Background(), reg); err != nil || res.Code != 0 {
			t.Fatalf("register a patient: %v %v", res, err)
		}
		<-done
		stop()
		patients = append(patients, ledger.Address(patientKey.Public().(ed25519.PublicKey)))
	}
	docs, err := docstore.Open(t.TempDir(), &memUnsealer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docs.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &server{Backend: Backend{Ledger: a, Chain: chain, Docs: docs, CommitWait: 10 * time.Second, Logger: quiet}, log: quiet}
	res := func(typ, raw string) *fhir.Resource {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil || r.Type != typ {
			t.Fatalf("%s: %v", raw, err)
		}
		return r
	}
	const obs = `{"resourceType":"Observation","id":"o-1","status":"final","valueQuantity":{"value":7.4,"unit":"%"}}`
	glucose := res("Observation", obs)
	pretty := res("Observation", "{\n  \"status\": \"final\",\n  \"resourceType\": \"Observation\",\n  \"valueQuantity\": {\"unit\": \"%\", \"value\": 7.4},\n  \"id\": \"o-1\"\n}")
	amended := res("Observation", strings.Replace(obs, "final", "amended", 1))
	condition := res("Condition", `{"resourceType":"Condition","id":"c-1","code":{"text":"diabetes"}}`)

	var first []string // record ids of the first import
	const isNew = -1
	glucoseAgain := []int{0, 2} // either of the two glucose records of the first import
	for _, c := range []struct {
		name      string
		patient   int
		resources []*fhir.Resource
		answers   [][]int // per resource: the records of the first import it may answer with, or isNew
		held      int     // records the patient then has
	}{
		{"the first import", 0, []*fhir.Resource{glucose, condition, glucose}, [][]int{{isNew}, {isNew}, {isNew}}, 3},
		{"the same again, in another order and layout", 0, []*fhir.Resource{condition, pretty, glucose}, [][]int{{1}, glucoseAgain, glucoseAgain}, 3},
		{"a third copy and an amendment are new", 0, []*fhir.Resource{glucose, glucose, glucose, amended},
			[][]int{glucoseAgain, glucoseAgain, {isNew}, {isNew}}, 5},
		{"another patient", 1, []*fhir.Resource{glucose}, [][]int{{isNew}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ingest(context.Background(), key, patients[c.patient], c.resources)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				for _, in := range got {
					first = append(first, in.ID)
				}
			}
			seen := map[string]bool{}
			for i, in := range got {
				ok := false
				for _, want := range c.answers[i] {
					ok = ok || want == isNew && !in.already || want >= 0 && in.already && in.ID == first[want]
				}
				if !ok || seen[in.ID] {
					t.Errorf("resource %d: record %s (already %v, answered before in this import %v); want one of %v", i, in.ID, in.already, seen[in.ID], c.answers[i])
				}
				seen[in.ID] = true
			}
			held, err := docs.Records(patients[c.patient])
			if err != nil || len(held) != c.held {
				t.Fatalf("the store holds %d records of the patient (%v), want %d", len(held), err, c.held)
			}
		})
	}
}
