package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/trials"
	"github.com/primum-health/primum/wire"
)

func TestLifecycleAndRestart(t *testing.T) {
	dir := t.TempDir()
	h := openHarness(t, dir, true)
	h.block()
	if got := h.identity(hospitalKey); got.Name != "St Luke's" || got.Power != 10 || got.Status != identity.StatusActive {
		t.Fatalf("founding member: %+v", got)
	}
	doc, patient, dev := testKey("doc"), testKey("patient"), testKey("device")
	h.mustOK(
		h.registerPractitioner(hospitalKey, doc),
		h.tx(patient, identity.TypeRegisterPatient, struct{}{}),
		h.tx(patient, identity.TypeRegisterDevice, device(patient, dev, "glucose-monitor")),
	)
	if p := h.identity(doc); p.OrgID != id(hospitalKey) || p.Profession != "doctor" {
		t.Fatalf("practitioner: %+v", p)
	}
	if p := h.identity(patient); p.Kind != ledger.KindPatient || p.Name != "" || p.Licence != "" {
		t.Fatalf("patient must hold nothing but a key: %+v", p)
	}
	if d := h.identity(dev); d.OrgID != id(patient) || d.DeviceType != "glucose-monitor" {
		t.Fatalf("device: %+v", d)
	}
	info, _ := h.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != 2 || len(info.LastBlockAppHash) != 32 {
		t.Fatalf("info: %+v", info)
	}
	hash := info.LastBlockAppHash
	h.store.Close()

	// Reopen: the app reports the same height and hash, and keeps going.
	h2 := openHarness(t, dir, false)
	h2.height, h2.now, h2.nonces = h.height, h.now, h.nonces
	info2, _ := h2.app.Info(context.Background(), &abci.InfoRequest{})
	if info2.LastBlockHeight != 2 || !bytes.Equal(info2.LastBlockAppHash, hash) {
		t.Fatalf("after restart: height %d hash %X, want 2 %X", info2.LastBlockHeight, info2.LastBlockAppHash, hash)
	}
	if h2.app.ChainID() != testChain {
		t.Fatalf("chain id lost: %q", h2.app.ChainID())
	}
	h2.mustOK(h2.tx(doc, identity.TypeRotateKey, rotation(doc, testKey("doc2"))))
}

func rotation(old, next ed25519.PrivateKey) identity.RotateKey {
	pub := next.Public().(ed25519.PublicKey)
	proof := ed25519.Sign(next, identity.RotationProofBytes(testChain, id(old), pub))
	return identity.RotateKey{NewKey: hex.EncodeToString(pub), Proof: hex.EncodeToString(proof)}
}

// TestBadInputChangesNothing: every bad transaction gets its specific code
// from CheckTx and from FinalizeBlock, and the app hash does not move.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.block()
	doc, suspended, expiring, revoked, patient := testKey("doc"), testKey("suspended"), testKey("expiring"), testKey("revoked"), testKey("patient")
	oldKey, newKey := testKey("old"), testKey("new")
	shortLived := h.tx(hospitalKey, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(expiring),
		Proof:   identity.ProvePossession(expiring, testChain, identity.ProofPractitioner, id(hospitalKey)),
		Licence: "X-1", Profession: "nurse", ValidUntil: h.now.Add(10 * time.Second).Format(time.RFC3339)})
	h.mustOK(shortLived, h.registerPractitioner(hospitalKey, doc), h.registerPractitioner(hospitalKey, suspended),
		h.registerPractitioner(hospitalKey, revoked), h.tx(patient, identity.TypeRegisterPatient, struct{}{}),
		h.registerPractitioner(hospitalKey, oldKey))
	h.mustOK(
		h.tx(hospitalKey, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(suspended), Status: "suspended"}),
		h.tx(regulatorKey, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(revoked), Status: "revoked"}),
		h.tx(oldKey, identity.TypeRotateKey, rotation(oldKey, newKey)))
	for i := 0; i < 12; i++ { // let the short credential expire
		h.block()
	}
	good := h.tx(hospitalKey, identity.TypeRegisterDevice, device(hospitalKey, testKey("dev"), "ecg"))
	h.mustOK(good)

	signed := func(key ed25519.PrivateKey, mutate func(*envelope.Tx)) []byte {
		tx := &envelope.Tx{ChainID: testChain, Nonce: h.nonces[pubHex(key)], Type: identity.TypeRegisterDevice,
			Body: []byte(`{"key":"` + pubHex(testKey("x")) + `","device_type":"ecg"}`)}
		if mutate != nil {
			mutate(tx)
		}
		tx.Sign(key)
		return tx.Encode()
	}
	badSig := signed(hospitalKey, nil)
	badSig[len(badSig)-1] ^= 1
	huge := signed(hospitalKey, func(tx *envelope.Tx) { tx.Body = bytes.Repeat([]byte{' '}, envelope.MaxBytes) })
	badVersion := signed(hospitalKey, nil)
	badVersion[0] = 9

	cases := []struct {
		name string
		tx   []byte
		want *ledger.Error
	}{
		{"garbage", []byte("not a transaction"), ledger.ErrBadVersion},
		{"empty", []byte{}, ledger.ErrMalformed},
		{"truncated", good[:len(good)-10], ledger.ErrMalformed},
		{"trailing bytes", append(append([]byte{}, good...), 0), ledger.ErrMalformed},
		{"non-canonical varint (malleated copy of a signed tx)", malleate(signed(hospitalKey, nil)), ledger.ErrMalformed},
		{"oversized", huge, ledger.ErrTooLarge},
		{"unknown version", badVersion, ledger.ErrBadVersion},
		{"bad signature", badSig, ledger.ErrBadSignature},
		{"replay", good, ledger.ErrBadNonce},
		{"future nonce", signed(hospitalKey, func(tx *envelope.Tx) { tx.Nonce += 5 }), ledger.ErrBadNonce},
		{"wrong chain", signed(hospitalKey, func(tx *envelope.Tx) { tx.ChainID = "other-chain" }), ledger.ErrWrongChain},
		{"unknown type", signed(hospitalKey, func(tx *envelope.Tx) { tx.Type = "identity.become_admin" }), ledger.ErrUnknownType},
		{"unknown signer", signed(testKey("stranger"), nil), ledger.ErrUnknownSigner},
		{"suspended signer", signed(suspended, nil), ledger.ErrSuspended},
		{"expired signer", signed(expiring, nil), ledger.ErrExpired},
		{"revoked signer", signed(revoked, nil), ledger.ErrRevoked},
		{"retired key", signed(oldKey, nil), ledger.ErrRetiredKey},
		{"unauthorised type", signed(patient, func(tx *envelope.Tx) {
			tx.Type, tx.Body = governance.TypeVote, []byte(`{"proposal_id":1,"vote":"yes"}`)
		}), ledger.ErrUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.store.Hash()
			res := h.check(c.tx)
			wantCode(t, res.Code, res.Codespace, res.Log, c.want)
			if res.Log == "" {
				t.Fatal("rejection without a message")
			}
			fb := h.block(c.tx)
			r := fb.TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, c.want)
			if !bytes.Equal(before, h.store.Hash()) {
				t.Fatal("a rejected transaction changed the state")
			}
		})
	}
}

// TestPermissionTable checks every transaction type against every kind of
// identity: allowed, or the exact error. The table is written out so that
// a change to any route's roles shows up here.
func TestPermissionTable(t *testing.T) {
	h := newHarness(t)
	h.block()
	doc, suspended, patient, dev := testKey("doc"), testKey("suspended-doc"), testKey("patient"), testKey("device")
	h.mustOK(h.registerPractitioner(hospitalKey, doc), h.registerPractitioner(hospitalKey, suspended), h.tx(patient, identity.TypeRegisterPatient, struct{}{}),
		h.tx(hospitalKey, identity.TypeRegisterDevice, device(hospitalKey, dev, "ventilator")))
	h.mustOK(h.tx(hospitalKey, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: id(suspended), Status: "suspended"}))
	signers := []struct {
		name string
		key  ed25519.PrivateKey
	}{
		{"hospital", hospitalKey}, {"pharmacy", pharmacyKey}, {"regulator", regulatorKey}, {"insurer", insurerKey},
		{"practitioner", doc}, {"suspended practitioner", suspended}, {"patient", patient}, {"device", dev}, {"unregistered", testKey("stranger")},
	}
	ok := (*ledger.Error)(nil)
	unauth, unknown, susp := ledger.ErrUnauthorized, ledger.ErrUnknownSigner, ledger.ErrSuspended
	table := map[string][9]*ledger.Error{
		//                                   hospital pharmacy regulator insurer practitioner suspended-practitioner patient device unregistered
		identity.TypeRegisterPatient:      {unauth, unauth, unauth, unauth, unauth, susp, unauth, unauth, ok},
		identity.TypeRegisterPractitioner: {ok, ok, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		identity.TypeSetPractitioner:      {ok, ok, ok, unauth, unauth, susp, unauth, unauth, unknown},
		identity.TypeRenewCredential:      {ok, ok, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		identity.TypeRegisterDevice:       {ok, ok, ok, ok, unauth, susp, ok, unauth, unknown},
		identity.TypeRotateKey:            {ok, ok, ok, ok, ok, susp, ok, ok, unknown},
		identity.TypeIssueVouchers:        {ok, ok, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		devices.TypeBatch:                 {unauth, unauth, unauth, unauth, unauth, susp, unauth, ok, unknown},
		devices.TypeKeeping:               {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
		devices.TypeKeeper:                {unauth, unauth, unauth, unauth, unauth, susp, ok, unauth, unknown},
		devices.TypeKept:                  {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
		governance.TypePropose:            {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		governance.TypeVote:               {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeRegisterProduct:        {unauth, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeCommission:             {unauth, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeShip:                   {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeReceive:                {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypePack:                   {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeUnpack:                 {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeDispense:               {ok, ok, unauth, unauth, ok, susp, unauth, unauth, unknown},
		supply.TypeUndoDispense:           {ok, ok, unauth, unauth, ok, susp, unauth, unauth, unknown},
		claims.TypePublish:                {unauth, unauth, unauth, ok, unauth, susp, unauth, unauth, unknown},
		claims.TypeRetire:                 {unauth, unauth, unauth, ok, unauth, susp, unauth, unauth, unknown},
		claims.TypeCover:                  {unauth, unauth, unauth, ok, unauth, susp, unauth, unauth, unknown},
		claims.TypeReview:                 {unauth, unauth, unauth, ok, unauth, susp, unauth, unauth, unknown},
		claims.TypePay:                    {unauth, unauth, unauth, ok, unauth, susp, unauth, unauth, unknown},
		claims.TypeTable:                  {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		claims.TypeSubmit:                 {ok, ok, unauth, unauth, ok, susp, unauth, unauth, unknown},
		claims.TypeAppeal:                 {ok, ok, ok, ok, ok, susp, ok, unauth, unknown},
		capacity.TypeRegion:               {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeNeed:                 {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeSite:                 {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeEquipment:            {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeReport:               {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeHold:                 {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeConfirm:              {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeRelease:              {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		capacity.TypeTransfer:             {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		trials.TypeRegister:               {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		federated.TypeTask:                {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		federated.TypeContribute:          {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		federated.TypeClose:               {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		federated.TypeMaskKey:             {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		federated.TypeUnmask:              {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		research.TypeDataset:              {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		research.TypeApprove:              {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		research.TypeQuery:                {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		research.TypeCells:                {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		research.TypeClose:                {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		trials.TypeAmend:                  {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		trials.TypeResults:                {ok, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		trials.TypeEnrol:                  {ok, ok, ok, ok, ok, susp, unauth, unauth, unknown},
		trials.TypeWithdraw:               {ok, ok, ok, ok, ok, susp, ok, unauth, unknown},
		trials.TypeAnchor:                 {ok, ok, ok, ok, ok, susp, unauth, unauth, unknown},
		supply.TypeDecommission:           {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeRecall:                 {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeReportSuspect:          {ok, ok, ok, ok, ok, susp, unauth, unauth, unknown},
		supply.TypeReleaseQuarantine:      {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeRegisterAsset:          {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeAssetEvent:             {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeRegisterLocation:       {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeCapture:                {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeClaimPrefix:            {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeAssignPrefix:           {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeReleasePrefix:          {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeStorageRule:            {unauth, unauth, unauth, unauth, unauth, susp, unauth, unauth, unknown},
		supply.TypeObserve:                {ok, ok, ok, ok, unauth, susp, unauth, unauth, unknown},
		supply.TypeExcursionDecision:      {unauth, unauth, ok, unauth, unauth, susp, unauth, unauth, unknown},
		consent.TypeGrant:                 {unauth, unauth, unauth, unauth, unauth, susp, ok, unauth, unknown},
		consent.TypeRevoke:                {unauth, unauth, unauth, unauth, unauth, susp, ok, unauth, unknown},
		records.TypeRegister:              {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
		records.TypeAccess:                {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
		records.TypeErase:                 {unauth, unauth, unauth, unauth, unauth, susp, ok, unauth, unknown},
		records.TypeShareCase:             {unauth, unauth, unauth, unauth, ok, susp, unauth, unauth, unknown},
		records.TypeOpinion:               {unauth, unauth, unauth, unauth, ok, susp, unauth, unauth, unknown},
		records.TypeSetRetention:          {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
		records.TypeUse:                   {ok, ok, unauth, ok, unauth, susp, unauth, unauth, unknown},
	}
	if len(table) != len(modules.Txs()) {
		t.Fatalf("table covers %d transaction types, the app has %d", len(table), len(modules.Txs()))
	}
	for _, route := range modules.Txs() {
		want, found := table[route.Type]
		if !found {
			t.Fatalf("transaction type %s missing from the permission table", route.Type)
		}
		for i, s := range signers {
			t.Run(route.Type+"/"+s.name, func(t *testing.T) {
				raw := (&envelope.Tx{ChainID: testChain, Type: route.Type, Body: []byte(`{}`)})
				raw.Sign(s.key)
				enc := raw.Encode()
				k, err := parse(nil, enc)
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = h.app.admit(k, h.store.Committed(), h.now, false)
				if want[i] == nil {
					if err != nil {
						t.Fatalf("want allowed, got %v", err)
					}
					return
				}
				if ledger.AsError(err) != want[i] {
					t.Fatalf("want %s, got %v", want[i].Name, err)
				}
			})
		}
	}
}

func TestGovernanceChangesValidators(t *testing.T) {
	h := newHarness(t)
	h.block()
	newOrg, newVal := testKey("new-org"), testKey("new-validator")
	propose := h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
		Member: newMember("St Olav", "hospital", newOrg, newVal, 5)})
	h.mustOK(propose)
	vote := func(k ed25519.PrivateKey, id uint64, v string) []byte {
		return h.tx(k, governance.TypeVote, governance.Vote{ProposalID: id, Vote: v})
	}
	// 5 members: passing needs 4 yes (3*4 > 2*5). Two more yes: still open.
	res := h.mustOK(vote(hospital2Key, 1, "yes"), vote(pharmacyKey, 1, "yes"))
	if len(res.ValidatorUpdates) != 0 {
		t.Fatal("validator set changed before 2/3 voted")
	}
	p, _ := governance.Get(h.store.Committed(), 1, h.now)
	if p.Status != governance.StatusOpen || len(p.Yes) != 3 {
		t.Fatalf("proposal: %+v", p)
	}
	res = h.mustOK(vote(regulatorKey, 1, "yes"))
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 5 ||
		!bytes.Equal(res.ValidatorUpdates[0].PubKeyBytes, newVal.Public().(ed25519.PublicKey)) {
		t.Fatalf("validator updates: %+v", res.ValidatorUpdates)
	}
	if o := h.identity(newOrg); o.Status != identity.StatusActive || o.Power != 5 {
		t.Fatalf("admitted member: %+v", o)
	}
	// A closed proposal takes no more votes; nobody votes twice.
	r := h.block(vote(insurerKey, 1, "yes")).TxResults[0]
	wantCode(t, r.Code, r.Codespace, r.Log, governance.ErrClosed)

	// Remove Riverside: 6 members now, needs 5 yes; two no votes reject it.
	doc := testKey("riverside-doc")
	h.mustOK(h.registerPractitioner(hospital2Key, doc))
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: id(hospital2Key)}))
	r = h.block(vote(hospitalKey, 2, "yes")).TxResults[0]
	wantCode(t, r.Code, r.Codespace, r.Log, governance.ErrAlreadyVoted)
	h.mustOK(vote(pharmacyKey, 2, "yes"), vote(regulatorKey, 2, "yes"), vote(insurerKey, 2, "yes"))
	res = h.mustOK(vote(newOrg, 2, "yes"))
	if o := h.identity(hospital2Key); o.Status != identity.StatusRemoved {
		t.Fatalf("removed member: %+v", o)
	}
	if len(res.ValidatorUpdates) != 0 {
		t.Fatal("a member without power produced a validator update")
	}
	// Its practitioners can no longer act.
	rej := h.check(h.tx(doc, identity.TypeRegisterDevice, device(doc, testKey("d"), "ecg")))
	wantCode(t, rej.Code, rej.Codespace, rej.Log, ledger.ErrInactiveOrg)

	h.mustOK(h.tx(pharmacyKey, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: id(insurerKey)}))
	h.mustOK(vote(hospitalKey, 3, "no"))
	h.mustOK(vote(regulatorKey, 3, "no"))
	if p, _ := governance.Get(h.store.Committed(), 3, h.now); p.Status != governance.StatusRejected {
		t.Fatalf("proposal 3 should be rejected once it cannot pass: %+v", p)
	}
}

func TestRemovingLastValidatorFails(t *testing.T) {
	h := newHarness(t)
	h.block()
	h.mustOK(h.tx(hospital2Key, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: id(hospitalKey)}))
	for _, k := range []ed25519.PrivateKey{pharmacyKey, regulatorKey, insurerKey} {
		h.mustOK(h.tx(k, governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}))
	}
	p, _ := governance.Get(h.store.Committed(), 1, h.now)
	if p.Status != governance.StatusFailed || h.identity(hospitalKey).Status != identity.StatusActive {
		t.Fatalf("removing the only validator must fail, got %+v", p)
	}
}

func TestPractitionerLifecycle(t *testing.T) {
	h := newHarness(t)
	h.block()
	doc := testKey("doc")
	h.mustOK(h.registerPractitioner(hospitalKey, doc))
	cases := []struct {
		name   string
		signer ed25519.PrivateKey
		body   identity.SetPractitionerStatus
		want   *ledger.Error
		status string
	}{
		{"other hospital may not", hospital2Key, identity.SetPractitionerStatus{ID: id(doc), Status: "suspended"}, identity.ErrNotYourPractitioner, "active"},
		{"own hospital suspends", hospitalKey, identity.SetPractitionerStatus{ID: id(doc), Status: "suspended", Note: "review"}, nil, "suspended"},
		{"bad status", hospitalKey, identity.SetPractitionerStatus{ID: id(doc), Status: "paused"}, identity.ErrBadStatus, "suspended"},
		{"reinstate", hospitalKey, identity.SetPractitionerStatus{ID: id(doc), Status: "active"}, nil, "active"},
		{"regulator revokes", regulatorKey, identity.SetPractitionerStatus{ID: id(doc), Status: "revoked"}, nil, "revoked"},
		{"revocation is final", hospitalKey, identity.SetPractitionerStatus{ID: id(doc), Status: "active"}, identity.ErrRevokedFinal, "revoked"},
		{"unknown practitioner", hospitalKey, identity.SetPractitionerStatus{ID: id(testKey("nobody")), Status: "active"}, identity.ErrNotPractitioner, "revoked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.block(h.tx(c.signer, identity.TypeSetPractitioner, c.body)).TxResults[0]
			if c.want == nil && r.Code != 0 {
				t.Fatalf("rejected: %s", r.Log)
			}
			if c.want != nil {
				wantCode(t, r.Code, r.Codespace, r.Log, c.want)
			}
			if got := h.identity(doc).Status; got != c.status {
				t.Fatalf("status %s, want %s", got, c.status)
			}
		})
	}
}

func TestBodyValidation(t *testing.T) {
	h := newHarness(t)
	h.block()
	taken := testKey("taken")
	h.mustOK(h.registerPractitioner(hospitalKey, taken))
	future := h.now.AddDate(1, 0, 0).Format(time.RFC3339)
	cases := []struct {
		name string
		typ  string
		body any
		want *ledger.Error
	}{
		{"unknown field", identity.TypeRegisterPatient, map[string]string{"name": "Jane Doe"}, ledger.ErrInvalidBody},
		{"bad key", identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: "abc", Licence: "L", Profession: "doctor", ValidUntil: future}, identity.ErrBadKey},
		{"key in use", identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(taken), Licence: "L", Profession: "doctor", ValidUntil: future,
			Proof: identity.ProvePossession(taken, testChain, identity.ProofPractitioner, id(hospitalKey))}, identity.ErrKeyInUse},
		{"no licence", identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(testKey("a")), Profession: "doctor", ValidUntil: future}, identity.ErrMissingField},
		{"bad profession", identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(testKey("a")), Licence: "L", Profession: "wizard", ValidUntil: future}, identity.ErrBadProfession},
		{"validity in the past", identity.TypeRegisterPractitioner, identity.RegisterPractitioner{Key: pubHex(testKey("a")), Licence: "L", Profession: "doctor", ValidUntil: "2020-01-01T00:00:00Z"}, identity.ErrBadValidity},
		{"bad device type", identity.TypeRegisterDevice, identity.RegisterDevice{Key: pubHex(testKey("a")), DeviceType: "Bad Type!"}, identity.ErrBadDeviceType},
		{"bad rotation proof", identity.TypeRotateKey, identity.RotateKey{NewKey: pubHex(testKey("a")), Proof: "00"}, identity.ErrBadProof},
		{"bad action", governance.TypePropose, governance.Propose{Action: "dissolve"}, governance.ErrBadAction},
		{"bad power", governance.TypePropose, governance.Propose{Action: "add_member", Member: &governance.NewMember{Name: "X", OrgType: "clinic", Key: pubHex(testKey("x")), Power: 5}}, governance.ErrBadPower},
		{"bad org type", governance.TypePropose, governance.Propose{Action: "add_member", Member: &governance.NewMember{Name: "X", OrgType: "spa", Key: pubHex(testKey("x"))}}, identity.ErrBadOrgType},
		{"remove non-member", governance.TypePropose, governance.Propose{Action: "remove_member", OrgID: id(taken)}, governance.ErrNotMember},
		{"vote on nothing", governance.TypeVote, governance.Vote{ProposalID: 42, Vote: "yes"}, governance.ErrNoProposal},
		{"bad vote", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "maybe"}, governance.ErrBadVote},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signer := hospitalKey
			if c.typ == identity.TypeRegisterPatient {
				signer = testKey("patient " + c.name)
			}
			r := h.block(h.tx(signer, c.typ, c.body)).TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, c.want)
		})
	}
	if ids, _, _ := identity.ListPage(h.store.Committed(), ledger.KindPractitioner, "", 100, func(*identity.Identity) bool { return true }); len(ids) != 1 {
		t.Fatalf("rejected registrations left %d practitioners", len(ids))
	}
}

func TestPatientRegistrationHoldsNothingIdentifying(t *testing.T) {
	h := newHarness(t)
	h.block()
	p := testKey("patient")
	h.mustOK(h.tx(p, identity.TypeRegisterPatient, struct{}{}))
	r := h.block(h.tx(p, identity.TypeRegisterPatient, struct{}{})).TxResults[0]
	wantCode(t, r.Code, r.Codespace, r.Log, ledger.ErrUnauthorized)
}

// malleate re-encodes a transaction's chain-id length as a two-byte varint:
// same fields, same signature, different bytes.
func malleate(raw []byte) []byte {
	out := []byte{raw[0], raw[1] | 0x80, 0x00}
	return append(out, raw[2:]...)
}

// TestCheckTxRefusesMalformedBodies: every route declares its body type, and
// CheckTx refuses a body that does not decode into it, so whatever a client
// put in an unknown field never reaches a block.
func TestCheckTxRefusesMalformedBodies(t *testing.T) {
	for _, r := range modules.Txs() {
		if !r.Handle.Defined() {
			t.Errorf("route %s declares no body type", r.Type)
		}
	}
	h := newHarness(t)
	h.block()
	cases := []struct {
		name string
		key  ed25519.PrivateKey
		typ  string
		body string
	}{
		{"unknown field", testKey("p"), identity.TypeRegisterPatient, `{"name":"SENTINEL-Jane-Doe"}`},
		{"wrong type", hospitalKey, governance.TypeVote, `{"proposal_id":"one","vote":"yes"}`},
		{"not JSON", hospitalKey, supply.TypeShip, `ship it`},
		{"trailing data", hospitalKey, supply.TypeRecall, `{"gtin":"x"} {}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := &envelope.Tx{ChainID: testChain, Nonce: h.nonces[pubHex(c.key)], Type: c.typ, Body: []byte(c.body)}
			tx.Sign(c.key)
			res := h.check(tx.Encode())
			wantCode(t, res.Code, res.Codespace, res.Log, ledger.ErrInvalidBody)
			if strings.Contains(res.Log, "SENTINEL") {
				t.Fatal("the refusal echoes the body's content")
			}
		})
	}
}

// TestNonceLivesInTheIdentity: a signer's nonce is kept in its identity
// record (a registration writes one key), is spent by a transaction its
// handler rejects, and an address that spent nonces before it had an
// identity carries them into the identity created for its key.
func TestNonceLivesInTheIdentity(t *testing.T) {
	h := newHarness(t)
	h.block()
	patient, doc, late := testKey("nonce patient"), testKey("nonce doc"), testKey("late patient")
	nonceKey := func(k ed25519.PrivateKey) []byte { return []byte("nonce/" + id(k)) }
	steps := []struct {
		name     string
		tx       []byte
		wantCode bool // rejected by its handler
		key      ed25519.PrivateKey
		nonce    uint64 // key's next nonce after the step
		keyLeft  bool   // a nonce/ key remains for key's address
	}{
		{"self-registration carries nonce 1 in the record", h.tx(patient, identity.TypeRegisterPatient, struct{}{}), false, patient, 1, false},
		{"a rejected transaction spends the signer's nonce", h.tx(hospitalKey, identity.TypeSetPractitioner,
			identity.SetPractitionerStatus{ID: id(testKey("nobody")), Status: "active"}), true, hospitalKey, 1, false},
		{"an address without identity spends under its nonce key", h.tx(doc, identity.TypeRegisterPatient, map[string]int{"unexpected": 1}), true, doc, 1, true},
		{"its identity carries that nonce on", h.registerPractitioner(hospitalKey, doc), false, doc, 1, false},
		{"a patient's key spends a nonce before registering", h.tx(late, identity.TypeRegisterPatient, map[string]int{"unexpected": 1}), true, late, 1, true},
		{"its self-registration spends the next one, in the record", h.tx(late, identity.TypeRegisterPatient, struct{}{}), false, late, 2, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := h.block(s.tx).TxResults[0]
			if (r.Code != 0) != s.wantCode {
				t.Fatalf("code %d (%s), want rejected=%v", r.Code, r.Log, s.wantCode)
			}
			got, err := identity.Nonce(h.store.Committed(), id(s.key))
			if err != nil {
				t.Fatal(err)
			}
			if got != s.nonce {
				t.Fatalf("nonce %d, want %d", got, s.nonce)
			}
			if v, _ := h.store.Committed().Get(nonceKey(s.key)); (v != nil) != s.keyLeft {
				t.Fatalf("nonce key present=%v, want %v", v != nil, s.keyLeft)
			}
		})
	}
	// The doctor's first transaction as a practitioner must use nonce 1:
	// nonce 0 was spent before the identity existed.
	if ident := h.identity(doc); ident.Nonce != 1 {
		t.Fatalf("practitioner record nonce %d, want 1", ident.Nonce)
	}
	// An identity from before nonces moved into records (state written by an
	// older Primum) keeps its nonce key's value, so its old transactions
	// cannot be replayed; its next transaction moves the nonce into the record.
	h.store.Staged().Set(nonceKey(hospital2Key), binary.BigEndian.AppendUint64(nil, 7))
	h.block()
	if n, err := identity.Nonce(h.store.Committed(), id(hospital2Key)); err != nil || n != 7 {
		t.Fatalf("old-style nonce %d, %v; want 7", n, err)
	}
	stale := h.tx(hospital2Key, identity.TypeRegisterDevice, device(hospital2Key, testKey("old dev"), "monitor"))
	h.nonces[pubHex(hospital2Key)] = 7
	h.mustOK(h.registerPractitioner(hospital2Key, testKey("old doc")))
	r := h.block(stale).TxResults[0]
	wantCode(t, r.Code, r.Codespace, r.Log, ledger.ErrBadNonce)
	if ident := h.identity(hospital2Key); ident.Nonce != 8 {
		t.Fatalf("record nonce %d after one transaction from 7, want 8", ident.Nonce)
	}
}

// A block's results are written just before its state is committed; until
// the state is visible, so are they (a client that sees its transaction
// committed then reads its next nonce from the state it made).
func TestResultsAreNotServedAheadOfTheState(t *testing.T) {
	h := newHarness(t)
	h.block()
	v, _ := h.store.CommittedVersion()
	for _, height := range []int64{v, v + 1} {
		r := wire.TxResult{Hash: fmt.Sprintf("%064x", height), Height: height}
		b := h.store.SideBatch()
		if err := b.Set(h.store.SideKey(resultKey(r.Hash)), appendResult(nil, &r), nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(nil); err != nil {
			t.Fatal(err)
		}
		_, err := h.app.TxResultByHash(r.Hash)
		if ahead := height > v; ahead != errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("result at height %d, committed %d: %v", height, v, err)
		}
	}
}
