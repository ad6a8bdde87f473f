package supply

import (
	"encoding/json"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeRegisterProduct   = "supply.register_product"
	TypeCommission        = "supply.commission"
	TypeShip              = "supply.ship"
	TypeReceive           = "supply.receive"
	TypePack              = "supply.pack"
	TypeUnpack            = "supply.unpack"
	TypeDispense          = "supply.dispense"
	TypeDecommission      = "supply.decommission"
	TypeRecall            = "supply.recall"
	TypeReportSuspect     = "supply.report_suspect"
	TypeReleaseQuarantine = "supply.release_quarantine"
	TypeRegisterAsset     = "supply.register_asset"
	TypeAssetEvent        = "supply.asset_event"
)

// MaxCodes bounds identifiers per transaction.
const MaxCodes = 1000

var (
	dispensers = []string{"organisation:pharmacy", "organisation:hospital", "organisation:clinic", "practitioner"}
	anyOrg     = []string{"organisation"}
)

// objectReads names the objects a body's codes refer to (Route.Reads).
func objectReads[T any](codes func(*T) []string) func(body []byte) [][]byte {
	return func(body []byte) [][]byte {
		var m T
		if json.Unmarshal(body, &m) != nil {
			return nil
		}
		var keys [][]byte
		for _, code := range codes(&m) {
			if key, _, err := KeyOf(code); err == nil {
				keys = append(keys, k(prefixObject, key))
			}
		}
		return keys
	}
}

// captureCodes are the codes a capture's events name.
func captureCodes(m *Capture) []string {
	var codes []string
	for _, e := range m.Events {
		codes = append(codes, e.Codes...)
		if e.Parent != "" {
			codes = append(codes, e.Parent)
		}
	}
	return codes
}

// Routes are the transactions of this module.
func Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegisterProduct, Allow: []string{"organisation:manufacturer"}, Handle: registerProduct, Body: ledger.BodyOf[RegisterProduct](),
			Doc: "A manufacturer registers a product by GTIN.", Example: `{"gtin":"09506000134352","name":"Amoxicillin","form":"capsule","strength":"500 mg"}`},
		{Type: TypeCommission, Allow: []string{"organisation:manufacturer"}, Handle: commission, Body: ledger.BodyOf[Commission](),
			Doc: "The product's manufacturer commissions serialised packs of one lot.", Example: `{"gtin":"09506000134352","lot":"L1","expiry":"2028-06-30","serials":["S1","S2"]}`},
		{Type: TypeShip, Allow: anyOrg, Handle: ship, Body: ledger.BodyOf[Ship](), Reads: objectReads(func(m *Ship) []string { return m.Codes }),
			Doc: "The custodian ships packs or containers (with their contents) to another member.", Example: `{"codes":["(01)09506000134352(21)S1"],"to":"<org id>"}`},
		{Type: TypeReceive, Allow: anyOrg, Handle: receive, Body: ledger.BodyOf[Receive](), Reads: objectReads(func(m *Receive) []string { return m.Codes }),
			Doc: "The receiver named by a shipment takes custody.", Example: `{"codes":["(01)09506000134352(21)S1"]}`},
		{Type: TypePack, Allow: anyOrg, Handle: pack, Body: ledger.BodyOf[Pack](),
			Doc: "The custodian packs objects into a case or pallet (SSCC), created if new.", Example: `{"parent":"(00)106141412345678908","children":["(01)09506000134352(21)S1"]}`},
		{Type: TypeUnpack, Allow: anyOrg, Handle: unpack, Body: ledger.BodyOf[Pack](),
			Doc: "The custodian unpacks a container (all children when none are named).", Example: `{"parent":"(00)106141412345678908"}`},
		{Type: TypeDispense, Allow: dispensers, Handle: dispense, Body: ledger.BodyOf[Dispense](), Reads: objectReads(func(m *Dispense) []string { return []string{m.Code} }),
			Doc: "A pharmacy, hospital or their pharmacist dispenses a pack, once. Nothing about the patient is recorded.", Example: `{"code":"(01)09506000134352(21)S1"}`},
		{Type: TypeDecommission, Allow: anyOrg, Handle: decommission, Body: ledger.BodyOf[Decommission](), Reads: objectReads(func(m *Decommission) []string { return m.Codes }),
			Doc: "The custodian takes objects out of the supply chain for good.", Example: `{"codes":["(01)09506000134352(21)S1"],"reason":"destroyed"}`},
		{Type: TypeRecall, Allow: []string{"organisation:manufacturer", "organisation:regulator"}, Handle: recall, Body: ledger.BodyOf[RecallLot](),
			Doc: "The manufacturer or the regulator recalls a lot, at once for every later verification.", Example: `{"gtin":"09506000134352","lot":"L1","reason":"contamination"}`},
		{Type: TypeReportSuspect, Allow: append([]string{"organisation"}, "practitioner"), Handle: reportSuspect, Body: ledger.BodyOf[ReportSuspect](),
			Doc: "Anyone in the chain reports a suspect pack; the custodian's or the regulator's report also quarantines it.", Example: `{"code":"(01)09506000134352(21)S1","reason":"damaged seal"}`},
		{Type: TypeReleaseQuarantine, Allow: []string{"organisation:regulator"}, Handle: releaseQuarantine, Body: ledger.BodyOf[Release](),
			Doc: "The regulator releases a quarantined pack.", Example: `{"code":"(01)09506000134352(21)S1"}`},
		{Type: TypeRegisterAsset, Allow: anyOrg, Handle: registerAsset, Body: ledger.BodyOf[RegisterAsset](),
			Doc: "An organisation registers a returnable asset (GRAI), e.g. an oxygen cylinder.", Example: `{"code":"(8003)00614141123452400","asset_type":"oxygen-cylinder-10l","inspection_due":"2027-06-01"}`},
		{Type: TypeRegisterLocation, Allow: anyOrg, Handle: registerLocation, Body: ledger.BodyOf[RegisterLocation](),
			Doc: "A member declares a GLN (site or party) so EPCIS documents naming it reach it.", Example: `{"gln":"0614141000005"}`},
		{Type: TypeCapture, Allow: anyOrg, Handle: capture, Body: ledger.BodyOf[Capture](), Reads: objectReads(captureCodes),
			Doc: "EPCIS events already translated by the node's /epcis/capture, applied all or none.", Example: `{"events":[{"step":"receive","codes":["(01)09506000134352(21)S1"]}]}`},
		{Type: TypeAssetEvent, Allow: anyOrg, Handle: assetEvent, Body: ledger.BodyOf[AssetEvent](),
			Doc: "The custodian records a fill, use, empty return or inspection of an asset.", Example: `{"code":"(8003)00614141123452400","action":"fill"}`},
	}
}

// Bodies.
type (
	RegisterProduct struct {
		GTIN     string `json:"gtin"`
		Name     string `json:"name"`
		Form     string `json:"form,omitempty"`
		Strength string `json:"strength,omitempty"`
	}
	Commission struct {
		GTIN    string   `json:"gtin"`
		Lot     string   `json:"lot"`
		Expiry  string   `json:"expiry"`
		Serials []string `json:"serials"`
		EventID string   `json:"event_id,omitempty"`
	}
	Ship struct {
		Codes   []string `json:"codes"`
		To      string   `json:"to"`
		EventID string   `json:"event_id,omitempty"`
	}
	Receive struct {
		Codes   []string `json:"codes"`
		EventID string   `json:"event_id,omitempty"`
	}
	Pack struct {
		Parent   string   `json:"parent"`
		Children []string `json:"children"`
		EventID  string   `json:"event_id,omitempty"`
	}
	Dispense struct {
		Code    string `json:"code"`
		EventID string `json:"event_id,omitempty"`
	}
	Decommission struct {
		Codes   []string `json:"codes"`
		Reason  string   `json:"reason"`
		EventID string   `json:"event_id,omitempty"`
	}
	RecallLot struct {
		GTIN   string `json:"gtin"`
		Lot    string `json:"lot"`
		Reason string `json:"reason"`
	}
	ReportSuspect struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	}
	Release struct {
		Code string `json:"code"`
	}
	RegisterAsset struct {
		Code          string `json:"code"`
		AssetType     string `json:"asset_type"`
		InspectionDue string `json:"inspection_due,omitempty"`
	}
	AssetEvent struct {
		Code          string `json:"code"`
		Action        string `json:"action"` // fill, use, empty, inspect
		InspectionDue string `json:"inspection_due,omitempty"`
		EventID       string `json:"event_id,omitempty"`
	}
)

// actor is the organisation acting: the signer, or a practitioner's organisation.
func actor(ctx *ledger.Context) string {
	if ctx.Signer.Kind == ledger.KindPractitioner {
		return ctx.Signer.OrgID
	}
	return ctx.Signer.ID
}

// KeyOf parses any GS1 identifier to its canonical key.
func KeyOf(code string) (string, *gs1.Code, error) {
	c, err := gs1.Parse(code)
	if err != nil {
		return "", nil, ErrBadCode.Wrapf("%q: %v", short(code), err)
	}
	key, _, err := c.Key()
	if err != nil {
		return "", nil, ErrBadCode.Wrapf("%q: %v", short(code), err)
	}
	return key, c, nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func checkCount(n int) error {
	if n == 0 {
		return ErrBadField.Wrapf("no identifiers given")
	}
	if n > MaxCodes {
		return ErrTooMany.Wrapf("%d", n)
	}
	return nil
}

// claimEvent makes an EPCIS event id idempotent: recorded once, refused after.
func claimEvent(ctx *ledger.Context, id string) error {
	if id == "" {
		return nil
	}
	if len(id) > 200 {
		return ErrBadField.Wrapf("event_id longer than 200")
	}
	key := k(prefixEventID, id)
	if b, err := ctx.State.Get(key); err != nil {
		return err
	} else if b != nil {
		return ErrDuplicateEvent.Wrapf("%s", short(id))
	}
	ledger.SetPresent(ctx.State, key)
	return nil
}

// EventSeen reports whether an EPCIS event id is already on the ledger.
func EventSeen(r ledger.Reader, id string) (bool, error) {
	b, err := r.Get(k(prefixEventID, id))
	return b != nil, err
}

func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, ErrBadExpiry.Wrapf("%q", s)
	}
	return t, nil
}

func registerProduct(ctx *ledger.Context, body []byte) error {
	var m RegisterProduct
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	c, err := gs1.Parse("(01)" + m.GTIN)
	if err != nil || len(m.GTIN) != 14 {
		return ErrBadCode.Wrapf("gtin must be 14 digits with a valid check digit")
	}
	if m.Name == "" || len(m.Name) > 200 || len(m.Form) > 100 || len(m.Strength) > 100 {
		return ErrBadField.Wrapf("name is required (≤200); form and strength ≤100")
	}
	if _, err := GetProduct(ctx.State, c.GTIN); err == nil {
		return ErrProductExists
	}
	ledger.SetJSON(ctx.State, k(prefixProduct, c.GTIN), Product{GTIN: c.GTIN, Name: m.Name, Form: m.Form, Strength: m.Strength,
		Manufacturer: ctx.Signer.ID, Height: ctx.Height})
	ctx.Emit("supply.product", [2]string{"gtin", c.GTIN})
	return nil
}

func commission(ctx *ledger.Context, body []byte) error {
	var m Commission
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	p, err := GetProduct(ctx.State, m.GTIN)
	if err != nil {
		return err
	}
	if p.Manufacturer != ctx.Signer.ID {
		return ErrNotManufacturer
	}
	if err := checkCount(len(m.Serials)); err != nil {
		return err
	}
	if _, err := parseDate(m.Expiry); err != nil {
		return err
	}
	if m.Lot == "" {
		return ErrBadField.Wrapf("lot is required")
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	for _, s := range m.Serials {
		c, err := gs1.Parse("(01)" + m.GTIN + "(21)" + s + "(10)" + m.Lot)
		if err != nil {
			return ErrBadCode.Wrapf("serial %q or lot: %v", short(s), err)
		}
		key, _, _ := c.Key()
		if b, err := ctx.State.Get(k(prefixObject, key)); err != nil {
			return err
		} else if b != nil {
			return ErrCommissioned.Wrapf("%s", key)
		}
		o := &Object{Key: key, Kind: gs1.KindSGTIN, GTIN: m.GTIN, Serial: s, Lot: m.Lot, Expiry: m.Expiry,
			Custodian: ctx.Signer.ID, Status: StatusActive, Commissioned: ctx.Height}
		addStep(ctx, o, Step{Action: "commission", EventID: m.EventID})
		putObject(ctx.State, o)
	}
	keys := make([]string, len(m.Serials))
	for i, s := range m.Serials {
		keys[i] = "sgtin:" + m.GTIN + "." + s
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", Disposition: "active",
		Keys: keys, Lot: m.Lot, Expiry: m.Expiry})
	ctx.Emit("supply.commissioned", [2]string{"gtin", m.GTIN}, [2]string{"lot", m.Lot})
	return nil
}

// movable loads an object the actor holds and may move.
func movable(ctx *ledger.Context, code string, allowInContainer bool) (*Object, error) {
	key, _, err := KeyOf(code)
	if err != nil {
		return nil, err
	}
	o, err := GetObject(ctx.State, key)
	if err != nil {
		return nil, err
	}
	if err := canMove(ctx, o, allowInContainer); err != nil {
		return nil, err
	}
	return o, nil
}

func canMove(ctx *ledger.Context, o *Object, allowInContainer bool) error {
	switch {
	case o.Status == StatusDispensed:
		return ErrDispensed.Wrapf("%s", o.Key)
	case o.Status != StatusActive && o.Status != StatusInTransit:
		return ErrDecommissioned.Wrapf("%s is %s", o.Key, o.Status)
	case o.Custodian != actor(ctx):
		return ErrNotCustodian.Wrapf("%s", o.Key)
	case o.Status == StatusInTransit:
		return ErrInTransit.Wrapf("%s", o.Key)
	case o.Parent != "" && !allowInContainer:
		return ErrInContainer.Wrapf("%s is in %s", o.Key, o.Parent)
	}
	return nil
}

// withContents returns o and everything packed in it, depth first.
func withContents(r ledger.Reader, o *Object) ([]*Object, error) {
	out := []*Object{o}
	children, err := Children(r, o.Key)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		co, err := GetObject(r, c)
		if err != nil {
			return nil, err
		}
		sub, err := withContents(r, co)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func ship(ctx *ledger.Context, body []byte) error {
	var m Ship
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	if err := checkCount(len(m.Codes)); err != nil {
		return err
	}
	// An EPCIS shipment may not name its receiver; then any member's
	// receipt matches it.
	if m.To != "" {
		to, err := identity.InGoodStanding(ctx.State, m.To, ctx.Time)
		if err != nil || to.Kind != ledger.KindOrganisation {
			return ErrUnknownOrg.Wrapf("%q", short(m.To))
		}
		if m.To == actor(ctx) {
			return ErrBadField.Wrapf("cannot ship to yourself")
		}
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	keys, err := moveAll(ctx, m.Codes, false, Step{Action: "ship", To: m.To, EventID: m.EventID}, func(x *Object) {
		x.Status, x.ShipTo = StatusInTransit, m.To
	})
	if err != nil {
		return err
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", Disposition: "in_transit", Keys: keys, To: m.To})
	ctx.Emit("supply.shipped", [2]string{"to", m.To})
	return nil
}

// moveAll applies change to each named object the actor may move and to
// everything packed in it, recording one custody step each. It returns the
// keys of the named objects.
func moveAll(ctx *ledger.Context, codes []string, allowInContainer bool, step Step, change func(*Object)) ([]string, error) {
	var keys []string
	for _, code := range codes {
		o, err := movable(ctx, code, allowInContainer)
		if err != nil {
			return nil, err
		}
		keys = append(keys, o.Key)
		all, err := withContents(ctx.State, o)
		if err != nil {
			return nil, err
		}
		for _, x := range all {
			change(x)
			addStep(ctx, x, step)
			putObject(ctx.State, x)
		}
	}
	return keys, nil
}

func receive(ctx *ledger.Context, body []byte) error {
	var m Receive
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	if err := checkCount(len(m.Codes)); err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	var keys []string
	for _, code := range m.Codes {
		key, _, err := KeyOf(code)
		if err != nil {
			return err
		}
		o, err := GetObject(ctx.State, key)
		if err != nil {
			return err
		}
		keys = append(keys, key)
		switch {
		case o.Status != StatusInTransit:
			if o.Status != StatusActive {
				return ErrDecommissioned.Wrapf("%s is %s", o.Key, o.Status)
			}
			return ErrNotShipped.Wrapf("%s", o.Key)
		case o.ShipTo != "" && o.ShipTo != actor(ctx):
			return ErrNotReceiver.Wrapf("%s", o.Key)
		case o.Parent != "":
			return ErrInContainer.Wrapf("%s is in %s: receive the container", o.Key, o.Parent)
		}
		all, err := withContents(ctx.State, o)
		if err != nil {
			return err
		}
		for _, x := range all {
			x.Status, x.ShipTo, x.Custodian = StatusActive, "", actor(ctx)
			addStep(ctx, x, Step{Action: "receive", EventID: m.EventID})
			putObject(ctx.State, x)
		}
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", Disposition: "in_progress", Keys: keys})
	ctx.Emit("supply.received", [2]string{"by", actor(ctx)})
	return nil
}

func pack(ctx *ledger.Context, body []byte) error {
	var m Pack
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	if err := checkCount(len(m.Children)); err != nil {
		return err
	}
	pkey, pc, err := KeyOf(m.Parent)
	if err != nil {
		return err
	}
	if pc.SSCC == "" {
		return ErrNotContainer.Wrapf("%s", pkey)
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	parent, err := GetObject(ctx.State, pkey)
	if err != nil {
		parent = &Object{Key: pkey, Kind: gs1.KindSSCC, Custodian: actor(ctx), Status: StatusActive, Commissioned: ctx.Height}
		addStep(ctx, parent, Step{Action: "create", EventID: m.EventID})
	} else if err := canMove(ctx, parent, true); err != nil {
		return err
	}
	var keys []string
	for _, code := range m.Children {
		o, err := movable(ctx, code, false)
		if err != nil {
			return err
		}
		keys = append(keys, o.Key)
		if o.Key == parent.Key {
			return ErrBadField.Wrapf("a container cannot contain itself")
		}
		o.Parent = parent.Key
		addStep(ctx, o, Step{Action: "pack", Parent: parent.Key, EventID: m.EventID})
		putObject(ctx.State, o)
		ledger.SetPresent(ctx.State, k(prefixChild, parent.Key, o.Key))
	}
	putObject(ctx.State, parent)
	recordEvent(ctx, Event{EventID: m.EventID, Type: "AggregationEvent", Action: "ADD", BizStep: "packing", Disposition: "in_progress", Keys: keys, Parent: parent.Key})
	ctx.Emit("supply.packed", [2]string{"parent", parent.Key})
	return nil
}

func unpack(ctx *ledger.Context, body []byte) error {
	var m Pack
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	if len(m.Children) > MaxCodes {
		return ErrTooMany
	}
	pkey, _, err := KeyOf(m.Parent)
	if err != nil {
		return err
	}
	parent, err := GetObject(ctx.State, pkey)
	if err != nil {
		return err
	}
	if err := canMove(ctx, parent, true); err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	var keys []string
	if len(m.Children) == 0 {
		if keys, err = Children(ctx.State, pkey); err != nil {
			return err
		}
	}
	for _, code := range m.Children {
		key, _, err := KeyOf(code)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	for _, key := range keys {
		o, err := GetObject(ctx.State, key)
		if err != nil {
			return err
		}
		if o.Parent != pkey {
			return ErrNotChild.Wrapf("%s", key)
		}
		o.Parent = ""
		addStep(ctx, o, Step{Action: "unpack", Parent: pkey, EventID: m.EventID})
		putObject(ctx.State, o)
		ctx.State.Delete(k(prefixChild, pkey, key))
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "AggregationEvent", Action: "DELETE", BizStep: "unpacking", Disposition: "in_progress", Keys: keys, Parent: pkey})
	ctx.Emit("supply.unpacked", [2]string{"parent", pkey})
	return nil
}

// dispensable applies the dispensing rules to a pack the actor holds.
func dispensable(r ledger.Reader, o *Object, now time.Time) error {
	if o.Kind != gs1.KindSGTIN {
		return ErrBadCode.Wrapf("only a serialised pack is dispensed")
	}
	if o.Quarantined {
		return ErrQuarantined.Wrapf("%s", o.Key)
	}
	if rc, err := GetRecall(r, o.GTIN, o.Lot); err != nil {
		return err
	} else if rc != nil {
		return ErrRecalled.Wrapf("lot %s of %s: %s", o.Lot, o.GTIN, rc.Reason)
	}
	if exp, err := parseDate(o.Expiry); err == nil && !now.Before(exp.AddDate(0, 0, 1)) {
		return ErrExpired.Wrapf("expired %s", o.Expiry)
	}
	return nil
}

func dispense(ctx *ledger.Context, body []byte) error {
	var m Dispense
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	o, err := movable(ctx, m.Code, false)
	if err != nil {
		return err
	}
	if err := dispensable(ctx.State, o, ctx.Time); err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	o.Status, o.DispensedBy, o.DispensedAt = StatusDispensed, actor(ctx), ctx.Time.Format(time.RFC3339)
	addStep(ctx, o, Step{Action: "dispense", EventID: m.EventID})
	putObject(ctx.State, o)
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: "dispensing", Disposition: "dispensed", Keys: []string{o.Key}})
	ctx.Emit("supply.dispensed", [2]string{"key", o.Key})
	return nil
}

func decommission(ctx *ledger.Context, body []byte) error {
	var m Decommission
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	status, ok := DecommissionReasons[m.Reason]
	if !ok {
		return ErrBadReason.Wrapf("%q (destroyed, stolen, damaged, expired or sample)", short(m.Reason))
	}
	if err := checkCount(len(m.Codes)); err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	keys, err := moveAll(ctx, m.Codes, true, Step{Action: "decommission", Note: m.Reason, EventID: m.EventID}, func(x *Object) {
		x.Status = status
	})
	if err != nil {
		return err
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "DELETE", BizStep: "decommissioning", Disposition: m.Reason, Keys: keys})
	return nil
}

func recall(ctx *ledger.Context, body []byte) error {
	var m RecallLot
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	p, err := GetProduct(ctx.State, m.GTIN)
	if err != nil {
		return err
	}
	if ctx.Signer.OrgType != "regulator" && p.Manufacturer != ctx.Signer.ID {
		return ErrNotManufacturer
	}
	if m.Lot == "" || len(m.Lot) > 20 || m.Reason == "" || len(m.Reason) > 300 {
		return ErrBadField.Wrapf("lot (≤20) and reason (≤300) are required")
	}
	ledger.SetJSON(ctx.State, k(prefixRecall, m.GTIN, m.Lot), Recall{GTIN: m.GTIN, Lot: m.Lot, By: ctx.Signer.ID, Reason: m.Reason,
		Time: ctx.Time.Format(time.RFC3339), Height: ctx.Height})
	ctx.Emit("supply.recalled", [2]string{"gtin", m.GTIN}, [2]string{"lot", m.Lot})
	return nil
}

func reportSuspect(ctx *ledger.Context, body []byte) error {
	var m ReportSuspect
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	if m.Reason == "" || len(m.Reason) > 300 {
		return ErrBadField.Wrapf("reason is required (≤300)")
	}
	key, _, err := KeyOf(m.Code)
	if err != nil {
		return err
	}
	o, err := GetObject(ctx.State, key)
	if err != nil {
		return err
	}
	o.Suspect = m.Reason
	if o.Custodian == actor(ctx) || ctx.Signer.OrgType == "regulator" {
		o.Quarantined = true
	}
	addStep(ctx, o, Step{Action: "report_suspect", Note: m.Reason})
	putObject(ctx.State, o)
	ctx.Emit("supply.suspect", [2]string{"key", key})
	return nil
}

func releaseQuarantine(ctx *ledger.Context, body []byte) error {
	var m Release
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	key, _, err := KeyOf(m.Code)
	if err != nil {
		return err
	}
	o, err := GetObject(ctx.State, key)
	if err != nil {
		return err
	}
	o.Quarantined, o.Suspect = false, ""
	addStep(ctx, o, Step{Action: "release_quarantine"})
	putObject(ctx.State, o)
	return nil
}

func registerAsset(ctx *ledger.Context, body []byte) error {
	var m RegisterAsset
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	key, c, err := KeyOf(m.Code)
	if err != nil {
		return err
	}
	if c.GRAI == "" {
		return ErrNotAsset
	}
	if m.AssetType == "" || len(m.AssetType) > 64 {
		return ErrBadField.Wrapf("asset_type is required (≤64)")
	}
	if m.InspectionDue != "" {
		if _, err := parseDate(m.InspectionDue); err != nil {
			return err
		}
	}
	if b, err := ctx.State.Get(k(prefixObject, key)); err != nil {
		return err
	} else if b != nil {
		return ErrCommissioned.Wrapf("%s", key)
	}
	o := &Object{Key: key, Kind: gs1.KindGRAI, Custodian: ctx.Signer.ID, Status: StatusActive, AssetType: m.AssetType,
		AssetState: "empty", InspectionDue: m.InspectionDue, Commissioned: ctx.Height}
	addStep(ctx, o, Step{Action: "register_asset"})
	putObject(ctx.State, o)
	recordEvent(ctx, Event{Type: "ObjectEvent", Action: "ADD", BizStep: "commissioning", Disposition: "active", Keys: []string{key}})
	return nil
}

func assetEvent(ctx *ledger.Context, body []byte) error {
	var m AssetEvent
	if err := ledger.DecodeBody(body, &m); err != nil {
		return err
	}
	o, err := movable(ctx, m.Code, true)
	if err != nil {
		return err
	}
	if o.Kind != gs1.KindGRAI {
		return ErrNotAsset
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	switch m.Action {
	case "fill":
		o.AssetState = "filled"
	case "use":
		o.AssetState = "in_use"
	case "empty":
		o.AssetState = "empty"
		o.Cycles++
	case "inspect":
		if _, err := parseDate(m.InspectionDue); err != nil {
			return ErrBadField.Wrapf("inspect needs the next inspection_due date")
		}
		o.InspectionDue = m.InspectionDue
	default:
		return ErrBadReason.Wrapf("action %q (fill, use, empty or inspect)", short(m.Action))
	}
	addStep(ctx, o, Step{Action: "asset_" + m.Action, EventID: m.EventID})
	putObject(ctx.State, o)
	step := "https://primum.dev/bizstep/" + m.Action
	if m.Action == "inspect" {
		step = "inspecting"
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: step, Keys: []string{o.Key}})
	return nil
}
