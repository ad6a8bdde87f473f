package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/ledger"
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
