package governance

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

// faultyMembers is the identity module with a disk that fails when an
// organisation is admitted: the fault a real Pebble read could raise there.
type faultyMembers struct {
	IdentityMembers
	err error
}

func (f faultyMembers) AddOrganisation(ledger.Writer, string, string, ed25519.PublicKey, ed25519.PublicKey, int64, int64) (*identity.Identity, error) {
	return nil, f.err
}

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("primum governance test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// TestExecutionErrors: a passed proposal whose change is refused (a coded
// error) is recorded as failed; an error that is no rejection — storage —
// is returned, for the app to stop the node, and never committed as a
// "failed" proposal that one node alone would hold.
func TestExecutionErrors(t *testing.T) {
	errDisk := errors.New("pebble: read failed: input/output error")
	cases := []struct {
		name       string
		err        error
		wantReturn error  // what propose returns
		wantStatus string // the recorded proposal, when one is
	}{
		{"storage error propagates", errDisk, errDisk, ""},
		{"rejection is recorded", identity.ErrKeyInUse, nil, StatusFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			w := st.Staged()
			founder, newcomer := testKey("founder"), testKey("newcomer")
			org, err := identity.AddOrganisation(w, "Founder", "hospital", founder.Public().(ed25519.PublicKey), nil, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			const chain = "primum-test"
			m := &Module{Members: faultyMembers{err: c.err}}
			var updates []ledger.ValidatorUpdate
			ctx := &ledger.Context{ChainID: chain, Height: 2, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), State: w,
				Signer: ledger.Signer{ID: org.ID, Kind: ledger.KindOrganisation, OrgType: "hospital"}, ValidatorUpdates: &updates}
			// The only member proposes: its own vote passes the proposal at once.
			body := []byte(`{"action":"add_member","member":{"name":"Newcomer","org_type":"clinic","key":"` +
				hex.EncodeToString(newcomer.Public().(ed25519.PublicKey)) + `","key_proof":"` + identity.ProvePossession(newcomer, chain, identity.ProofMember, identity.MemberRegistrant("Newcomer", "clinic", nil)) + `"}}`)
			err = ledger.Handle(m.propose).Run(ctx, body)
			if !errors.Is(err, c.wantReturn) {
				t.Fatalf("propose returned %v, want %v", err, c.wantReturn)
			}
			if c.wantStatus == "" {
				return
			}
			p, err := Get(w, 1, ctx.Time)
			if err != nil || p.Status != c.wantStatus {
				t.Fatalf("proposal %+v, %v; want %s", p, err, c.wantStatus)
			}
		})
	}
}

// A proposer holding the joining organisation's operator key signs its
// proof here (primum governance propose-add-member --key-file): the proof
// agrees to the name, type and validator key given, and passes the ledger's
// check; a validator key that does not parse is refused; another name
// fails the check.
func TestProveKey(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	_, validator, _ := ed25519.GenerateKey(nil)
	proved := ProvedMember("primum-test", "Fjord Clinic", "clinic", key, validator) // with its validator key's proof
	for _, c := range []struct {
		name    string
		m       NewMember
		err     bool // ProveKey refuses
		renamed bool // renamed after the proof: the check fails
	}{
		{"no validator", NewMember{Name: "Fjord Clinic", OrgType: "clinic"}, false, false},
		{"a validator", NewMember{Name: "Fjord Clinic", OrgType: "clinic", ValidatorKey: proved.ValidatorKey, ValidatorKeyProof: proved.ValidatorKeyProof, Power: 10}, false, false},
		{"renamed", NewMember{Name: "Fjord Clinic", OrgType: "clinic"}, false, true},
		{"a bad validator key", NewMember{Name: "Fjord Clinic", OrgType: "clinic", ValidatorKey: "8a"}, true, false},
	} {
		m := c.m
		if err := m.ProveKey("primum-test", key); (err != nil) != c.err {
			t.Errorf("%s: ProveKey: %v", c.name, err)
			continue
		}
		if c.err {
			continue
		}
		if m.Key != hex.EncodeToString(key.Public().(ed25519.PublicKey)) {
			t.Errorf("%s: the key is %s", c.name, m.Key)
		}
		if c.renamed {
			m.Name = "Someone Else"
		}
		if err := m.CheckProofs("primum-test"); (err != nil) != c.renamed {
			t.Errorf("%s: CheckProofs: %v", c.name, err)
		}
	}
}
