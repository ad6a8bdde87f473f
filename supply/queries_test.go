package supply_test

import (
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
