package capacity_test

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
)

// setup: a regulator with two regions; St Luke's (two sites in NORTH),
// Riverside (one in NORTH) and Eastfield (one in SOUTH), each reporting.
func setup(t testing.TB) *moduletest.World {
	w := moduletest.New(t, capacity.Declare(), identity.Declare())
	w.AddOrg("reg", "regulator")
	w.AddOrg("slh", "hospital")
	w.AddOrg("rgh", "hospital")
	w.AddOrg("efh", "hospital")
	w.Commit()
	w.Try(t, "reg", capacity.TypeRegion, capacity.RegionBody{Code: "NORTH", Name: "Northern Region"}, nil)
	w.Try(t, "reg", capacity.TypeRegion, capacity.RegionBody{Code: "SOUTH", Name: "Southern Region"}, nil)
	for _, s := range []struct {
		as string
		b  capacity.SiteBody
	}{
		{"slh", capacity.SiteBody{ID: "SLH-MAIN", Name: "St Luke's main", Region: "NORTH", LatE6: 51_507_400, LonE6: -127_800, Services: []string{"icu", "emergency", "oxygen"}}},
		{"slh", capacity.SiteBody{ID: "SLH-WEST", Name: "St Luke's west", Region: "NORTH", LatE6: 51_512_000, LonE6: -300_000, Services: []string{"dialysis"}}},
		{"rgh", capacity.SiteBody{ID: "RGH-MAIN", Name: "Riverside main", Region: "NORTH", LatE6: 51_480_000, LonE6: -50_000, Services: []string{"icu", "dialysis"}}},
		{"efh", capacity.SiteBody{ID: "EFH-MAIN", Name: "Eastfield main", Region: "SOUTH", LatE6: 50_900_000, LonE6: -1_400_000, Services: []string{"icu"}}},
	} {
		w.Try(t, s.as, capacity.TypeSite, s.b, nil)
	}
	w.Try(t, "rgh", capacity.TypeEquipment, capacity.EquipmentBody{ID: "RGH-VENT-1", Site: "RGH-MAIN", Type: "ventilator", Model: "Hamilton C6", Serial: "C6-1"}, nil)
	w.Try(t, "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 20, InUse: 18, OutOfService: 1}, {Type: "ventilator", Total: 10, InUse: 10}},
		Oxygen: &capacity.Oxygen{Litres: 24_000, BurnLPH: 2_000}}, nil)
	w.Try(t, "rgh", capacity.TypeReport, capacity.ReportBody{Site: "RGH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 12, InUse: 6}, {Type: "ventilator", Total: 8, InUse: 5, OutOfService: 1},
		{Type: "dialysis-machine", Total: 4, InUse: 3}},
		Oxygen: &capacity.Oxygen{Litres: 960_000, BurnLPH: 1_000}}, nil)
	w.Try(t, "efh", capacity.TypeReport, capacity.ReportBody{Site: "EFH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 10, InUse: 4}, {Type: "ventilator", Total: 6, InUse: 2}}}, nil)
	w.Try(t, "reg", capacity.TypeNeed, capacity.NeedBody{Region: "NORTH", Type: "ventilator", Units: 10, Note: "winter surge plan"}, nil)
	w.Commit()
	return w
}

// TestRefusals: each bad input its code, nothing changed.
func TestRefusals(t *testing.T) {
	w := setup(t)
	for _, tc := range []struct {
		name, as, typ string
		body          any
		want          error
	}{
		{"latitude out of range", "slh", capacity.TypeSite, capacity.SiteBody{ID: "SLH-X", Name: "x", Region: "NORTH", LatE6: 90_000_001}, capacity.ErrBadLocation},
		{"unknown region", "slh", capacity.TypeSite, capacity.SiteBody{ID: "SLH-X", Name: "x", Region: "EAST"}, capacity.ErrUnknownRegion},
		{"unknown service", "slh", capacity.TypeSite, capacity.SiteBody{ID: "SLH-X", Name: "x", Region: "NORTH", Services: []string{"spa"}}, capacity.ErrBadSite},
		{"another's site id", "rgh", capacity.TypeSite, capacity.SiteBody{ID: "SLH-MAIN", Name: "mine now", Region: "NORTH"}, capacity.ErrExists},
		{"unknown type", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "hoverbed", Total: 1}}}, capacity.ErrUnknownType},
		{"usage above total", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 5, InUse: 5, OutOfService: 1}}}, capacity.ErrUsageOverTotal},
		{"a type twice", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 5}, {Type: "icu-bed", Total: 6}}}, capacity.ErrBadReport},
		{"negative oxygen", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Oxygen: &capacity.Oxygen{Litres: -1}}, capacity.ErrBadReport},
		{"a cylinder not in the supply chain", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Oxygen: &capacity.Oxygen{Litres: 1, Cylinders: []string{"(8003)00614141123452400"}}}, capacity.ErrUnknownCyl},
		{"not a GRAI", "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Oxygen: &capacity.Oxygen{Litres: 1, Cylinders: []string{"cyl-1"}}}, capacity.ErrBadReport},
		{"another's site", "rgh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 1}}}, capacity.ErrNotYourSite},
		{"need in an unknown region", "reg", capacity.TypeNeed, capacity.NeedBody{Region: "EAST", Type: "ventilator", Units: 1}, capacity.ErrUnknownRegion},
		{"a hold on units not there", "slh", capacity.TypeHold, capacity.HoldBody{ID: "H-1", Site: "RGH-MAIN", Type: "ventilator", Units: 3, To: "SLH-MAIN", Minutes: 60}, capacity.ErrUnavailable},
		{"a hold at your own site", "slh", capacity.TypeHold, capacity.HoldBody{ID: "H-1", Site: "SLH-WEST", Type: "icu-bed", Units: 1, To: "SLH-MAIN", Minutes: 60}, capacity.ErrBadHold},
		{"a hold at a site never reported", "rgh", capacity.TypeHold, capacity.HoldBody{ID: "H-1", Site: "SLH-WEST", Type: "icu-bed", Units: 1, To: "RGH-MAIN", Minutes: 60}, capacity.ErrStale},
		{"a hold for another's site", "slh", capacity.TypeHold, capacity.HoldBody{ID: "H-1", Site: "RGH-MAIN", Type: "ventilator", Units: 1, To: "EFH-MAIN", Minutes: 60}, capacity.ErrNotYourSite},
		{"a transfer without a hold", "rgh", capacity.TypeTransfer, capacity.HoldRef{Hold: "H-NONE"}, capacity.ErrUnknownHold},
		{"equipment at another's site", "slh", capacity.TypeEquipment, capacity.EquipmentBody{ID: "X-1", Site: "RGH-MAIN", Type: "ventilator", Model: "m", Serial: "s"}, capacity.ErrNotYourSite},
	} {
		t.Run(tc.name, func(t *testing.T) { w.Try(t, tc.as, tc.typ, tc.body, tc.want) })
	}
}

func shortage(t *testing.T, w *moduletest.World, region, typ string) *capacity.Shortage {
	t.Helper()
	q, err := w.Query("reg", "/api/v1/capacity/shortages", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range q.([]*capacity.Shortage) {
		if s.Region == region && s.Type == typ {
			return s
		}
	}
	t.Fatalf("no %s %s in the shortages", region, typ)
	return nil
}

// TestHoldsNeverPromiseTwice: a hold takes units off the site's count for
// everyone; a second hold for more than is left is refused; confirm, then
// transfer moves the equipment; a released or expired hold gives its
// units back; a transfer counts until the sending site reports again.
func TestHoldsNeverPromiseTwice(t *testing.T) {
	w := setup(t)
	// NORTH: ventilators free: SLH 0, RGH 2; need 10: short 8.
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 2 || s.Shortage != 8 || s.Need != 10 {
		t.Fatalf("NORTH ventilators: %+v", s)
	}
	hold := func(id, as, to string, units int64, equip string) capacity.HoldBody {
		return capacity.HoldBody{ID: id, Site: "RGH-MAIN", Type: "ventilator", Units: units, Equipment: equip, To: to, Minutes: 60}
	}
	w.Try(t, "slh", capacity.TypeHold, hold("H-1", "slh", "SLH-MAIN", 1, "RGH-VENT-1"), nil)
	w.Try(t, "efh", capacity.TypeHold, hold("H-2", "efh", "EFH-MAIN", 1, "RGH-VENT-1"), capacity.ErrEquipmentHeld)
	w.Try(t, "efh", capacity.TypeHold, hold("H-2", "efh", "EFH-MAIN", 2, ""), capacity.ErrUnavailable)
	w.Try(t, "efh", capacity.TypeHold, hold("H-2", "efh", "EFH-MAIN", 1, ""), nil)
	w.Try(t, "efh", capacity.TypeHold, hold("H-3", "efh", "EFH-MAIN", 1, ""), capacity.ErrUnavailable)
	w.Commit()
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 0 || s.Shortage != 10 {
		t.Fatalf("NORTH ventilators with two held: %+v", s)
	}
	// Only the sender confirms and transfers; only after confirming.
	w.Try(t, "slh", capacity.TypeConfirm, capacity.HoldRef{Hold: "H-1"}, capacity.ErrNotYourSite)
	w.Try(t, "rgh", capacity.TypeTransfer, capacity.HoldRef{Hold: "H-1"}, capacity.ErrHoldState)
	w.Try(t, "rgh", capacity.TypeConfirm, capacity.HoldRef{Hold: "H-1"}, nil)
	w.Try(t, "rgh", capacity.TypeTransfer, capacity.HoldRef{Hold: "H-1"}, nil)
	w.Try(t, "rgh", capacity.TypeTransfer, capacity.HoldRef{Hold: "H-1"}, capacity.ErrHoldState)
	w.Try(t, "efh", capacity.TypeRelease, capacity.HoldRef{Hold: "H-2"}, nil)
	w.Commit()
	e, err := capacity.GetEquipment(w.St.Committed(), "RGH-VENT-1")
	if err != nil || e.Site != "SLH-MAIN" || e.Org != w.ID("slh") || e.Moves != 1 || e.Hold != "" {
		t.Fatalf("the ventilator after its transfer: %+v %v", e, err)
	}
	// The transfer still counts (RGH has not reported); the release does not.
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 1 {
		t.Fatalf("after a transfer and a release: %+v", s)
	}
	w.Try(t, "rgh", capacity.TypeReport, capacity.ReportBody{Site: "RGH-MAIN", Items: []capacity.Item{{Type: "ventilator", Total: 7, InUse: 5, OutOfService: 1}}}, nil)
	w.Commit()
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 1 {
		t.Fatalf("after the sender reported: %+v", s)
	}
	// A hold past its expiry gives its units back without anyone acting.
	w.Try(t, "efh", capacity.TypeHold, hold("H-4", "efh", "EFH-MAIN", 1, ""), nil)
	w.Commit()
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 0 {
		t.Fatalf("held: %+v", s)
	}
	w.Advance(61 * time.Minute)
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 1 {
		t.Fatalf("expired: %+v", s)
	}
	w.Try(t, "rgh", capacity.TypeConfirm, capacity.HoldRef{Hold: "H-4"}, capacity.ErrHoldState)
	// The holder and the sender see their holds; a third does not.
	for who, want := range map[string]int{"efh": 2, "rgh": 3, "slh": 1, "reg": 3} {
		q, err := w.Query(who, "/api/v1/capacity/holds", nil)
		if err != nil || len(q.([]*capacity.HoldView)) != want {
			t.Errorf("%s's holds: %v %v", who, q, err)
		}
	}
	if _, err := w.Query("slh", "/api/v1/capacity/holds/H-2", nil); !errors.Is(err, capacity.ErrUnknownHold) {
		t.Errorf("a third party reads a hold: %v", err)
	}
}

// TestStaleAndOxygenAndNearest: a report older than a day counts as
// nothing free; oxygen runs out first where hours left are fewest; the
// nearest suitable site is found, best first.
func TestStaleAndOxygenAndNearest(t *testing.T) {
	w := setup(t)
	q, err := w.Query("slh", "/api/v1/capacity/oxygen", nil)
	if err != nil {
		t.Fatal(err)
	}
	ox := q.(*capacity.OxygenAnswer)
	if len(ox.Sites) != 2 || ox.Sites[0].Site != "SLH-MAIN" || ox.Sites[0].HoursLeft != 12 || ox.Sites[0].DaysTenth != 5 || ox.Sites[1].DaysTenth != 400 {
		t.Fatalf("oxygen sites: %+v %+v", ox.Sites[0], ox.Sites[1])
	}
	if r := ox.Regions[0]; r.Region != "NORTH" || r.Litres != 984_000 || r.BurnLPH != 3_000 || r.HoursLeft != 328 {
		t.Fatalf("oxygen NORTH: %+v", r)
	}
	near := func(lat, lon, needs string) []string {
		t.Helper()
		q, err := w.Query("slh", "/api/v1/capacity/nearest", url.Values{"lat": {lat}, "lon": {lon}, "needs": {needs}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range q.([]*capacity.Found) {
			ids = append(ids, f.Site)
		}
		return ids
	}
	// Near St Luke's, an ICU bed: St Luke's (1 free) first, Riverside, Eastfield.
	if got := near("51.5074", "-0.1278", "icu-bed"); len(got) != 3 || got[0] != "SLH-MAIN" || got[1] != "RGH-MAIN" || got[2] != "EFH-MAIN" {
		t.Fatalf("nearest ICU bed: %v", got)
	}
	// With a ventilator too: St Luke's has none free.
	if got := near("51.5074", "-0.1278", "icu-bed,ventilator"); len(got) != 2 || got[0] != "RGH-MAIN" {
		t.Fatalf("nearest ICU bed with a ventilator: %v", got)
	}
	// Dialysis is a service, with a machine free: St Luke's west offers
	// it but never reported.
	if got := near("51.5074", "-0.1278", "dialysis"); len(got) != 1 || got[0] != "RGH-MAIN" {
		t.Fatalf("nearest dialysis: %v", got)
	}
	if _, err := w.Query("slh", "/api/v1/capacity/nearest", url.Values{"lat": {"51.5"}, "lon": {"0"}, "needs": {"teleporter"}}); !errors.Is(err, capacity.ErrBadQuery) {
		t.Errorf("an unknown need: %v", err)
	}
	// A day later with no new report, Riverside and Eastfield are stale:
	// NORTH counts St Luke's only, and nearest finds nothing else.
	w.Advance(23 * time.Hour)
	w.Try(t, "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 20, InUse: 15}, {Type: "ventilator", Total: 10, InUse: 9}}}, nil)
	w.Commit()
	w.Advance(2 * time.Hour)
	if s := shortage(t, w, "NORTH", "ventilator"); s.Available != 1 || s.Stale != 2 || s.Sites != 1 {
		t.Fatalf("NORTH with Riverside stale: %+v", s)
	}
	if got := near("51.5074", "-0.1278", "icu-bed"); len(got) != 1 || got[0] != "SLH-MAIN" {
		t.Fatalf("nearest with stale sites: %v", got)
	}
	w.Try(t, "slh", capacity.TypeHold, capacity.HoldBody{ID: "H-9", Site: "RGH-MAIN", Type: "icu-bed", Units: 1, To: "SLH-MAIN", Minutes: 30}, capacity.ErrStale)
}

// TestNHSN: the week's report is the Wednesday snapshot of each site.
func TestNHSN(t *testing.T) {
	w := setup(t) // moduletest's clock starts on a Monday, 2026-06-01
	if _, err := w.Query("reg", "/api/v1/capacity/nhsn/2026-06-05", nil); !errors.Is(err, capacity.ErrBadQuery) {
		t.Fatalf("a Friday: %v", err)
	}
	w.Advance(50 * time.Hour) // Wednesday
	w.Try(t, "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 20, InUse: 17}, {Type: "general-bed", Total: 300, InUse: 250},
		{Type: "paediatric-bed", Total: 30, InUse: 10}, {Type: "ventilator", Total: 10, InUse: 7}}}, nil)
	w.Commit()
	w.Advance(24 * time.Hour) // Thursday's report is not the week's
	w.Try(t, "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-MAIN", Items: []capacity.Item{{Type: "icu-bed", Total: 20, InUse: 20}}}, nil)
	w.Commit()
	q, err := w.Query("reg", "/api/v1/capacity/nhsn/2026-06-06", nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*capacity.NHSNRow{}
	for _, r := range q.([]*capacity.NHSNRow) {
		rows[r.OrgID] = r
	}
	if r := rows["SLH-MAIN"]; r == nil || r.SnapshotDate != "2026-06-03" || r.NumInptBeds != 350 || r.NumInptBedsOcc != 277 || r.NumICUBeds != 20 || r.NumICUBedsOcc != 17 ||
		r.NumInptBedsPed != 30 || r.NumVent != 10 || r.NumVentUse != 7 {
		t.Fatalf("St Luke's week: %+v", r)
	}
	if r := rows["RGH-MAIN"]; r == nil || r.SnapshotDate != "2026-06-01" || r.NumICUBeds != 12 {
		t.Fatalf("Riverside's week (Monday's report): %+v", r)
	}
	if len(rows) != 3 {
		t.Fatalf("rows: %v", rows)
	}
	// A site that first reports on the Thursday gives that report, late.
	w.Try(t, "slh", capacity.TypeReport, capacity.ReportBody{Site: "SLH-WEST", Items: []capacity.Item{{Type: "general-bed", Total: 60, InUse: 41}}}, nil)
	w.Commit()
	q, err = w.Query("reg", "/api/v1/capacity/nhsn/2026-06-06", nil)
	if err != nil {
		t.Fatal(err)
	}
	late := q.([]*capacity.NHSNRow)
	if len(late) != 4 || late[3].OrgID != "SLH-WEST" || late[3].SnapshotDate != "2026-06-04" || late[3].NumInptBeds != 60 {
		t.Fatalf("the late site: %+v", late[len(late)-1])
	}
}

// The module declares every error it returns with a code of its own.
var _ = ledger.ErrUnauthorized

// TestHoldLimits: one facility holds at most 4 open holds on a site's
// type, unconfirmed for at most two hours, so it cannot take a
// competitor's site off everyone's count.
func TestHoldLimits(t *testing.T) {
	w := setup(t)
	hold := func(id string, minutes int64) capacity.HoldBody {
		return capacity.HoldBody{ID: id, Site: "EFH-MAIN", Type: "icu-bed", Units: 1, To: "RGH-MAIN", Minutes: minutes}
	}
	w.Try(t, "rgh", capacity.TypeHold, hold("L-0", 121), capacity.ErrBadHold)
	for i := range capacity.MaxPerHolder {
		w.Try(t, "rgh", capacity.TypeHold, hold(fmt.Sprintf("L-%d", i+1), 120), nil)
	}
	w.Try(t, "rgh", capacity.TypeHold, hold("L-9", 120), capacity.ErrHoldsFull)
	// Another facility still can.
	w.Try(t, "slh", capacity.TypeHold, capacity.HoldBody{ID: "L-10", Site: "EFH-MAIN", Type: "icu-bed", Units: 1, To: "SLH-MAIN", Minutes: 30}, nil)
	// A released hold frees its holder's place.
	w.Try(t, "efh", capacity.TypeRelease, capacity.HoldRef{Hold: "L-1"}, nil)
	w.Try(t, "rgh", capacity.TypeHold, hold("L-9", 120), nil)
}
