package records_test

import (
	"strings"
	"testing"

	"github.com/primum-health/primum/records"
)

// A hold is written CATEGORY:BASIS:YEARS; what is not is refused saying
// what is wanted (CheckHolds judges the category, basis and years).
func TestParseHold(t *testing.T) {
	for _, c := range []struct {
		in   string
		want records.Hold
		err  string
	}{
		{"medication:legal_obligation:10", records.Hold{Category: "medication", Basis: "legal_obligation", Years: 10}, ""},
		{"x:y:0", records.Hold{Category: "x", Basis: "y"}, ""},
		{"medication:legal_obligation", records.Hold{}, `"medication:legal_obligation": want CATEGORY:BASIS:YEARS`},
		{"a:b:c:1", records.Hold{}, "want CATEGORY:BASIS:YEARS"},
		{"medication:legal_obligation:ten", records.Hold{}, "years must be a whole number"},
	} {
		got, err := records.ParseHold(c.in)
		if c.err == "" && (err != nil || got != c.want) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseHold(%q) = %+v, %v", c.in, got, err)
		}
	}
}
