package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzMemberFile: a membership file as a coordinator receives it is read
// strictly and checked, or refused, without a panic; one that passes names
// a peer that init and install take.
func FuzzMemberFile(f *testing.F) {
	f.Add([]byte(`{"chain_id":"north-health","name":"St Luke's","org_type":"hospital","key":"ab","validator_key":"cd","power":10,"node_id":"0123456789abcdef0123456789abcdef01234567","address":"10.0.0.1:26656","signature":"00"}`))
	f.Add([]byte(`{"chain_id":"north-health","unknown":1}`))
	f.Add([]byte(`[]`))
	// A file init signed: the fuzzer starts from one that passes.
	home := f.TempDir()
	in, err := InitMember(home, Member{InitOptions: InitOptions{Moniker: "fuzz", Ports: Ports{RPC: 1, API: 2}},
		Name: "St Luke's", OrgType: "hospital", Power: 10, ChainID: "north-health", Unencrypted: true,
		Ceremony: &Ceremony{Address: "10.0.0.1:26656"}}, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	signed, err := os.ReadFile(in.MemberFile)
	if err != nil {
		f.Fatal(err)
	}
	if m, err := ReadMemberFile(in.MemberFile); err != nil || m.Check("north-health") != nil {
		f.Fatalf("the seed init signed does not pass: %v", err)
	}
	f.Add(signed)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "member.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMemberFile(path)
		if err != nil {
			return
		}
		if m.Check("north-health") != nil {
			return
		}
		if _, err := ParsePeers(m.Peer()); err != nil {
			t.Fatalf("a checked file's peer %q is refused: %v", m.Peer(), err)
		}
	})
}
