package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
)

// claimsWorkload is the claims part of the benchmark's mix: claims the
// hospital's doctors submit, each adjudicated in its block under the
// sample policy (rules, fee schedule, NCCI edits, accumulators). Its
// set-up (the insurer and the regulator admitMembers admitted, the tables, the
// policy, the patients' coverage and payment consents) is committed
// before the measured run and is not counted.
type claimsWorkload struct {
	streams [][][]byte // one ordered stream per doctor
}

// benchClaimPatients is how many insured patients the claims cycle over
// (each claim a different patient or day: no duplicates).
const benchClaimPatients = 200

func prepareClaims(ctx context.Context, c *client.Client, chainID string, members []ed25519.PrivateKey, n int, progress func(string, ...any)) (*claimsWorkload, error) {
	progress("insuring %d patients, %d claims…", benchClaimPatients, n)
	insurer, regulator := benchKey("insurer", 0), benchKey("regulator", 0) // admitted by admitMembers
	nonces := map[string]uint64{}
	for _, k := range []ed25519.PrivateKey{insurer, regulator} {
		info, err := c.Self(ctx, k)
		if err != nil {
			return nil, err
		}
		nonces[string(k)] = info.Nonce
	}
	var last []byte
	send := func(key ed25519.PrivateKey, typ string, body any) error {
		raw, err := envelope.Build(chainID, key, nonces[string(key)], typ, body)
		if err != nil {
			return err
		}
		nonces[string(key)]++
		last = raw
		return submitRetrying(ctx, c, raw)
	}
	for _, t := range []claims.Table{
		{Kind: claims.TableCodes, Version: "BENCH", Effective: "2000-01-01", Codes: claims.SampleCodes},
		{Kind: claims.TablePTP, Version: "BENCH", Effective: "2000-01-01", PTP: claims.SamplePTP},
		{Kind: claims.TableMUE, Version: "BENCH", Effective: "2000-01-01", MUE: claims.SampleMUE},
	} {
		if err := send(regulator, claims.TypeTable, t); err != nil {
			return nil, err
		}
	}
	if err := send(insurer, claims.TypePublish, claims.Publish{ID: "bench-gold", Effective: "2000-01-01", RuleSet: claims.SampleRuleSet()}); err != nil {
		return nil, err
	}
	patients := make([]ed25519.PrivateKey, benchClaimPatients)
	for i := range patients {
		patients[i] = benchKey("claims-patient", i)
		if err := send(patients[i], identity.TypeRegisterPatient, struct{}{}); err != nil {
			return nil, err
		}
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	// Each patient consents to payment by the insurer and to treatment at
	// the hospital; then the insurer registers their coverage.
	insurerID, hospitalID := benchAddr(insurer), benchAddr(members[0])
	for _, p := range patients {
		for _, g := range []consent.Grant{{Grantee: insurerID, Purpose: "payment"}, {Grantee: hospitalID, Purpose: "treatment"}} {
			g.Scope, g.Expires = consent.Scope{All: true}, "2099-01-01T00:00:00Z"
			if err := send(p, consent.TypeGrant, g); err != nil {
				return nil, err
			}
		}
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	for i, p := range patients {
		if err := send(insurer, claims.TypeCover, claims.Cover{ID: fmt.Sprintf("BENCH-COV-%d", i), Member: benchAddr(p), Policy: "bench-gold",
			Start: "2000-01-01", End: "2099-12-31"}); err != nil {
			return nil, err
		}
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	// The doctors prepareRecords credentialed at the hospital (as many
	// streams as the pharmacists who dispense); their nonces start at 0.
	w := &claimsWorkload{streams: make([][][]byte, benchPharmacists)}
	today := time.Now().UTC()
	for i := 0; i < n; i++ {
		d := i % benchPharmacists
		p := i % benchClaimPatients
		day := today.AddDate(0, 0, -1-i/benchClaimPatients%300).Format(time.DateOnly)
		body := claims.Submit{ID: fmt.Sprintf("BENCH-%d", i), Coverage: fmt.Sprintf("BENCH-COV-%d", p), Patient: benchAddr(patients[p]),
			ServiceDate: day, Diagnoses: []string{"E11.9", "I10"}, Lines: []claims.SubmitLine{
				{Code: "99214", Units: 1, Charge: 25000, Dx: []int64{1, 2}},
				{Code: "83036", Units: 1, Charge: 4500, Dx: []int64{1}},
				{Code: "36415", Units: 1, Charge: 1500, Dx: []int64{1}},
			}}
		raw, err := envelope.Build(chainID, benchKey("practitioner", d), uint64(len(w.streams[d])), claims.TypeSubmit, body)
		if err != nil {
			return nil, err
		}
		w.streams[d] = append(w.streams[d], raw)
	}
	return w, nil
}
