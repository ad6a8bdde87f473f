package bench

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// recordsWorkload is the health-records part of the benchmark's mix:
// patients' consent grants and custodians' access entries. Its set-up
// (practitioners, patients and an indexed record per patient) is committed
// before the measured run and is not counted.
type recordsWorkload struct {
	grants [][]byte            // one per patient: unordered
	access []records.AccessLog // signed by the custodian in its ordered stream
}

const benchPractitioners = 16

func prepareRecords(ctx context.Context, c *client.Client, chainID string, custodian ed25519.PrivateKey, patients int, progress func(string, ...any)) (*recordsWorkload, error) {
	progress("setting up %d patients with a record each, %d practitioners…", patients, benchPractitioners)
	var last []byte
	info, err := c.Key(ctx, custodian.Public().(ed25519.PublicKey))
	if err != nil || info.Identity == nil {
		return nil, fmt.Errorf("the custodian's identity: %v", err)
	}
	nonce := info.Nonce
	submit := func(raw []byte, err error) error {
		if err != nil {
			return err
		}
		last = raw
		_, err = c.Submit(ctx, raw, false)
		return err
	}
	docs := make([]ed25519.PrivateKey, benchPractitioners)
	for i := range docs {
		docs[i] = benchKey("practitioner", i)
		if err := submit(envelope.Build(chainID, custodian, nonce, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{
			Key: hex.EncodeToString(docs[i].Public().(ed25519.PublicKey)), Licence: fmt.Sprintf("BENCH-%d", i), Profession: "doctor",
			Proof:      identity.ProvePossession(docs[i], chainID, identity.ProofPractitioner, info.Identity.ID),
			ValidUntil: "2099-01-01T00:00:00Z"})); err != nil {
			return nil, err
		}
		nonce++
	}
	pkeys := make([]ed25519.PrivateKey, patients)
	for i := range pkeys {
		pkeys[i] = benchKey("records-patient", i)
		if err := submit(envelope.Build(chainID, pkeys[i], 0, identity.TypeRegisterPatient, struct{}{})); err != nil {
			return nil, err
		}
	}
	// The patients must be committed before their records are indexed.
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	for start := 0; start < patients; start += records.MaxPerRegister {
		reg := records.Register{Endpoint: c.BaseURL()}
		for i := start; i < min(patients, start+records.MaxPerRegister); i++ {
			reg.Records = append(reg.Records, records.NewRecord{ID: fmt.Sprintf("bench-%d", i), Patient: benchAddr(pkeys[i]),
				Category: "observation", Commitment: hex.EncodeToString(benchKey("commitment", i).Seed())})
		}
		if err := submit(envelope.Build(chainID, custodian, nonce, records.TypeRegister, reg)); err != nil {
			return nil, err
		}
		nonce++
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	w := &recordsWorkload{}
	notAfter := time.Now().Add(records.MaxRequestLife - time.Minute).UTC().Format(time.RFC3339)
	for i := 0; i < patients; i++ {
		doc := docs[i%len(docs)]
		raw, err := envelope.Build(chainID, pkeys[i], 1, consent.TypeGrant, consent.Grant{Grantee: benchAddr(doc),
			Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment", Expires: "2099-01-01T00:00:00Z"})
		if err != nil {
			return nil, err
		}
		w.grants = append(w.grants, raw)
		req := records.AccessRequest{ChainID: chainID, Requester: benchAddr(doc), Record: fmt.Sprintf("bench-%d", i), Purpose: "treatment",
			KeyDigest: hex.EncodeToString(benchKey("hpke", i).Seed()), Nonce: fmt.Sprintf("%032x", i), NotAfter: notAfter}
		w.access = append(w.access, records.AccessLog{Request: req, Signature: req.Sign(doc)})
	}
	return w, nil
}

func benchAddr(k ed25519.PrivateKey) string { return ledger.Address(k.Public().(ed25519.PublicKey)) }

// waitCommitted waits until a submitted transaction is in a block.
func waitCommitted(ctx context.Context, c *client.Client, raw []byte) error {
	hash := hex.EncodeToString(envelope.Hash(raw))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if r, err := c.Tx(ctx, hash); err == nil {
			if r.Code != 0 {
				return fmt.Errorf("set-up transaction rejected: %s", r.Log)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("set-up transaction %s not committed", hash)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
