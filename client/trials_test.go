package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/trials"
)

// A record is proven to have been in the batch the ledger holds: its file
// must be that batch (its size and root), and the proof is checked here.
func TestProveRecord(t *testing.T) {
	recs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	root, err := anchor.Root(recs)
	if err != nil {
		t.Fatal(err)
	}
	batches := map[string]trials.Batch{
		"/api/v1/trials/T1/batches/1": {Trial: "T1", Seq: 1, Site: "s", Root: hex.EncodeToString(root), Size: 3, Time: "2026-01-02T00:00:00Z"},
		"/api/v1/trials/T1/batches/2": {Trial: "T1", Seq: 2, Root: "not hex", Size: 3},
		"/api/v1/trials/T1/batches/3": {Trial: "T1", Seq: 3, Root: hex.EncodeToString(root), Size: 4},
		"/api/v1/trials/T1/batches/4": {Trial: "T1", Seq: 4, Root: hex.EncodeToString(make([]byte, 32)), Size: 3},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := batches[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(b)
	}))
	defer srv.Close()
	for _, c := range []struct {
		name   string
		seq    int64
		record int
		err    string
	}{
		{"the second record", 1, 2, ""},
		{"the last", 1, 3, ""},
		{"record 0", 1, 0, "--record must be 1 to 3"},
		{"past the file", 1, 4, "--record must be 1 to 3"},
		{"a root not hex", 2, 1, "not hex"},
		{"another batch's size", 3, 1, "the file holds 3 records, batch 3 of T1 holds 4: not this batch"},
		{"another batch's root", 4, 1, "record 1 is not in batch 4 as anchored"},
	} {
		p, err := New(srv.URL).ProveRecord(context.Background(), "T1", c.seq, recs, c.record)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		proof := make([][]byte, len(p.Proof))
		for i, h := range p.Proof {
			proof[i], _ = hex.DecodeString(h)
		}
		if p.Record != c.record || p.LeafIndex != uint64(c.record-1) || p.Anchored != "2026-01-02T00:00:00Z" || p.Site != "s" ||
			anchor.Verify(recs[c.record-1], p.LeafIndex, 3, proof, root) != nil {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
}
