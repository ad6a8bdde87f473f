// Package wire holds the JSON shapes of Primum's REST API that a node answers
// and the Go client reads: submissions and their answers, the chain status, a
// key's standing, a proof, a transaction's result, and the problem details
// every refusal is. Their JSON names are the outside contract: never rename
// one, add a field instead.
//
// The node's api package and the Go client both use these types, so that the
// two cannot drift apart; this package must never depend on the server (app,
// store, api, CometBFT), only on the capability packages whose state types an
// answer carries.
package wire

import (
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Problem is an RFC 9457 problem details object with Primum's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	ABCICode  uint32 `json:"abci_code,omitempty"`
	Hash      string `json:"hash,omitempty"`
	Height    int64  `json:"height,omitempty"`
	// Refusal is the ledger's reason code for a refused record access, and
	// Access the id of the access entry that records it.
	Refusal string `json:"refusal,omitempty"`
	Access  string `json:"access,omitempty"`
}

// Status is the answer of GET /api/v1/status.
type Status struct {
	ChainID    string      `json:"chain_id"`
	NodeID     string      `json:"node_id"`
	Moniker    string      `json:"moniker"`
	Height     int64       `json:"height"`
	AppHash    string      `json:"app_hash"`
	BlockTime  time.Time   `json:"block_time"`
	CatchingUp bool        `json:"catching_up"`
	RPC        string      `json:"cometbft_rpc"`
	Validators []Validator `json:"validators"`
}

// Validator is one member of the current validator set.
type Validator struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Power   int64  `json:"power"`
}

// SubmitResponse answers a submission: accepted into the mempool (202), or
// committed (200) when ?wait=true.
type SubmitResponse struct {
	Hash      string `json:"hash"`
	Committed bool   `json:"committed"`
	Height    int64  `json:"height,omitempty"`
	Index     int    `json:"index,omitempty"`
	Type      string `json:"type,omitempty"`
	Signer    string `json:"signer,omitempty"`
}

// BatchItem answers one transaction of a batch: accepted into the mempool
// (202), committed before (200, with its height), or refused (the
// problem's status, and the problem). One committed before that failed is
// both: committed, with its height, and refused with its failure.
type BatchItem struct {
	Status int `json:"status"`
	SubmitResponse
	Problem *Problem `json:"problem,omitempty"`
}

// BatchResponse answers POST /api/v1/txs/batch, one item per transaction in
// the request's order.
type BatchResponse struct {
	Accepted int         `json:"accepted"` // items now in the mempool
	Refused  int         `json:"refused"`
	Results  []BatchItem `json:"results"`
}

// MaxBatchTxs bounds the transactions of one batch; MaxBatchBytes its body.
const (
	MaxBatchTxs   = 1000
	MaxBatchBytes = 4 << 20
)

// KeyInfo tells a client who a key signs for and which nonce to use next.
type KeyInfo struct {
	Address  string             `json:"address"`
	Nonce    uint64             `json:"nonce"`
	Retired  bool               `json:"retired,omitempty"`
	Identity *identity.Identity `json:"identity,omitempty"`
	Standing string             `json:"standing"` // "ok" or the error code that stops it signing
	ChainID  string             `json:"chain_id"`
}

// ProofResponse carries a committed value with its ICS23 proof.
type ProofResponse struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"` // base64; empty when absent
	Exists bool   `json:"exists"`
	Height int64  `json:"height"`
	Proof  string `json:"proof"` // base64 of the ICS23 CommitmentProof
	// AppHash is the root the proof verifies against; it appears in the
	// header of block Height+1.
	AppHash string `json:"app_hash"`
}

// TxResult is how a transaction ended: the answer of GET /api/v1/txs/{hash},
// and what the node keeps in its side index and gives to those waiting for
// the commit.
type TxResult struct {
	Hash      string `json:"hash"`
	Height    int64  `json:"height"`
	Index     int    `json:"index"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	Error     string `json:"error,omitempty"` // stable code name, e.g. "bad_nonce"
	Log       string `json:"log,omitempty"`
	Type      string `json:"type,omitempty"`
	Signer    string `json:"signer,omitempty"`
	// Events are what the transaction emitted (in memory only, for the
	// node's commit subscribers; never on the wire).
	Events []ledger.Event `json:"-"`
}

// Blocks is the node explorer's view of the latest blocks (GET
// /api/v1/blocks): what happened, never who or about whom.
type Blocks struct {
	Blocks []BlockSummary `json:"blocks"` // newest first
	// Signed counts, per validator address, the blocks of the window whose
	// commit it signed (its recent uptime: Signed / Window).
	Signed map[string]int `json:"signed"`
	Window int            `json:"window"`
	// Peers are the nodes this one is connected to, by node id (not their
	// addresses, nor the names they give themselves).
	Peers []Peer `json:"peers"`
}

// BlockSummary is one block: when, who proposed it, and how many
// transactions of each type it carried, accepted or refused.
type BlockSummary struct {
	Height   int64         `json:"height"`
	Time     time.Time     `json:"time"`
	Proposer string        `json:"proposer"` // validator address
	Txs      int           `json:"txs"`
	Types    []BlockTxType `json:"types"`
}

// BlockTxType counts one type of transaction in a block, and the refusals
// among them by stable code.
type BlockTxType struct {
	Type     string         `json:"type"`
	Accepted int            `json:"accepted"`
	Refused  map[string]int `json:"refused,omitempty"`
}

// Peer is a connected node.
type Peer struct {
	NodeID string `json:"node_id"`
}
