package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cometbft/cometbft/mempool"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/wire"
)

// Submission: a signed transaction (or a batch) offered to the mempool, and
// what became of it.

func (s *server) submitTx(w http.ResponseWriter, r *http.Request) {
	var req wire.SubmitRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Tx)
	if err != nil || len(raw) == 0 {
		writeError(w, errBadRequest.Wrapf("tx must be the base64 of a signed transaction"))
		return
	}
	if tx, err := envelope.Decode(raw); err == nil {
		if ok, delay := s.limiter.allow(string(tx.Signer)); !ok {
			writeRateLimited(w, delay)
			return
		}
	}
	wait := r.URL.Query().Get("wait") == "true"
	timeout := 30 * time.Second
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > 2*time.Minute {
			writeError(w, errBadRequest.Wrapf("timeout must be a duration up to 2m, e.g. 10s"))
			return
		}
		timeout = d
	}
	hash := hex.EncodeToString(envelope.Hash(raw))
	var done <-chan wire.TxResult
	if wait {
		ch, cancel := s.Ledger.WaitFor(hash)
		defer cancel()
		done = ch
	}
	o := s.offer(r.Context(), raw, hash)
	switch {
	case o.problem != nil:
		writeProblem(w, *o.problem)
		return
	case o.prior != nil:
		s.answerCommitted(w, *o.prior)
		return
	case o.pending && !wait:
		writeError(w, errDuplicateTx)
		return
	case !wait:
		writeJSON(w, http.StatusAccepted, wire.SubmitResponse{Hash: hash})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	select {
	case result := <-done:
		s.answerCommitted(w, result)
	case <-ctx.Done():
		p := problemOf(errTimeout)
		p.Hash = hash
		writeProblem(w, p)
	}
}

// offered is what became of a transaction handed to the mempool: accepted
// (all fields zero), refused (problem), committed before (prior), or
// already waiting in the mempool (pending).
type offered struct {
	problem *wire.Problem
	prior   *wire.TxResult
	pending bool
}

// offer hands one signed transaction (hash is its hex hash) to the mempool,
// through CheckTx.
func (s *server) offer(ctx context.Context, raw []byte, hash string) offered {
	if s.catchingUp() {
		p := problemOf(errCatchingUp)
		p.Hash = hash
		return offered{problem: &p}
	}
	res, err := s.Chain.BroadcastTxSync(ctx, raw)
	seen := errors.Is(err, mempool.ErrTxInCache) || errors.Is(err, mempool.ErrTxInMempool)
	var refusal error
	if !seen {
		refusal = mempoolError(res, err)
	}
	// The same bytes may be on the ledger already: seen by the mempool, or
	// refused for their nonce, spent by themselves (the mempool's cache
	// forgets a failed transaction at once). Say what became of them.
	if seen || errors.Is(refusal, ledger.ErrBadNonce) {
		if prior, perr := s.Ledger.TxResultByHash(hash); perr == nil {
			return offered{prior: prior}
		}
	}
	switch {
	case seen:
		return offered{pending: true}
	case refusal != nil:
		p := rejectionProblem(refusal)
		p.Hash = hash
		return offered{problem: &p}
	}
	return offered{}
}

// errCatchingUp refuses a transaction while this node catches up with the
// chain: its state is behind, so a transaction it accepted could carry a
// nonce the chain has already spent and be dropped later without an
// answer (issue 22: seen 3 s after a restart).
var errCatchingUp = newAPIError(42, "catching_up", http.StatusServiceUnavailable,
	"this node is catching up with the chain and takes no transactions until it has; retry in a few seconds, or send to another member's node")

func (s *server) catchingUp() bool { return s.CatchingUp != nil && s.CatchingUp() }

var errNotOffered = newAPIError(41, "not_offered", http.StatusFailedDependency,
	"not offered: an earlier transaction of the same signer in this batch was refused")

// submitBatch offers many transactions in one request, for integration
// engines and bulk loads: each is answered on its own, in order, as POST
// /api/v1/txs would answer it (without waiting for the commit), except
// that a signer's transactions after one of its own was refused are not
// offered (not_offered): their nonces would follow a gap. Their
// signatures are checked together first, in batches on every core, which
// costs about a third of checking them one by one.
func (s *server) submitBatch(w http.ResponseWriter, r *http.Request) {
	var req wire.BatchRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Txs) == 0 || len(req.Txs) > wire.MaxBatchTxs {
		writeError(w, errBadRequest.Wrapf("txs must hold 1 to %d transactions, not %d", wire.MaxBatchTxs, len(req.Txs)))
		return
	}
	raws := make([][]byte, len(req.Txs))
	for i, b64 := range req.Txs {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) == 0 {
			writeError(w, errBadRequest.Wrapf("txs[%d] must be the base64 of a signed transaction", i))
			return
		}
		raws[i] = raw
	}
	// The rate limit comes first: a signer over its limit costs no
	// signature check. limited[i] is why transaction i is not offered.
	limited := make([]error, len(raws))
	signers := make([]string, len(raws))
	over := map[string]bool{}
	var checked [][]byte
	for i, raw := range raws {
		if tx, err := envelope.Decode(raw); err == nil {
			signers[i] = string(tx.Signer)
			if over[signers[i]] {
				limited[i] = errRateLimited.Wrapf("an earlier transaction of this signer in the batch was over its limit")
				continue
			}
			if ok, delay := s.limiter.allow(signers[i]); !ok {
				limited[i] = errRateLimited.Wrapf("retry after %s", delay.Round(time.Millisecond))
				over[signers[i]] = true
				continue
			}
		}
		checked = append(checked, raw)
	}
	// The per-signer limit keys on signers the transactions only claim: a
	// batch from a thousand fresh keys passes it. Its client address pays
	// for every signature it asks the node to check (up to the burst).
	if ok, wait := s.chargeIP(r, len(checked)-1); !ok {
		s.metrics.refusedIP()
		writeRetryLater(w, errRateLimitedIP, wait)
		return
	}
	s.Ledger.Preverify(checked)
	out := wire.BatchResponse{Results: make([]wire.BatchItem, len(raws))}
	// A signer's transactions after one of its own was refused are not
	// offered: their nonces would follow a gap.
	refused := map[string]string{} // signer -> the refused transaction's hash
	for i, raw := range raws {
		hash := hex.EncodeToString(envelope.Hash(raw))
		item := &out.Results[i]
		item.Hash = hash
		refuse := func(p wire.Problem) {
			p.Hash = hash
			item.Status, item.Problem = p.Status, &p
			out.Refused++
		}
		signer := signers[i]
		if signer != "" {
			if earlier, ok := refused[signer]; ok {
				refuse(problemOf(errNotOffered.Wrapf("resubmit it after %s", earlier)))
				continue
			}
			if limited[i] != nil {
				refuse(problemOf(limited[i]))
				refused[signer] = hash
				continue
			}
		}
		o := s.offer(r.Context(), raw, hash)
		switch {
		case o.problem != nil:
			refuse(*o.problem)
			if signer != "" {
				refused[signer] = hash
			}
		case o.prior != nil && o.prior.Code != 0:
			// On the ledger, failed: committed (with its height and
			// index), and refused with the failure.
			item.SubmitResponse = committedResponse(*o.prior)
			refuse(committedProblem(*o.prior))
		case o.prior != nil:
			item.Status, item.SubmitResponse = http.StatusOK, committedResponse(*o.prior)
		case o.pending:
			refuse(problemOf(errDuplicateTx))
		default:
			item.Status = http.StatusAccepted
			out.Accepted++
		}
	}
	writeCompactJSON(w, http.StatusOK, out)
}

// rejectionProblem is problemOf, except that a rejection by the ledger
// keeps its log as the detail, even under an unknown code.
func rejectionProblem(err error) wire.Problem {
	var r *ledgerRejection
	if !errors.As(err, &r) {
		return problemOf(err)
	}
	p := problemOf(r.code)
	p.Detail = r.log
	return p
}

// committedProblem is a transaction the block refused, as a problem.
func committedProblem(r wire.TxResult) wire.Problem {
	p := rejectionProblem(codedError(r.Codespace, r.Code, r.Log))
	p.Hash, p.Height = r.Hash, r.Height
	return p
}

func committedResponse(r wire.TxResult) wire.SubmitResponse {
	return wire.SubmitResponse{Hash: r.Hash, Committed: true, Height: r.Height, Index: r.Index, Type: r.Type, Signer: r.Signer}
}

func (s *server) answerCommitted(w http.ResponseWriter, r wire.TxResult) {
	if r.Code != 0 {
		writeProblem(w, committedProblem(r))
		return
	}
	writeJSON(w, http.StatusOK, committedResponse(r))
}

func (s *server) getTx(w http.ResponseWriter, r *http.Request) {
	hash := strings.ToLower(r.PathValue("hash"))
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		writeError(w, errBadRequest.Wrapf("hash must be 64 hex characters"))
		return
	}
	res, err := s.Ledger.TxResultByHash(hash)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
