package app

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// ghostKey is the small-order key 01 00…00 (the identity point), and
// ghostSig the signature (R = identity, S = 0) that ZIP-215 accepts under it
// for every message.
var (
	ghostKey = ed25519.PublicKey(append([]byte{1}, make([]byte, 31)...))
	ghostSig = hex.EncodeToString(append(append([]byte{1}, make([]byte, 31)...), make([]byte, 32)...))
)

// TestGhostKeyCannotEnterState: a transaction "signed" by the ghost key
// passes the signature check (anyone can make it), so every way a key enters
// state must refuse the key itself: weak_key, and nothing is written.
func TestGhostKeyCannotEnterState(t *testing.T) {
	h := newHarness(t)
	h.block()
	sig, _ := hex.DecodeString(ghostSig)
	ghostTx := &envelope.Tx{ChainID: testChain, Signer: ghostKey, Type: identity.TypeRegisterPatient, Body: []byte(`{}`), Sig: sig}
	if !ghostTx.Verify() {
		t.Fatal("the ghost signature no longer verifies: this test no longer shows why weak keys are refused")
	}
	ghostHex := hex.EncodeToString(ghostKey)
	// y = p + 1: the identity point again, non-canonically encoded.
	nonCanonical := "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	future := h.now.AddDate(1, 0, 0).Format(time.RFC3339)
	olav := testKey("olav")
	cases := []struct {
		name string
		raw  func() []byte
	}{
		{"patient self-registration signed by the ghost", ghostTx.Encode},
		{"practitioner", func() []byte {
			return h.tx(hospitalKey, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: ghostHex, Proof: ghostSig,
				Licence: "MD-0", Profession: "doctor", ValidUntil: future})
		}},
		{"practitioner, non-canonical", func() []byte {
			return h.tx(hospitalKey, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: nonCanonical, Proof: ghostSig,
				Licence: "MD-0", Profession: "doctor", ValidUntil: future})
		}},
		{"device", func() []byte {
			return h.tx(hospitalKey, identity.TypeRegisterDevice, identity.RegisterDevice{Key: ghostHex, Proof: ghostSig, DeviceType: "ecg"})
		}},
		{"rotation", func() []byte {
			return h.tx(hospital2Key, identity.TypeRotateKey, identity.RotateKey{NewKey: ghostHex, Proof: ghostSig})
		}},
		{"member key", func() []byte {
			return h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
				Member: &governance.NewMember{Name: "Ghost Clinic", OrgType: "clinic", Key: ghostHex, KeyProof: ghostSig}})
		}},
		{"validator key", func() []byte {
			m := newMember("St Olav", "hospital", olav, nil, 5)
			m.ValidatorKey, m.ValidatorKeyProof = ghostHex, ghostSig
			return h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: m})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.block(c.raw()).TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, identity.ErrWeakKey)
		})
	}
	if _, err := identity.Get(h.store.Committed(), ledger.Address(ghostKey)); err == nil {
		t.Fatal("the ghost key has an identity")
	}
	if ps, _, _ := governance.ListPage(h.store.Committed(), h.now, 0, 1000); len(ps) != 0 {
		t.Fatalf("a proposal was recorded: %+v", ps[0])
	}

	t.Run("genesis", func(t *testing.T) {
		for _, mutate := range []func(*governance.NewMember){
			func(m *governance.NewMember) { m.Key = ghostHex },
			func(m *governance.NewMember) { m.ValidatorKey = nonCanonical },
		} {
			g := testGenesis()
			mutate(&g.Members[0])
			b, _ := json.Marshal(g)
			if _, err := ParseGenesis(b); err == nil || !strings.Contains(err.Error(), identity.ErrWeakKey.Msg) {
				t.Fatalf("genesis with a weak key: %v", err)
			}
		}
	})
}

// TestProofOfPossession: each registration of a new key needs its holder's
// signature over that chain, that registration and that key; a proof made
// for anything else is refused.
func TestProofOfPossession(t *testing.T) {
	h := newHarness(t)
	h.block()
	future := h.now.AddDate(1, 0, 0).Format(time.RFC3339)
	doc, dev, org, val, other := testKey("pop-doc"), testKey("pop-device"), testKey("pop-org"), testKey("pop-validator"), testKey("pop-other")
	propose := func(m *governance.NewMember) []byte {
		return h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: m})
	}
	registrations := []struct {
		kind       string
		registrant string // what the right proof names
		key        ed25519.PrivateKey
		tx         func(proof string) []byte
	}{
		{identity.ProofPractitioner, id(hospitalKey), doc, func(p string) []byte {
			return h.tx(hospitalKey, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(doc), Proof: p,
				Licence: "MD-1", Profession: "doctor", ValidUntil: future})
		}},
		{identity.ProofDevice, id(hospitalKey), dev, func(p string) []byte {
			return h.tx(hospitalKey, identity.TypeRegisterDevice, identity.RegisterDevice{Key: pubHex(dev), Proof: p, DeviceType: "ecg"})
		}},
		{identity.ProofMember, identity.MemberRegistrant("Fjord Clinic", "clinic", nil), org, func(p string) []byte {
			m := newMember("Fjord Clinic", "clinic", org, nil, 0)
			m.KeyProof = p
			return propose(m)
		}},
		{identity.ProofValidator, id(org), val, func(p string) []byte {
			m := newMember("Fjord Clinic", "clinic", org, val, 5)
			m.ValidatorKeyProof = p
			return propose(m)
		}},
	}
	for _, reg := range registrations {
		otherKind := identity.ProofDevice
		if reg.kind == otherKind {
			otherKind = identity.ProofPractitioner
		}
		cases := []struct {
			name  string
			proof string
			want  *ledger.Error
		}{
			{"none", "", identity.ErrNoKeyProof},
			{"not hex", "zz", identity.ErrBadKeyProof},
			{"for another chain", identity.ProvePossession(reg.key, "primum-elsewhere", reg.kind, reg.registrant), identity.ErrBadKeyProof},
			{"for another registrant", identity.ProvePossession(reg.key, testChain, reg.kind, id(hospital2Key)), identity.ErrBadKeyProof},
			{"for another kind", identity.ProvePossession(reg.key, testChain, otherKind, reg.registrant), identity.ErrBadKeyProof},
			{"by another key", identity.ProvePossession(other, testChain, reg.kind, reg.registrant), identity.ErrBadKeyProof},
			{"right", identity.ProvePossession(reg.key, testChain, reg.kind, reg.registrant), nil},
		}
		for _, c := range cases {
			t.Run(reg.kind+"/"+c.name, func(t *testing.T) {
				r := h.block(reg.tx(c.proof)).TxResults[0]
				if c.want == nil {
					if r.Code != 0 {
						t.Fatalf("rejected: %s (%s)", r.Log, r.Info)
					}
					return
				}
				wantCode(t, r.Code, r.Codespace, r.Log, c.want)
			})
		}
	}
}

// TestProposedMemberKeyCannotBeSquatted: a proposed member's key is public
// for the whole vote. Registering it first as one's own device used to make
// the admission fail (key_in_use); without the member's private key nobody
// can now.
func TestProposedMemberKeyCannotBeSquatted(t *testing.T) {
	h := newHarness(t)
	h.block()
	olav, squatter := testKey("olav"), testKey("squatter")
	member := newMember("St Olav", "hospital", olav, nil, 0)
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: member}),
		h.tx(squatter, identity.TypeRegisterPatient, struct{}{}))
	attempts := []struct {
		name  string
		proof string
		want  *ledger.Error
	}{
		{"without a proof", "", identity.ErrNoKeyProof},
		{"with a proof by the squatter's key", identity.ProvePossession(squatter, testChain, identity.ProofDevice, id(squatter)), identity.ErrBadKeyProof},
		{"with the member's proof replayed", member.KeyProof, identity.ErrBadKeyProof},
	}
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			r := h.block(h.tx(squatter, identity.TypeRegisterDevice, identity.RegisterDevice{Key: pubHex(olav), Proof: a.proof, DeviceType: "phone"})).TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, a.want)
		})
	}
	for _, k := range []ed25519.PrivateKey{hospital2Key, pharmacyKey, regulatorKey} {
		h.mustOK(h.tx(k, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}))
	}
	if p, _ := governance.Get(h.store.Committed(), 1, h.now); p.Status != governance.StatusPassed || p.Result != id(olav) {
		t.Fatalf("proposal: %+v", p)
	}
}

// TestMemberProofBindsProposal: the operator key's proof agrees to one
// admission — a name, a type and a validator key — so no member can copy a
// joining organisation's key and proof into a proposal of its own making.
// Replayed: another member copied a clinic's name, key and key proof into a
// proposal with type regulator, a validator key of its own (with its own
// proof) and power 1,000,000. The power alone is the proposer's to choose.
func TestMemberProofBindsProposal(t *testing.T) {
	h := newHarness(t)
	h.block()
	fjord, fjordVal, attackerVal := testKey("bind-fjord"), testKey("bind-fjord-validator"), testKey("bind-attacker-validator")
	clinic := newMember("Fjord Clinic", "clinic", fjord, nil, 0)          // what Fjord asked for: no validator
	validating := newMember("Fjord Clinic", "clinic", fjord, fjordVal, 5) // … or, asked for instead, its own validator
	ownValidator := func(m *governance.NewMember) {
		m.ValidatorKey = pubHex(attackerVal)
		m.ValidatorKeyProof = identity.ProvePossession(attackerVal, testChain, identity.ProofValidator, id(fjord))
	}
	cases := []struct {
		name   string
		from   *governance.NewMember
		change func(*governance.NewMember)
		want   *ledger.Error
	}{
		{"made a regulator with the proposer's validator and power 1,000,000", clinic, func(m *governance.NewMember) {
			m.OrgType, m.Power = "regulator", governance.MaxPower
			ownValidator(m)
		}, identity.ErrBadKeyProof},
		{"made a regulator", clinic, func(m *governance.NewMember) { m.OrgType = "regulator" }, identity.ErrBadKeyProof},
		{"renamed", clinic, func(m *governance.NewMember) { m.Name = "Fjord Regional Hospital" }, identity.ErrBadKeyProof},
		{"given the proposer's validator", clinic, func(m *governance.NewMember) { ownValidator(m); m.Power = 1 }, identity.ErrBadKeyProof},
		{"its validator replaced by the proposer's", validating, ownValidator, identity.ErrBadKeyProof},
		{"its validator dropped", validating, func(m *governance.NewMember) { m.ValidatorKey, m.ValidatorKeyProof, m.Power = "", "", 0 }, identity.ErrBadKeyProof},
		{"with a proof naming only its name (before proofs bound the proposal)", clinic, func(m *governance.NewMember) {
			m.KeyProof = identity.ProvePossession(fjord, testChain, identity.ProofMember, "Fjord Clinic")
		}, identity.ErrBadKeyProof},
		{"with another power: not signed, the proposer's choice", validating, func(m *governance.NewMember) { m.Power = 50 }, nil},
		{"as asked", clinic, func(*governance.NewMember) {}, nil},
		{"as asked, with its validator", validating, func(*governance.NewMember) {}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := *c.from
			c.change(&m)
			if err := m.CheckProofs(testChain); (err == nil) != (c.want == nil) {
				t.Fatalf("CheckProofs, as the CLI checks before sending: %v", err)
			}
			r := h.block(h.tx(hospital2Key, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: &m})).TxResults[0]
			if c.want == nil {
				if r.Code != 0 {
					t.Fatalf("rejected: %s (%s)", r.Log, r.Info)
				}
				return
			}
			wantCode(t, r.Code, r.Codespace, r.Log, c.want)
		})
	}
	ps, _, _ := governance.ListPage(h.store.Committed(), h.now, 0, 1000)
	for _, p := range ps {
		if p.Member.OrgType != "clinic" || (p.Member.ValidatorKey != "" && p.Member.ValidatorKey != pubHex(fjordVal)) {
			t.Fatalf("a proposal Fjord did not agree to was recorded: %+v", p.Member)
		}
	}
}

// TestValidatorKeysUnique replays the two ways a member's validator key
// could halt the chain: "Shadow Clinic" admitted with the sole validator's
// key (voting it out empties the set), and "Twin B" decided with the same
// key as "Twin A" in the block that removes Twin A (two updates of one key).
func TestValidatorKeysUnique(t *testing.T) {
	vote := func(h *harness, k ed25519.PrivateKey, p uint64) []byte {
		return h.tx(k, governance.TypeVote, governance.Vote{ProposalID: p, Vote: "yes"})
	}
	t.Run("shadow of the sole validator, refused at proposal", func(t *testing.T) {
		h := newHarness(t)
		h.block()
		// Even with a valid proof (the validator's own operator proposing it).
		shadow := newMember("Shadow Clinic", "clinic", testKey("shadow"), validatorKey, 10)
		r := h.block(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: shadow})).TxResults[0]
		wantCode(t, r.Code, r.Codespace, r.Log, identity.ErrValidatorKeyInUse)
	})
	for _, order := range []string{"add then remove", "remove then add"} {
		t.Run("twins decided in one block, "+order+", refused at execution", func(t *testing.T) {
			h := newHarness(t)
			h.block()
			twinA, twinB, k := testKey("twin-a"), testKey("twin-b"), testKey("twin-validator")
			// Both proposed before either is admitted: both pass the
			// proposal-time check.
			h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: newMember("Twin A", "clinic", twinA, k, 5)}),
				h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember, Member: newMember("Twin B", "clinic", twinB, k, 5)}))
			h.mustOK(vote(h, hospital2Key, 1), vote(h, pharmacyKey, 1), vote(h, regulatorKey, 1)) // Twin A admitted: 6 members
			h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: id(twinA)}))
			// Each one vote short of the 5 of 6 they need.
			h.mustOK(vote(h, hospital2Key, 2), vote(h, pharmacyKey, 2), vote(h, regulatorKey, 2),
				vote(h, hospital2Key, 3), vote(h, pharmacyKey, 3), vote(h, regulatorKey, 3))
			decide := []uint64{2, 3}
			if order == "remove then add" {
				decide = []uint64{3, 2}
			}
			res := h.mustOK(vote(h, insurerKey, decide[0]), vote(h, insurerKey, decide[1]))
			pB, _ := governance.Get(h.store.Committed(), 2, h.now)
			if pB.Status != governance.StatusFailed || !strings.HasPrefix(pB.Result, identity.ErrValidatorKeyInUse.Name+":") {
				t.Fatalf("Twin B: %+v", pB)
			}
			if pA, _ := governance.Get(h.store.Committed(), 3, h.now); pA.Status != governance.StatusPassed {
				t.Fatalf("removal of Twin A: %+v", pA)
			}
			var forK []abci.ValidatorUpdate
			for _, u := range res.ValidatorUpdates {
				if string(u.PubKeyBytes) == string(k.Public().(ed25519.PublicKey)) {
					forK = append(forK, u)
				}
			}
			if len(forK) != 1 || forK[0].Power != 0 {
				t.Fatalf("updates of the twins' key: %+v", forK)
			}
		})
	}
}

// TestLastValidatorGuardCountsKeys: a member admitted with the sole
// validator's key before keys had to be unique (written into state here as
// an older Primum could have) does not count as another validator: voting
// it out would set that key, the only one, to power 0.
func TestLastValidatorGuardCountsKeys(t *testing.T) {
	h := newHarness(t)
	h.block()
	shadowKey := testKey("shadow")
	shadow := &identity.Identity{ID: id(shadowKey), Kind: ledger.KindOrganisation, Key: pubHex(shadowKey), Status: identity.StatusActive,
		Name: "Shadow Clinic", OrgType: "clinic", ValidatorKey: pubHex(validatorKey), Power: 10, Since: 1}
	w := h.store.Staged()
	ledger.SetJSON(w, []byte("id/"+shadow.ID), shadow) // identity's state layout (identity/keys.go)
	ledger.SetPresent(w, []byte("kind/organisation/"+shadow.ID))
	h.block()
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: shadow.ID}))
	var res *abci.FinalizeBlockResponse
	for _, k := range []ed25519.PrivateKey{hospital2Key, pharmacyKey, regulatorKey, insurerKey} {
		res = h.mustOK(h.tx(k, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}))
	}
	p, _ := governance.Get(h.store.Committed(), 1, h.now)
	if p.Status != governance.StatusFailed || !strings.HasPrefix(p.Result, governance.ErrLastValidator.Name+":") {
		t.Fatalf("removing a member holding the last validator key: %+v", p)
	}
	if len(res.ValidatorUpdates) != 0 {
		t.Fatalf("validator updates: %+v", res.ValidatorUpdates)
	}
}

// TestSuspensionPrecedence: a suspension is lifted (or taken over) only by
// whoever imposed it or by a regulator; state and events say who did what.
func TestSuspensionPrecedence(t *testing.T) {
	type step struct {
		by     ed25519.PrivateKey
		status string
		want   *ledger.Error
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"the organisation cannot lift the regulator's suspension", []step{
			{regulatorKey, "suspended", nil},
			{hospitalKey, "active", identity.ErrSuspendedByOther},
			{hospitalKey, "suspended", identity.ErrSuspendedByOther}, // nor take it over
			{regulatorKey, "active", nil},
		}},
		{"the organisation lifts its own suspension", []step{
			{hospitalKey, "suspended", nil},
			{hospitalKey, "active", nil},
		}},
		{"the regulator may lift the organisation's suspension", []step{
			{hospitalKey, "suspended", nil},
			{regulatorKey, "active", nil},
		}},
		{"the regulator takes a suspension over", []step{
			{hospitalKey, "suspended", nil},
			{regulatorKey, "suspended", nil},
			{hospitalKey, "active", identity.ErrSuspendedByOther},
		}},
		{"another organisation may not", []step{
			{hospitalKey, "suspended", nil},
			{hospital2Key, "active", identity.ErrNotYourPractitioner},
		}},
		{"the organisation cannot revoke over the regulator's suspension", []step{
			{regulatorKey, "suspended", nil},
			{hospitalKey, "revoked", identity.ErrSuspendedByOther}, // it would erase the suspension, and free the licence
			{regulatorKey, "revoked", nil},
			{regulatorKey, "active", identity.ErrRevokedFinal},
		}},
		{"the organisation revokes over its own suspension", []step{
			{hospitalKey, "suspended", nil},
			{hospitalKey, "revoked", nil},
			{regulatorKey, "active", identity.ErrRevokedFinal},
		}},
	}
	h := newHarness(t)
	h.block()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := testKey("suspension " + c.name)
			h.mustOK(h.registerPractitioner(hospitalKey, doc))
			status, by := identity.StatusActive, ""
			for i, s := range c.steps {
				r := h.block(h.tx(s.by, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(doc), Status: s.status})).TxResults[0]
				if s.want != nil {
					wantCode(t, r.Code, r.Codespace, r.Log, s.want)
				} else if r.Code != 0 {
					t.Fatalf("step %d rejected: %s (%s)", i, r.Log, r.Info)
				} else {
					status, by = s.status, id(s.by)
					if got := eventAttr(r.Events, "identity.status", "by"); got != by {
						t.Fatalf("step %d: event names %q as the author, want %q", i, got, by)
					}
				}
				if p := h.identity(doc); p.Status != status || p.StatusBy != by {
					t.Fatalf("after step %d: status %s by %q, want %s by %q", i, p.Status, p.StatusBy, status, by)
				}
			}
		})
	}
}

func eventAttr(events []abci.Event, typ, key string) string {
	for _, e := range events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// TestLicenceHolds: a suspension is of a licence, not of a key, so it
// cannot be escaped by registering the licence again under a fresh key —
// the hole replayed first: the regulator suspends GMC-7001234's
// practitioner, the hospital registers GMC-7001234 again with a new key
// and its holder's proof, and it used to be active at once.
func TestLicenceHolds(t *testing.T) {
	type step struct {
		by      ed25519.PrivateKey
		doc     int    // the practitioner (a key of this case)
		licence string // registers doc with it; otherwise …
		status  string // … sets doc's status
		want    *ledger.Error
		after   map[int]string // practitioners' statuses after the step
	}
	const lic = "GMC-7001234"
	cases := []struct {
		name  string
		steps []step
	}{
		{"re-registration after the regulator's suspension", []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: regulatorKey, doc: 1, status: "suspended"},
			{by: hospitalKey, doc: 2, licence: lic, want: identity.ErrLicenceSuspended},
			{by: hospitalKey, doc: 2, licence: "gmc 7001234", want: identity.ErrLicenceSuspended}, // written otherwise
			{by: hospital2Key, doc: 2, licence: lic, want: identity.ErrLicenceSuspended},
			{by: regulatorKey, doc: 1, status: "active"},
			{by: hospitalKey, doc: 2, licence: lic, after: map[int]string{1: "active", 2: "active"}},
		}},
		{"the organisation cannot revoke its way out", []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: regulatorKey, doc: 1, status: "suspended"},
			{by: hospitalKey, doc: 1, status: "revoked", want: identity.ErrSuspendedByOther},
			{by: hospitalKey, doc: 2, licence: lic, want: identity.ErrLicenceSuspended},
		}},
		{"a regulator's revocation ends the licence", []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: regulatorKey, doc: 1, status: "revoked"},
			{by: hospitalKey, doc: 2, licence: lic, want: identity.ErrLicenceSuspended},
			{by: hospital2Key, doc: 2, licence: lic, want: identity.ErrLicenceSuspended},
		}},
		{"an organisation's suspension holds back no other organisation", []step{
			// Any member can register any licence, so one that registered a
			// copy and suspended it would otherwise block the practitioner
			// everywhere.
			{by: hospitalKey, doc: 1, licence: lic},
			{by: hospitalKey, doc: 1, status: "suspended"},
			{by: hospital2Key, doc: 2, licence: lic, after: map[int]string{1: "suspended", 2: "active"}},
			{by: hospitalKey, doc: 3, licence: lic}, // nor itself: it could lift it anyway
		}},
		{"an organisation's revocation frees the licence", []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: hospitalKey, doc: 1, status: "revoked"},
			{by: hospital2Key, doc: 2, licence: lic},
		}},
		{"a regulator's suspension reaches every identity with the licence", []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: hospital2Key, doc: 2, licence: "gmc7001234"},
			{by: hospital2Key, doc: 3, licence: "GMC-7001235"}, // another licence
			{by: hospital2Key, doc: 2, status: "suspended"},
			{by: regulatorKey, doc: 1, status: "suspended", after: map[int]string{1: "suspended", 2: "suspended", 3: "active"}},
			{by: hospital2Key, doc: 2, status: "active", want: identity.ErrSuspendedByOther}, // taken over by the regulator
			{by: regulatorKey, doc: 1, status: "active", after: map[int]string{1: "active", 2: "active", 3: "active"}},
			{by: regulatorKey, doc: 2, status: "revoked", after: map[int]string{1: "revoked", 2: "revoked", 3: "active"}},
		}},
		{"licences are printable ASCII", []step{
			{by: hospitalKey, doc: 1, licence: "GМС-7001234", want: identity.ErrBadLicence}, // Cyrillic М and С
			{by: hospitalKey, doc: 1, licence: "--", want: identity.ErrBadLicence},
		}},
	}
	run := func(t *testing.T, steps []step) {
		h := newHarness(t)
		h.block()
		doc := func(i int) ed25519.PrivateKey { return testKey(fmt.Sprintf("licence %s %d", t.Name(), i)) }
		for i, s := range steps {
			var tx []byte
			if s.licence != "" {
				tx = h.tx(s.by, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(doc(s.doc)), Licence: s.licence,
					Proof: identity.ProvePossession(doc(s.doc), testChain, identity.ProofPractitioner, id(s.by)), Profession: "doctor",
					ValidUntil: h.now.AddDate(1, 0, 0).Format(time.RFC3339)})
			} else {
				tx = h.tx(s.by, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(doc(s.doc)), Status: s.status})
			}
			r := h.block(tx).TxResults[0]
			if s.want != nil {
				wantCode(t, r.Code, r.Codespace, r.Log, s.want)
			} else if r.Code != 0 {
				t.Fatalf("step %d rejected: %s (%s)", i, r.Log, r.Info)
			}
			for d, want := range s.after {
				if p := h.identity(doc(d)); p.Status != want {
					t.Fatalf("after step %d: practitioner %d is %s (by %s), want %s", i, d, p.Status, p.StatusBy, want)
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.steps) })
	}
	t.Run("at most 2 identities of one organisation per licence", func(t *testing.T) {
		run(t, []step{
			{by: hospitalKey, doc: 1, licence: lic},
			{by: hospitalKey, doc: 2, licence: lic},
			{by: hospitalKey, doc: 3, licence: "gmc-7001234", want: identity.ErrLicenceFull},
			{by: hospital2Key, doc: 3, licence: lic},     // another organisation's own places
			{by: hospitalKey, doc: 1, status: "revoked"}, // frees an entry
			{by: hospitalKey, doc: 4, licence: lic},
		})
	})
}
