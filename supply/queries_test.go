package supply_test

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// TestObjectQueryTakesThePathAsTheRouterGaveIt: the router hands a query
// its path parameter already unescaped, so a serial holding '%' (GS1
// allows it) is found, and a Digital Link URI (escaped slashes) too.
func TestObjectQueryTakesThePathAsTheRouterGaveIt(t *testing.T) {
	w := newWorld(t)
	if err := w.Do("maker", supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: gtin, Name: "Amoxicillin"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Do("maker", supply.TypeCommission, supply.Commission{GTIN: gtin, Lot: "L1", Expiry: "2028-06-30", Serials: []string{"A%B", "C1"}}); err != nil {
		t.Fatal(err)
	}
	var object ledger.Query
	for _, q := range supply.Declare().Queries {
		if q.Name == "object" {
			object = q
		}
	}
	for _, code := range []string{"(01)" + gtin + "(21)A%B", "https://id.gs1.org/01/" + gtin + "/21/C1", "sgtin:" + gtin + ".C1"} {
		// What an escaping client sends, as the router gives it back.
		sent, _ := url.PathUnescape(url.PathEscape(code))
		out, err := object.Handle(&ledger.Request{State: w.St.Committed(), Path: func(string) string { return sent }, Now: w.Now})
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if a := out.(ledger.Page).Items.(*supply.ObjectAnswer); a.Object == nil {
			t.Fatalf("%s: no object", code)
		}
	}
}

// TestPrefixQueries: the held prefixes, a member's, and the one a code
// falls under (a bare GTIN or GLN too).
func TestPrefixQueries(t *testing.T) {
	w := newWorld(t)
	must(t, w.Do("maker", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"}))
	must(t, w.Do("dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}))
	queries := map[string]ledger.Query{}
	for _, q := range supply.Declare().Queries {
		queries[q.Name] = q
	}
	ask := func(name string, params url.Values, path string) (any, error) {
		return queries[name].Handle(&ledger.Request{State: w.St.Committed(), Query: params, Path: func(string) string { return path }, Now: w.Now})
	}
	for _, c := range []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"all", url.Values{}, []string{"0614141", "9506000"}},
		{"a member's", url.Values{"org": {w.ID("dist")}}, []string{"0614141"}},
		{"a pack's", url.Values{"code": {pack1}}, []string{"9506000"}},
		{"a bare GTIN's", url.Values{"code": {"(01)" + gtin}}, []string{"9506000"}},
		{"a GLN's", url.Values{"code": {"(414)" + glnDist}}, []string{"0614141"}},
		{"a GTIN's digits alone", url.Values{"code": {gtin}}, []string{"9506000"}},
		{"a GTIN-13's digits alone", url.Values{"code": {gtin[1:]}}, []string{"9506000"}},
		{"a GLN's digits alone", url.Values{"code": {glnDist}}, []string{"0614141"}},
		{"an SSCC under none", url.Values{"code": {ssccFree}}, nil},
	} {
		out, err := ask("prefixes", c.params, "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, p := range out.(ledger.Page).Items.([]*supply.CompanyPrefix) {
			got = append(got, p.Prefix)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"(10)L1", gtin[:13] + "9", "1234567"} {
		if _, err := ask("prefixes", url.Values{"code": {bad}}, ""); !errors.Is(err, supply.ErrBadCode) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if out, err := ask("prefix", nil, "9506000"); err != nil || out.(*supply.CompanyPrefix).Owner != w.ID("maker") {
		t.Errorf("prefix 9506000: %v %v", out, err)
	}
	if _, err := ask("prefix", nil, "950600"); !errors.Is(err, supply.ErrUnknownPrefix) {
		t.Errorf("prefix 950600: %v", err)
	}
}
