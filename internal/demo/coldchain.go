package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/primum-health/primum/supply"
)

// The demo's vaccine: Acme Pharma's measles-rubella vaccine, kept at
// 2–8 °C, in two lots shipped to Central Pharmacy in one case each.
const (
	VaccineGTIN = "09506000134376"
	// VaccineClean is a pack of the lot whose logger stayed in range;
	// VaccineWarm one of the lot whose logger read 11–14 °C for hours.
	VaccineClean = "(01)" + VaccineGTIN + "(21)VAX001"
	VaccineWarm  = "(01)" + VaccineGTIN + "(21)VAX101"
	vaccineCaseA = "(00)195060000000000012"
	vaccineCaseB = "(00)195060000000000029"
)

// coldChain: the vaccine's storage rule (2–8 °C, with the WHO shipping
// indicator's alarms), two lots packed and shipped by EPCIS capture with
// their carriers, and received at Central Pharmacy with each case's data
// logger readings as EPCIS sensor data: lot MRV2026A stayed in range, lot
// MRV2026B spent three hours at 11–14 °C, so its packs scan as
// temperature_excursion until Acme Pharma decides.
func coldChain(ctx context.Context, env *Env) error {
	maker, err := env.Key("Acme Pharma")
	if err != nil {
		return err
	}
	c := env.Client
	pharmacyID := env.ID("Central Pharmacy")
	// object reads an object from the ledger (nil: not there yet); held
	// says the pharmacy has received it.
	object := func(code string) (*supply.Object, error) {
		var o struct {
			Object *supply.Object `json:"object"`
		}
		err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(code), &o)
		return o.Object, absent(err)
	}
	held := func(o *supply.Object) bool {
		return o != nil && o.Custodian == pharmacyID && o.Status == supply.StatusActive
	}
	// Done: lot A's case was opened, the last step.
	if p, err := object(VaccineClean); err != nil {
		return err
	} else if held(p) && p.Parent == "" {
		return nil
	}
	var rule supply.StorageRule
	if err := c.Get(ctx, "/api/v1/supply/products/"+VaccineGTIN+"/storage-rule", &rule); absent(err) != nil {
		return err
	}
	if rule.GTIN == "" {
		steps := []struct {
			typ  string
			body any
		}{
			{supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: VaccineGTIN, Name: "Measles-rubella vaccine", Form: "powder and solvent for injection", Strength: "10 doses"}},
			{supply.TypeStorageRule, supply.SetStorageRule{GTIN: VaccineGTIN, MinC: 200, MaxC: 800, Alarms: []supply.Alarm{
				{When: "at_or_above", C: 4500, Seconds: 3600}, {When: "at_or_above", C: 3000, Seconds: 10 * 3600}, {When: "at_or_below", C: -50, Seconds: 3600}}}},
		}
		for _, st := range steps {
			var p supply.Product
			if st.typ == supply.TypeRegisterProduct {
				if err := c.Get(ctx, "/api/v1/supply/products/"+VaccineGTIN, &p); absent(err) != nil {
					return err
				}
				if p.GTIN != "" {
					continue
				}
			}
			if _, err := c.Send(ctx, maker, st.typ, st.body, true); err != nil {
				return fmt.Errorf("%s: %w", st.typ, err)
			}
		}
	}
	// Yesterday's shipments, a reading every 30 minutes for 24 hours.
	day := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Hour)
	ship := epcisDocument(
		commissioning("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c001", day.Add(-2*time.Hour), "MRV2026A", "VAX001", "VAX002", "VAX003", "VAX004"),
		commissioning("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c002", day.Add(-2*time.Hour), "MRV2026B", "VAX101", "VAX102", "VAX103", "VAX104"),
		packing("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c003", day.Add(-time.Hour), vaccineCaseA, "VAX001", "VAX002", "VAX003", "VAX004"),
		packing("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c004", day.Add(-time.Hour), vaccineCaseB, "VAX101", "VAX102", "VAX103", "VAX104"),
		shipping("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c005", day, vaccineCaseA, env.ID("Central Pharmacy"), "Nordic Cold Logistics"),
		shipping("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c006", day, vaccineCaseB, env.ID("Central Pharmacy"), "QuickFreight"),
	)
	caseA, err := object(vaccineCaseA)
	if err != nil {
		return err
	}
	if !held(caseA) {
		caseB, err := object(vaccineCaseB)
		if err != nil {
			return err
		}
		if caseB == nil || (caseB.Status != supply.StatusInTransit && !held(caseB)) {
			if err := capture(ctx, env, "Acme Pharma", ship); err != nil {
				return err
			}
		}
		clean := logger(day, 48, func(i int) float64 { return 4.6 + float64(i%7)*0.2 })
		if err := capture(ctx, env, "Central Pharmacy", epcisDocument(receiving("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c007", day.Add(24*time.Hour), vaccineCaseA, clean))); err != nil {
			return err
		}
	}
	caseB, err := object(vaccineCaseB)
	if err != nil {
		return err
	}
	if !held(caseB) {
		// Lot B's case waited on a loading dock: three hours at 11–14 °C.
		warm := logger(day, 48, func(i int) float64 {
			if i >= 20 && i < 26 {
				return 11.2 + float64(i-20)*0.5
			}
			return 5.1 + float64(i%5)*0.2
		})
		if err := capture(ctx, env, "Central Pharmacy", epcisDocument(receiving("urn:uuid:7d1c0a6e-0000-4000-8000-00000000c008", day.Add(24*time.Hour), vaccineCaseB, warm))); err != nil {
			return err
		}
	}
	// The pharmacy opens lot A's case: its packs are on the shelf, ready
	// to dispense.
	pharmacy, err := env.Key("Central Pharmacy")
	if err != nil {
		return err
	}
	_, err = c.Send(ctx, pharmacy, supply.TypeUnpack, supply.Pack{Parent: vaccineCaseA}, true)
	return err
}

// capture sends an EPCIS document as a member, through the node's EPCIS
// capture interface, and fails on any refused event.
func capture(ctx context.Context, env *Env, member string, doc []byte) error {
	job, err := env.Client.Capture(ctx, env.File.Member(member).APIToken, doc, "")
	if err != nil {
		return fmt.Errorf("EPCIS capture as %s: %w", member, err)
	}
	if !job.Success {
		return fmt.Errorf("EPCIS capture as %s: %+v", member, job.Errors)
	}
	return nil
}

type object = map[string]any

func epcisDocument(events ...object) []byte {
	b, _ := json.Marshal(object{"@context": []any{"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", object{"primum": "https://primum.health/epcis/"}},
		"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": time.Now().UTC().Format(time.RFC3339),
		"epcisBody": object{"eventList": events}})
	return b
}

func event(id, typ string, at time.Time) object {
	return object{"type": typ, "eventID": id, "eventTime": at.Format(time.RFC3339), "eventTimeZoneOffset": "+00:00"}
}

func vaccinePacks(serials []string) []string {
	out := make([]string, len(serials))
	for i, s := range serials {
		out[i] = "https://id.gs1.org/01/" + VaccineGTIN + "/21/" + s
	}
	return out
}

func commissioning(id string, at time.Time, lot string, serials ...string) object {
	e := event(id, "ObjectEvent", at)
	e["action"], e["bizStep"], e["disposition"], e["epcList"] = "ADD", "commissioning", "active", vaccinePacks(serials)
	e["ilmd"] = object{"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": at.AddDate(2, 0, 0).Format(time.DateOnly)}
	return e
}

func packing(id string, at time.Time, sscc string, serials ...string) object {
	e := event(id, "AggregationEvent", at)
	e["action"], e["bizStep"], e["parentID"], e["childEPCs"] = "ADD", "packing", ssccURI(sscc), vaccinePacks(serials)
	return e
}

func shipping(id string, at time.Time, sscc, to, carrier string) object {
	e := event(id, "ObjectEvent", at)
	e["action"], e["bizStep"], e["disposition"], e["epcList"] = "OBSERVE", "shipping", "in_transit", []string{ssccURI(sscc)}
	e["destinationList"] = []object{{"type": "owning_party", "destination": "urn:primum:org:" + to}}
	e["primum:carrier"] = carrier
	return e
}

func receiving(id string, at time.Time, sscc string, readings []object) object {
	e := event(id, "ObjectEvent", at)
	e["action"], e["bizStep"], e["disposition"], e["epcList"] = "OBSERVE", "receiving", "in_progress", []string{ssccURI(sscc)}
	e["sensorElementList"] = readings
	return e
}

// logger is a data logger's readings: n, one every 30 minutes from start,
// each a sensor element with the temperature in °C.
func logger(start time.Time, n int, celsius func(i int) float64) []object {
	out := make([]object, n)
	for i := range n {
		out[i] = object{"sensorMetadata": object{"time": start.Add(time.Duration(i) * 30 * time.Minute).Format(time.RFC3339), "deviceID": "urn:epc:id:giai:9506000.LOG1"},
			"sensorReport": []object{{"type": "Temperature", "value": json.Number(fmt.Sprintf("%.1f", celsius(i))), "uom": "CEL"}}}
	}
	return out
}

func ssccURI(code string) string { return "https://id.gs1.org/00/" + code[4:] }
