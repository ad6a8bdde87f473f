package gs1

import (
	"errors"
	"strings"
	"testing"
)

// TestCompanyDigits: whatever form a key comes in, its company digits
// begin with the prefix an EPC URN spells out.
func TestCompanyDigits(t *testing.T) {
	for _, c := range []struct{ in, prefix, digits string }{
		{"urn:epc:id:sgtin:0614141.812345.6789", "0614141", "061414112345"},
		{"(01)80614141123458(21)6789", "0614141", "061414112345"},
		{"urn:epc:id:sgtin:9506000.013435.DEMO002", "9506000", "950600013435"},
		{"https://id.gs1.org/01/9506000134352/21/X", "9506000", "950600013435"},
		{"urn:epc:id:sscc:0614141.1234567890", "0614141", "0614141234567890"},
		{"(00)106141412345678908", "0614141", "0614141234567890"},
		{"urn:epc:id:grai:0614141.12345.400", "0614141", "061414112345"},
		{"(8003)00614141123452400", "0614141", "061414112345"},
		{"urn:epc:id:sgln:0614141.12345.400", "0614141", "061414112345"},
		{"(414)0614141000005", "0614141", "061414100000"},
		{"(10)L1", "", ""},
	} {
		code, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		got := code.CompanyDigits()
		if got != c.digits || !strings.HasPrefix(got, c.prefix) {
			t.Errorf("%s: company digits %q, want %q (prefix %s)", c.in, got, c.digits, c.prefix)
		}
		if got != "" && len(got) < MaxPrefixLen {
			t.Errorf("%s: %d company digits, fewer than the longest prefix", c.in, len(got))
		}
	}
	// A GTIN-8, held as 14 digits, lies where no prefix may be claimed.
	code, err := Parse("(01)00000096385074(21)X")
	if err != nil {
		t.Fatal(err)
	}
	for n := MinPrefixLen; n <= MaxPrefixLen; n++ {
		if p := code.CompanyDigits()[:n]; CheckCompanyPrefix(p) == nil {
			t.Errorf("a GTIN-8's digits fall under the claimable prefix %s", p)
		}
	}
}

func TestCheckCompanyPrefix(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"0614141", true}, {"9506000", true}, {"4012", true}, {"061414112345", true}, {"00001", true},
		{"061", false}, {"0614141123456", false}, {"06141a1", false}, {"", false}, {" 0614141", false},
		{"0212345", false}, {"0412345", false}, {"2000", false}, {"2991234", false},
		{"0000", false}, {"00000", false}, {"000001234", false},
	} {
		err := CheckCompanyPrefix(c.p)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrNotCompanyPrefix)) {
			t.Errorf("%q: %v, want ok=%v", c.p, err, c.ok)
		}
	}
}
