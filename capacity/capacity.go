// Package capacity is equipment and capacity on the ledger (SPEC F7):
// facilities register their sites (a location in microdegrees, a region,
// the services they offer) and their equipment; they report, per site and
// type, how many units they have, how many are in use and out of service,
// and their oxygen stock and burn rate; the regulator registers regions and
// declares what each needs. Every member reads the same answers, computed
// in integers from committed state: shortage or surplus per region and
// type, days of oxygen per site and region, which sites run out first.
// A report older than StaleAfter is marked stale and counts as nothing
// available. A facility holds units at another's site for a transfer
// (hold → confirm → transfer, with expiry), so the same unit is never
// promised twice, and a transferred unit of equipment changes site like
// custody.
//
// Nothing here is about a patient: a nearest-facility search takes the
// patient's location as a query parameter, never writes it, and measures
// distance with floating point in the query path only.
package capacity

import (
	"regexp"
	"slices"
	"time"

	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeRegion    = "capacity.region"
	TypeSite      = "capacity.site"
	TypeEquipment = "capacity.equipment"
	TypeReport    = "capacity.report"
	TypeNeed      = "capacity.need"
	TypeHold      = "capacity.hold"
	TypeConfirm   = "capacity.confirm"
	TypeRelease   = "capacity.release"
	TypeTransfer  = "capacity.transfer"
)

// Types are the kinds of unit a site counts.
var Types = []string{
	"icu-bed", "general-bed", "paediatric-bed", "paediatric-icu-bed",
	"ventilator", "paediatric-ventilator", "oxygen-concentrator",
	"dialysis-machine", "mri", "ct", "ecmo",
}

// Services are what a site offers.
var Services = []string{
	"emergency", "icu", "paediatric-icu", "dialysis", "mri", "ct", "maternity",
	"paediatric-ventilation", "ecmo", "oxygen", "surgery", "burns",
}

// Limits: every transaction's work is bounded by the transaction.
const (
	MaxItems      = 16        // lines of one report (at least len(Types))
	MaxUnits      = 1_000_000 // of one type at one site
	MaxLitres     = 1_000_000_000
	MaxBurn       = 10_000_000 // litres an hour
	MaxCylinders  = 100        // GRAI cylinders a report links
	MaxActive     = 32         // open holds on one site's type
	MaxHoldUnits  = 100
	MaxHoldMins   = 120     // a hold lasts at most two hours unconfirmed
	MaxPerHolder  = 4       // open holds of one holder on one site's type
	MaxSitesOrg   = 200     // sites of one organisation
	ConfirmedMins = 72 * 60 // and a confirmed one three days
	MaxText       = 200
	MaxServices   = 16 // at least len(Services)
)

// StaleAfter is how old a report may be and still count: NHSN asks for
// daily values, so a site silent for a day is not counted as available.
const StaleAfter = 24 * time.Hour

// Hold statuses.
const (
	HoldHeld        = "held"
	HoldConfirmed   = "confirmed"
	HoldTransferred = "transferred"
	HoldReleased    = "released"
	HoldExpired     = "expired" // shown, never stored
)

// Region is a region the regulator registered.
type Region struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	By     string `json:"by"`
	Height int64  `json:"height"`
}

// Site is a facility's site.
type Site struct {
	ID       string   `json:"id"`
	Org      string   `json:"org"`
	Name     string   `json:"name"`
	Region   string   `json:"region"`
	LatE6    int64    `json:"lat_e6" doc:"latitude in microdegrees (-90000000 to 90000000)"`
	LonE6    int64    `json:"lon_e6" doc:"longitude in microdegrees (-180000000 to 180000000)"`
	Services []string `json:"services"`
	Height   int64    `json:"height"`
}

// Equipment is a registered unit (FHIR Device).
type Equipment struct {
	ID     string `json:"id"`
	Site   string `json:"site"`
	Org    string `json:"org"`
	Type   string `json:"type"`
	Model  string `json:"model"`
	Serial string `json:"serial"`
	// Hold is the open hold promising it, if any.
	Hold string `json:"hold,omitempty"`
	// Moves counts its transfers between sites.
	Moves  int64 `json:"moves"`
	Height int64 `json:"height"`
}

// Item is one type's count in a report.
type Item struct {
	Type         string `json:"type"`
	Total        int64  `json:"total"`
	InUse        int64  `json:"in_use"`
	OutOfService int64  `json:"out_of_service"`
}

// Available is what is free: total less in use and out of service.
func (i Item) Available() int64 { return i.Total - i.InUse - i.OutOfService }

// Oxygen is a site's oxygen: its stock and how fast it is used.
type Oxygen struct {
	Litres  int64 `json:"litres"`
	BurnLPH int64 `json:"burn_lph" doc:"litres used an hour"`
	// Cylinders are the GRAI codes of the cylinders on site (the supply
	// module's returnable assets).
	Cylinders []string `json:"cylinders,omitempty"`
}

// Report is a site's signed snapshot.
type Report struct {
	Site   string  `json:"site"`
	Items  []Item  `json:"items"`
	Oxygen *Oxygen `json:"oxygen,omitempty"`
	By     string  `json:"by"`
	Time   string  `json:"time"` // block time, RFC 3339
	Height int64   `json:"height"`
}

// Need is what a region needs of a type.
type Need struct {
	Region string `json:"region"`
	Type   string `json:"type"`
	Units  int64  `json:"units"`
	Note   string `json:"note,omitempty"`
	By     string `json:"by"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

// Hold is a promise of units at a site to another facility.
type Hold struct {
	ID        string `json:"id"`
	Site      string `json:"site"`
	Type      string `json:"type"`
	Units     int64  `json:"units"`
	Equipment string `json:"equipment,omitempty"`
	// To is the receiving site (the holder's).
	To      string `json:"to"`
	Holder  string `json:"holder"` // the receiving organisation
	Owner   string `json:"owner"`  // the sending site's organisation
	Status  string `json:"status"`
	Expires string `json:"expires"` // RFC 3339; none once transferred
	Steps   []Step `json:"steps"`
	Height  int64  `json:"height"`
}

// Step is one move of a hold.
type Step struct {
	Status string `json:"status"`
	By     string `json:"by"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

// activeHold is a hold as the site's index keeps it: enough to count what
// it takes from the site's available units without reading the hold.
type activeHold struct {
	ID      string `json:"id"`
	Holder  string `json:"holder,omitempty"` // open holds: who holds it
	Units   int64  `json:"units"`
	Status  string `json:"status"`
	Expires string `json:"expires,omitempty"`
	Height  int64  `json:"height"` // of the transfer, when transferred
}

// counts says whether the entry still takes units at time t, with the
// site's last report made at height reported: an open hold until it
// expires, a transfer until the sending site reports again.
func (a activeHold) counts(t string, reported int64) bool {
	switch a.Status {
	case HoldHeld, HoldConfirmed:
		return a.Expires > t
	case HoldTransferred:
		return a.Height >= reported
	}
	return false
}

// Errors.
var (
	ErrBadRegion      = ledger.NewError("capacity", 1, "bad_region", 400, "a region has a code (2-20 of A-Z, 0-9, -) and a name (1-200 characters)")
	ErrUnknownRegion  = ledger.NewError("capacity", 2, "unknown_region", 404, "no such region: the regulator registers regions first (primum capacity region)")
	ErrBadSite        = ledger.NewError("capacity", 3, "bad_site", 400, "a site has an id (3-40 of A-Z, a-z, 0-9, -), a name (1-200 characters), a region, a location and the services it offers from the list (docs/capacity.md)")
	ErrBadLocation    = ledger.NewError("capacity", 4, "bad_location", 400, "latitude is -90000000 to 90000000 microdegrees and longitude -180000000 to 180000000")
	ErrUnknownSite    = ledger.NewError("capacity", 5, "unknown_site", 404, "no such site")
	ErrNotYourSite    = ledger.NewError("capacity", 6, "not_your_site", 403, "a site is its organisation's: only it registers, reports or sends from it")
	ErrUnknownType    = ledger.NewError("capacity", 7, "unknown_type", 400, "the type is not one of the unit types (docs/capacity.md)")
	ErrBadReport      = ledger.NewError("capacity", 8, "bad_report", 400, "a report counts each type once, 0 to 1,000,000 units, and an oxygen stock of 0 to 1e9 litres burnt at 0 to 1e7 litres an hour with at most 100 cylinders")
	ErrUsageOverTotal = ledger.NewError("capacity", 9, "usage_above_total", 400, "in use and out of service together cannot exceed the total")
	ErrBadEquipment   = ledger.NewError("capacity", 10, "bad_equipment", 400, "equipment has an id (3-40 of A-Z, a-z, 0-9, -), a type, a model and a serial (1-200 characters)")
	ErrExists         = ledger.NewError("capacity", 11, "exists", 409, "that id is taken, or your organisation has 200 sites")
	ErrBadNeed        = ledger.NewError("capacity", 12, "bad_need", 400, "a need is 0 to 1,000,000 units of a type in a region, with a note of at most 200 characters")
	ErrBadHold        = ledger.NewError("capacity", 13, "bad_hold", 400, "a hold is 1-100 units of a type at another organisation's site, for one of your sites, for 1-120 minutes (one unit when it names the equipment)")
	ErrUnavailable    = ledger.NewError("capacity", 14, "unavailable", 409, "the site does not have that many units available now (its report, less what is held): ask another site (primum capacity nearest)")
	ErrStale          = ledger.NewError("capacity", 15, "stale_report", 409, "the site has not reported within a day: nothing there counts as available until it reports")
	ErrUnknownHold    = ledger.NewError("capacity", 16, "unknown_hold", 404, "no such hold, or not yours")
	ErrHoldState      = ledger.NewError("capacity", 17, "hold_state", 409, "the hold is not in a state that allows this (a transfer needs a confirmed, unexpired hold)")
	ErrHoldsFull      = ledger.NewError("capacity", 18, "holds_full", 409, "the site's type has 32 open holds, or you have 4 there: confirm, transfer or release some first")
	ErrUnknownEquip   = ledger.NewError("capacity", 19, "unknown_equipment", 404, "no such equipment at that site")
	ErrEquipmentHeld  = ledger.NewError("capacity", 20, "equipment_held", 409, "that unit is promised to another hold already")
	ErrNotShown       = ledger.NewError("capacity", 21, "not_shown", 403, "holds are shown to organisations and their practitioners (each its own), the weekly report to organisations")
	ErrBadQuery       = ledger.NewError("capacity", 22, "bad_query", 400, "a parameter of the query is not valid (the detail says which)")
	ErrUnknownCyl     = ledger.NewError("capacity", 23, "unknown_cylinder", 404, "a cylinder a report names is not a returnable asset registered in the supply chain (primum supply register-asset)")
)

var (
	anID       = regexp.MustCompile(`^[A-Za-z0-9-]{3,40}$`)
	aRegion    = regexp.MustCompile(`^[A-Z0-9-]{2,20}$`)
	aGRAI      = regexp.MustCompile(`^\(8003\)[0-9]{14}[!-~]{0,16}$`)
	dateLayout = time.DateOnly
)

// State keys. Their layout is part of the app hash.
var (
	prefixRegion  = []byte("cap/g/")  // cap/g/<code> -> Region
	prefixSite    = []byte("cap/s/")  // cap/s/<site> -> Site
	prefixByOrg   = []byte("cap/o/")  // cap/o/<org>/<site> -> ""
	prefixOrgN    = []byte("cap/on/") // cap/on/<org> -> its number of sites (uint64 BE)
	prefixEquip   = []byte("cap/e/")  // cap/e/<id> -> Equipment
	prefixEqSite  = []byte("cap/es/") // cap/es/<site>/<id> -> ""
	prefixReport  = []byte("cap/r/")  // cap/r/<site> -> Report (the latest)
	prefixDaily   = []byte("cap/d/")  // cap/d/<site>/<date> -> Report (the day's last)
	prefixNeed    = []byte("cap/n/")  // cap/n/<region>/<type> -> Need
	prefixHold    = []byte("cap/h/")  // cap/h/<id> -> Hold
	prefixActive  = []byte("cap/a/")  // cap/a/<site>/<type> -> []activeHold (≤ MaxActive)
	prefixHolder  = []byte("cap/ho/") // cap/ho/<org>/<height BE>/<id> -> ""
	keyVersion    = []byte("cap/v")   // a hash chain over capacity's transactions: the query cache's key
	prefixAllCaps = []byte("cap/")
)

func get[T any](r ledger.Reader, prefix []byte, id string, notFound *ledger.Error) (*T, error) {
	var v T
	found, err := ledger.GetJSON(r, ledger.Key(prefix, id), &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound.Wrapf("%q", id)
	}
	return &v, nil
}

// GetSite reads a site.
func GetSite(r ledger.Reader, id string) (*Site, error) {
	return get[Site](r, prefixSite, id, ErrUnknownSite)
}

// GetRegion reads a region.
func GetRegion(r ledger.Reader, code string) (*Region, error) {
	return get[Region](r, prefixRegion, code, ErrUnknownRegion)
}

// GetEquipment reads a unit of equipment.
func GetEquipment(r ledger.Reader, id string) (*Equipment, error) {
	return get[Equipment](r, prefixEquip, id, ErrUnknownEquip)
}

// GetHold reads a hold.
func GetHold(r ledger.Reader, id string) (*Hold, error) {
	return get[Hold](r, prefixHold, id, ErrUnknownHold)
}

// LatestReport reads a site's latest report, nil if it never reported.
func LatestReport(r ledger.Reader, site string) (*Report, error) {
	var rep Report
	found, err := ledger.GetJSON(r, ledger.Key(prefixReport, site), &rep)
	if err != nil || !found {
		return nil, err
	}
	return &rep, nil
}

func knownType(t string) bool    { return slices.Contains(Types, t) }
func knownService(s string) bool { return slices.Contains(Services, s) }
