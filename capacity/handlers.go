package capacity

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// Bodies.

// RegionBody is the body of capacity.region.
type RegionBody struct {
	Code string `json:"code" doc:"region code: 2-20 of A-Z, 0-9, -"`
	Name string `json:"name" doc:"its name"`
}

// SiteBody is the body of capacity.site: a new site, or a change to one
// of yours.
type SiteBody struct {
	ID       string   `json:"id" doc:"site id: 3-40 of A-Z, a-z, 0-9, -"`
	Name     string   `json:"name" doc:"its name"`
	Region   string   `json:"region" doc:"the region code it is in"`
	LatE6    int64    `json:"lat_e6" doc:"latitude in microdegrees (51.5 degrees north: 51500000)"`
	LonE6    int64    `json:"lon_e6" doc:"longitude in microdegrees (0.12 degrees west: -120000)"`
	Services []string `json:"services" doc:"services it offers (icu, dialysis, mri, ...)"`
}

// EquipmentBody is the body of capacity.equipment.
type EquipmentBody struct {
	ID     string `json:"id" doc:"equipment id: 3-40 of A-Z, a-z, 0-9, -"`
	Site   string `json:"site" doc:"the site it is at (yours)"`
	Type   string `json:"type" doc:"its unit type (ventilator, oxygen-concentrator, mri, ...)"`
	Model  string `json:"model" doc:"make and model"`
	Serial string `json:"serial" doc:"serial number"`
}

// ReportBody is the body of capacity.report.
type ReportBody struct {
	Site   string  `json:"site" doc:"your site"`
	Items  []Item  `json:"items"`
	Oxygen *Oxygen `json:"oxygen,omitempty"`
}

// NeedBody is the body of capacity.need.
type NeedBody struct {
	Region string `json:"region" doc:"region code"`
	Type   string `json:"type" doc:"unit type"`
	Units  int64  `json:"units" doc:"units the region needs (0 withdraws the need)"`
	Note   string `json:"note,omitempty" doc:"why (a surge plan, ...)"`
}

// HoldBody is the body of capacity.hold.
type HoldBody struct {
	ID        string `json:"id" doc:"hold id: 3-40 of A-Z, a-z, 0-9, -"`
	Site      string `json:"site" doc:"the site holding the units (another organisation's)"`
	Type      string `json:"type" doc:"unit type"`
	Units     int64  `json:"units" doc:"how many (1-100)"`
	Equipment string `json:"equipment,omitempty" doc:"a registered unit, if one is meant"`
	To        string `json:"to" doc:"your site that receives them"`
	Minutes   int64  `json:"minutes" doc:"how long the hold lasts unconfirmed (1-1440)"`
}

// HoldRef is the body of capacity.confirm, capacity.release and
// capacity.transfer.
type HoldRef struct {
	Hold string `json:"hold" doc:"the hold's id"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// text is a name people read: 1-200 bytes, no control or direction
// override character (identity.CheckName).
func text(s string) bool { return identity.CheckName(s, MaxText) == nil }

// changed records that capacity's state changed in this transaction: the
// version is a hash chain over every capacity transaction (its height and
// hash after the version before), so two states with one version had the
// same capacity transactions, and the queries' view kept by it is theirs.
func changed(ctx *ledger.Context) {
	old, err := ctx.State.Get(keyVersion)
	if err != nil {
		panic(&ledger.StorageError{Err: err}) // a storage error is not a rejection
	}
	h := sha256.New()
	h.Write(old)
	h.Write([]byte(ctx.ChainID + "\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(ctx.Height)))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(ctx.Time.UnixNano())))
	h.Write(ctx.TxHash)
	ctx.State.Set(keyVersion, h.Sum(nil))
}

// org is the signer's organisation.
func org(ctx *ledger.Context) string { return ctx.Signer.ActsFor() }

func region(ctx *ledger.Context, b *RegionBody) error {
	if !aRegion.MatchString(b.Code) || !text(b.Name) {
		return ErrBadRegion
	}
	if err := identity.CheckName(b.Name, MaxText); err != nil {
		return ErrBadRegion.Wrapf("name: %v", err)
	}
	ledger.SetJSON(ctx.State, ledger.Key(prefixRegion, b.Code), &Region{Code: b.Code, Name: b.Name, By: ctx.Signer.ID, Height: ctx.Height})
	changed(ctx)
	ctx.Emit("capacity.region", [2]string{"region", b.Code})
	return nil
}

func site(ctx *ledger.Context, b *SiteBody) error {
	if !anID.MatchString(b.ID) || !text(b.Name) || len(b.Services) > MaxServices {
		return ErrBadSite
	}
	if err := identity.CheckName(b.Name, MaxText); err != nil {
		return ErrBadSite.Wrapf("name: %v", err)
	}
	if b.LatE6 < -90_000_000 || b.LatE6 > 90_000_000 || b.LonE6 < -180_000_000 || b.LonE6 > 180_000_000 {
		return ErrBadLocation.Wrapf("%d, %d", b.LatE6, b.LonE6)
	}
	services := slices.Clone(b.Services)
	slices.Sort(services)
	for i, s := range services {
		if !knownService(s) || (i > 0 && services[i-1] == s) {
			return ErrBadSite.Wrapf("service %q", s)
		}
	}
	if services == nil {
		services = []string{}
	}
	if _, err := GetRegion(ctx.State, b.Region); err != nil {
		return err
	}
	old, err := GetSite(ctx.State, b.ID)
	switch {
	case err == nil && old.Org != org(ctx):
		return ErrExists.Wrapf("site %q is another organisation's", b.ID)
	case err != nil && !errors.Is(err, ErrUnknownSite):
		return err
	}
	s := &Site{ID: b.ID, Org: org(ctx), Name: b.Name, Region: b.Region, LatE6: b.LatE6, LonE6: b.LonE6, Services: services, Height: ctx.Height}
	if old != nil {
		s.Height = old.Height
	} else { // a new site: at most MaxSitesOrg an organisation
		k := ledger.Key(prefixOrgN, s.Org)
		n, err := ctx.State.Get(k)
		if err != nil {
			return err
		}
		count := uint64(0)
		if len(n) == 8 {
			count = binary.BigEndian.Uint64(n)
		}
		if count >= MaxSitesOrg {
			return ErrExists.Wrapf("your organisation has %d sites", count)
		}
		ctx.State.Set(k, binary.BigEndian.AppendUint64(nil, count+1))
	}
	ledger.SetJSON(ctx.State, ledger.Key(prefixSite, s.ID), s)
	ledger.SetPresent(ctx.State, ledger.Key(prefixByOrg, s.Org, s.ID))
	changed(ctx)
	ctx.Emit("capacity.site", [2]string{"site", s.ID}, [2]string{"region", s.Region})
	return nil
}

// ownSite reads a site the signer's organisation runs.
func ownSite(ctx *ledger.Context, id string) (*Site, error) {
	s, err := GetSite(ctx.State, id)
	if err != nil {
		return nil, err
	}
	if s.Org != org(ctx) {
		return nil, ErrNotYourSite.Wrapf("site %q", id)
	}
	return s, nil
}

func equipment(ctx *ledger.Context, b *EquipmentBody) error {
	if !anID.MatchString(b.ID) || !text(b.Model) || !text(b.Serial) {
		return ErrBadEquipment
	}
	if !knownType(b.Type) {
		return ErrUnknownType.Wrapf("%q", b.Type)
	}
	if _, err := ownSite(ctx, b.Site); err != nil {
		return err
	}
	if _, err := GetEquipment(ctx.State, b.ID); err == nil {
		return ErrExists.Wrapf("equipment %q", b.ID)
	} else if !errors.Is(err, ErrUnknownEquip) {
		return err
	}
	e := &Equipment{ID: b.ID, Site: b.Site, Org: org(ctx), Type: b.Type, Model: b.Model, Serial: b.Serial, Height: ctx.Height}
	ledger.SetJSON(ctx.State, ledger.Key(prefixEquip, e.ID), e)
	ledger.SetPresent(ctx.State, ledger.Key(prefixEqSite, e.Site, e.ID))
	changed(ctx)
	ctx.Emit("capacity.equipment", [2]string{"equipment", e.ID}, [2]string{"site", e.Site})
	return nil
}

// CheckReport checks a report's shape (no state read): each type known
// and once, counts in range, usage within the total, oxygen in range.
func CheckReport(b *ReportBody) error {
	if len(b.Items) == 0 && b.Oxygen == nil {
		return ErrBadReport.Wrapf("nothing reported")
	}
	if len(b.Items) > MaxItems {
		return ErrBadReport.Wrapf("%d items", len(b.Items))
	}
	seen := map[string]bool{}
	for _, it := range b.Items {
		if !knownType(it.Type) {
			return ErrUnknownType.Wrapf("%q", it.Type)
		}
		if seen[it.Type] {
			return ErrBadReport.Wrapf("%s twice", it.Type)
		}
		seen[it.Type] = true
		if it.Total < 0 || it.Total > MaxUnits || it.InUse < 0 || it.OutOfService < 0 || it.InUse > MaxUnits || it.OutOfService > MaxUnits {
			return ErrBadReport.Wrapf("%s: counts out of range", it.Type)
		}
		if it.InUse+it.OutOfService > it.Total {
			return ErrUsageOverTotal.Wrapf("%s: %d in use and %d out of service of %d", it.Type, it.InUse, it.OutOfService, it.Total)
		}
	}
	if o := b.Oxygen; o != nil {
		if o.Litres < 0 || o.Litres > MaxLitres || o.BurnLPH < 0 || o.BurnLPH > MaxBurn || len(o.Cylinders) > MaxCylinders {
			return ErrBadReport.Wrapf("oxygen out of range")
		}
		for _, c := range o.Cylinders {
			if !aGRAI.MatchString(c) {
				return ErrBadReport.Wrapf("cylinder %q is not a GRAI element string ((8003) and 14 digits, then a serial)", c)
			}
		}
	}
	return nil
}

func report(ctx *ledger.Context, b *ReportBody) error {
	if err := CheckReport(b); err != nil {
		return err
	}
	if _, err := ownSite(ctx, b.Site); err != nil {
		return err
	}
	// The cylinders are the supply chain's returnable assets (GRAI): each
	// one registered there (at most MaxCylinders reads).
	if b.Oxygen != nil {
		for _, c := range b.Oxygen.Cylinders {
			key, code, err := supply.KeyOf(c)
			if err != nil {
				return ErrBadReport.Wrapf("cylinder %q: %v", c, err)
			}
			if _, kind, _ := code.Key(); kind != gs1.KindGRAI {
				return ErrBadReport.Wrapf("cylinder %q is not a GRAI", c)
			}
			if _, err := supply.GetObject(ctx.State, key); errors.Is(err, supply.ErrUnknownObject) {
				return ErrUnknownCyl.Wrapf("%s", c)
			} else if err != nil {
				return err
			}
		}
	}
	items := slices.Clone(b.Items)
	slices.SortFunc(items, func(x, y Item) int { return cmp.Compare(x.Type, y.Type) })
	if items == nil {
		items = []Item{}
	}
	rep := &Report{Site: b.Site, Items: items, Oxygen: b.Oxygen, By: ctx.Signer.ID, Time: stamp(ctx.Time), Height: ctx.Height}
	ledger.SetJSON(ctx.State, ledger.Key(prefixReport, b.Site), rep)
	ledger.SetJSON(ctx.State, ledger.Key(prefixDaily, b.Site, ctx.Time.UTC().Format(dateLayout)), rep)
	// A transfer out of the site counted against it until this report,
	// which counts its units as they are now.
	for _, it := range items {
		k := ledger.Key(prefixActive, b.Site, it.Type)
		var active []activeHold
		if _, err := ledger.GetJSON(ctx.State, k, &active); err != nil {
			return err
		}
		kept := slices.DeleteFunc(slices.Clone(active), func(a activeHold) bool { return a.Status == HoldTransferred })
		if len(kept) != len(active) {
			putActive(ctx, k, kept)
		}
	}
	changed(ctx)
	ctx.Emit("capacity.report", [2]string{"site", b.Site})
	return nil
}

func putActive(ctx *ledger.Context, k []byte, active []activeHold) {
	if len(active) == 0 {
		ctx.State.Delete(k)
		return
	}
	ledger.SetJSON(ctx.State, k, active)
}

func need(ctx *ledger.Context, b *NeedBody) error {
	if b.Units < 0 || b.Units > MaxUnits || (b.Note != "" && !text(b.Note)) {
		return ErrBadNeed
	}
	if !knownType(b.Type) {
		return ErrUnknownType.Wrapf("%q", b.Type)
	}
	if _, err := GetRegion(ctx.State, b.Region); err != nil {
		return err
	}
	k := ledger.Key(prefixNeed, b.Region, b.Type)
	if b.Units == 0 {
		ctx.State.Delete(k)
	} else {
		ledger.SetJSON(ctx.State, k, &Need{Region: b.Region, Type: b.Type, Units: b.Units, Note: b.Note, By: ctx.Signer.ID, Time: stamp(ctx.Time), Height: ctx.Height})
	}
	changed(ctx)
	ctx.Emit("capacity.need", [2]string{"region", b.Region}, [2]string{"type", b.Type})
	return nil
}

// availableNow is what a site has of a type at time now: its report's
// available units less what its open holds and unreported transfers
// take, and the index of those holds. A stale or missing report is
// ErrStale.
func availableNow(r ledger.Reader, site, typ string, now time.Time) (int64, []activeHold, error) {
	rep, err := LatestReport(r, site)
	if err != nil {
		return 0, nil, err
	}
	if rep == nil || !freshAt(rep.madeAt(), now.Unix()) {
		return 0, nil, ErrStale.Wrapf("site %q", site)
	}
	var active []activeHold
	if _, err := ledger.GetJSON(r, ledger.Key(prefixActive, site, typ), &active); err != nil {
		return 0, nil, err
	}
	t := stamp(now)
	active = slices.DeleteFunc(active, func(a activeHold) bool { return !a.counts(t, rep.Height) })
	return rep.free(typ, active, t), active, nil
}

func hold(ctx *ledger.Context, b *HoldBody) error {
	if !anID.MatchString(b.ID) || b.Units < 1 || b.Units > MaxHoldUnits || b.Minutes < 1 || b.Minutes > MaxHoldMins || (b.Equipment != "" && b.Units != 1) {
		return ErrBadHold
	}
	if !knownType(b.Type) {
		return ErrUnknownType.Wrapf("%q", b.Type)
	}
	if _, err := GetHold(ctx.State, b.ID); err == nil {
		return ErrExists.Wrapf("hold %q", b.ID)
	} else if !errors.Is(err, ErrUnknownHold) {
		return err
	}
	to, err := ownSite(ctx, b.To)
	if err != nil {
		return err
	}
	from, err := GetSite(ctx.State, b.Site)
	if err != nil {
		return err
	}
	if from.Org == to.Org {
		return ErrBadHold.Wrapf("site %q is yours: move units between your own sites without a hold", b.Site)
	}
	var e *Equipment
	if b.Equipment != "" {
		if e, err = GetEquipment(ctx.State, b.Equipment); err != nil {
			return err
		}
		if e.Site != b.Site || e.Type != b.Type {
			return ErrUnknownEquip.Wrapf("%q is not a %s at %s", b.Equipment, b.Type, b.Site)
		}
		if e.Hold != "" {
			if h, err := GetHold(ctx.State, e.Hold); err != nil {
				return err
			} else if open(h, ctx.Time) {
				return ErrEquipmentHeld.Wrapf("%q: hold %s", e.ID, h.ID)
			}
		}
	}
	free, active, err := availableNow(ctx.State, b.Site, b.Type, ctx.Time)
	if err != nil {
		return err
	}
	if free < b.Units {
		return ErrUnavailable.Wrapf("%d %s available at %s, %d asked", free, b.Type, b.Site, b.Units)
	}
	nOpen, mine := 0, 0
	for _, a := range active {
		if a.Status == HoldHeld || a.Status == HoldConfirmed {
			nOpen++
			if a.Holder == org(ctx) {
				mine++
			}
		}
	}
	if nOpen >= MaxActive || mine >= MaxPerHolder {
		return ErrHoldsFull.Wrapf("%d open holds, %d of them yours", nOpen, mine)
	}
	if len(active) >= 2*MaxActive { // transfers the site has not reported since
		return ErrHoldsFull.Wrapf("%d transfers not reported yet", len(active)-nOpen)
	}
	if e != nil {
		e.Hold = b.ID
		ledger.SetJSON(ctx.State, ledger.Key(prefixEquip, e.ID), e)
	}
	expires := stamp(ctx.Time.Add(time.Duration(b.Minutes) * time.Minute))
	h := &Hold{ID: b.ID, Site: b.Site, Type: b.Type, Units: b.Units, Equipment: b.Equipment, To: b.To, Holder: org(ctx), Owner: from.Org,
		Status: HoldHeld, Expires: expires, Steps: []Step{{Status: HoldHeld, By: ctx.Signer.ID, Time: stamp(ctx.Time), Height: ctx.Height}}, Height: ctx.Height}
	ledger.SetJSON(ctx.State, ledger.Key(prefixHold, h.ID), h)
	putActive(ctx, ledger.Key(prefixActive, h.Site, h.Type), append(active, activeHold{ID: h.ID, Holder: h.Holder, Units: h.Units, Status: HoldHeld, Expires: expires}))
	ledger.SetPresent(ctx.State, holderKey(h.Holder, ctx.Height, h.ID))
	ledger.SetPresent(ctx.State, holderKey(h.Owner, ctx.Height, h.ID))
	changed(ctx)
	ctx.Emit("capacity.hold", [2]string{"hold", h.ID}, [2]string{"site", h.Site}, [2]string{"status", h.Status})
	return nil
}

func holderKey(org string, height int64, id string) []byte {
	k := binary.BigEndian.AppendUint64(ledger.Key(prefixHolder, org, ""), uint64(height))
	return append(append(k, '/'), id...)
}

// open says whether a hold still promises its units at now.
func open(h *Hold, now time.Time) bool {
	return (h.Status == HoldHeld || h.Status == HoldConfirmed) && h.Expires > stamp(now)
}

// StatusAt is a hold's status as shown at now: an open hold past its
// expiry is expired.
func (h *Hold) StatusAt(now time.Time) string {
	if (h.Status == HoldHeld || h.Status == HoldConfirmed) && h.Expires <= stamp(now) {
		return HoldExpired
	}
	return h.Status
}

// moveHold changes a hold's status (and its entry in the site's index).
func moveHold(ctx *ledger.Context, h *Hold, status string) error {
	k := ledger.Key(prefixActive, h.Site, h.Type)
	var active []activeHold
	if _, err := ledger.GetJSON(ctx.State, k, &active); err != nil {
		return err
	}
	rep, err := LatestReport(ctx.State, h.Site)
	if err != nil {
		return err
	}
	reported := int64(0)
	if rep != nil {
		reported = rep.Height
	}
	t := stamp(ctx.Time)
	active = slices.DeleteFunc(active, func(a activeHold) bool { return a.ID == h.ID || !a.counts(t, reported) })
	h.Status = status
	switch status {
	case HoldConfirmed:
		h.Expires = stamp(ctx.Time.Add(ConfirmedMins * time.Minute))
		active = append(active, activeHold{ID: h.ID, Holder: h.Holder, Units: h.Units, Status: status, Expires: h.Expires})
	case HoldTransferred:
		h.Expires = ""
		active = append(active, activeHold{ID: h.ID, Units: h.Units, Status: status, Height: ctx.Height})
	}
	putActive(ctx, k, active)
	h.Steps = append(h.Steps, Step{Status: status, By: ctx.Signer.ID, Time: t, Height: ctx.Height})
	ledger.SetJSON(ctx.State, ledger.Key(prefixHold, h.ID), h)
	if h.Equipment != "" && status != HoldConfirmed {
		e, err := GetEquipment(ctx.State, h.Equipment)
		if err != nil {
			return err
		}
		if e.Hold == h.ID {
			e.Hold = ""
		}
		if status == HoldTransferred { // custody moves to the receiving site
			to, err := GetSite(ctx.State, h.To)
			if err != nil {
				return err
			}
			ctx.State.Delete(ledger.Key(prefixEqSite, e.Site, e.ID))
			e.Site, e.Org, e.Moves = to.ID, to.Org, e.Moves+1
			ledger.SetPresent(ctx.State, ledger.Key(prefixEqSite, e.Site, e.ID))
		}
		ledger.SetJSON(ctx.State, ledger.Key(prefixEquip, e.ID), e)
	}
	changed(ctx)
	ctx.Emit("capacity.hold", [2]string{"hold", h.ID}, [2]string{"site", h.Site}, [2]string{"status", status})
	return nil
}

// partyHold reads a hold the signer's organisation is a party to.
func partyHold(ctx *ledger.Context, id string) (*Hold, error) {
	h, err := GetHold(ctx.State, id)
	if err != nil {
		return nil, err
	}
	if h.Holder != org(ctx) && h.Owner != org(ctx) {
		return nil, ErrUnknownHold.Wrapf("%q", id)
	}
	return h, nil
}

// confirm: the sending site's organisation agrees to send.
func confirm(ctx *ledger.Context, b *HoldRef) error {
	h, err := partyHold(ctx, b.Hold)
	if err != nil {
		return err
	}
	if h.Owner != org(ctx) {
		return ErrNotYourSite.Wrapf("the sending site's organisation confirms a hold")
	}
	if h.StatusAt(ctx.Time) != HoldHeld {
		return ErrHoldState.Wrapf("hold %s is %s", h.ID, h.StatusAt(ctx.Time))
	}
	return moveHold(ctx, h, HoldConfirmed)
}

// release: either party lets an open hold go.
func release(ctx *ledger.Context, b *HoldRef) error {
	h, err := partyHold(ctx, b.Hold)
	if err != nil {
		return err
	}
	if s := h.StatusAt(ctx.Time); s != HoldHeld && s != HoldConfirmed {
		return ErrHoldState.Wrapf("hold %s is %s", h.ID, s)
	}
	return moveHold(ctx, h, HoldReleased)
}

// transfer: the sending site's organisation records the units sent.
func transfer(ctx *ledger.Context, b *HoldRef) error {
	h, err := partyHold(ctx, b.Hold)
	if err != nil {
		return err
	}
	if h.Owner != org(ctx) {
		return ErrNotYourSite.Wrapf("the sending site's organisation records the transfer")
	}
	if s := h.StatusAt(ctx.Time); s != HoldConfirmed {
		return ErrHoldState.Wrapf("hold %s is %s: a transfer follows a confirmed hold", h.ID, s)
	}
	return moveHold(ctx, h, HoldTransferred)
}

// versionOf reads the key the query cache is kept by.
func versionOf(r ledger.Reader) (string, error) {
	v, err := r.Get(keyVersion)
	return hex.EncodeToString(v), err
}
