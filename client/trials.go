package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/trials"
)

// RecordProof is a record's inclusion in a trial's anchored batch (RFC
// 9162): what anyone with the record checks against the root on the
// ledger. Its fields are in the order of their names, as 'primum trials
// prove -o json' has always printed them.
type RecordProof struct {
	Anchored  string   `json:"anchored"`
	Batch     int64    `json:"batch"`
	LeafHash  string   `json:"leaf_hash"`
	LeafIndex uint64   `json:"leaf_index"`
	Proof     []string `json:"proof"`
	Record    int      `json:"record"`
	Root      string   `json:"root"`
	Site      string   `json:"site"`
	Size      int64    `json:"size"`
	Trial     string   `json:"trial"`
}

// ProveRecord proves record (1 = the first) of a batch file's records to
// have been in batch seq of trial as the ledger holds it (its size and
// Merkle root), checking the proof here; a file that is not that batch is
// refused.
func (c *Client) ProveRecord(ctx context.Context, trial string, seq int64, recs [][]byte, record int) (*RecordProof, error) {
	if record < 1 || record > len(recs) {
		return nil, fmt.Errorf("--record must be 1 to %d (the batch file's records)", len(recs))
	}
	var b trials.Batch
	if err := c.Get(ctx, "/api/v1/trials/"+url.PathEscape(trial)+"/batches/"+strconv.FormatInt(seq, 10), &b); err != nil {
		return nil, err
	}
	root, err := hex.DecodeString(b.Root)
	if err != nil {
		return nil, fmt.Errorf("the node answered a root that is not hex: %q", b.Root)
	}
	if int64(len(recs)) != b.Size {
		return nil, fmt.Errorf("the file holds %d records, batch %d of %s holds %d: not this batch", len(recs), seq, trial, b.Size)
	}
	i := uint64(record - 1)
	p, err := anchor.Prove(recs, i)
	if err != nil {
		return nil, err
	}
	if err := anchor.Verify(recs[i], i, uint64(b.Size), p, root); err != nil {
		return nil, fmt.Errorf("record %d is not in batch %d as anchored (the file differs from what was anchored): %w", record, seq, err)
	}
	proof := make([]string, len(p))
	for j, h := range p {
		proof[j] = hex.EncodeToString(h)
	}
	return &RecordProof{Trial: b.Trial, Batch: b.Seq, Record: record, LeafIndex: i, Size: b.Size, Root: b.Root,
		LeafHash: hex.EncodeToString(anchor.LeafHash(recs[i])), Proof: proof, Anchored: b.Time, Site: b.Site}, nil
}
