package supply

import (
	"errors"
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
	TypeUndoDispense      = "supply.undo_dispense"
	TypeDecommission      = "supply.decommission"
	TypeRecall            = "supply.recall"
	TypeReportSuspect     = "supply.report_suspect"
	TypeReleaseQuarantine = "supply.release_quarantine"
	TypeRegisterAsset     = "supply.register_asset"
	TypeAssetEvent        = "supply.asset_event"
)

// Limits that keep every transaction's work bounded by the transaction, not
// by what the state has grown into (docs/architecture.md).
const (
	// MaxCodes bounds identifiers per transaction.
	MaxCodes = 1000
	// MaxDepth bounds nesting: pallet → case → pack is 3.
	MaxDepth = 8
	// MaxContents bounds what one container holds, at any depth.
	MaxContents = 20_000
	// MaxMoved bounds the custody steps one transaction writes (objects
	// moved, containers' contents included, packed or unpacked): a full
	// container with its contents.
	MaxMoved = MaxContents + 1
	// MaxBlockMoved bounds the custody steps one block's transactions
	// write together. A transaction that writes no more than MaxCodes is
	// never held to it: its work is bounded by its size, as any other's.
	MaxBlockMoved = 100_000
)

// charge counts n more custody steps of the transaction against MaxMoved
// and, once it writes more than MaxCodes, against what the block may still
// write (MaxBlockMoved).
func charge(ctx *ledger.Context, n int64, what string) error {
	if ctx.Work+n > MaxMoved {
		return ErrMovesTooMany.Wrapf("%s: %d more on top of %d", what, n, ctx.Work)
	}
	if ctx.Work+n > MaxCodes && ctx.BlockWork != nil && *ctx.BlockWork+ctx.Work+n > MaxBlockMoved {
		return ErrBlockBusy.Wrapf("%s", what)
	}
	ctx.Work += n
	return nil
}

// live says whether an object still moves with its container: a dispensed
// or decommissioned one does not (and is no longer inside one).
func live(o *Object) bool { return o.Status == StatusActive || o.Status == StatusInTransit }

// holders are the organisation types that may take custody of medicines
// from a shipment that names no receiver.
var holders = []string{"manufacturer", "distributor", "pharmacy", "hospital", "clinic"}

var (
	dispensers = []string{"organisation:pharmacy", "organisation:hospital", "organisation:clinic", "practitioner"}
	anyOrg     = []string{"organisation"}
)

// objectReads names the objects a body's codes refer to (Route.Reads).
func objectReads[T any](codes func(*T) []string) func(body any) [][]byte {
	return ledger.ReadsOf(func(m *T) [][]byte {
		var keys [][]byte
		for _, code := range codes(m) {
			if key, _, err := KeyOf(code); err == nil {
				keys = append(keys, k(prefixObject, key))
			}
		}
		return keys
	})
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

// Declare declares the supply module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "supply", Doc: "Medicines from manufacturer to patient: products, serialised packs, custody, recalls, suspects and returnable assets.",
		Txs: Routes(), Queries: queries(), Keys: []ledger.KeySpace{{Prefix: "sup/", Read: ledger.Public}}, Genesis: genesis()}
}

// Routes are the transactions of this module.
func Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegisterProduct, Allow: []string{"organisation:manufacturer"}, Handle: ledger.Handle(registerProduct),
			Doc: "A manufacturer registers a product by GTIN.", Example: `{"gtin":"09506000134352","name":"Amoxicillin","form":"capsule","strength":"500 mg"}`},
		{Type: TypeCommission, Args: []string{"serials..."}, Allow: []string{"organisation:manufacturer"}, Handle: ledger.Handle(commission),
			Doc: "The product's manufacturer commissions serialised packs of one lot.", Example: `{"gtin":"09506000134352","lot":"L1","expiry":"2028-06-30","serials":["S1","S2"]}`},
		{Type: TypeShip, Args: []string{"codes..."}, Allow: anyOrg, Handle: ledger.Handle(ship), Reads: objectReads(func(m *Ship) []string { return m.Codes }),
			Doc: "The custodian ships packs or containers (with their contents) to another member.", Example: `{"codes":["(01)09506000134352(21)S1"],"to":"<org id>"}`},
		{Type: TypeReceive, Args: []string{"codes..."}, Allow: anyOrg, Handle: ledger.Handle(receive), Reads: objectReads(func(m *Receive) []string { return m.Codes }),
			Doc: "The receiver named by a shipment takes custody.", Example: `{"codes":["(01)09506000134352(21)S1"]}`},
		{Type: TypePack, Args: []string{"children..."}, Allow: anyOrg, Handle: ledger.Handle(pack),
			Doc: "The custodian packs objects into a case or pallet (SSCC), created if new.", Example: `{"parent":"(00)106141412345678908","children":["(01)09506000134352(21)S1"]}`},
		{Type: TypeUnpack, Args: []string{"parent", "children..."}, Allow: anyOrg, Handle: ledger.Handle(unpack),
			Doc: "The custodian unpacks a container (all children when none are named).", Example: `{"parent":"(00)106141412345678908"}`},
		{Type: TypeDispense, Args: []string{"code"}, Allow: dispensers, Handle: ledger.Handle(dispense), Reads: objectReads(func(m *Dispense) []string { return []string{m.Code} }),
			Doc: "A pharmacy, hospital or their pharmacist dispenses a pack, once. Nothing about the patient is recorded.", Example: `{"code":"(01)09506000134352(21)S1"}`},
		{Type: TypeUndoDispense, Args: []string{"code"}, Allow: dispensers, Handle: ledger.Handle(undoDispense), Reads: objectReads(func(m *UndoDispense) []string { return []string{m.Code} }),
			Doc: "The dispensing organisation (or its pharmacist) takes back a dispense made in error, within 10 days (EU FMD), of a pack not since recalled, expired or quarantined: the pack is in its stock again.", Example: `{"code":"(01)09506000134352(21)S1"}`},
		{Type: TypeDecommission, Args: []string{"codes..."}, Allow: anyOrg, Handle: ledger.Handle(decommission), Reads: objectReads(func(m *Decommission) []string { return m.Codes }),
			Doc: "The custodian takes objects out of the supply chain for good.", Example: `{"codes":["(01)09506000134352(21)S1"],"reason":"destroyed"}`},
		{Type: TypeRecall, Allow: []string{"organisation:manufacturer", "organisation:regulator"}, Handle: ledger.Handle(recall),
			Doc: "The manufacturer or the regulator recalls a lot, at once for every later verification.", Example: `{"gtin":"09506000134352","lot":"L1","reason":"contamination"}`},
		{Type: TypeReportSuspect, Args: []string{"code", "reason..."}, Allow: append([]string{"organisation"}, "practitioner"), Handle: ledger.Handle(reportSuspect),
			Doc: "Anyone in the chain reports a suspect pack; the custodian's or the regulator's report also quarantines it.", Example: `{"code":"(01)09506000134352(21)S1","reason":"damaged seal"}`},
		{Type: TypeReleaseQuarantine, Args: []string{"code"}, Allow: []string{"organisation:regulator"}, Handle: ledger.Handle(releaseQuarantine),
			Doc: "The regulator releases a quarantined pack.", Example: `{"code":"(01)09506000134352(21)S1"}`},
		{Type: TypeRegisterAsset, Args: []string{"code"}, Allow: anyOrg, Handle: ledger.Handle(registerAsset),
			Doc: "An organisation registers a returnable asset (GRAI), e.g. an oxygen cylinder.", Example: `{"code":"(8003)00614141123452400","asset_type":"oxygen-cylinder-10l","inspection_due":"2027-06-01"}`},
		{Type: TypeRegisterLocation, Args: []string{"gln"}, Allow: anyOrg, Handle: ledger.Handle(registerLocation),
			Doc: "A member declares a GLN (site or party) so EPCIS documents naming it reach it.", Example: `{"gln":"0614141000005"}`},
		{Type: TypeCapture, Allow: anyOrg, Handle: ledger.Handle(capture), Reads: objectReads(captureCodes),
			Doc: "EPCIS events already translated by the node's /epcis/capture, applied all or none.", Example: `{"events":[{"step":"receive","codes":["(01)09506000134352(21)S1"]}]}`},
		{Type: TypeStorageRule, Args: []string{"gtin"}, Allow: []string{"organisation:manufacturer"}, Handle: ledger.Handle(setStorageRule),
			Doc: "The product's manufacturer sets how it must be kept: a temperature range, a time allowed outside it, and cumulative alarms; every later temperature record of its packs is assessed against it.", Example: `{"gtin":"09506000134352","min_c":200,"max_c":800,"alarms":[{"when":"at_or_above","c":4500,"seconds":3600}]}`},
		{Type: TypeObserve, Args: []string{"codes..."}, Allow: anyOrg, Handle: ledger.Handle(observe), Reads: objectReads(func(m *Observe) []string { return m.Codes }),
			Doc: "The custodian (or the member a shipment is on its way to) records what its objects met, e.g. a logger's temperatures, without moving them.", Example: `{"codes":["(00)106141412345678908"],"sensor":{"readings":[{"t":1767225600,"c":450}]}}`},
		{Type: TypeExcursionDecision, Args: []string{"id", "decision"}, Allow: []string{"organisation:manufacturer", "organisation:regulator"}, Handle: ledger.Handle(decideExcursion),
			Doc: "The product's manufacturer (or the regulator) decides a temperature excursion: release its packs or have them destroyed.", Example: `{"id":"0/09506000134352","decision":"release","note":"stability data: 48 h at 15 °C is within label"}`},
		{Type: TypeAssetEvent, Args: []string{"code", "action"}, Allow: anyOrg, Handle: ledger.Handle(assetEvent),
			Doc: "The custodian records a fill, use, empty return or inspection of an asset.", Example: `{"code":"(8003)00614141123452400","action":"fill"}`},
		{Type: TypeClaimPrefix, Args: []string{"prefix"}, Allow: anyOrg, Handle: ledger.Handle(claimPrefix),
			Doc: "A member claims its GS1 company prefix (4-12 digits): from then on only it creates GTINs, SSCCs, GRAIs and GLNs under it.", Example: `{"prefix":"9506000"}`},
		{Type: TypeAssignPrefix, Args: []string{"prefix"}, Allow: []string{"organisation:regulator"}, Handle: ledger.Handle(assignPrefix),
			Doc: "The regulator, standing for GS1, gives a company prefix to a member, taking it from whoever held it.", Example: `{"prefix":"9506000","org":"<org id>","reason":"GS1 allocation certificate 2026-114"}`},
		{Type: TypeReleasePrefix, Args: []string{"prefix"}, Allow: anyOrg, Handle: ledger.Handle(releasePrefix),
			Doc: "The holder of a company prefix gives it up, or the regulator takes it away (with a reason).", Example: `{"prefix":"9506000"}`},
	}
}

// Bodies.
type (
	RegisterProduct struct {
		GTIN     string `json:"gtin" doc:"GTIN-14"`
		Name     string `json:"name" doc:"product name"`
		Form     string `json:"form,omitempty" doc:"dosage form"`
		Strength string `json:"strength,omitempty" doc:"strength, e.g. 500 mg"`
	}
	Commission struct {
		GTIN    string   `json:"gtin" doc:"GTIN-14"`
		Lot     string   `json:"lot" doc:"lot number"`
		Expiry  string   `json:"expiry" doc:"expiry date YYYY-MM-DD"`
		Serials []string `json:"serials"`
		EventID string   `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	Ship struct {
		Codes   []string `json:"codes"`
		To      string   `json:"to" doc:"the receiving organisation id"`
		Carrier string   `json:"carrier,omitempty" doc:"who carries it (a name or GLN, ≤100), for the regulator's excursions by carrier"`
		Sensor  *Sensor  `json:"sensor,omitempty" doc:"temperatures read before it left (optional)"`
		EventID string   `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	Receive struct {
		Codes   []string `json:"codes"`
		Sensor  *Sensor  `json:"sensor,omitempty" doc:"the shipment's logger readings, assessed against each product's storage rule (optional)"`
		EventID string   `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	Pack struct {
		Parent   string   `json:"parent" doc:"the case or pallet (SSCC)"`
		Children []string `json:"children"`
		EventID  string   `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	Dispense struct {
		Code    string `json:"code"`
		EventID string `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	UndoDispense struct {
		Code string `json:"code"`
	}
	Decommission struct {
		Codes   []string `json:"codes"`
		Reason  string   `json:"reason" doc:"destroyed, stolen, damaged, expired or sample"`
		EventID string   `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
	RecallLot struct {
		GTIN   string `json:"gtin" doc:"GTIN-14"`
		Lot    string `json:"lot" doc:"lot number"`
		Reason string `json:"reason" doc:"why, for the people who hold its packs (no patient data)"`
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
		AssetType     string `json:"asset_type" doc:"what the asset is, e.g. oxygen_cylinder"`
		InspectionDue string `json:"inspection_due,omitempty" doc:"next inspection date YYYY-MM-DD (optional)"`
	}
	AssetEvent struct {
		Code          string `json:"code"`
		Action        string `json:"action"` // fill, use, empty, inspect
		InspectionDue string `json:"inspection_due,omitempty" doc:"next inspection date YYYY-MM-DD (optional)"`
		EventID       string `json:"event_id,omitempty" doc:"the EPCIS event id it records, to record an event once (optional)"`
	}
)

// actor is the organisation acting: the signer, or a practitioner's organisation.
func actor(ctx *ledger.Context) string { return ctx.Signer.ActsFor() }

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

// keyOfKind parses a code that must name an object of one kind.
func keyOfKind(code string, kind gs1.Kind, wrong *ledger.Error) (string, *gs1.Code, error) {
	key, c, err := KeyOf(code)
	if err != nil {
		return "", nil, err
	}
	if _, kd, _ := c.Key(); kd != kind {
		return "", nil, wrong.Wrapf("%s is not a %s", key, kind)
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

func registerProduct(ctx *ledger.Context, m *RegisterProduct) error {
	c, err := gs1.Parse("(01)" + m.GTIN)
	if err != nil || len(m.GTIN) != 14 {
		return ErrBadCode.Wrapf("gtin must be 14 digits with a valid check digit")
	}
	if m.Name == "" || len(m.Name) > 200 || len(m.Form) > 100 || len(m.Strength) > 100 {
		return ErrBadField.Wrapf("name is required (≤200); form and strength ≤100")
	}
	held, err := mayCreate(ctx, c)
	if err != nil {
		return err
	}
	from := ""
	if old, err := GetProduct(ctx.State, c.GTIN); err == nil {
		// The holder of a prefix the regulator or the genesis gave takes
		// back a product another member registered under it first.
		if old.Manufacturer == ctx.Signer.ID || !authoritative(held) {
			return ErrProductExists
		}
		from = old.Manufacturer
	} else if !errors.Is(err, ErrUnknownProduct) {
		return err
	}
	ledger.SetJSON(ctx.State, k(prefixProduct, c.GTIN), Product{GTIN: c.GTIN, Name: m.Name, Form: m.Form, Strength: m.Strength,
		Manufacturer: ctx.Signer.ID, Height: ctx.Height})
	ctx.Emit("supply.product", [2]string{"gtin", c.GTIN}, [2]string{"from", from})
	return nil
}

// upsertProduct registers a product, or updates the name, form and
// strength of one the signer registered and has not commissioned packs of
// yet (EPCIS master data: an EPCClass vocabulary element). An empty field
// leaves what is there.
func upsertProduct(ctx *ledger.Context, m *RegisterProduct) error {
	old, err := GetProduct(ctx.State, m.GTIN)
	if errors.Is(err, ErrUnknownProduct) {
		return registerProduct(ctx, m)
	}
	if err != nil {
		return err
	}
	if old.Manufacturer != ctx.Signer.ID {
		return ErrProductExists.Wrapf("%s is another manufacturer's product", old.GTIN)
	}
	// Its packs carry its name, form and strength as they were: once one
	// is commissioned, a changed product is a new GTIN (GS1 allocation
	// rules). One seek, whatever the product's packs.
	commissioned := false
	if err := ctx.State.Iterate(k(prefixObject, string(gs1.KindSGTIN)+":"+old.GTIN+"."), func(_, _ []byte) bool {
		commissioned = true
		return false
	}); err != nil {
		return err
	}
	if commissioned {
		return ErrProductExists.Wrapf("%s has commissioned packs: its master data stays as they were made; a changed product takes a new GTIN", old.GTIN)
	}
	if len(m.Name) > 200 || len(m.Form) > 100 || len(m.Strength) > 100 {
		return ErrBadField.Wrapf("name ≤200; form and strength ≤100")
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&old.Name, m.Name}, {&old.Form, m.Form}, {&old.Strength, m.Strength}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	ledger.SetJSON(ctx.State, k(prefixProduct, old.GTIN), old)
	ctx.Emit("supply.product_updated", [2]string{"gtin", old.GTIN})
	return nil
}

func commission(ctx *ledger.Context, m *Commission) error {
	p, err := GetProduct(ctx.State, m.GTIN)
	if err != nil {
		return err
	}
	if p.Manufacturer != ctx.Signer.ID {
		return ErrNotManufacturer
	}
	// A product another member registered under a prefix before the
	// regulator (or the genesis) gave the prefix to its holder commissions
	// nothing more. A holder's own claim binds only what comes after it
	// (authoritative): the product's manufacturer goes on.
	if held, err := CoveringPrefix(ctx.State, &gs1.Code{GTIN: p.GTIN}); err != nil {
		return err
	} else if held != nil && held.Owner != actor(ctx) && authoritative(held) {
		return ErrPrefixNotYours.Wrapf("GTIN %s is under the company prefix %s, which the regulator gave to %s", p.GTIN, held.Prefix, holder(ctx.State, held.Owner))
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

// objectByCode reads the object a code (any form KeyOf reads) names.
func objectByCode(r ledger.Reader, code string) (*Object, error) {
	key, _, err := KeyOf(code)
	if err != nil {
		return nil, err
	}
	return GetObject(r, key)
}

// movable loads an object the actor holds and may move.
func movable(ctx *ledger.Context, code string, allowInContainer bool) (*Object, error) {
	o, err := objectByCode(ctx.State, code)
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

// withContents returns o and everything packed in it, and charges the
// transaction's work for them. It knows the size before it walks (a
// container's Contents) and refuses past MaxMoved; it walks iteratively and
// refuses an object met twice, so no state, however it was made, can make
// it loop or overflow the stack.
func withContents(ctx *ledger.Context, o *Object) ([]*Object, error) {
	if err := charge(ctx, 1+o.Contents, o.Key); err != nil {
		return nil, err
	}
	out := []*Object{o}
	seen := map[string]bool{o.Key: true}
	for i := 0; i < len(out); i++ {
		if out[i].Kind != gs1.KindSSCC {
			continue
		}
		children, err := Children(ctx.State, out[i].Key)
		if err != nil {
			return nil, err
		}
		for _, c := range children {
			if seen[c] {
				return nil, ErrCycle.Wrapf("%s is inside itself", c)
			}
			seen[c] = true
			if int64(len(out)) > o.Contents { // more inside than the container says
				return nil, ErrMovesTooMany.Wrapf("%s", o.Key)
			}
			co, err := GetObject(ctx.State, c)
			if err != nil {
				return nil, err
			}
			out = append(out, co)
		}
	}
	return out, nil
}

// detach takes o out of the container it is in: the containers above it
// hold its contents no more. The caller writes o.
func detach(ctx *ledger.Context, o *Object) error {
	above, err := ancestors(ctx.State, o)
	if err != nil {
		return err
	}
	ctx.State.Delete(k(prefixChild, o.Parent, o.Key))
	o.Parent = ""
	return shrink(ctx, above, 1+o.Contents)
}

// shrink takes removed objects out of the counts of containers, innermost
// first. A container's Levels stay what they were until it is empty: an
// upper bound on the nesting below it, which is all the depth check at
// packing needs (a pack it refuses that an exact count would take waits
// until the container is emptied). Recomputing the levels on each removal
// listed every case inside each container above, once per object removed,
// at a cost the transaction did not pay: a decommission of 1,000 cases
// out of a pallet of 4,000 took 12-20 s inside a block (safety review).
// Nesting is at most MaxDepth deep, so this walk is bounded.
func shrink(ctx *ledger.Context, containers []*Object, removed int64) error {
	for _, c := range containers {
		c.Contents = max(0, c.Contents-removed)
		if c.Contents == 0 {
			c.Levels = 0
		}
		putObject(ctx.State, c)
	}
	return nil
}

// ancestors returns the containers o is in, innermost first. Nesting is
// bounded by MaxDepth, so the walk is too.
func ancestors(r ledger.Reader, o *Object) ([]*Object, error) {
	var out []*Object
	for at := o; at.Parent != ""; {
		if len(out) >= MaxDepth {
			return nil, ErrTooDeep.Wrapf("%s", o.Key)
		}
		p, err := GetObject(r, at.Parent)
		if err != nil {
			return nil, err
		}
		if p.Key == o.Key {
			return nil, ErrCycle.Wrapf("%s is inside itself", o.Key)
		}
		out = append(out, p)
		at = p
	}
	return out, nil
}

func ship(ctx *ledger.Context, m *Ship) error {
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
	if len(m.Carrier) > 100 {
		return ErrBadField.Wrapf("carrier longer than 100")
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	cold, err := startCold(ctx, m.Sensor, "ship", m.EventID)
	if err != nil {
		return err
	}
	keys, err := moveAll(ctx, m.Codes, false, Step{Action: "ship", To: m.To, EventID: m.EventID}, func(x *Object) error {
		x.Status, x.ShipTo, x.Carrier = StatusInTransit, m.To, m.Carrier
		return cold.touch(ctx, x)
	})
	if err != nil {
		return err
	}
	if cold != nil {
		cold.rec.Keys, cold.rec.From, cold.rec.To, cold.rec.Carrier = keys, actor(ctx), m.To, m.Carrier
	}
	if err := cold.finish(ctx); err != nil {
		return err
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: "shipping", Disposition: "in_transit", Keys: keys, To: m.To, Cold: cold.ref()})
	ctx.Emit("supply.shipped", [2]string{"to", m.To})
	return nil
}

// moveAll applies change to each named object the actor may move and to
// everything packed in it, recording one custody step each. It returns the
// keys of the named objects.
func moveAll(ctx *ledger.Context, codes []string, allowInContainer bool, step Step, change func(*Object) error) ([]string, error) {
	var keys []string
	for _, code := range codes {
		o, err := movable(ctx, code, allowInContainer)
		if err != nil {
			return nil, err
		}
		keys = append(keys, o.Key)
		all, err := withContents(ctx, o)
		if err != nil {
			return nil, err
		}
		for _, x := range all {
			if x != o && !live(x) {
				continue
			}
			if err := change(x); err != nil {
				return nil, err
			}
			addStep(ctx, x, step)
			putObject(ctx.State, x)
		}
	}
	return keys, nil
}

func receive(ctx *ledger.Context, m *Receive) error {
	if err := checkCount(len(m.Codes)); err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	cold, err := startCold(ctx, m.Sensor, "receive", m.EventID)
	if err != nil {
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
		case o.ShipTo == "" && !mayHold(ctx):
			return ErrOpenReceipt.Wrapf("%s", o.Key)
		case o.Parent != "":
			return ErrInContainer.Wrapf("%s is in %s: receive the container", o.Key, o.Parent)
		}
		step := Step{Action: "receive", EventID: m.EventID}
		if o.ShipTo == "" {
			step.Note = "open shipment: no receiver was named"
		}
		all, err := withContents(ctx, o)
		if err != nil {
			return err
		}
		cold.route(o, o.Custodian, actor(ctx))
		for _, x := range all {
			if x != o && !live(x) {
				continue
			}
			x.Status, x.ShipTo, x.Custodian = StatusActive, "", actor(ctx)
			if err := cold.touch(ctx, x); err != nil {
				return err
			}
			x.Carrier = ""
			addStep(ctx, x, step)
			putObject(ctx.State, x)
		}
	}
	if err := cold.finish(ctx); err != nil {
		return err
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: "receiving", Disposition: "in_progress", Keys: keys, Cold: cold.ref()})
	ctx.Emit("supply.received", [2]string{"by", actor(ctx)})
	return nil
}

// mayHold says whether the actor's organisation may take custody of
// medicines from a shipment that names no receiver.
func mayHold(ctx *ledger.Context) bool {
	t := ctx.Signer.OrgType
	if ctx.Signer.Kind == ledger.KindPractitioner {
		org, err := identity.Get(ctx.State, ctx.Signer.OrgID)
		if err != nil {
			return false
		}
		t = org.OrgType
	}
	for _, h := range holders {
		if t == h {
			return true
		}
	}
	return false
}

func pack(ctx *ledger.Context, m *Pack) error {
	if err := checkCount(len(m.Children)); err != nil {
		return err
	}
	pkey, pc, err := keyOfKind(m.Parent, gs1.KindSSCC, ErrNotContainer)
	if err != nil {
		return err
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	parent, err := GetObject(ctx.State, pkey)
	if errors.Is(err, ErrUnknownObject) {
		if _, err := mayCreate(ctx, pc); err != nil {
			return err
		}
		parent = &Object{Key: pkey, Kind: gs1.KindSSCC, Custodian: actor(ctx), Status: StatusActive, Commissioned: ctx.Height}
		addStep(ctx, parent, Step{Action: "create", EventID: m.EventID})
	} else if err != nil {
		return err
	} else if err := canMove(ctx, parent, true); err != nil {
		return err
	}
	// The containers the parent is in: a child among them would close a
	// cycle, and their depth bounds how deep the child's contents may go.
	above, err := ancestors(ctx.State, parent)
	if err != nil {
		return err
	}
	if err := charge(ctx, int64(len(m.Children)), "pack"); err != nil {
		return err
	}
	var keys []string
	var added int64
	for _, code := range m.Children {
		o, err := movable(ctx, code, false)
		if err != nil {
			return err
		}
		keys = append(keys, o.Key)
		if o.Key == parent.Key {
			return ErrCycle.Wrapf("a container cannot contain itself")
		}
		for _, a := range above {
			if a.Key == o.Key {
				return ErrCycle.Wrapf("%s holds %s", o.Key, parent.Key)
			}
		}
		// Levels from the outermost container down to the child's deepest
		// content: the parent's ancestors, the parent, the child and what
		// lies below it.
		if depth := int64(len(above)) + 2 + o.Levels; depth > MaxDepth {
			return ErrTooDeep.Wrapf("packing %s into %s would nest %d levels", o.Key, parent.Key, depth)
		}
		parent.Levels = max(parent.Levels, o.Levels+1)
		added += 1 + o.Contents
		o.Parent = parent.Key
		addStep(ctx, o, Step{Action: "pack", Parent: parent.Key, EventID: m.EventID})
		putObject(ctx.State, o)
		ledger.SetPresent(ctx.State, k(prefixChild, parent.Key, o.Key))
	}
	// Every container from the parent up holds the new contents.
	level := parent.Levels
	for _, c := range append([]*Object{parent}, above...) {
		if c != parent {
			level++
			c.Levels = max(c.Levels, level)
		}
		c.Contents += added
		if c.Contents > MaxContents {
			return ErrContainerFull.Wrapf("%s would hold %d objects", c.Key, c.Contents)
		}
		putObject(ctx.State, c)
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "AggregationEvent", Action: "ADD", BizStep: "packing", Disposition: "in_progress", Keys: keys, Parent: parent.Key})
	ctx.Emit("supply.packed", [2]string{"parent", parent.Key})
	return nil
}

func unpack(ctx *ledger.Context, m *Pack) error {
	if len(m.Children) > MaxCodes {
		return ErrTooMany
	}
	pkey, _, err := keyOfKind(m.Parent, gs1.KindSSCC, ErrNotContainer)
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
		// Bounded: a container holds at most MaxContents objects.
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
	if len(keys) == 0 {
		return ErrBadField.Wrapf("%s is empty: nothing to unpack", pkey)
	}
	if err := charge(ctx, int64(len(keys)), "unpack"); err != nil {
		return err
	}
	var removed int64
	for _, key := range keys {
		o, err := GetObject(ctx.State, key)
		if err != nil {
			return err
		}
		if o.Parent != pkey {
			return ErrNotChild.Wrapf("%s", key)
		}
		removed += 1 + o.Contents
		o.Parent = ""
		addStep(ctx, o, Step{Action: "unpack", Parent: pkey, EventID: m.EventID})
		putObject(ctx.State, o)
		ctx.State.Delete(k(prefixChild, pkey, key))
	}
	above, err := ancestors(ctx.State, parent)
	if err != nil {
		return err
	}
	if err := shrink(ctx, append([]*Object{parent}, above...), removed); err != nil {
		return err
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
	if len(o.ColdHolds) > 0 {
		return ErrColdHold.Wrapf("%s: excursion %s", o.Key, o.ColdHolds[0])
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

func dispense(ctx *ledger.Context, m *Dispense) error {
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

// UndoWindow is how long after a dispense its dispenser may take it back
// (EU FMD Delegated Regulation 2016/161, Art. 13: 10 days), by block time.
const UndoWindow = 10 * 24 * time.Hour

func undoDispense(ctx *ledger.Context, m *UndoDispense) error {
	o, err := objectByCode(ctx.State, m.Code)
	if err != nil {
		return err
	}
	if o.Status != StatusDispensed {
		return ErrNotDispensed.Wrapf("%s is %s", o.Key, o.Status)
	}
	if o.Custodian != actor(ctx) {
		return ErrNotCustodian.Wrapf("%s was dispensed by another organisation", o.Key)
	}
	at, err := time.Parse(time.RFC3339, o.DispensedAt)
	if err != nil || ctx.Time.Sub(at) > UndoWindow {
		return ErrUndoWindow.Wrapf("%s was dispensed at %s", o.Key, o.DispensedAt)
	}
	// FMD Art. 13(2): only a pack that could be dispensed now goes back
	// into stock — not one since recalled, expired or quarantined.
	if err := dispensable(ctx.State, o, ctx.Time); err != nil {
		return err
	}
	o.Status, o.DispensedBy, o.DispensedAt = StatusActive, "", ""
	addStep(ctx, o, Step{Action: "undo_dispense"})
	putObject(ctx.State, o)
	// For EPCIS readers: the pack observed active again where it was
	// dispensed.
	recordEvent(ctx, Event{Type: "ObjectEvent", Action: "OBSERVE", BizStep: "dispensing", Disposition: "active", Keys: []string{o.Key}})
	ctx.Emit("supply.dispense_undone", [2]string{"key", o.Key})
	return nil
}

func decommission(ctx *ledger.Context, m *Decommission) error {
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
	var keys []string
	for _, code := range m.Codes {
		o, err := movable(ctx, code, true)
		if err != nil {
			return err
		}
		keys = append(keys, o.Key)
		all, err := withContents(ctx, o)
		if err != nil {
			return err
		}
		step := Step{Action: "decommission", Note: m.Reason, EventID: m.EventID}
		// Out of the supply chain, out of its container: a stolen or
		// destroyed pack must not travel on with the case it was in.
		if o.Parent != "" {
			step.Parent = o.Parent
			if err := detach(ctx, o); err != nil {
				return err
			}
		}
		for _, x := range all {
			if x != o && !live(x) {
				continue
			}
			x.Status = status
			addStep(ctx, x, step)
			putObject(ctx.State, x)
		}
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "DELETE", BizStep: "decommissioning", Disposition: m.Reason, Keys: keys})
	return nil
}

func recall(ctx *ledger.Context, m *RecallLot) error {
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

func reportSuspect(ctx *ledger.Context, m *ReportSuspect) error {
	if m.Reason == "" || len(m.Reason) > 300 {
		return ErrBadField.Wrapf("reason is required (≤300)")
	}
	o, err := objectByCode(ctx.State, m.Code)
	if err != nil {
		return err
	}
	o.Suspect = m.Reason
	if o.Custodian == actor(ctx) || ctx.Signer.OrgType == "regulator" {
		o.Quarantined = true
	}
	ledger.SetPresent(ctx.State, k(prefixSuspect, o.Key))
	addStep(ctx, o, Step{Action: "report_suspect", Note: m.Reason})
	putObject(ctx.State, o)
	ctx.Emit("supply.suspect", [2]string{"key", o.Key})
	return nil
}

func releaseQuarantine(ctx *ledger.Context, m *Release) error {
	o, err := objectByCode(ctx.State, m.Code)
	if err != nil {
		return err
	}
	o.Quarantined, o.Suspect = false, ""
	ctx.State.Delete(k(prefixSuspect, o.Key))
	addStep(ctx, o, Step{Action: "release_quarantine"})
	putObject(ctx.State, o)
	return nil
}

func registerAsset(ctx *ledger.Context, m *RegisterAsset) error {
	key, c, err := keyOfKind(m.Code, gs1.KindGRAI, ErrNotAsset)
	if err != nil {
		return err
	}
	if m.AssetType == "" || len(m.AssetType) > 64 {
		return ErrBadField.Wrapf("asset_type is required (≤64)")
	}
	if m.InspectionDue != "" {
		if _, err := parseDate(m.InspectionDue); err != nil {
			return err
		}
	}
	if _, err := mayCreate(ctx, c); err != nil {
		return err
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

func assetEvent(ctx *ledger.Context, m *AssetEvent) error {
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
