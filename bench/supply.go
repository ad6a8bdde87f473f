package bench

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/envelope"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/supply"
)

// supplyWorkload is the medicine supply-chain part of the benchmark's mix,
// every transaction of which records an EPCIS event: a manufacturer
// commissions packs and ships them to the hospital, half of the time as
// native transactions and half as one EPCIS capture of both events; the
// hospital receives packs that were shipped to it before the run; and the
// hospital's pharmacists, each in their own stream, dispense packs already
// in its stock one by one. Its set-up (the manufacturer's admission by vote,
// its company prefix, held so that each commissioning checks it as a real
// manufacturer's does, its product, the pharmacists' credentials, the stock and the packs on
// their way) is committed before the measured run and is not counted.
type supplyWorkload struct {
	maker       [][]byte   // the manufacturer's ordered stream, signed
	pharmacists [][][]byte // one ordered stream of dispensing per pharmacist
	// receipts are the hospital's share, signed in its stream interleaved
	// with its access entries, from whatever nonce it has reached.
	receipts []supplyOp
}

type supplyOp struct {
	typ  string
	body any
}

const (
	benchGTIN        = "09506000134352"
	benchPrefix      = "9506000" // the manufacturer's GS1 company prefix, benchGTIN's
	benchUnit        = 10        // packs per commissioning, shipment and receipt in the run
	benchSetupTx     = 1000      // packs per set-up transaction (supply.MaxCodes)
	benchLotPacks    = 1000      // packs per lot in the run
	benchPharmacists = 8
)

func benchPack(prefix string, i int) string { return fmt.Sprintf("%s%08d", prefix, i) }

func benchCode(serial string) string { return "(01)" + benchGTIN + "(21)" + serial }

// benchPacks are the serials of n packs numbered from on, and their codes.
func benchPacks(prefix string, from, n int) (serials, codes []string) {
	for i := from; i < from+n; i++ {
		serials = append(serials, benchPack(prefix, i))
		codes = append(codes, benchCode(serials[len(serials)-1]))
	}
	return serials, codes
}

// admit admits an organisation of orgType whose operator key is key by
// the members' vote: the first proposes (and so votes yes), the others
// vote until it passes.
func admit(ctx context.Context, c *client.Client, chainID string, members []ed25519.PrivateKey, name, orgType string, key ed25519.PrivateKey) error {
	pub := key.Public().(ed25519.PublicKey)
	if _, err := c.Send(ctx, members[0], governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
		Member: governance.ProvedMember(chainID, name, orgType, key, nil), Reason: "benchmark " + orgType}, true); err != nil {
		return fmt.Errorf("proposing the %s: %w", orgType, err)
	}
	for _, m := range members[1:] {
		info, err := c.Key(ctx, pub)
		if err != nil {
			return err
		}
		if info.Identity != nil {
			break
		}
		props, err := c.Proposals(ctx)
		if err != nil || len(props) == 0 {
			return fmt.Errorf("the %s's proposal is missing: %v", orgType, err)
		}
		latest := slices.MaxFunc(props, func(a, b *governance.Proposal) int { return cmp.Compare(a.ID, b.ID) })
		if _, err := c.Send(ctx, m, governance.TypeVote, governance.Vote{ProposalID: latest.ID, Vote: "yes"}, true); err != nil {
			return fmt.Errorf("voting for the %s: %w", orgType, err)
		}
	}
	return nil
}

// admitMembers admits, by the members' vote, the organisations the
// workloads need beyond the validators: a manufacturer, an insurer, a
// regulator and a second hospital (whose sites report capacity), each
// voted for by every member before it. It runs before any
// workload signs a stream ahead: a vote spends its voter's nonce.
func admitMembers(ctx context.Context, c *client.Client, chainID string, members []ed25519.PrivateKey) error {
	voters := append([]ed25519.PrivateKey{}, members...)
	for _, m := range []struct{ name, orgType, key string }{
		{"Bench Pharma", "manufacturer", "manufacturer"}, {"Bench Health", "insurer", "insurer"}, {"Bench Regulator", "regulator", "regulator"},
		{"Bench General", "hospital", "capacity-hospital"}, {"Bench Clinic", "clinic", "wearables-keeper"},
	} {
		key := benchKey(m.key, 0)
		if err := admit(ctx, c, chainID, voters, m.name, m.orgType, key); err != nil {
			return err
		}
		voters = append(voters, key)
	}
	return nil
}

// benchLogger is a shipment's logger: a reading every 30 minutes for a
// day; one shipment in four spent two hours at 11 °C (an excursion: its
// packs are held).
func benchLogger(u int) *supply.Sensor {
	s := &supply.Sensor{Device: "urn:epc:id:giai:9506000.BENCH"}
	const start = 1_767_000_000 // 2025-12-29, before any block of the run
	for i := range 48 {
		c := int64(450 + i%5*20)
		if u%4 == 3 && i >= 20 && i < 24 {
			c = 1100
		}
		s.Readings = append(s.Readings, supply.Reading{T: start + int64(i)*1800, C: c})
	}
	return s
}

// prepareSupply has the manufacturer (admitted by admitMembers) register its
// product, credentials the first member's (the hospital's) pharmacists,
// stocks the hospital with the packs they will dispense, and ships it the
// packs it will receive in the run: units of benchUnit packs for each
// stream.
func prepareSupply(ctx context.Context, c *client.Client, chainID string, members []ed25519.PrivateKey, units int, progress func(string, ...any)) (*supplyWorkload, error) {
	progress("stocking the hospital with %d packs, %d pharmacists…", 2*units*benchUnit, benchPharmacists)
	maker := benchKey("manufacturer", 0) // admitted by admitMembers
	hospital := members[0]
	info, err := c.Key(ctx, hospital.Public().(ed25519.PublicKey))
	if err != nil || info.Identity == nil {
		return nil, fmt.Errorf("the hospital's identity: %v", err)
	}
	to := info.Identity.ID
	if _, err := c.Send(ctx, maker, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: benchPrefix}, true); err != nil {
		return nil, fmt.Errorf("claiming the company prefix: %w", err)
	}
	if _, err := c.Send(ctx, maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: benchGTIN, Name: "Amoxicillin 500 mg",
		Form: "capsule", Strength: "500 mg"}, true); err != nil {
		return nil, fmt.Errorf("registering the product: %w", err)
	}
	// The product is kept at 2-8 °C: every receipt in the run carries its
	// logger's readings, assessed against the rule on the ledger.
	if _, err := c.Send(ctx, maker, supply.TypeStorageRule, supply.SetStorageRule{GTIN: benchGTIN, MinC: 200, MaxC: 800,
		Alarms: []supply.Alarm{{When: "at_or_above", C: 4500, Seconds: 3600}}}, true); err != nil {
		return nil, fmt.Errorf("the product's storage rule: %w", err)
	}
	makerInfo, err := c.Self(ctx, maker) // after its prefix, its product and its rule
	if err != nil {
		return nil, err
	}
	nonces := map[string]uint64{string(maker): makerInfo.Nonce, string(hospital): info.Nonce}
	// sign signs a key's next transaction; send also submits it.
	sign := func(key ed25519.PrivateKey, typ string, body any) ([]byte, error) {
		raw, err := envelope.Build(chainID, key, nonces[string(key)], typ, body)
		if err == nil {
			nonces[string(key)]++
		}
		return raw, err
	}
	var last []byte
	send := func(key ed25519.PrivateKey, typ string, body any) error {
		raw, err := sign(key, typ, body)
		if err != nil {
			return err
		}
		last = raw
		return submitRetrying(ctx, c, raw)
	}
	pharmacists := make([]ed25519.PrivateKey, benchPharmacists)
	for i := range pharmacists {
		pharmacists[i] = benchKey("pharmacist", i)
		if err := send(hospital, identity.TypeRegisterPractitioner, identity.RegisterPractitioner{
			Key: hex.EncodeToString(pharmacists[i].Public().(ed25519.PublicKey)), Licence: fmt.Sprintf("PH-%d", i),
			Proof:      identity.ProvePossession(pharmacists[i], chainID, identity.ProofPractitioner, to),
			Profession: "pharmacist", ValidUntil: "2099-01-01T00:00:00Z"}); err != nil {
			return nil, err
		}
	}
	// Stock (S…, received now) and packs on their way (T…, received in the run).
	packs := units * benchUnit
	for _, prefix := range []string{"S", "T"} {
		for start := 0; start < packs; start += benchSetupTx {
			serials, codes := benchPacks(prefix, start, min(packs-start, benchSetupTx))
			if err := send(maker, supply.TypeCommission, supply.Commission{GTIN: benchGTIN, Lot: fmt.Sprintf("%s%d", prefix, start/benchSetupTx),
				Expiry: "2030-12-31", Serials: serials}); err != nil {
				return nil, err
			}
			if err := send(maker, supply.TypeShip, supply.Ship{Codes: codes, To: to}); err != nil {
				return nil, err
			}
		}
	}
	// The stock is received once it has arrived.
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}
	for start := 0; start < packs; start += benchSetupTx {
		_, codes := benchPacks("S", start, min(packs-start, benchSetupTx))
		if err := send(hospital, supply.TypeReceive, supply.Receive{Codes: codes}); err != nil {
			return nil, err
		}
	}
	if err := waitCommitted(ctx, c, last); err != nil {
		return nil, err
	}

	w := &supplyWorkload{pharmacists: make([][][]byte, benchPharmacists)}
	for u := 0; u < units; u++ {
		// The manufacturer: a new unit of packs, shipped to the hospital.
		lot := fmt.Sprintf("M%d", u*benchUnit/benchLotPacks)
		serials, codes := benchPacks("M", u*benchUnit, benchUnit)
		var txs []supplyOp
		if u%2 == 0 {
			txs = []supplyOp{
				{supply.TypeCommission, supply.Commission{GTIN: benchGTIN, Lot: lot, Expiry: "2030-12-31", Serials: serials}},
				{supply.TypeShip, supply.Ship{Codes: codes, To: to}},
			}
		} else {
			txs = []supplyOp{{supply.TypeCapture, supply.Capture{Events: []supply.CaptureEvent{
				{EventID: fmt.Sprintf("urn:uuid:bench-c-%d", u), Step: "commission", Codes: codes, Lot: lot, Expiry: "2030-12-31"},
				{EventID: fmt.Sprintf("urn:uuid:bench-s-%d", u), Step: "ship", Codes: codes, To: to},
			}}}}
		}
		for _, tx := range txs {
			raw, err := sign(maker, tx.typ, tx.body)
			if err != nil {
				return nil, err
			}
			w.maker = append(w.maker, raw)
		}
		// The hospital receives a unit of the packs on their way.
		_, received := benchPacks("T", u*benchUnit, benchUnit)
		w.receipts = append(w.receipts, supplyOp{supply.TypeReceive, supply.Receive{Codes: received, Sensor: benchLogger(u)}})
	}
	// The pharmacists dispense the stock, each their share.
	for i := 0; i < packs; i++ {
		p := i % benchPharmacists
		raw, err := sign(pharmacists[p], supply.TypeDispense, supply.Dispense{Code: benchCode(benchPack("S", i))})
		if err != nil {
			return nil, err
		}
		w.pharmacists[p] = append(w.pharmacists[p], raw)
	}
	return w, nil
}
