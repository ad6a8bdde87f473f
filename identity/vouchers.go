package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// Vouchers: no free Sybils. Where the consortium's genesis asks for them
// (patient_registration "voucher"), a key registers as a patient only with
// a voucher: a one-time code a hospital, clinic or pharmacy hands the
// person (at the desk, in its portal). The ledger holds only each code's
// hash and who issued it, never who it was given to; it is used once.
// A flood of fresh keys is then refused in CheckTx, before the mempool.

// TypeIssueVouchers is the transaction that issues vouchers.
const TypeIssueVouchers = "identity.issue_vouchers"

// MaxVouchersPerTx bounds one issue.
const MaxVouchersPerTx = 100

// Registration policies (app.Genesis.PatientRegistration).
const (
	PolicyOpen    = "open"
	PolicyVoucher = "voucher"
)

// voucherIssuers hand vouchers to the people they care for.
var voucherIssuers = []string{"organisation:hospital", "organisation:clinic", "organisation:pharmacy"}

var (
	prefixVoucher = []byte("vch/")    // vch/<sha256 of the code, hex> -> Voucher
	keyPolicy     = []byte("vpolicy") // the registration policy: "voucher", or absent (open)

	ErrVoucherRequired = ledger.NewError("identity", 23, "voucher_required", 403,
		"this consortium registers a patient only with a voucher: ask a hospital, clinic or pharmacy for one, and register with it")
	ErrVoucherUnknown = ledger.NewError("identity", 24, "voucher_unknown", 403,
		"this voucher was never issued, or was used already: ask the hospital, clinic or pharmacy that gave it for a new one")
	ErrBadVoucher = ledger.NewError("identity", 25, "bad_voucher", 400,
		"a voucher is issued as the SHA-256 of its code (64 hex characters), at most 100 at once, each once")
)

// Voucher is an issued voucher: who issued it, when, and when it was used
// (0: not yet). A used voucher stays, so that its code can never be issued
// or used again.
type Voucher struct {
	Issuer string `json:"issuer"`
	Height int64  `json:"height"`
	Used   int64  `json:"used,omitempty"`
}

// IssueVouchers is the body of identity.issue_vouchers: the hashes
// (VoucherHash) of the codes the issuer hands out.
type IssueVouchers struct {
	Vouchers []string `json:"vouchers"`
}

// RegisterPatient is the body of identity.register_patient: the voucher's
// code, where the consortium asks for one.
type RegisterPatient struct {
	Voucher string `json:"voucher,omitempty" doc:"the voucher's code, as given (case, spaces and dashes do not matter)"`
}

// VoucherHash is what the ledger keeps of a voucher's code.
func VoucherHash(code string) string {
	h := sha256.Sum256([]byte("primum/voucher/v1\x00" + NormaliseVoucher(code)))
	return hex.EncodeToString(h[:])
}

// NormaliseVoucher reads a code as a person types it: case, spaces and
// dashes do not matter.
func NormaliseVoucher(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// NewVoucher makes a voucher code: 20 base32 characters (100 bits), in
// groups of four for reading aloud.
func NewVoucher() (string, error) {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return VoucherCode(b[:]), nil
}

// VoucherCode writes the first 100 bits of b (at least 13 bytes) as a
// voucher code: 20 base32 characters in groups of four.
func VoucherCode(b []byte) string {
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:20]
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20]
}

// Policy is the consortium's registration policy.
func Policy(r ledger.Reader) (string, error) {
	b, err := r.Get(keyPolicy)
	if err != nil || b == nil {
		return PolicyOpen, err
	}
	return string(b), nil
}

// checkVoucher is what CheckTx and the block both check of a registration:
// the voucher a voucher policy asks for exists. It reads two keys.
// admitVoucher is checkVoucher as the route's Admit check.
func admitVoucher(r ledger.Reader, _ ledger.Signer, body any) error { return checkVoucher(r, body) }

func checkVoucher(r ledger.Reader, body any) error {
	m := body.(*RegisterPatient)
	policy, err := Policy(r)
	if err != nil {
		return err
	}
	if m.Voucher == "" {
		if policy == PolicyVoucher {
			return ErrVoucherRequired
		}
		return nil
	}
	if len(m.Voucher) > 64 {
		return ErrVoucherUnknown
	}
	var v Voucher
	found, err := ledger.GetJSON(r, voucherKey(VoucherHash(m.Voucher)), &v)
	if err != nil {
		return err
	}
	if !found || v.Used != 0 {
		return ErrVoucherUnknown
	}
	return nil
}

// voucherClaim: one registration at a time in the mempool per voucher.
func voucherClaim(body any) string {
	if v := body.(*RegisterPatient).Voucher; v != "" {
		return "voucher/" + VoucherHash(v)
	}
	return ""
}

func voucherKey(hash string) []byte { return append(append([]byte{}, prefixVoucher...), hash...) }

// useVoucher marks a registration's voucher used.
func useVoucher(ctx *ledger.Context, code string) {
	var v Voucher
	if _, err := ledger.GetJSON(ctx.State, voucherKey(VoucherHash(code)), &v); err != nil {
		panic(err) // a storage failure: continuing would fork the node
	}
	v.Used = ctx.Height
	ledger.SetJSON(ctx.State, voucherKey(VoucherHash(code)), v)
}

func issueVouchers(ctx *ledger.Context, m *IssueVouchers) error {
	if len(m.Vouchers) == 0 || len(m.Vouchers) > MaxVouchersPerTx {
		return ErrBadVoucher.Wrapf("%d vouchers", len(m.Vouchers))
	}
	seen := make(map[string]bool, len(m.Vouchers))
	for _, h := range m.Vouchers {
		if d, err := hex.DecodeString(h); err != nil || len(d) != sha256.Size || h != strings.ToLower(h) || seen[h] {
			return ErrBadVoucher.Wrapf("%q", h)
		}
		seen[h] = true
		b, err := ctx.State.Get(voucherKey(h))
		if err != nil {
			panic(err) // a storage failure: continuing would fork the node
		}
		if b != nil {
			return ErrBadVoucher.Wrapf("%s was issued already", h)
		}
	}
	for _, h := range m.Vouchers {
		ledger.SetJSON(ctx.State, voucherKey(h), Voucher{Issuer: ctx.Signer.ID, Height: ctx.Height})
	}
	ctx.Emit("identity.vouchers_issued", [2]string{"issuer", ctx.Signer.ID}, [2]string{"count", strconv.Itoa(len(m.Vouchers))})
	return nil
}
