package supply

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
)

// ObjectAnswer is a serialised object with a page of its custody trail
// and, for a container, the first page of what it holds.
type ObjectAnswer struct {
	Object *Object `json:"object"`
	// Trail is a page of the chain of custody, oldest first, from the step
	// the query's after names (Object.Steps counts them all).
	Trail []*Step `json:"trail"`
	// Children are the first objects packed directly in a container, by
	// key; ChildrenNext, when it holds more, is the after token of the
	// next page of GET /api/v1/supply/objects/{code}/children.
	Children     []string `json:"children"`
	ChildrenNext string   `json:"children_next,omitempty"`
}

// DSCSAResponse is shaped like a US DSCSA Verification Router Service
// answer: verified or not, the failure reason, and whether it is recalled.
type DSCSAResponse struct {
	GTIN                      string `json:"gtin"`
	SerialNumber              string `json:"serialNumber"`
	LotNumber                 string `json:"lotNumber,omitempty"`
	ExpirationDate            string `json:"expirationDate,omitempty"`
	Verified                  bool   `json:"verified"`
	VerificationFailureReason string `json:"verificationFailureReason,omitempty"`
	Recalled                  bool   `json:"recalled"`
	VerificationTimestamp     string `json:"verificationTimestamp"`
	AdditionalInfo            string `json:"additionalInfo,omitempty"`
}

// queries are the supply module's reads: what a pharmacist's scan, a
// trading partner and a regulator ask. Supply data names organisations
// and packs, never patients: readable by anyone who reaches the node.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/verify", Name: "verify", Read: ledger.Public, Answer: &Verdict{},
			Doc: "Verify a scanned medicine pack: one verdict with the chain of custody (read path, no consensus round; expiry against the wall clock).",
			Params: []ledger.Param{{Name: "code", Doc: "GS1 element string (with or without parentheses, FNC1/GS separators), Digital Link URI or EPC URN, ≤512 characters", Required: true},
				{Name: "as", Doc: "id of the scanning organisation (for the wrong-hands check)"}},
			Handle: verifyQuery},
		{Path: "/api/v1/dscsa/verify", Name: "dscsa-verify", Read: ledger.Public, Answer: &DSCSAResponse{},
			Doc: "Verification shaped like a US DSCSA Verification Router Service answer.",
			Params: []ledger.Param{{Name: "gtin", Required: true}, {Name: "serialNumber", Required: true}, {Name: "lotNumber"},
				{Name: "expirationDate", Doc: "YYMMDD"}},
			Handle: dscsaQuery},
		{Path: "/api/v1/supply/objects/{code}", Name: "object", Read: ledger.Public, Answer: ledger.Page{Items: &ObjectAnswer{}},
			Doc: "A pack, case, pallet or asset by its code or state key, with a page of its custody trail (oldest first; the Link header continues it) and the first page of its contents.",
			Params: []ledger.Param{{Name: "limit", Doc: "steps of the trail, and objects of the contents, to show: 1-1000 (default 100)"},
				{Name: "after", Doc: "where the trail starts: a step number (default 0, the first), or the token a Link header gives"}},
			Handle: objectQuery},
		{Path: "/api/v1/supply/objects/{code}/children", Name: "children", Read: ledger.Public, Answer: ledger.Page{Items: []string{}},
			Doc:    "The objects packed directly in a case or pallet, by key, a page at a time.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header (or an object answer's children_next)"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				key, err := objectKey(q)
				if err != nil {
					return nil, err
				}
				if _, err := GetObject(q.State, key); err != nil {
					return nil, err
				}
				page, next, err := ChildrenPage(q.State, key, after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/supply/products/{gtin}", Name: "product", Read: ledger.Public, Answer: &Product{},
			Doc: "A registered product.",
			Handle: func(q *ledger.Request) (any, error) {
				return GetProduct(q.State, q.Path("gtin"))
			}},
		{Path: "/api/v1/supply/recalls", Columns: ledger.Cols("GTIN", "gtin", "LOT", "lot", "BY", "@by", "REASON", "reason", "TIME", "time"), Name: "recalls", Read: ledger.Public, Answer: ledger.Page{Items: []*Recall{}},
			Doc:    "Recalled lots, by product and lot, a page at a time.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				page, next, err := RecallsPage(q.State, after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/supply/excursions", Columns: ledger.Cols("ID", "id", "GTIN", "gtin", "LOTS", "lots", "PACKS", "packs", "FROM", "@from", "TO", "@to", "CARRIER", "carrier",
			"REASON", "reason", "DECISION", "decision"),
			Name: "excursions", Read: ledger.Public, Answer: ledger.Page{Items: []*Excursion{}},
			Doc:    "Temperature excursions, oldest first: which product's rule broke in which record, its lots and packs, the route and carrier, and the manufacturer's decision, a page at a time.",
			Params: []ledger.Param{{Name: "gtin", Doc: "only this product's"}, {Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ExcursionsPage(q.State, q.Query.Get("gtin"), after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/supply/excursions/counts", Name: "excursion-counts", Read: ledger.Public, Answer: &ExcursionCounts{},
			Doc: "Temperature excursions counted by route (shipper → receiver) and by carrier, for the regulator (at most 1000 rows of each).",
			Handle: func(q *ledger.Request) (any, error) {
				routes, carriers, truncated, err := Counts(q.State, 1000)
				return &ExcursionCounts{Routes: routes, Carriers: carriers, Truncated: truncated}, err
			}},
		{Path: "/api/v1/supply/cold/{seq}", Name: "cold-record", Read: ledger.Public, Answer: &ColdRecord{},
			Doc: "One cold-chain record with all its readings: the objects, the route, and what each product's storage rule made of it.",
			Handle: func(q *ledger.Request) (any, error) {
				seq, err := strconv.ParseUint(q.Path("seq"), 10, 64)
				if err != nil {
					return nil, ErrUnknownExc.Wrapf("the record is a number")
				}
				return GetColdRecord(q.State, seq)
			}},
		{Path: "/api/v1/supply/products/{gtin}/storage-rule", Name: "rule", Read: ledger.Public, Answer: &StorageRule{},
			Doc: "How a product must be kept, as its manufacturer set it.",
			Handle: func(q *ledger.Request) (any, error) {
				rule, err := GetRule(q.State, q.Path("gtin"))
				if err == nil && rule == nil {
					err = ErrNoRule.Wrapf("%s", q.Path("gtin"))
				}
				return rule, err
			}},
		{Path: "/api/v1/supply/lots/{gtin}/{lot}/packs", Columns: ledger.Cols("PACK", "serial", "STATUS", "status", "HELD BY", "@custodian", "SHIPPED TO", "@ship_to",
			"IN", "parent", "QUARANTINED", "quarantined", "SUSPECT", "suspect_reason", "DISPENSED BY", "@dispensed_by", "DISPENSED", "dispensed_at"),
			Name: "lot", Read: ledger.Public, Answer: ledger.Page{Items: []*Object{}},
			Doc:    "The packs of one lot of a product and where each is now (a recall's reach), a page at a time. A page examines a bounded number of the product's packs: it may hold fewer than limit and still have a next page.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				gtin, lot := q.Path("gtin"), q.Path("lot")
				if _, err := gs1.Parse("(01)" + gtin + "(10)" + lot); err != nil {
					return nil, ErrBadCode.Wrapf("GTIN or lot: %v", err)
				}
				page, next, err := LotPage(q.State, gtin, lot, after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/supply/suspects", Columns: objectColumns, Name: "suspects", Read: ledger.Public, Answer: []Object{},
			Doc: "Packs reported as suspect, quarantined or not (at most 1,000).",
			Handle: func(q *ledger.Request) (any, error) {
				return Suspects(q.State, 1000)
			}},
		{Path: "/api/v1/supply/assets", Columns: objectColumns, Name: "assets", Read: ledger.Public, Answer: ledger.Page{Items: []*Object{}},
			Doc: "Returnable assets (GRAI): where each is and when it is due for inspection.",
			Params: []ledger.Param{{Name: "due_before", Doc: "YYYY-MM-DD"}, {Name: "limit", Doc: "1-10000 (default 1000)"},
				{Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				due := q.Query.Get("due_before")
				if due != "" {
					if _, err := time.Parse(time.DateOnly, due); err != nil {
						return nil, ledger.ErrBadRequest.Wrapf("due_before must be YYYY-MM-DD")
					}
				}
				limit, after, err := q.Paging(1000, 10000)
				if err != nil {
					return nil, err
				}
				page, next, err := AssetsPage(q.State, due, after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/supply/prefixes/{prefix}", Name: "prefix", Read: ledger.Public, Answer: &CompanyPrefix{},
			Doc: "The member holding a GS1 company prefix, and who gave it to them.",
			Handle: func(q *ledger.Request) (any, error) {
				return GetCompanyPrefix(q.State, q.Path("prefix"))
			}},
		{Path: "/api/v1/supply/prefixes", Columns: ledger.Cols("PREFIX", "prefix", "OWNER", "@owner", "BY", "@by", "REASON", "reason", "TIME", "time"), Name: "prefixes", Read: ledger.Public, Answer: ledger.Page{Items: []*CompanyPrefix{}},
			Doc: "GS1 company prefixes members hold: all of them in order, a member's, or the one a code falls under.",
			Params: []ledger.Param{{Name: "org", Doc: "a member's id: its prefixes (at most 16)"},
				{Name: "code", Doc: "a GS1 code in any form verify takes, or a GTIN's or GLN's digits alone (12-14): the prefix its key falls under, if one is held"},
				{Name: "limit", Doc: "1-10000 (default 1000)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: prefixesQuery},
	}
}

func prefixesQuery(q *ledger.Request) (any, error) {
	org, code := q.Query.Get("org"), q.Query.Get("code")
	switch {
	case org != "" && code != "":
		return nil, ledger.ErrBadRequest.Wrapf("org or code, not both")
	case org != "":
		list, err := Prefixes(q.State, org)
		return ledger.Page{Items: list}, err
	case code != "":
		if len(code) > 512 {
			return nil, ledger.ErrBadRequest.Wrapf("code must be at most 512 characters")
		}
		// A GTIN or GLN alone names no object, but falls under a prefix;
		// so do its digits alone, as printed under a barcode: 14 or 12
		// (GTIN-14, UPC-A) are a GTIN, 13 a GLN or a GTIN-13, whose
		// company prefix starts at the same digit either way.
		c, err := gs1.Parse(bareKey(code))
		if err == nil {
			if _, _, kerr := c.Key(); errors.Is(kerr, gs1.ErrSeveralKeys) {
				err = kerr
			}
		}
		if err == nil && c.CompanyDigits() == "" {
			err = gs1.ErrNoPrimaryKey
		}
		if err != nil {
			return nil, ErrBadCode.Wrapf("%q: %v", short(code), err)
		}
		list := []*CompanyPrefix{}
		if p, err := CoveringPrefix(q.State, c); err != nil {
			return nil, err
		} else if p != nil {
			list = append(list, p)
		}
		return ledger.Page{Items: list}, nil
	}
	limit, after, err := q.Paging(1000, 10000)
	if err != nil {
		return nil, err
	}
	page, next, err := PrefixesPage(q.State, after, limit)
	return ledger.Page{Items: page, Next: next}, err
}

// bareKey turns a key's digits alone into an element string; anything
// else is returned as it is.
func bareKey(code string) string {
	for _, r := range code {
		if r < '0' || r > '9' {
			return code
		}
	}
	switch len(code) {
	case 12:
		return "(01)00" + code
	case 13:
		return "(414)" + code
	case 14:
		return "(01)" + code
	}
	return code
}

func verifyQuery(q *ledger.Request) (any, error) {
	code := q.Query.Get("code")
	if code == "" || len(code) > 512 {
		return nil, ledger.ErrBadRequest.Wrapf("code (a GS1 element string, Digital Link URI or EPC URN, ≤512 characters) is required")
	}
	return Verify(q.State, code, q.Query.Get("as"), q.Now.UTC())
}

func dscsaQuery(q *ledger.Request) (any, error) {
	p := q.Query
	res := DSCSAResponse{GTIN: p.Get("gtin"), SerialNumber: p.Get("serialNumber"), LotNumber: p.Get("lotNumber"),
		ExpirationDate: p.Get("expirationDate"), VerificationTimestamp: q.Now.UTC().Format(time.RFC3339)}
	code := "(01)" + res.GTIN + "(21)" + res.SerialNumber
	if _, err := gs1.Parse(code); err != nil || res.GTIN == "" || res.SerialNumber == "" {
		return nil, ledger.ErrBadRequest.Wrapf("gtin (14 digits) and serialNumber are required: %v", err)
	}
	v, err := Verify(q.State, code, "", q.Now.UTC())
	if err != nil {
		return nil, err
	}
	res.Recalled = v.Recall != nil
	switch {
	case v.Verdict == VerdictUnknown:
		res.VerificationFailureReason = "No_match_GTIN_Serial"
		if _, perr := GetProduct(q.State, res.GTIN); perr != nil {
			res.VerificationFailureReason = "No_match_GTIN"
		}
	case res.LotNumber != "" && res.LotNumber != v.Lot:
		res.VerificationFailureReason = "No_match_GTIN_Serial_Lot"
	case res.ExpirationDate != "" && !sameExpiry(res.ExpirationDate, v.Expiry):
		res.VerificationFailureReason = "No_match_GTIN_Serial_Expiry"
	default:
		res.Verified = true
		if v.Verdict != VerdictDispensable && v.Verdict != VerdictWrongHands {
			res.AdditionalInfo = v.Verdict + ": " + v.Message
		}
	}
	return &res, nil
}

// sameExpiry compares a YYMMDD expiry with a YYYY-MM-DD one.
func sameExpiry(yymmdd, date string) bool {
	return len(yymmdd) == 6 && len(date) == 10 && date[2:4]+date[5:7]+date[8:10] == yymmdd
}

// objectKey is the state key of the object the path's {code} names: a
// GS1 code, Digital Link URI or EPC URN, or the key itself.
func objectKey(q *ledger.Request) (string, error) {
	code := q.Path("code") // unescaped once, by the router
	if strings.Contains(code, ":") && !strings.HasPrefix(code, "urn:") && !strings.HasPrefix(code, "http") {
		return code, nil
	}
	key, _, err := KeyOf(code)
	return key, err
}

func objectQuery(q *ledger.Request) (any, error) {
	limit, err := q.Limit(100, 1000)
	if err != nil {
		return nil, err
	}
	var from uint64
	if v := q.Query.Get("after"); v != "" {
		if from, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, ledger.ErrBadRequest.Wrapf("after must be a step number (a Link header's)")
		}
	}
	key, err := objectKey(q)
	if err != nil {
		return nil, err
	}
	o, err := GetObject(q.State, key)
	if err != nil {
		return nil, err
	}
	trail, next, more, err := TrailPage(q.State, key, from, limit)
	if err != nil {
		return nil, err
	}
	children, childrenNext, err := ChildrenPage(q.State, key, "", limit)
	if err != nil {
		return nil, err
	}
	page := ledger.Page{Items: &ObjectAnswer{Object: o, Trail: trail, Children: children, ChildrenNext: childrenNext}}
	if more {
		page.Next = strconv.FormatUint(next, 10)
	}
	return page, nil
}

// objectColumns show packs, cases and assets.
var objectColumns = ledger.Cols("CODE", "key", "KIND", "kind", "GTIN", "gtin", "LOT", "lot", "CUSTODIAN", "@custodian", "STATUS", "status",
	"SUSPECT", "suspect_reason", "ASSET", "asset_type", "STATE", "asset_state")
