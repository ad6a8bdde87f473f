package node

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cometbft/cometbft/p2p"
	"github.com/primum-health/primum/keyring"
)

// What 'primum init -o json' prints: the home, its keys, and a joining
// home's membership request or why none was written.
func TestInitialisedListing(t *testing.T) {
	op := &keyring.File{Address: "a1", PublicKey: "k1", Encrypted: true}
	for _, c := range []struct {
		name string
		in   Initialised
		want []string // keys beyond the home's own
	}{
		{"founding", Initialised{NodeID: "n1", ValidatorKey: make([]byte, 32), Operator: op}, nil},
		{"joining", Initialised{NodeID: "n1", Operator: op, Request: "/h/membership-request.json"}, []string{"membership_request"}},
		{"joining without a request", Initialised{NodeID: "n1", Operator: op, RequestErr: errors.New("no validator key")}, []string{"membership_request_error"}},
	} {
		out := c.in.Listing("/h")
		if out["home"] != "/h" || out["node_id"] != p2p.ID("n1") || out["operator_address"] != "a1" || out["operator_key"] != "k1" ||
			out["operator_key_encrypted"] != true || out["validator_key"] != hex.EncodeToString(c.in.ValidatorKey) || len(out) != 6+len(c.want) {
			t.Errorf("%s: %v", c.name, out)
		}
		for _, k := range c.want {
			if out[k] == nil || out[k] == "" {
				t.Errorf("%s: no %s in %v", c.name, k, out)
			}
		}
	}
}
