package supply

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers state.go

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
)

// State keys of this module (part of the app hash).
var (
	prefixProduct = []byte("sup/prod/")   // sup/prod/<gtin> -> Product
	prefixObject  = []byte("sup/obj/")    // sup/obj/<key> -> Object
	prefixChild   = []byte("sup/child/")  // sup/child/<parent>/<child> -> ""
	prefixRecall  = []byte("sup/recall/") // sup/recall/<gtin>/<lot> -> Recall
	prefixTrail   = []byte("sup/trail/")  // sup/trail/<key>/<seq> -> Step
	prefixEventID = []byte("sup/eid/")    // sup/eid/<event id> -> "" (EPCIS idempotency)
	// sup/eis/<event id> -> the event's seq (uint64): what an error
	// declaration finds it by (events recorded since it was kept).
	prefixEventSeq = []byte("sup/eis/")
	prefixSuspect  = []byte("sup/sus/") // sup/sus/<key> -> "" (objects reported suspect)
	// GS1 company prefixes (prefix.go). "sup/gcp/" and "sup/gcpof/"
	// differ before either's first '/', so neither lists the other.
	prefixCompany   = []byte("sup/gcp/")   // sup/gcp/<prefix> -> CompanyPrefix
	prefixCompanyOf = []byte("sup/gcpof/") // sup/gcpof/<org>/<prefix> -> "" (a member's prefixes)
)

// k builds a state key from parts joined by '/'. A part is escaped ('%' as
// "%25", '/' as "%2F": GS1 serials and EPCIS event ids may hold both), so a
// part never reaches into the next: without it a container "…DEMO002/evil"
// would list its contents, or write its trail, under the pack DEMO002's.
// Keys of parts without either character are unchanged.
func k(prefix []byte, parts ...string) []byte {
	b := append([]byte{}, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendEscaped(b, p)
	}
	return b
}

func appendEscaped(b []byte, p string) []byte {
	if !strings.ContainsAny(p, "%/") {
		return append(b, p...)
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			b = append(b, "%25"...)
		case '/':
			b = append(b, "%2F"...)
		default:
			b = append(b, p[i])
		}
	}
	return b
}

// unescape is appendEscaped's inverse, for a part read back from a key.
func unescape(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	return strings.NewReplacer("%2F", "/", "%25", "%").Replace(p)
}

// Object statuses.
const (
	StatusActive     = "active"
	StatusInTransit  = "in_transit"
	StatusDispensed  = "dispensed"
	StatusDestroyed  = "destroyed"
	StatusStolen     = "stolen"
	StatusDamaged    = "damaged"
	StatusExpiredOut = "expired_destroyed"
	StatusSample     = "sample"
	StatusInactive   = "decommissioned"
)

// DecommissionReasons map a reason to the final status.
var DecommissionReasons = map[string]string{
	"destroyed": StatusDestroyed, "stolen": StatusStolen, "damaged": StatusDamaged,
	"expired": StatusExpiredOut, "sample": StatusSample, "decommissioned": StatusInactive,
}

// Product is a registered trade item.
//
//easyjson:json
type Product struct {
	GTIN         string `json:"gtin"`
	Name         string `json:"name"`
	Form         string `json:"form"`
	Strength     string `json:"strength"`
	Manufacturer string `json:"manufacturer"`
	Height       int64  `json:"height"`
}

// Object is a pack, a logistic unit or a returnable asset.
//
//easyjson:json
type Object struct {
	Key         string   `json:"key"`
	Kind        gs1.Kind `json:"kind"`
	GTIN        string   `json:"gtin,omitempty"`
	Serial      string   `json:"serial,omitempty"`
	Lot         string   `json:"lot,omitempty"`
	Expiry      string   `json:"expiry,omitempty"` // YYYY-MM-DD
	Custodian   string   `json:"custodian"`
	Status      string   `json:"status"`
	ShipTo      string   `json:"ship_to,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	Quarantined bool     `json:"quarantined,omitempty"`
	Suspect     string   `json:"suspect_reason,omitempty"`
	// Dispensing: who and when (never to whom).
	DispensedBy string `json:"dispensed_by,omitempty"`
	DispensedAt string `json:"dispensed_at,omitempty"`
	// Returnable assets.
	AssetType     string `json:"asset_type,omitempty"`
	AssetState    string `json:"asset_state,omitempty"` // filled, in_use, empty
	InspectionDue string `json:"inspection_due,omitempty"`
	Cycles        int64  `json:"cycles,omitempty"`
	Steps         uint64 `json:"steps"`
	Commissioned  int64  `json:"commissioned_height"`
	// Containers (SSCC): how many objects are inside, at any depth, and how
	// many levels of containment lie below (1: packs only). Both are kept
	// on every pack and unpack, so a move knows its size before it walks,
	// and a pack knows how deep it would nest. Levels is an upper bound: an
	// unpack lowers it only when the container is emptied.
	Contents int64 `json:"contents,omitempty"`
	Levels   int64 `json:"levels,omitempty"`
	// The cold chain (coldchain.go): the carrier of the shipment it is on,
	// its latest cold-chain records (at most MaxColdRecords), the
	// excursions that hold it until its manufacturer decides (at most
	// MaxColdHolds), and the time its records spent outside its product's
	// rule and past each alarm, under the rule set at height ColdRule.
	Carrier      string   `json:"carrier,omitempty"`
	Cold         []uint64 `json:"cold,omitempty"`
	ColdHolds    []string `json:"cold_holds,omitempty"`
	ColdRule     int64    `json:"cold_rule,omitempty"`
	ColdOutsideS int64    `json:"cold_outside_s,omitempty"`
	ColdAlarmS   []int64  `json:"cold_alarm_s,omitempty"`
}

// Step is one entry of an object's chain of custody.
//
//easyjson:json
type Step struct {
	Seq     uint64 `json:"seq"`
	Action  string `json:"action"` // commission, ship, receive, pack, unpack, dispense, decommission, recall, …
	By      string `json:"by"`
	To      string `json:"to,omitempty"`
	Parent  string `json:"parent,omitempty"`
	Time    string `json:"time"`
	Height  int64  `json:"height"`
	EventID string `json:"event_id,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Recall of a lot.
//
//easyjson:json
type Recall struct {
	GTIN   string `json:"gtin"`
	Lot    string `json:"lot"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

// CompanyPrefix is a GS1 Company Prefix a member holds: identifiers under
// it (GTINs, SSCCs, GRAIs, GLNs) are created by that member only.
//
//easyjson:json
type CompanyPrefix struct {
	Prefix string `json:"prefix"`
	Owner  string `json:"owner"`
	// By is who gave it to the owner: the owner's own claim, or the
	// regulator's assignment (with its reason).
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

// GetObject reads an object by canonical key.
func GetObject(r ledger.Reader, key string) (*Object, error) {
	var o Object
	found, err := ledger.GetJSON(r, k(prefixObject, key), &o)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownObject.Wrapf("%s", key)
	}
	return &o, nil
}

// GetProduct reads a product.
func GetProduct(r ledger.Reader, gtin string) (*Product, error) {
	var p Product
	found, err := ledger.GetJSON(r, k(prefixProduct, gtin), &p)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownProduct.Wrapf("%s", gtin)
	}
	return &p, nil
}

// GetRecall reads the recall of a lot, if any.
func GetRecall(r ledger.Reader, gtin, lot string) (*Recall, error) {
	var rc Recall
	found, err := ledger.GetJSON(r, k(prefixRecall, gtin, lot), &rc)
	if err != nil || !found {
		return nil, err
	}
	return &rc, nil
}

// RecallsPage lists recalls by product and lot from the page token after
// (ledger.ScanPage).
func RecallsPage(r ledger.Reader, after string, limit int) ([]*Recall, string, error) {
	return ledger.ScanPage[Recall](r, prefixRecall, after, limit, nil)
}

// Suspects lists objects reported suspect (quarantined or not), up to
// limit, from their index: a listing reads what it returns.
func Suspects(r ledger.Reader, limit int) ([]Object, error) {
	var out []Object
	var gerr error
	err := r.Iterate(prefixSuspect, func(key, _ []byte) bool {
		var o *Object
		if o, gerr = GetObject(r, unescape(string(key[len(prefixSuspect):]))); gerr != nil {
			return false
		}
		out = append(out, *o)
		return len(out) < limit
	})
	if err == nil {
		err = gerr
	}
	return out, err
}

// TrailPage returns up to limit steps of an object's chain of custody,
// oldest first, from the step numbered from (Step.Seq; an object has
// Object.Steps of them, numbered from 0). next is the number of the step
// after the page, when there is one. It seeks to its first step: a page
// costs what it returns, however long the trail has grown (a member can
// add steps to a pack it holds with every capture).
func TrailPage(r ledger.Reader, key string, from uint64, limit int) (steps []*Step, next uint64, more bool, err error) {
	prefix := append(k(prefixTrail, key), '/')
	steps, token, err := ledger.ScanPage[Step](r, prefix, string(binary.BigEndian.AppendUint64(nil, from)), limit, nil)
	if err != nil || len(token) != 8 {
		return steps, 0, false, err
	}
	return steps, binary.BigEndian.Uint64([]byte(token)), true, nil
}

// ChildrenPage lists the objects packed directly in a container, by key,
// from the page token after (a child's key; "": from the first), up to
// limit. next is the token of the following page ("": none). A container
// holds up to MaxContents objects: a page costs what it returns.
func ChildrenPage(r ledger.Reader, parent, after string, limit int) (children []string, next string, err error) {
	prefix := append(k(prefixChild, parent), '/')
	names, next, err := ledger.KeysPage(r, prefix, string(appendEscaped(nil, after)), limit)
	for _, n := range names {
		children = append(children, unescape(n))
	}
	return children, unescape(next), err
}

// Children lists the objects packed in a container, all of them (for the
// transactions that move or unpack it: at most MaxContents).
func Children(r ledger.Reader, parent string) ([]string, error) {
	var out []string
	p := append(k(prefixChild, parent), '/')
	err := r.Iterate(p, func(key, _ []byte) bool { out = append(out, unescape(string(key[len(p):]))); return true })
	return out, err
}

func putObject(w ledger.Writer, o *Object) { ledger.SetJSON(w, k(prefixObject, o.Key), o) }

// addStep appends to the chain of custody.
func addStep(ctx *ledger.Context, o *Object, s Step) {
	s.Seq = o.Steps
	o.Steps++
	s.By = ctx.Signer.ID
	s.Time = ctx.Time.Format(time.RFC3339)
	s.Height = ctx.Height
	key := binary.BigEndian.AppendUint64(append(k(prefixTrail, o.Key), '/'), s.Seq)
	ledger.SetJSON(ctx.State, key, s)
}

// LotPage lists the packs of one lot of a product in key order from the
// page token after (ledger.ScanPage): the product's packs are examined a
// bounded number a page, those of the lot kept.
func LotPage(r ledger.Reader, gtin, lot, after string, limit int) ([]*Object, string, error) {
	return ledger.ScanPage(r, k(prefixObject, string(gs1.KindSGTIN)+":"+gtin+"."), after, limit, func(o *Object) bool {
		return o.Lot == lot
	})
}

// AssetsPage lists returnable assets (GRAI) in key order from the page
// token after: where each is and when it is due for inspection; with
// dueBefore (YYYY-MM-DD) only those due before it (ledger.ScanPage).
func AssetsPage(r ledger.Reader, dueBefore, after string, limit int) ([]*Object, string, error) {
	return ledger.ScanPage(r, k(prefixObject, string(gs1.KindGRAI)+":"), after, limit, func(o *Object) bool {
		return dueBefore == "" || (o.InspectionDue != "" && o.InspectionDue < dueBefore)
	})
}
