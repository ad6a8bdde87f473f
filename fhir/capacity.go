package fhir

import (
	"fmt"

	"github.com/primum-health/primum/capacity"
)

// Capacity as FHIR R4, in the style of HL7 SANER (Situational Awareness
// for Novel Epidemic Response): a site is a Location with its
// HealthcareService, a unit of equipment a Device, and a site's report or
// a region's picture a MeasureReport with a group per unit type.
const (
	SiteSystem      = "https://primum.dev/fhir/NamingSystem/site-id"
	EquipmentSystem = "https://primum.dev/fhir/NamingSystem/equipment-id"
	UnitTypeSystem  = "https://primum.dev/fhir/CodeSystem/capacity-unit-type"
	ServiceSystem   = "https://primum.dev/fhir/CodeSystem/capacity-service"
	PopulationCodes = "https://primum.dev/fhir/CodeSystem/capacity-population"
	// CapacityMeasure is the measure the reports answer (the ledger's own:
	// total, in use, out of service and free per unit type, as SANER's
	// bed and ventilator measures count them).
	CapacityMeasure = "https://primum.dev/fhir/Measure/capacity"
)

// degrees writes microdegrees as an exact decimal (no float on the way).
func degrees(e6 int64) jsonDecimal {
	sign := ""
	if e6 < 0 {
		sign, e6 = "-", -e6
	}
	return jsonDecimal(fmt.Sprintf("%s%d.%06d", sign, e6/1_000_000, e6%1_000_000))
}

// jsonDecimal is a JSON number written as it is.
type jsonDecimal string

func (d jsonDecimal) MarshalJSON() ([]byte, error) { return []byte(d), nil }

// concept is a code with its text.
func concept(system, code string) Object {
	c := coding(system, code)
	c["text"] = code
	return c
}

// Location is a site.
func Location(s *capacity.Site) Object {
	return Object{
		"resourceType":         "Location",
		"id":                   s.ID,
		"identifier":           []any{Object{"system": SiteSystem, "value": s.ID}},
		"status":               "active",
		"name":                 s.Name,
		"mode":                 "instance",
		"physicalType":         coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "si"),
		"position":             Object{"latitude": degrees(s.LatE6), "longitude": degrees(s.LonE6)},
		"managingOrganization": Object{"reference": "Organization/" + s.Org},
		"description":          "region " + s.Region,
	}
}

// HealthcareService is what a site offers.
func HealthcareService(s *capacity.Site) Object {
	types := []any{}
	for _, sv := range s.Services {
		types = append(types, concept(ServiceSystem, sv))
	}
	return Object{
		"resourceType": "HealthcareService",
		"id":           s.ID,
		"active":       true,
		"providedBy":   Object{"reference": "Organization/" + s.Org},
		"location":     []any{Object{"reference": "Location/" + s.ID}},
		"name":         s.Name,
		"type":         types,
	}
}

// Device is a unit of equipment.
func Device(e *capacity.Equipment) Object {
	return Object{
		"resourceType": "Device",
		"id":           e.ID,
		"identifier":   []any{Object{"system": EquipmentSystem, "value": e.ID}},
		"status":       "active",
		"serialNumber": e.Serial,
		"deviceName":   []any{Object{"name": e.Model, "type": "model-name"}},
		"type":         concept(UnitTypeSystem, e.Type),
		"owner":        Object{"reference": "Organization/" + e.Org},
		"location":     Object{"reference": "Location/" + e.Site},
	}
}

func population(code string, n int64) Object {
	return Object{"code": coding(PopulationCodes, code), "count": n}
}

// SiteMeasureReport is a site's last report: a group per unit type with
// its total, in use, out of service and free now (less what is held),
// dated by the block that recorded it. A stale report says so.
func SiteMeasureReport(st *capacity.SiteStatus) Object {
	groups := []any{}
	date := ""
	if st.Report != nil {
		date = st.Report.Time
		free := map[string]int64{}
		for _, a := range st.Available {
			free[a.Type] = a.Units
		}
		for _, it := range st.Report.Items {
			groups = append(groups, Object{
				"code": concept(UnitTypeSystem, it.Type),
				"population": []any{population("total", it.Total), population("in-use", it.InUse), population("out-of-service", it.OutOfService),
					population("available", free[it.Type])},
				"measureScore": Object{"value": free[it.Type], "unit": "units"},
			})
		}
	}
	status := "complete"
	if !st.Fresh {
		status = "error" // stale: not to be counted
	}
	out := Object{
		"resourceType": "MeasureReport",
		"id":           st.ID,
		"status":       status,
		"type":         "summary",
		"measure":      CapacityMeasure,
		"subject":      Object{"reference": "Location/" + st.ID},
		"reporter":     Object{"reference": "Organization/" + st.Org},
		"group":        groups,
	}
	if date != "" {
		out["date"] = date
		out["period"] = Object{"start": date, "end": date}
	} else {
		out["period"] = Object{}
	}
	return out
}

// RegionMeasureReport is a region's picture at a time: a group per type
// with its need, free units at fresh sites, shortage and surplus.
func RegionMeasureReport(region *capacity.Region, rows []*capacity.Shortage, at string) Object {
	groups := []any{}
	for _, r := range rows {
		groups = append(groups, Object{
			"code": concept(UnitTypeSystem, r.Type),
			"population": []any{population("need", r.Need), population("total", r.Total), population("available", r.Available),
				population("shortage", r.Shortage), population("surplus", r.Surplus), population("sites", r.Sites), population("stale-sites", r.Stale)},
			"measureScore": Object{"value": r.Available - r.Need, "unit": "units"},
		})
	}
	return Object{
		"resourceType": "MeasureReport",
		"id":           "region-" + region.Code,
		"status":       "complete",
		"type":         "summary",
		"measure":      CapacityMeasure,
		"subject":      Object{"identifier": Object{"system": "https://primum.dev/fhir/NamingSystem/region", "value": region.Code}, "display": region.Name},
		"date":         at,
		"period":       Object{"start": at, "end": at},
		"group":        groups,
	}
}
