package capacity

import (
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
)

// facilities run sites, report and hold units.
var facilities = []string{"organisation:hospital", "organisation:clinic", "organisation:lab"}

var paging = []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "the last id of the page before"}}

// views is the queries' view of the state, shared by every reader in the
// process (the FHIR facade's too): it is kept by the version key, which
// names the last capacity transaction (its height and hash, so its chain).
var views = &cache{}

// CurrentView is capacity's state as the queries read it.
func CurrentView(r ledger.Reader) (*View, error) { return views.view(r) }

// Find is the site with the id in the view, or nil.
func (v *View) Find(id string) *SiteView {
	i, found := slices.BinarySearchFunc(v.Sites, id, func(s *SiteView, id string) int { return strings.Compare(s.ID, id) })
	if !found {
		return nil
	}
	return v.Sites[i]
}

// StatusOf is a site as shown at now and height, with its last report.
func StatusOf(s *SiteView, now time.Time, height int64) *SiteStatus {
	return status(s, now, height, true)
}

// Declare declares the capacity module (see ledger.Module).
func Declare() ledger.Module {
	c := views
	return ledger.Module{Name: "capacity", Doc: "Equipment and capacity: sites, equipment, signed status reports, regional need and shortages, days of oxygen, the nearest facility that can take a patient, and holds for transfers that never promise a unit twice.",
		Txs: routes(), Queries: queries(c), Keys: []ledger.KeySpace{
			// Sites, reports, equipment, regions and needs: to every
			// registered identity, as the queries show them.
			{Prefix: string(prefixAllCaps), Read: ledger.Members},
			// Who holds what for whom: the hold queries show a hold to
			// its two parties and the regulator; a proof, to the
			// regulator.
			{Prefix: string(prefixHold), Read: ledger.Regulator},
			{Prefix: string(prefixHolder), Read: ledger.Regulator},
			{Prefix: string(prefixActive), Read: ledger.Regulator},
		}}
}

func routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegion, Verb: "region add", Args: []string{"code", "name"}, Allow: []string{"organisation:regulator"}, Handle: ledger.Handle(region),
			Doc:     "The regulator registers a region (or renames one): sites are in regions, and needs are declared per region.",
			Example: `{"code":"NORTH","name":"Northern Region"}`},
		{Type: TypeSite, Verb: "site add", Args: []string{"id", "name", "region"}, Allow: facilities, Handle: ledger.Handle(site),
			Doc:     "A facility registers one of its sites, or changes it: its name, region, location (microdegrees) and the services it offers.",
			Example: `{"id":"SLH-MAIN","name":"St Luke's Hospital, main site","region":"NORTH","lat_e6":51507400,"lon_e6":-127800,"services":["emergency","icu","dialysis","oxygen"]}`},
		{Type: TypeEquipment, Verb: "equipment add", Args: []string{"id", "site", "type"}, Allow: facilities, Handle: ledger.Handle(equipment),
			Doc:     "A facility registers a unit of equipment at one of its sites: its type, model and serial (FHIR Device).",
			Example: `{"id":"SLH-VENT-07","site":"SLH-MAIN","type":"ventilator","model":"Hamilton C6","serial":"C6-2231907"}`},
		{Type: TypeReport, Args: []string{"site"}, Allow: facilities, Handle: ledger.Handle(report),
			Doc:     "A facility reports a site's status: per type, total, in use and out of service (available is the rest), and its oxygen stock in litres with its burn rate in litres an hour and the GRAI cylinders on site. A snapshot: it replaces the site's last.",
			Example: `{"site":"SLH-MAIN","items":[{"type":"icu-bed","total":24,"in_use":19,"out_of_service":1},{"type":"ventilator","total":18,"in_use":12,"out_of_service":2}],"oxygen":{"litres":480000,"burn_lph":2400,"cylinders":["(8003)00614141123452CYL-1"]}}`},
		{Type: TypeNeed, Args: []string{"region", "type", "units"}, Allow: []string{"organisation:regulator"}, Handle: ledger.Handle(need),
			Doc:     "The regulator declares what a region needs of a type (from a surge plan): shortage or surplus is answered against it. 0 withdraws it.",
			Example: `{"region":"NORTH","type":"ventilator","units":40,"note":"winter surge plan"}`},
		{Type: TypeHold, Verb: "hold place", Args: []string{"id", "site", "type", "units"}, Allow: facilities, Handle: ledger.Handle(hold),
			Doc:     "A facility holds units available at another's site for a transfer to one of its own sites, for some minutes: held units are not available to anyone else.",
			Example: `{"id":"H-2026-0001","site":"RGH-MAIN","type":"ventilator","units":1,"to":"SLH-MAIN","minutes":60}`},
		{Type: TypeConfirm, Verb: "hold confirm", Args: []string{"hold"}, Allow: facilities, Handle: ledger.Handle(confirm),
			Doc:     "The sending site's organisation confirms a hold: it stays promised for three days.",
			Example: `{"hold":"H-2026-0001"}`},
		{Type: TypeRelease, Verb: "hold release", Args: []string{"hold"}, Allow: facilities, Handle: ledger.Handle(release),
			Doc:     "Either party releases an open hold: its units are available again.",
			Example: `{"hold":"H-2026-0001"}`},
		{Type: TypeTransfer, Verb: "hold transfer", Args: []string{"hold"}, Allow: facilities, Handle: ledger.Handle(transfer),
			Doc:     "The sending site's organisation records a confirmed hold's units sent: a unit of equipment moves to the receiving site, and the units stay off the sender's count until it reports again.",
			Example: `{"hold":"H-2026-0001"}`},
	}
}

// SiteStatus is a site as the list shows it: where it is, what it has
// free now, and how old that is.
type SiteStatus struct {
	*Site
	Fresh      bool        `json:"fresh"`
	AgeSeconds int64       `json:"age_seconds"` // -1: never reported
	AgeBlocks  int64       `json:"age_blocks"`
	Available  []Available `json:"available"` // every type it reports; none when stale
	Report     *Report     `json:"report,omitempty"`
	Oxygen     *OxygenSite `json:"oxygen,omitempty"`
}

func status(s *SiteView, now time.Time, height int64, full bool) *SiteStatus {
	st := &SiteStatus{Site: s.Site, Fresh: s.Fresh(now), Available: []Available{}}
	st.AgeSeconds, st.AgeBlocks = s.Age(now, height)
	if s.Report != nil {
		for _, it := range s.Report.Items {
			st.Available = append(st.Available, Available{it.Type, s.Available(it.Type, now)})
		}
		if s.Report.Oxygen != nil {
			st.Oxygen = s.oxygen(now)
		}
		if full {
			st.Report = s.Report
		}
	}
	return st
}

// HoldView is a hold as shown: its status at the last block.
type HoldView struct {
	*Hold
	Now string `json:"status_now"`
}

func queries(c *cache) []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/capacity/regions", Name: "region list", Read: ledger.Members, Answer: []*Region{},
			Columns: ledger.Cols("REGION", "code", "NAME", "name"),
			Doc:     "The regions the regulator registered.",
			Handle: func(q *ledger.Request) (any, error) {
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				return v.Regions, nil
			}},
		{Path: "/api/v1/capacity/sites", Name: "site list", Read: ledger.Members, Answer: ledger.Page{Items: []*SiteStatus{}},
			Columns: ledger.Cols("SITE", "id", "NAME", "name", "ORG", "@org", "REGION", "region", "FRESH", "fresh", "AGE S", "age_seconds", "FREE", "available"),
			Doc:     "Sites by id, each with what it has free now (its last report, less what is held) and how old the report is, in seconds and blocks; a stale report counts as nothing free. region= narrows to a region.",
			Params:  append([]ledger.Param{{Name: "region", Doc: "a region code"}}, paging...),
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				region := q.Query.Get("region")
				i, _ := slices.BinarySearchFunc(v.Sites, after, func(s *SiteView, id string) int { return strings.Compare(s.ID, id) })
				if after != "" && i < len(v.Sites) && v.Sites[i].ID == after {
					i++
				}
				page := []*SiteStatus{}
				next := ""
				for ; i < len(v.Sites) && len(page) < limit; i++ {
					if s := v.Sites[i]; region == "" || s.Region == region {
						page = append(page, status(s, q.BlockTime, q.Height, false))
					}
				}
				if len(page) == limit && i < len(v.Sites) {
					next = page[len(page)-1].ID
				}
				return ledger.Page{Items: page, Next: next}, nil
			}},
		{Path: "/api/v1/capacity/sites/{id}", Name: "site show", Read: ledger.Members, Answer: &SiteStatus{},
			Doc: "A site: where it is, its services, its last report in full, what it has free now and how old that is.",
			Handle: func(q *ledger.Request) (any, error) {
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				s := v.Find(q.Path("id"))
				if s == nil {
					return nil, ErrUnknownSite.Wrapf("%q", q.Path("id"))
				}
				return status(s, q.BlockTime, q.Height, true), nil
			}},
		{Path: "/api/v1/capacity/equipment/{id}", Name: "equipment show", Read: ledger.Members, Answer: &Equipment{},
			Doc: "A unit of equipment: its type, model, serial, site, the hold promising it and how often it moved.",
			Handle: func(q *ledger.Request) (any, error) {
				return GetEquipment(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/capacity/shortages", Name: "shortages", Read: ledger.Members, Answer: []*Shortage{},
			Columns: ledger.Cols("REGION", "region", "TYPE", "type", "NEED", "need", "FREE", "available", "SHORTAGE", "shortage", "SURPLUS", "surplus", "SITES", "sites", "STALE SITES", "stale"),
			Doc:     "Per region and type: the need the regulator declared, the units free at sites whose report is fresh (less what is held), and the shortage or surplus against the need; stale sites are counted apart. In integers, the same on every node.",
			Params:  []ledger.Param{{Name: "region", Doc: "a region code"}},
			Handle: func(q *ledger.Request) (any, error) {
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				return v.Shortages(q.BlockTime, q.Query.Get("region")), nil
			}},
		{Path: "/api/v1/capacity/oxygen", Name: "oxygen", Read: ledger.Members, Answer: &OxygenAnswer{},
			Doc:    "Oxygen supply: per site its stock, burn rate, hours and tenths of days left, those that run out first first; per region the fresh sites together.",
			Params: []ledger.Param{{Name: "region", Doc: "a region code"}},
			Handle: func(q *ledger.Request) (any, error) {
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				return v.Oxygen(q.BlockTime, q.Query.Get("region")), nil
			}},
		{Path: "/api/v1/capacity/nearest", Name: "nearest", Read: ledger.Members, Answer: []*Found{},
			Columns: ledger.Cols("SITE", "site", "NAME", "name", "REGION", "region", "DISTANCE M", "distance_m", "FREE", "available", "AGE S", "age_seconds"),
			Doc:     "The nearest sites that can take a patient now: a fresh report, every service asked for (with a unit of it free: dialysis, a dialysis machine), at least one free unit of every type asked for; nearest first, then the most available, then the freshest. The location is not kept.",
			Params: []ledger.Param{{Name: "lat", Doc: "latitude in decimal degrees", Required: true}, {Name: "lon", Doc: "longitude in decimal degrees", Required: true},
				{Name: "needs", Doc: "types and services, comma-separated (icu-bed,ventilator)", Required: true}, {Name: "limit", Doc: "1-50 (default 5)"}},
			Handle: func(q *ledger.Request) (any, error) {
				lat, err := parseDegrees(q.Query.Get("lat"), 90)
				if err != nil {
					return nil, err
				}
				lon, err := parseDegrees(q.Query.Get("lon"), 180)
				if err != nil {
					return nil, err
				}
				types, services, err := ParseNeeds(q.Query.Get("needs"))
				if err != nil {
					return nil, err
				}
				limit, err := q.Limit(5, 50)
				if err != nil {
					return nil, err
				}
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				return v.Nearest(lat, lon, types, services, limit, q.BlockTime, q.Height), nil
			}},
		{Path: "/api/v1/capacity/holds", Name: "hold list", Read: ledger.Members, Answer: ledger.Page{Items: []*HoldView{}},
			Columns: ledger.Cols("HOLD", "id", "SITE", "site", "TYPE", "type", "UNITS", "units", "TO", "to", "STATUS", "status_now", "EXPIRES", "expires"),
			Doc:     "Holds your organisation placed or is asked to honour, newest first (every hold, by id, for the regulator).",
			Params:  paging,
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				if q.Caller.IsRegulator() {
					page, next, err := ledger.ScanPage[Hold](q.State, prefixHold, after, limit, nil)
					return ledger.Page{Items: holdViews(page, q.BlockTime), Next: next}, err
				}
				if q.Caller.Kind != ledger.KindOrganisation && q.Caller.Kind != ledger.KindPractitioner {
					return nil, ErrNotShown
				}
				page, next, err := ledger.IndexedPage(q.State, ledger.Key(prefixHolder, q.Caller.ActsFor(), ""), after, true, limit, holdByIndex, nil)
				return ledger.Page{Items: holdViews(page, q.BlockTime), Next: next}, err
			}},
		{Path: "/api/v1/capacity/holds/{id}", Name: "hold show", Read: ledger.Members, Answer: &HoldView{},
			Doc: "A hold and its steps: to its two organisations and the regulator.",
			Handle: func(q *ledger.Request) (any, error) {
				h, err := GetHold(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !q.Caller.IsRegulator() && h.Holder != q.Caller.ActsFor() && h.Owner != q.Caller.ActsFor() {
					return nil, ErrUnknownHold.Wrapf("%q", q.Path("id"))
				}
				return &HoldView{Hold: h, Now: h.StatusAt(q.BlockTime)}, nil
			}},
		{Path: "/api/v1/capacity/nhsn/{week}", Name: "nhsn", Read: ledger.Members, Answer: []*NHSNRow{},
			Columns: ledger.Cols("SITE", "orgid", "WEEK ENDING", "weekendingdate", "SNAPSHOT", "snapshotdate", "BEDS", "numinptbeds", "OCC", "numinptbedsocc", "ICU", "numicubeds", "ICU OCC", "numicubedsocc", "VENT", "numvent", "VENT USE", "numventuse"),
			Doc:     "The week's bed-capacity report in the shape of NHSN's Hospital Respiratory Data weekly submission, per site: the snapshot in force on the Wednesday of the week ending on the Saturday given (YYYY-MM-DD). To organisations.",
			Handle: func(q *ledger.Request) (any, error) {
				if q.Caller.Kind != ledger.KindOrganisation { // a report for the facilities and the authority
					return nil, ErrNotShown
				}
				v, err := c.view(q.State)
				if err != nil {
					return nil, err
				}
				return v.NHSN(q.State, q.Path("week"))
			}},
	}
}

// holdByIndex reads the hold an index entry (<height BE>/<id>) names.
func holdByIndex(r ledger.Reader, rest string) (*Hold, error) {
	if len(rest) < 9 {
		return nil, ErrUnknownHold
	}
	return GetHold(r, rest[9:])
}

func holdViews(hs []*Hold, now time.Time) []*HoldView {
	out := make([]*HoldView, 0, len(hs))
	for _, h := range hs {
		out = append(out, &HoldView{Hold: h, Now: h.StatusAt(now)})
	}
	return out
}
