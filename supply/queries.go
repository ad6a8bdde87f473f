package supply

import (
	"errors"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
)

// ObjectAnswer is a serialised object with its custody trail and, for a
// container, what it holds.
type ObjectAnswer struct {
	Object   *Object  `json:"object"`
	Trail    []*Step  `json:"trail"`
	Children []string `json:"children"`
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
		{Path: "/api/v1/supply/objects/{code}", Name: "object", Read: ledger.Public, Answer: &ObjectAnswer{},
			Doc:    "A pack, case, pallet or asset by its code or state key, with its custody trail and contents.",
			Handle: objectQuery},
		{Path: "/api/v1/supply/products/{gtin}", Name: "product", Read: ledger.Public, Answer: &Product{},
			Doc: "A registered product.",
			Handle: func(q *ledger.Request) (any, error) {
				return GetProduct(q.State, q.Path("gtin"))
			}},
		{Path: "/api/v1/supply/recalls", Name: "recalls", Read: ledger.Public, Answer: []*Recall{},
			Doc: "Recalled lots.",
			Handle: func(q *ledger.Request) (any, error) {
				return Recalls(q.State)
			}},
		{Path: "/api/v1/supply/suspects", Name: "suspects", Read: ledger.Public, Answer: []Object{},
			Doc: "Packs reported as suspect, quarantined or not (at most 1,000).",
			Handle: func(q *ledger.Request) (any, error) {
				return Suspects(q.State, 1000)
			}},
		{Path: "/api/v1/supply/assets", Name: "assets", Read: ledger.Public, Answer: ledger.Page{Items: []*Object{}},
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
		{Path: "/api/v1/supply/prefixes", Name: "prefixes", Read: ledger.Public, Answer: ledger.Page{Items: []*CompanyPrefix{}},
			Doc: "GS1 company prefixes members hold: all of them in order, a member's, or the one a code falls under.",
			Params: []ledger.Param{{Name: "org", Doc: "a member's id: its prefixes (at most 16)"},
				{Name: "code", Doc: "a GS1 code in any form verify takes: the prefix its key falls under, if one is held"},
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
		// A bare GTIN or GLN names no object, but falls under a prefix.
		c, err := gs1.Parse(code)
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

func objectQuery(q *ledger.Request) (any, error) {
	code := q.Path("code") // unescaped once, by the router
	key := code
	if !strings.Contains(code, ":") || strings.HasPrefix(code, "urn:") || strings.HasPrefix(code, "http") {
		var err error
		if key, _, err = KeyOf(code); err != nil {
			return nil, err
		}
	}
	o, err := GetObject(q.State, key)
	if err != nil {
		return nil, err
	}
	trail, err := Trail(q.State, key)
	if err != nil {
		return nil, err
	}
	children, _ := Children(q.State, key)
	return &ObjectAnswer{Object: o, Trail: trail, Children: children}, nil
}
