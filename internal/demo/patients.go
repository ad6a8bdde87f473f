package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/wire"
)

// patients is how many pseudonymous patients the demo registers.
const patients = 3

func patientName(i int) string { return fmt.Sprintf("Patient %d", i) }

// vouchers is how many vouchers St Luke's issues in the demo: one for each
// demo patient, and spares for the tour (demo-members.json).
const vouchers = patients + 5

// registerPatients has St Luke's issue the demo's registration vouchers
// and each demo patient register with one, and lists the spare vouchers
// still unused in the members file.
func registerPatients(ctx context.Context, env *Env) error {
	hospital, err := env.Key("St Luke's Hospital")
	if err != nil {
		return err
	}
	codes, unused, err := ensureVouchers(ctx, env, hospital)
	if err != nil {
		return fmt.Errorf("vouchers: %w", err)
	}
	env.File.Vouchers = unused
	for i := 1; i <= patients; i++ {
		key, err := env.Add(Member{Name: patientName(i), Kind: "patient"})
		if err != nil {
			return err
		}
		done, err := env.registered(ctx, key)
		if err == nil && !done {
			_, err = env.Client.Send(ctx, key, identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: codes[i-1]}, true)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", patientName(i), err)
		}
	}
	return nil
}

// ensureVouchers issues St Luke's demo vouchers not yet on the ledger and
// returns their codes, the demo patients' first, and the spares not used
// yet. The codes follow from St Luke's key, so an interrupted demo issues
// the same ones again (an issued one, used or not, is never issued twice).
func ensureVouchers(ctx context.Context, env *Env, hospital ed25519.PrivateKey) (codes, unused []string, err error) {
	var missing []string
	for i := range vouchers {
		sum := sha256.Sum256(append(append([]byte("primum demo voucher "), hospital.Seed()...), byte(i)))
		code := identity.VoucherCode(sum[:])
		codes = append(codes, code)
		v, issued, err := issuedVoucher(ctx, env, code)
		if err != nil {
			return nil, nil, err
		}
		if !issued {
			missing = append(missing, identity.VoucherHash(code))
		}
		if i >= patients && v.Used == 0 {
			unused = append(unused, code)
		}
	}
	if len(missing) > 0 {
		if _, err := env.Client.Send(ctx, hospital, identity.TypeIssueVouchers, identity.IssueVouchers{Vouchers: missing}, true); err != nil {
			return nil, nil, err
		}
	}
	return codes, unused, nil
}

// issuedVoucher reads a voucher's entry on the ledger (a voucher's hash is
// nobody's personal data: proven to anyone): whether it was issued, and
// whether it was used.
func issuedVoucher(ctx context.Context, env *Env, code string) (v identity.Voucher, issued bool, err error) {
	var p wire.ProofResponse
	if err := env.Client.Get(ctx, "/api/v1/proof?key="+url.QueryEscape("vch/"+identity.VoucherHash(code)), &p); err != nil {
		return v, false, err
	}
	if raw, _ := base64.StdEncoding.DecodeString(p.Value); p.Exists {
		_ = json.Unmarshal(raw, &v)
	}
	return v, p.Exists, nil
}
