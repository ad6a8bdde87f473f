package capacity

import (
	"time"

	"github.com/primum-health/primum/ledger"
)

// NHSNRow is one site's week in the shape of NHSN's Hospital Respiratory
// Data weekly submission (form 57.101): staffed bed capacity and
// occupancy, all and paediatric, inpatient and ICU, as a single-day
// snapshot of the Wednesday of the reporting week (Sunday to Saturday),
// plus ventilators. Field names are NHSN's.
type NHSNRow struct {
	OrgID             string `json:"orgid"`
	FacilityName      string `json:"facilityname"`
	Region            string `json:"region"`
	WeekEndingDate    string `json:"weekendingdate"`
	SnapshotDate      string `json:"snapshotdate"` // the report in force on Wednesday: its day
	NumInptBeds       int64  `json:"numinptbeds"`
	NumInptBedsOcc    int64  `json:"numinptbedsocc"`
	NumICUBeds        int64  `json:"numicubeds"`
	NumICUBedsOcc     int64  `json:"numicubedsocc"`
	NumInptBedsPed    int64  `json:"numinptbedsped"`
	NumInptBedsOccPed int64  `json:"numinptbedsoccped"`
	NumICUBedsPed     int64  `json:"numicubedsped"`
	NumICUBedsOccPed  int64  `json:"numicubedsoccped"`
	NumVent           int64  `json:"numvent"`
	NumVentUse        int64  `json:"numventuse"`
}

// NHSN is the week ending on the Saturday weekEnding, per site that
// reported that week: the latest report from its Sunday to its Wednesday
// is the Wednesday's snapshot; a site that first reported later in the
// week gives its first report after Wednesday (the row's snapshot date
// says which). Inpatient beds are every bed type; occupancy is the beds
// in use.
func (v *View) NHSN(r ledger.Reader, weekEnding string) ([]*NHSNRow, error) {
	end, err := time.Parse(dateLayout, weekEnding)
	if err != nil || end.Weekday() != time.Saturday {
		return nil, ErrBadQuery.Wrapf("week: %q is not a Saturday (YYYY-MM-DD)", weekEnding)
	}
	sunday, wednesday := end.AddDate(0, 0, -6).Format(dateLayout), end.AddDate(0, 0, -3).Format(dateLayout)
	out := []*NHSNRow{}
	for _, s := range v.Sites {
		prefix := ledger.Key(prefixDaily, s.ID, "")
		var rep *Report
		var day string
		err := ledger.Scan(r, prefix, ledger.Key(prefixDaily, s.ID, wednesday), true, func(k, val []byte) bool {
			if day = string(k[len(prefix):]); day < sunday {
				return false
			}
			rep = new(Report)
			if err := ledger.DecodeState(val, rep); err != nil {
				rep = nil
			}
			return false
		})
		if err != nil {
			return nil, err
		}
		if rep == nil { // none by Wednesday: the week's first after it, late
			err = ledger.Scan(r, prefix, ledger.Key(prefixDaily, s.ID, wednesday+"~"), false, func(k, val []byte) bool {
				if day = string(k[len(prefix):]); day <= weekEnding {
					rep = new(Report)
					if err := ledger.DecodeState(val, rep); err != nil {
						rep = nil
					}
				}
				return false
			})
			if err != nil {
				return nil, err
			}
		}
		if rep == nil {
			continue
		}
		row := &NHSNRow{OrgID: s.ID, FacilityName: s.Name, Region: s.Region, WeekEndingDate: weekEnding, SnapshotDate: day}
		for _, it := range rep.Items {
			switch it.Type {
			case "icu-bed", "general-bed", "paediatric-bed", "paediatric-icu-bed":
				row.NumInptBeds += it.Total
				row.NumInptBedsOcc += it.InUse
			}
			switch it.Type {
			case "icu-bed", "paediatric-icu-bed":
				row.NumICUBeds += it.Total
				row.NumICUBedsOcc += it.InUse
			}
			switch it.Type {
			case "paediatric-bed", "paediatric-icu-bed":
				row.NumInptBedsPed += it.Total
				row.NumInptBedsOccPed += it.InUse
			}
			switch it.Type {
			case "paediatric-icu-bed":
				row.NumICUBedsPed += it.Total
				row.NumICUBedsOccPed += it.InUse
			case "ventilator", "paediatric-ventilator":
				row.NumVent += it.Total
				row.NumVentUse += it.InUse
			}
		}
		out = append(out, row)
	}
	return out, nil
}
