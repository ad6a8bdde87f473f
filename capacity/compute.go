package capacity

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/geo/s2"

	"github.com/primum-health/primum/ledger"
)

// The queries read every site, its latest report and its open holds. A
// national picture is thousands of sites, so they are read once per change
// of capacity's state (the version key every capacity transaction writes)
// into a View, and each query computes from it: integers for what every
// node must answer alike (shortages, oxygen), floating point only for the
// distance of a nearest-facility search.

// MaxViewSites bounds the sites a View reads.
const MaxViewSites = 50_000

// View is capacity's state as the queries read it.
type View struct {
	Version string
	Sites   []*SiteView // by id
	Regions []*Region   // by code
	Needs   []*Need     // by region, type
}

// SiteView is a site with its latest report and open holds.
type SiteView struct {
	*Site
	Report *Report
	// Active are the site's open holds and unreported transfers, by type.
	Active map[string][]activeHold
	ll     s2.LatLng
	// reported is the report's block time, Unix seconds (0: none).
	reported int64
}

// clock is a query's time, in the two forms the checks compare.
type clock struct {
	unix  int64
	stamp string
}

func clockAt(now time.Time) clock { return clock{now.Unix(), stamp(now)} }

func (s *SiteView) setReport(rep *Report) { s.Report, s.reported = rep, rep.madeAt() }

// madeAt is when the report was made (its block time), Unix seconds; 0
// if its time does not read.
func (r *Report) madeAt() int64 {
	t, err := time.Parse(time.RFC3339, r.Time)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// freshAt says whether a report made at made (madeAt) counts at now (Unix
// seconds): for StaleAfter. Block execution and the queries ask it alike.
func freshAt(made, now int64) bool { return made > 0 && now < made+int64(StaleAfter/time.Second) }

// free is what the report leaves free of a type at t (RFC 3339): its
// available units less what the site's open holds and unreported
// transfers take.
func (r *Report) free(typ string, active []activeHold, t string) int64 {
	var n int64
	for _, it := range r.Items {
		if it.Type == typ {
			n = it.Available()
		}
	}
	for _, a := range active {
		if a.counts(t, r.Height) {
			n -= a.Units
		}
	}
	return max(n, 0)
}

// cache keeps the last View built, by version.
type cache struct {
	mu   sync.Mutex
	last *View
}

// view is the View of r, read again only when capacity's state changed.
func (c *cache) view(r ledger.Reader) (*View, error) {
	version, err := versionOf(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && c.last.Version == version {
		return c.last, nil
	}
	v, err := ReadView(r)
	if err != nil {
		return nil, err
	}
	v.Version = version
	c.last = v
	return v, nil
}

// ReadView reads capacity's state.
func ReadView(r ledger.Reader) (*View, error) {
	v := &View{}
	byID := map[string]*SiteView{}
	var err error
	iterErr := r.Iterate(prefixSite, func(k, val []byte) bool {
		var s Site
		if err = ledger.DecodeState(val, &s); err != nil {
			return false
		}
		sv := &SiteView{Site: &s, Active: map[string][]activeHold{}, ll: s2.LatLngFromDegrees(float64(s.LatE6)/1e6, float64(s.LonE6)/1e6)}
		v.Sites = append(v.Sites, sv)
		byID[s.ID] = sv
		return len(v.Sites) < MaxViewSites
	})
	if err = errors.Join(iterErr, err); err != nil {
		return nil, err
	}
	iterErr = r.Iterate(prefixReport, func(k, val []byte) bool {
		var rep Report
		if err = ledger.DecodeState(val, &rep); err != nil {
			return false
		}
		if sv := byID[string(k[len(prefixReport):])]; sv != nil {
			sv.setReport(&rep)
		}
		return true
	})
	if err = errors.Join(iterErr, err); err != nil {
		return nil, err
	}
	iterErr = r.Iterate(prefixActive, func(k, val []byte) bool {
		site, typ, _ := strings.Cut(string(k[len(prefixActive):]), "/")
		var a []activeHold
		if err = ledger.DecodeState(val, &a); err != nil {
			return false
		}
		if sv := byID[site]; sv != nil {
			sv.Active[typ] = a
		}
		return true
	})
	if err = errors.Join(iterErr, err); err != nil {
		return nil, err
	}
	if v.Regions, err = ledger.ScanJSON[Region](r, prefixRegion, 10_000); err != nil {
		return nil, err
	}
	if v.Needs, err = ledger.ScanJSON[Need](r, prefixNeed, 100_000); err != nil {
		return nil, err
	}
	return v, nil
}

// Fresh says whether the site's report counts at now.
func (s *SiteView) Fresh(now time.Time) bool { return s.fresh(clockAt(now)) }

func (s *SiteView) fresh(c clock) bool {
	return s.Report != nil && freshAt(s.reported, c.unix)
}

// Available is what the site has free of a type at now: nothing if its
// report is stale.
func (s *SiteView) Available(typ string, now time.Time) int64 { return s.available(typ, clockAt(now)) }

func (s *SiteView) available(typ string, c clock) int64 {
	if !s.fresh(c) {
		return 0
	}
	return s.Report.free(typ, s.Active[typ], c.stamp)
}

// Age says how old a site's report is at now and height: seconds and
// blocks (-1 when it never reported).
func (s *SiteView) Age(now time.Time, height int64) (seconds, blocks int64) {
	if s.Report == nil {
		return -1, -1
	}
	t, err := time.Parse(time.RFC3339, s.Report.Time)
	if err != nil {
		return -1, -1
	}
	return int64(now.Sub(t) / time.Second), height - s.Report.Height
}

// Shortage is a region's picture of one type against its need.
type Shortage struct {
	Region    string `json:"region"`
	Type      string `json:"type"`
	Need      int64  `json:"need"`
	Total     int64  `json:"total"`     // at sites whose report is fresh
	Available int64  `json:"available"` // free, less what is held
	Shortage  int64  `json:"shortage"`  // need less available, when positive
	Surplus   int64  `json:"surplus"`   // available less need, when there is a need
	Sites     int64  `json:"sites"`     // sites with a fresh report of the type
	Stale     int64  `json:"stale"`     // sites of the region (whatever they report) whose report is stale or missing, not counted
}

// Shortages are every region's types with a need or a fresh report, at
// now, by region and type: integers, the same on every node.
func (v *View) Shortages(now time.Time, region string) []*Shortage {
	type rt struct{ region, typ string }
	at := map[rt]*Shortage{}
	get := func(region, typ string) *Shortage {
		k := rt{region, typ}
		if at[k] == nil {
			at[k] = &Shortage{Region: region, Type: typ}
		}
		return at[k]
	}
	for _, n := range v.Needs {
		if region == "" || n.Region == region {
			get(n.Region, n.Type).Need = n.Units
		}
	}
	stale := map[string]int64{}
	c := clockAt(now)
	for _, s := range v.Sites {
		if region != "" && s.Region != region {
			continue
		}
		if !s.fresh(c) {
			stale[s.Region]++
			continue
		}
		for _, it := range s.Report.Items {
			sh := get(s.Region, it.Type)
			sh.Total += it.Total
			sh.Available += s.available(it.Type, c)
			sh.Sites++
		}
	}
	out := make([]*Shortage, 0, len(at))
	for _, sh := range at {
		sh.Shortage = max(sh.Need-sh.Available, 0)
		if sh.Need > 0 { // a surplus is against a need
			sh.Surplus = max(sh.Available-sh.Need, 0)
		}
		sh.Stale = stale[sh.Region]
		out = append(out, sh)
	}
	slices.SortFunc(out, func(a, b *Shortage) int { return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Type, b.Type)) })
	return out
}

// OxygenSite is a site's oxygen supply.
type OxygenSite struct {
	Site      string `json:"site"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	Litres    int64  `json:"litres"`
	BurnLPH   int64  `json:"burn_lph"`
	HoursLeft int64  `json:"hours_left"` // -1: not burning
	DaysTenth int64  `json:"days_tenths"`
	Cylinders int64  `json:"cylinders"`
	Stale     bool   `json:"stale"`
	AgeSec    int64  `json:"age_seconds"`
}

// OxygenRegion is a region's oxygen, its fresh sites together.
type OxygenRegion struct {
	Region    string `json:"region"`
	Litres    int64  `json:"litres"`
	BurnLPH   int64  `json:"burn_lph"`
	HoursLeft int64  `json:"hours_left"`
	DaysTenth int64  `json:"days_tenths"`
	Sites     int64  `json:"sites"`
	Stale     int64  `json:"stale"`
}

// OxygenAnswer is the oxygen picture: sites that run out first first.
type OxygenAnswer struct {
	Sites   []*OxygenSite   `json:"sites"`
	Regions []*OxygenRegion `json:"regions"`
}

func hoursLeft(litres, burn int64) (hours, daysTenths int64) {
	if burn <= 0 {
		return -1, -1
	}
	return litres / burn, litres * 10 / (burn * 24)
}

// oxygen is the site's oxygen at now (its report has some).
func (s *SiteView) oxygen(now time.Time) *OxygenSite {
	o := s.Report.Oxygen
	age, _ := s.Age(now, 0)
	os := &OxygenSite{Site: s.ID, Name: s.Name, Region: s.Region, Litres: o.Litres, BurnLPH: o.BurnLPH, Cylinders: int64(len(o.Cylinders)), Stale: !s.Fresh(now), AgeSec: age}
	os.HoursLeft, os.DaysTenth = hoursLeft(o.Litres, o.BurnLPH)
	return os
}

// Oxygen is days of oxygen per site and region at now (integers: whole
// hours and tenths of days), sites that will run out first first; a stale
// report is shown, marked, and left out of its region's sum.
func (v *View) Oxygen(now time.Time, region string) *OxygenAnswer {
	out := &OxygenAnswer{Sites: []*OxygenSite{}, Regions: []*OxygenRegion{}}
	regions := map[string]*OxygenRegion{}
	for _, s := range v.Sites {
		if (region != "" && s.Region != region) || s.Report == nil || s.Report.Oxygen == nil {
			continue
		}
		o, os := s.Report.Oxygen, s.oxygen(now)
		out.Sites = append(out.Sites, os)
		r := regions[s.Region]
		if r == nil {
			r = &OxygenRegion{Region: s.Region}
			regions[s.Region] = r
			out.Regions = append(out.Regions, r)
		}
		if os.Stale {
			r.Stale++
			continue
		}
		r.Litres, r.BurnLPH, r.Sites = r.Litres+o.Litres, r.BurnLPH+o.BurnLPH, r.Sites+1
	}
	for _, r := range out.Regions {
		r.HoursLeft, r.DaysTenth = hoursLeft(r.Litres, r.BurnLPH)
	}
	// Runs out first: fewest hours left; not burning, then stale, last.
	rank := func(o *OxygenSite) int64 {
		switch {
		case o.Stale:
			return 1 << 62
		case o.HoursLeft < 0:
			return 1 << 61
		}
		return o.HoursLeft
	}
	slices.SortFunc(out.Sites, func(a, b *OxygenSite) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Site, b.Site)) })
	slices.SortFunc(out.Regions, func(a, b *OxygenRegion) int { return cmp.Compare(a.Region, b.Region) })
	return out
}

// Found is a site a nearest-facility search found.
type Found struct {
	Site       string      `json:"site"`
	Name       string      `json:"name"`
	Org        string      `json:"org"`
	Region     string      `json:"region"`
	LatE6      int64       `json:"lat_e6"`
	LonE6      int64       `json:"lon_e6"`
	DistanceM  int64       `json:"distance_m"`
	Available  []Available `json:"available"` // of each type asked for
	AgeSeconds int64       `json:"age_seconds"`
	AgeBlocks  int64       `json:"age_blocks"`
}

// Available is a type's free units at a found site.
type Available struct {
	Type  string `json:"type"`
	Units int64  `json:"units"`
}

// earthRadiusM is the mean radius of the Earth (IUGG), in metres.
const earthRadiusM = 6_371_008.8

// serviceUnits are the unit types a service needs free: a search for
// dialysis wants a dialysis machine free, not only a site that offers it.
var serviceUnits = map[string]string{
	"icu": "icu-bed", "paediatric-icu": "paediatric-icu-bed", "dialysis": "dialysis-machine", "mri": "mri", "ct": "ct",
	"ecmo": "ecmo", "paediatric-ventilation": "paediatric-ventilator",
}

// ParseNeeds splits a comma-separated list of types and services; a
// service that has a unit type asks for one of those free too.
func ParseNeeds(s string) (types, services []string, err error) {
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case knownType(n):
			if !slices.Contains(types, n) {
				types = append(types, n)
			}
		case knownService(n):
			services = append(services, n)
			if t := serviceUnits[n]; t != "" && !slices.Contains(types, t) {
				types = append(types, t)
			}
		default:
			return nil, nil, ErrBadQuery.Wrapf("%q is neither a unit type nor a service", n)
		}
	}
	if len(types)+len(services) == 0 {
		return nil, nil, ErrBadQuery.Wrapf("needs: at least one type or service")
	}
	return types, services, nil
}

// Nearest are the sites with a fresh report that offer every service
// asked for and have at least one unit of every type asked for free now,
// nearest first, then most available (the fewest of the types asked
// for), then freshest report; at most limit.
func (v *View) Nearest(lat, lon float64, types, services []string, limit int, now time.Time, height int64) []*Found {
	from := s2.LatLngFromDegrees(lat, lon)
	type cand struct {
		s     *SiteView
		dist  int64
		least int64
	}
	// The best limit, kept in order as they are found: a national search
	// touches every site but sorts only what it returns.
	better := func(a, b cand) bool {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(b.least, a.least), cmp.Compare(b.s.Report.Height, a.s.Report.Height), cmp.Compare(a.s.ID, b.s.ID)) < 0
	}
	cands := make([]cand, 0, limit+1)
	c := clockAt(now)
	for _, s := range v.Sites {
		if !s.fresh(c) {
			continue
		}
		ok := true
		for _, sv := range services {
			ok = ok && slices.Contains(s.Services, sv)
		}
		least := int64(1 << 62)
		for _, t := range types {
			n := s.available(t, c)
			ok = ok && n > 0
			least = min(least, n)
		}
		if !ok {
			continue
		}
		x := cand{s, int64(from.Distance(s.ll).Radians() * earthRadiusM), least}
		if len(cands) == limit && !better(x, cands[limit-1]) {
			continue
		}
		i := len(cands)
		for i > 0 && better(x, cands[i-1]) {
			i--
		}
		cands = slices.Insert(cands, i, x)
		if len(cands) > limit {
			cands = cands[:limit]
		}
	}
	out := []*Found{}
	for _, c := range cands {
		f := &Found{Site: c.s.ID, Name: c.s.Name, Org: c.s.Org, Region: c.s.Region, LatE6: c.s.LatE6, LonE6: c.s.LonE6, DistanceM: c.dist, Available: []Available{}}
		f.AgeSeconds, f.AgeBlocks = c.s.Age(now, height)
		for _, t := range types {
			f.Available = append(f.Available, Available{t, c.s.Available(t, now)})
		}
		out = append(out, f)
	}
	return out
}

// parseDegrees reads a latitude or longitude in decimal degrees.
func parseDegrees(s string, limit float64) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < -limit || f > limit || f != f {
		return 0, ErrBadQuery.Wrapf("%q is not a coordinate in degrees (-%g to %g)", s, limit, limit)
	}
	return f, nil
}
