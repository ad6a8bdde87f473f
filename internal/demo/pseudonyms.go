package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
)

// pairwiseDocs are Patient 2's records: one at each hospital, each under
// the pseudonym the patient holds for that hospital, so that no member
// reading the ledger can tell the two belong to one person. Synthetic.
var pairwiseDocs = []struct{ org, doc string }{
	{"St Luke's Hospital", `{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"onsetDateTime":"2015-09-01"}`},
	{"Riverside General Hospital", `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"59408-5","display":"Oxygen saturation in Arterial blood by Pulse oximetry"}]},"effectiveDateTime":"2026-11-20T08:05:00Z","valueQuantity":{"value":94,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}}`},
}

// pairwisePseudonyms gives Patient 2 a pseudonym at each hospital: their
// own key's at St Luke's (where they registered), and at Riverside the
// key derived for Riverside, registered with a voucher Riverside gave
// them. Each hospital holds a record under its own pseudonym; the portal
// and 'primum records list --from' show both as the patient's.
func pairwisePseudonyms(ctx context.Context, env *Env) error {
	const name = "Patient 2"
	key, err := env.Key(name)
	if err != nil {
		return err
	}
	chainID, err := env.Client.ChainID(ctx)
	if err != nil {
		return err
	}
	riverside := env.ID("Riverside General Hospital")
	derived := identity.PairwiseKey(key, chainID, riverside)
	if done, err := env.registered(ctx, derived); err != nil {
		return err
	} else if !done {
		hospital, err := env.Key("Riverside General Hospital")
		if err != nil {
			return err
		}
		code, err := riversideVoucher(ctx, env, hospital)
		if err != nil {
			return err
		}
		if _, _, err := env.Client.RegisterPairwise(ctx, key, riverside, code); err != nil {
			return fmt.Errorf("%s at Riverside: %w", name, err)
		}
	}
	// The key file lists where the patient holds a pseudonym, so that the
	// CLI and the portal ask about no other organisation.
	if err := keyring.Dir("").AddPseudonyms(env.File.Member(name).KeyFile, riverside); err != nil {
		return err
	}
	at := map[string]ed25519.PrivateKey{"St Luke's Hospital": key, "Riverside General Hospital": derived}
	pseudonyms := map[string]string{}
	for org, k := range at {
		pseudonyms[org] = ledger.Address(k.Public().(ed25519.PublicKey))
	}
	for i := range env.File.Members {
		if env.File.Members[i].Name == name {
			env.File.Members[i].Pseudonyms = pseudonyms
		}
	}
	for _, r := range pairwiseDocs {
		c := env.Client.WithKey(at[r.org])
		held, err := c.Records(ctx, pseudonyms[r.org])
		if err != nil {
			return err
		}
		if len(held) > 0 {
			continue
		}
		if _, err := c.ImportFHIR(ctx, env.File.Member(r.org).APIToken, pseudonyms[r.org], []byte(r.doc)); err != nil {
			return fmt.Errorf("importing %s's record at %s: %w", name, r.org, err)
		}
	}
	return nil
}

// riversideVoucher is the voucher Riverside gives Patient 2, issued once:
// its code follows from Riverside's key, so a resumed demo finds it.
func riversideVoucher(ctx context.Context, env *Env, hospital ed25519.PrivateKey) (string, error) {
	sum := sha256.Sum256(append([]byte("primum demo pairwise voucher "), hospital.Seed()...))
	code := identity.VoucherCode(sum[:])
	_, issued, err := issuedVoucher(ctx, env, code)
	if err != nil {
		return "", err
	}
	if !issued {
		if _, err := env.Client.Send(ctx, hospital, identity.TypeIssueVouchers, identity.IssueVouchers{Vouchers: []string{identity.VoucherHash(code)}}, true); err != nil {
			return "", fmt.Errorf("Riverside's voucher: %w", err)
		}
	}
	return code, nil
}
