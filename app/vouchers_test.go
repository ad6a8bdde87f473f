package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// TestVouchersKeepSybilsOutOfTheMempool: in a consortium whose genesis asks
// for vouchers, a fresh key's registration without one, or with one never
// issued, is refused by CheckTx (it never reaches the mempool, let alone a
// block); a hospital issues vouchers (hashes only), a code registers its
// holder once, in any case and with or without dashes, and never again;
// only care providers issue them; a copied code cannot queue a second
// registration in the mempool.
func TestVouchersKeepSybilsOutOfTheMempool(t *testing.T) {
	h := openHarness(t, t.TempDir(), false)
	g := testGenesis()
	g.PatientRegistration = identity.PolicyVoucher
	raw, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, InitialHeight: 1, AppStateBytes: raw,
		Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: validatorKey.Public().(ed25519.PublicKey)}}}); err != nil {
		t.Fatal(err)
	}
	h.block()

	sybil := testKey("sybil")
	for _, body := range []identity.RegisterPatient{{}, {Voucher: "AAAA-BBBB-CCCC-DDDD-EEEE"}} {
		res := h.check(h.tx(sybil, identity.TypeRegisterPatient, body))
		want := identity.ErrVoucherRequired
		if body.Voucher != "" {
			want = identity.ErrVoucherUnknown
		}
		wantCode(t, res.Code, res.Codespace, res.Log, want)
	}

	// Nor does it reach a block through a byzantine proposer: every
	// validator refuses a proposal that carries it, and an honest proposer
	// leaves it out.
	sneaked := h.tx(testKey("sneaked in"), identity.TypeRegisterPatient, identity.RegisterPatient{})
	pp, err := h.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Height: h.height + 1, Txs: [][]byte{sneaked}})
	if err != nil || pp.Status != abci.PROCESS_PROPOSAL_STATUS_REJECT {
		t.Fatalf("a proposal with a registration without a voucher: %v %v, want rejected", pp.GetStatus(), err)
	}
	if prep, err := h.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: [][]byte{sneaked}, MaxTxBytes: 1 << 20}); err != nil || len(prep.Txs) != 0 {
		t.Fatalf("an honest proposer proposed it: %d txs, %v", len(prep.GetTxs()), err)
	}

	code, err := identity.NewVoucher()
	if err != nil {
		t.Fatal(err)
	}
	issue := identity.IssueVouchers{Vouchers: []string{identity.VoucherHash(code)}}
	res := h.block(h.tx(insurerKey, identity.TypeIssueVouchers, issue))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, ledger.ErrUnauthorized)
	h.mustOK(h.tx(hospitalKey, identity.TypeIssueVouchers, issue))
	res = h.block(h.tx(pharmacyKey, identity.TypeIssueVouchers, issue))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, identity.ErrBadVoucher) // issued already

	patient := testKey("patient with a voucher")
	typed := "  " + string([]byte(code)[:4]) + " " + code[5:] // as a person types it: spaces, lower case
	reg := h.tx(patient, identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: toLower(typed)})
	if res := h.check(reg); res.Code != 0 {
		t.Fatalf("a registration with an issued voucher: %s", res.Log)
	}
	// A copy of the code from the mempool, under another key, waits in
	// vain: one registration per voucher may wait for a block.
	copycat := h.check(h.tx(testKey("copycat"), identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: code}))
	wantCode(t, copycat.Code, copycat.Codespace, copycat.Log, ledger.ErrClaimed)
	if again := h.check(reg); again.Code != 0 && again.Code != ledger.ErrBadNonce.Code {
		t.Fatalf("the same transaction again is not refused as a second claim: %s", again.Log)
	}
	h.mustOK(reg)
	if h.identity(patient) == nil {
		t.Fatal("not registered")
	}
	again := h.tx(testKey("second holder"), identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: code})
	res2 := h.check(again)
	wantCode(t, res2.Code, res2.Codespace, res2.Log, identity.ErrVoucherUnknown)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
