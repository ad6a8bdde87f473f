package supply

import (
	"errors"
	"fmt"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Verdicts a pharmacist sees.
const (
	VerdictDispensable    = "genuine_dispensable"
	VerdictUnknown        = "unknown_serial"
	VerdictRecalled       = "recalled"
	VerdictExpired        = "expired"
	VerdictDispensed      = "already_dispensed"
	VerdictWrongHands     = "wrong_hands"
	VerdictDecommissioned = "decommissioned"
	VerdictQuarantined    = "quarantined"
	VerdictInTransit      = "in_transit"
	VerdictBadCode        = "bad_code"
	// The scanner sent no GS separator after a variable-length field and
	// the code reads several ways, none of them (or more than one) a
	// commissioned pack: scan again with the scanner sending GS. Not a
	// counterfeit alarm.
	VerdictMissingSeparator = "missing_separator"
	// A case or pallet, or a returnable asset: genuine or not, never
	// dispensed as such.
	VerdictLogisticUnit = "logistic_unit"
	VerdictAsset        = "returnable_asset"
)

// Verdict is the answer to a scan: one verdict, why, and the chain of custody.
type Verdict struct {
	Verdict     string   `json:"verdict"`
	Dispensable bool     `json:"dispensable"`
	Message     string   `json:"message"`
	Key         string   `json:"key,omitempty"`
	DigitalLink string   `json:"digital_link,omitempty"`
	GTIN        string   `json:"gtin,omitempty"`
	Serial      string   `json:"serial,omitempty"`
	Lot         string   `json:"lot,omitempty"`
	Expiry      string   `json:"expiry,omitempty"`
	Product     *Product `json:"product,omitempty"`
	Custodian   string   `json:"custodian,omitempty"`
	Status      string   `json:"status,omitempty"`
	DispensedBy string   `json:"dispensed_by,omitempty"`
	DispensedAt string   `json:"dispensed_at,omitempty"`
	Recall      *Recall  `json:"recall,omitempty"`
	Suspect     string   `json:"suspect_reason,omitempty"`
	// Trail is the end of the chain of custody, oldest first: its latest
	// VerifyTrailSteps steps. TrailSteps is how many steps it has in all;
	// the whole trail pages from GET /api/v1/supply/objects/{code}.
	Trail      []*Step `json:"trail,omitempty"`
	TrailSteps uint64  `json:"trail_steps,omitempty"`
	// ScannedLot differs from Lot when the printed lot does not match the
	// commissioned one: a sign of a counterfeit.
	ScannedLotMismatch bool `json:"scanned_lot_mismatch,omitempty"`
	// Reading says how a scan that reads several ways (no GS separator)
	// was read: the one reading that names a commissioned pack.
	Reading string `json:"reading,omitempty"`
	// The cold chain: the product's storage rule, the pack's latest
	// temperature records (oldest first; a long record's readings thinned
	// to at most ChartPoints, keeping each stretch's lowest and highest),
	// and the excursion that holds it, if one does.
	StorageRule *StorageRule  `json:"storage_rule,omitempty"`
	ColdChain   []*ColdRecord `json:"cold_chain,omitempty"`
	Excursion   *Excursion    `json:"excursion,omitempty"`
	// Excursions are those of the records shown, decided or not.
	Excursions []*Excursion `json:"excursions,omitempty"`
}

// ChartPoints bounds the readings a verdict shows of one cold-chain record.
const ChartPoints = 240

// thin keeps at most n readings of rs: in n/2 stretches of time order,
// each stretch's lowest and highest (an excursion's peak is never lost).
func thin(rs []Reading, n int) []Reading {
	if len(rs) <= n {
		return rs
	}
	buckets := n / 2
	out := make([]Reading, 0, n)
	for b := range buckets {
		lo, hi := b*len(rs)/buckets, (b+1)*len(rs)/buckets
		mn, mx := lo, lo
		for i := lo; i < hi; i++ {
			if rs[i].C < rs[mn].C {
				mn = i
			}
			if rs[i].C > rs[mx].C {
				mx = i
			}
		}
		out = append(out, rs[min(mn, mx)])
		if mn != mx {
			out = append(out, rs[max(mn, mx)])
		}
	}
	return out
}

// coldChain fills a verdict's cold-chain part (nothing is read for a
// pack without temperature records: a scan's reads stay few).
func coldChain(r ledger.Reader, v *Verdict, o *Object) error {
	var err error
	if o.GTIN != "" && len(o.Cold) > 0 {
		if v.StorageRule, err = GetRule(r, o.GTIN); err != nil {
			return err
		}
	}
	for _, seq := range o.Cold {
		rec, err := GetColdRecord(r, seq)
		if err != nil {
			return err
		}
		rec.Readings = thin(rec.Readings, ChartPoints)
		v.ColdChain = append(v.ColdChain, rec)
	}
	// Every excursion of the pack's records, decided or not (a released
	// one says who released it and why); the one holding it first.
	for _, rec := range v.ColdChain {
		for _, a := range rec.Assessments {
			if a.GTIN != o.GTIN || !a.Excursion || a.Held == 0 {
				continue
			}
			e, err := GetExcursion(r, rec.Seq, o.GTIN)
			if err != nil {
				return err
			}
			v.Excursions = append(v.Excursions, e)
		}
	}
	if len(o.ColdHolds) > 0 {
		seq, gtin, err := ParseExcursionID(o.ColdHolds[0])
		if err != nil {
			return err
		}
		if v.Excursion, err = GetExcursion(r, seq, gtin); err != nil {
			return err
		}
	}
	return nil
}

// excursionMessage says why a pack is held, for the pharmacist (members
// by name).
func excursionMessage(r ledger.Reader, e *Excursion) string {
	name := func(id string) string {
		if m, err := identity.Get(r, id); err == nil && m.Name != "" {
			return m.Name
		}
		return id
	}
	msg := "temperature excursion: " + e.Reason
	if e.Start != 0 {
		msg += ", from " + time.Unix(e.Start, 0).UTC().Format("2006-01-02 15:04") + " UTC"
	}
	if e.From != "" && e.To != "" {
		msg += ", on the way from " + name(e.From) + " to " + name(e.To)
	}
	if e.Decision == "destroy" {
		return msg + ". The manufacturer decided the packs be destroyed: do not dispense, decommission it"
	}
	return msg + ". Held until the manufacturer releases or destroys it: do not dispense"
}

// VerifyTrailSteps is how many of a pack's latest custody steps a verdict
// shows. The scan is public and anonymous, and a member can add some 200
// steps to a pack it holds with every capture: the verdict reads a fixed
// number of them, not the whole trail.
const VerifyTrailSteps = 50

// Verify answers a scan of code by the organisation scanner (empty: an
// anonymous check, custody not compared) at time now. It reads committed
// state only.
func Verify(r ledger.Reader, code, scanner string, now time.Time) (*Verdict, error) {
	key, c, reading, refused, err := readScan(r, code)
	if refused != nil || err != nil {
		return refused, err
	}
	v := &Verdict{Key: key, DigitalLink: c.DigitalLink(), GTIN: c.GTIN, Serial: c.Serial, Reading: reading}
	o, err := GetObject(r, key)
	if errors.Is(err, ErrUnknownObject) {
		v.Verdict, v.Message = VerdictUnknown, "no pack with this serial was ever commissioned: do not dispense, report it"
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	v.Lot, v.Expiry, v.Custodian, v.Status, v.Suspect = o.Lot, o.Expiry, o.Custodian, o.Status, o.Suspect
	v.DispensedBy, v.DispensedAt = o.DispensedBy, o.DispensedAt
	v.ScannedLotMismatch = c.Lot != "" && o.Lot != "" && c.Lot != o.Lot
	if o.GTIN != "" {
		v.Product, _ = GetProduct(r, o.GTIN)
		if v.Recall, err = GetRecall(r, o.GTIN, o.Lot); err != nil {
			return nil, err
		}
	}
	if err := coldChain(r, v, o); err != nil {
		return nil, err
	}
	v.TrailSteps = o.Steps
	if v.Trail, _, _, err = TrailPage(r, key, o.Steps-min(o.Steps, VerifyTrailSteps), VerifyTrailSteps); err != nil {
		return nil, err
	}
	switch {
	case o.Status == StatusDispensed:
		v.Verdict, v.Message = VerdictDispensed, "this pack was already dispensed by "+o.DispensedBy+" at "+o.DispensedAt+": a second scan suggests a clone"
	case o.Status != StatusActive && o.Status != StatusInTransit:
		v.Verdict, v.Message = VerdictDecommissioned, "this pack was taken out of the supply chain ("+o.Status+")"
	case o.Kind == gs1.KindSSCC && o.Contents == 0:
		v.Verdict, v.Message = VerdictLogisticUnit, fmt.Sprintf("an empty case or pallet (%s), %s", o.Key, whereIs(o))
	case o.Kind == gs1.KindSSCC:
		v.Verdict, v.Message = VerdictLogisticUnit, fmt.Sprintf("a case or pallet (%s) holding %d objects, %s: scan the packs inside to dispense", o.Key, o.Contents, whereIs(o))
	case o.Kind == gs1.KindGRAI:
		v.Verdict, v.Message = VerdictAsset, fmt.Sprintf("a returnable asset (%s: %s, %s), %s", o.Key, o.AssetType, o.AssetState, whereIs(o))
		if o.InspectionDue != "" {
			v.Message += ", next inspection due " + o.InspectionDue
		}
	case o.Kind != gs1.KindSGTIN:
		v.Verdict, v.Message = VerdictBadCode, "this identifier does not name a pack"
	case v.Recall != nil:
		v.Verdict, v.Message = VerdictRecalled, "lot "+o.Lot+" is recalled: "+v.Recall.Reason
	case o.Quarantined:
		v.Verdict, v.Message = VerdictQuarantined, "quarantined as suspect: "+o.Suspect
	case v.Excursion != nil:
		v.Verdict, v.Message = VerdictExcursion, excursionMessage(r, v.Excursion)
	case dispensable(r, o, now) != nil && o.Kind == "sgtin":
		v.Verdict, v.Message = VerdictExpired, "expired on "+o.Expiry
	case v.ScannedLotMismatch:
		v.Verdict, v.Message = VerdictUnknown, "the printed lot "+c.Lot+" does not match the commissioned lot: do not dispense, report it"
	case o.Status == StatusInTransit:
		v.Verdict, v.Message = VerdictInTransit, "in transit to "+o.ShipTo+": it must be received before it is dispensed"
	case scanner != "" && o.Custodian != scanner:
		v.Verdict, v.Message = VerdictWrongHands, "the ledger says this pack is held by "+o.Custodian+", not by the scanning organisation"
	default:
		v.Verdict, v.Dispensable, v.Message = VerdictDispensable, true, "genuine and dispensable"
	}
	return v, nil
}

// readScan reads a scanned code to the key verification looks up. A code
// read one way is that way. A keyboard-wedge scanner that drops the GS
// separator sends "…10AMX2026A21DEMO004", which reads as a lot that
// swallowed the serial or as lot and serial (gs1.Readings): the ledger
// settles it when exactly one reading names a commissioned pack of that
// lot (reading says which was taken); otherwise the answer is the verdict
// missing_separator, never "unknown serial" (a false counterfeit alarm).
// Bounded: at most 64 readings, one read each. A code verification cannot
// read is answered by the verdict refused.
func readScan(r ledger.Reader, code string) (key string, c *gs1.Code, reading string, refused *Verdict, err error) {
	readings, err := gs1.Readings(code)
	if err != nil {
		return "", nil, "", &Verdict{Verdict: VerdictBadCode, Message: ErrBadCode.Wrapf("%q: %v", short(code), err).Error()}, nil
	}
	if len(readings) == 1 {
		c = readings[0]
		if key, _, err = c.Key(); err != nil {
			return "", nil, "", &Verdict{Verdict: VerdictBadCode, Message: ErrBadCode.Wrapf("%q: %v", short(code), err).Error()}, nil
		}
		return key, c, "", nil, nil
	}
	var found []*gs1.Code
	var keys []string
	for _, rd := range readings {
		k, kind, err := rd.Key()
		if err != nil || kind != gs1.KindSGTIN {
			continue
		}
		o, err := GetObject(r, k)
		if errors.Is(err, ErrUnknownObject) {
			continue
		} else if err != nil {
			return "", nil, "", nil, err
		}
		if rd.Lot == "" || rd.Lot == o.Lot {
			found, keys = append(found, rd), append(keys, k)
		}
	}
	if len(found) != 1 {
		msg := fmt.Sprintf("%v; none of its %d readings names a commissioned pack", gs1.ErrMissingSeparator, len(readings))
		if len(found) > 1 {
			msg = fmt.Sprintf("%v; %d of its readings name commissioned packs", gs1.ErrMissingSeparator, len(found))
		}
		return "", nil, "", &Verdict{Verdict: VerdictMissingSeparator, Message: msg + ": scan it again before deciding"}, nil
	}
	c = found[0]
	return keys[0], c, fmt.Sprintf("the scanner sent no GS separator: read as lot %s, serial %s, the only reading that names a commissioned pack", c.Lot, c.Serial), nil, nil
}

// whereIs says who holds an object, or where it is going.
func whereIs(o *Object) string {
	if o.Status == StatusInTransit {
		return "in transit to " + o.ShipTo
	}
	return "held by " + o.Custodian
}
