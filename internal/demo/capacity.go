package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/primum-health/primum/capacity"
)

// DemoHold is the demo's hold: St Luke's holds a ventilator at Eastfield,
// which Eastfield confirmed; the tour records its transfer.
const DemoHold = "H-DEMO-1"

// demoSites are the demo's sites: four reporting in two regions, one never
// reporting (so the dashboard shows a stale site), with numbers that make
// the North short of ventilators and St Luke's west wing low on oxygen.
var demoSites = []struct {
	org    string
	site   capacity.SiteBody
	report *capacity.ReportBody
}{
	{"St Luke's Hospital", capacity.SiteBody{ID: "SLH-MAIN", Name: "St Luke's Hospital, main site", Region: "NORTH", LatE6: 51_517_400, LonE6: -118_800,
		Services: []string{"emergency", "icu", "surgery", "oxygen", "mri", "ct"}},
		&capacity.ReportBody{Items: []capacity.Item{{Type: "icu-bed", Total: 24, InUse: 22, OutOfService: 1}, {Type: "general-bed", Total: 420, InUse: 384, OutOfService: 6},
			{Type: "ventilator", Total: 18, InUse: 17, OutOfService: 1}, {Type: "mri", Total: 2, InUse: 1}, {Type: "ct", Total: 3, InUse: 2}},
			Oxygen: &capacity.Oxygen{Litres: 1_800_000, BurnLPH: 9_000, Cylinders: []string{"(8003)00614141123452400"}}}},
	{"St Luke's Hospital", capacity.SiteBody{ID: "SLH-WEST", Name: "St Luke's West Wing", Region: "NORTH", LatE6: 51_509_800, LonE6: -196_500,
		Services: []string{"dialysis", "oxygen"}},
		&capacity.ReportBody{Items: []capacity.Item{{Type: "general-bed", Total: 60, InUse: 41}, {Type: "dialysis-machine", Total: 12, InUse: 9, OutOfService: 1},
			{Type: "oxygen-concentrator", Total: 10, InUse: 9}},
			Oxygen: &capacity.Oxygen{Litres: 30_000, BurnLPH: 1_500}}},
	{"Riverside General Hospital", capacity.SiteBody{ID: "RGH-MAIN", Name: "Riverside General Hospital", Region: "NORTH", LatE6: 51_482_300, LonE6: -60_100,
		Services: []string{"emergency", "icu", "paediatric-icu", "paediatric-ventilation", "dialysis", "oxygen"}},
		&capacity.ReportBody{Items: []capacity.Item{{Type: "icu-bed", Total: 16, InUse: 12}, {Type: "general-bed", Total: 310, InUse: 262, OutOfService: 4},
			{Type: "paediatric-bed", Total: 24, InUse: 15}, {Type: "paediatric-icu-bed", Total: 6, InUse: 4}, {Type: "ventilator", Total: 12, InUse: 11},
			{Type: "paediatric-ventilator", Total: 4, InUse: 2}, {Type: "dialysis-machine", Total: 8, InUse: 8}},
			Oxygen: &capacity.Oxygen{Litres: 900_000, BurnLPH: 5_000}}},
	{"Riverside General Hospital", capacity.SiteBody{ID: "RGH-NORTHGATE", Name: "Riverside Northgate Clinic", Region: "NORTH", LatE6: 51_560_000, LonE6: -102_000,
		Services: []string{"dialysis"}}, nil},
	{ThirdHospital, capacity.SiteBody{ID: "EFH-MAIN", Name: "Eastfield Hospital", Region: "SOUTH", LatE6: 51_280_500, LonE6: 102_300,
		Services: []string{"emergency", "icu", "ecmo", "oxygen", "ct"}},
		&capacity.ReportBody{Items: []capacity.Item{{Type: "icu-bed", Total: 14, InUse: 8}, {Type: "general-bed", Total: 240, InUse: 190, OutOfService: 2},
			{Type: "ventilator", Total: 14, InUse: 6, OutOfService: 1}, {Type: "ecmo", Total: 2, InUse: 1}, {Type: "ct", Total: 2, InUse: 1}},
			Oxygen: &capacity.Oxygen{Litres: 1_200_000, BurnLPH: 4_000}}},
}

// equipmentAndCapacity: the regulator registers two regions and declares
// the North's winter need for ventilators; the hospitals register their
// sites, Eastfield a ventilator, and each reporting site reports (again
// whenever its report is more than 12 hours old, so the demo's numbers
// count as fresh on a later start); St Luke's holds Eastfield's
// ventilator for a transfer, and Eastfield confirms.
func equipmentAndCapacity(ctx context.Context, env *Env) error {
	regulator, err := env.Key("National Medicines Agency")
	if err != nil {
		return err
	}
	var regions []*capacity.Region
	if err := env.Client.WithKey(regulator).Get(ctx, "/api/v1/capacity/regions", &regions); err != nil {
		return err
	}
	if len(regions) == 0 {
		for _, s := range []any{
			capacity.RegionBody{Code: "NORTH", Name: "Northern Region"},
			capacity.RegionBody{Code: "SOUTH", Name: "Southern Region"},
			capacity.NeedBody{Region: "NORTH", Type: "ventilator", Units: 10, Note: "winter surge plan: ten ventilators free at all times"},
			capacity.NeedBody{Region: "SOUTH", Type: "ventilator", Units: 4, Note: "winter surge plan"},
			capacity.NeedBody{Region: "NORTH", Type: "icu-bed", Units: 6, Note: "winter surge plan"},
		} {
			typ := capacity.TypeRegion
			if _, ok := s.(capacity.NeedBody); ok {
				typ = capacity.TypeNeed
			}
			if _, err := env.Client.Send(ctx, regulator, typ, s, true); err != nil {
				return fmt.Errorf("regions: %w", err)
			}
		}
	}
	for _, d := range demoSites {
		key, err := env.Key(d.org)
		if err != nil {
			return err
		}
		var st capacity.SiteStatus
		if err := absent(env.Client.WithKey(key).Get(ctx, "/api/v1/capacity/sites/"+d.site.ID, &st)); err != nil {
			return err
		}
		if st.Site == nil {
			if _, err := env.Client.Send(ctx, key, capacity.TypeSite, d.site, true); err != nil {
				return fmt.Errorf("site %s: %w", d.site.ID, err)
			}
		}
		if d.report != nil && (st.Site == nil || st.AgeSeconds < 0 || st.AgeSeconds > 12*3600) {
			r := *d.report
			r.Site = d.site.ID
			if _, err := env.Client.Send(ctx, key, capacity.TypeReport, r, true); err != nil {
				return fmt.Errorf("report of %s: %w", d.site.ID, err)
			}
		}
	}
	eastfield, err := env.Key(ThirdHospital)
	if err != nil {
		return err
	}
	var vent capacity.Equipment
	if err := absent(env.Client.WithKey(eastfield).Get(ctx, "/api/v1/capacity/equipment/EFH-VENT-03", &vent)); err != nil {
		return err
	}
	if vent.ID == "" {
		if _, err := env.Client.Send(ctx, eastfield, capacity.TypeEquipment, capacity.EquipmentBody{ID: "EFH-VENT-03", Site: "EFH-MAIN", Type: "ventilator",
			Model: "Hamilton C6", Serial: "C6-2231907"}, true); err != nil {
			return fmt.Errorf("Eastfield's ventilator: %w", err)
		}
	}
	stLukes, err := env.Key("St Luke's Hospital")
	if err != nil {
		return err
	}
	var h capacity.HoldView
	if err := absent(env.Client.WithKey(stLukes).Get(ctx, "/api/v1/capacity/holds/"+DemoHold, &h)); err != nil {
		return err
	}
	if h.Hold == nil {
		if _, err := env.Client.Send(ctx, stLukes, capacity.TypeHold, capacity.HoldBody{ID: DemoHold, Site: "EFH-MAIN", Type: "ventilator", Units: 1, Equipment: "EFH-VENT-03",
			To: "SLH-MAIN", Minutes: int64((2 * time.Hour).Minutes())}, true); err != nil {
			return fmt.Errorf("the hold: %w", err)
		}
		if _, err := env.Client.Send(ctx, eastfield, capacity.TypeConfirm, capacity.HoldRef{Hold: DemoHold}, true); err != nil {
			return fmt.Errorf("confirming the hold: %w", err)
		}
	}
	return nil
}
