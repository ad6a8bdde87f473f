package node_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/primum-health/primum/node"
)

// A joining home's membership request reads back as written, for the
// genesis's chain, with proofs the proposer's check accepts; a proposer
// that changes the name is refused.
func TestMembershipRequestRoundTrip(t *testing.T) {
	_, founder, _ := ed25519.GenerateKey(nil)
	home := initSingle(t, founder) // a home with a genesis, as a joining one has
	_, operator, _ := ed25519.GenerateKey(nil)
	path, err := node.WriteMembershipRequest(home, operator, "St Olav Hospital", "hospital", 5)
	if err != nil {
		t.Fatal(err)
	}
	req, err := node.ReadMembershipRequest(path)
	if err != nil {
		t.Fatal(err)
	}
	if req.ChainID != "primum-node-test" || req.Name != "St Olav Hospital" || req.Power != 5 || req.ValidatorKey == "" {
		t.Fatalf("request: %+v", req)
	}
	if err := req.CheckProofs(req.ChainID); err != nil {
		t.Fatalf("the request's proofs: %v", err)
	}
	req.Name = "Someone Else"
	if err := req.CheckProofs(req.ChainID); err == nil {
		t.Fatal("a request renamed by the proposer passed")
	}
}
