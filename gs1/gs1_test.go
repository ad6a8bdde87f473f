package gs1

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		key      string
		lot, exp string
		err      error
	}{
		{"parentheses", "(01)09506000134352(17)261231(10)AB-12(21)XYZ001", "sgtin:09506000134352.XYZ001", "AB-12", "261231", nil},
		{"raw with GS", "010950600013435217261231" + "10AB-12\x1d21XYZ001", "sgtin:09506000134352.XYZ001", "AB-12", "261231", nil},
		{"symbology id and FNC1", "]d2\x1d0109506000134352" + "21XYZ001\x1d10AB-12", "sgtin:09506000134352.XYZ001", "AB-12", "", nil},
		{"typed <GS>", "010950600013435221XYZ001<GS>17261231", "sgtin:09506000134352.XYZ001", "", "261231", nil},
		{"digital link", "https://id.gs1.org/01/09506000134352/10/AB-12/21/XYZ001?17=261231", "sgtin:09506000134352.XYZ001", "AB-12", "261231", nil},
		{"digital link, own resolver, GTIN-13", "https://example.com/dl/01/9506000134352/21/S%2F1", "sgtin:09506000134352.S/1", "", "", nil},
		{"epc sgtin", "urn:epc:id:sgtin:0614141.812345.6789", "sgtin:80614141123458.6789", "", "", nil},
		{"epc sscc", "urn:epc:id:sscc:0614141.1234567890", "sscc:106141412345678908", "", "", nil},
		{"epc grai", "urn:epc:id:grai:0614141.12345.400", "grai:00614141123452.400", "", "", nil},
		{"epc sgln", "urn:epc:id:sgln:0614141.12345.400", "sgln:0614141123452.400", "", "", nil},
		{"epc lgtin", "urn:epc:class:lgtin:4012345.012345.998877", "lgtin:04012345123456.998877", "998877", "", nil},
		{"sscc element string", "(00)106141412345678908", "sscc:106141412345678908", "", "", nil},
		{"grai element string", "(8003)00614141123452400", "grai:00614141123452.400", "", "", nil},
		{"bad GTIN check digit", "(01)09506000134353(21)X", "", "", "", ErrCheckDigit},
		{"bad SSCC check digit", "(00)106141412345678909", "", "", "", ErrCheckDigit},
		{"bad date", "(01)09506000134352(21)X(17)261331", "", "", "", ErrBadDate},
		{"unknown AI", "(99)123(01)09506000134352", "", "", "", ErrUnknownAI},
		{"short GTIN", "(01)0950600013435(21)X", "", "", "", ErrBadLength},
		{"serial too long", "(01)09506000134352(21)123456789012345678901", "", "", "", ErrBadLength},
		{"bad serial character", "(01)09506000134352(21)A B", "", "", "", ErrBadCharacter},
		{"empty", "  ", "", "", "", ErrEmpty},
		{"lot only", "(01)09506000134352(10)L1", "lgtin:09506000134352.L1", "L1", "", nil},
		{"no key", "(10)L1", "", "", "", ErrNoPrimaryKey},
		{"SSCC carrying a GTIN and serial", "(00)106141419999999991(01)09506000134352(21)FORGED1", "", "", "", ErrSeveralKeys},
		{"GRAI carrying a GTIN and serial", "(8003)00614141123452400(01)09506000134352(21)FORGED1", "", "", "", ErrSeveralKeys},
		{"GTIN with a GLN", "(01)09506000134352(21)X(414)0614141123452", "", "", "", ErrSeveralKeys},
		{"two scans in one field", "(01)09506000134352(21)DEMO101(01)09506000134352(21)DEMO004", "", "", "", ErrRepeatedAI},
		{"two lots", "(01)09506000134352(10)A(21)X(10)B", "", "", "", ErrRepeatedAI},
		{"an AI repeated with its value", "(01)09506000134352(21)X(21)X", "sgtin:09506000134352.X", "", "", nil},
		{"short GRAI", "(8003)0061", "", "", "", ErrBadLength},
		{"not an id", "https://example.com/product/42", "", "", "", ErrNotAnID},
		{"epc wrong total", "urn:epc:id:sgtin:0614141.1234.400", "", "", "", ErrBadLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, err := Parse(c.in)
			if err == nil {
				var key string
				key, _, err = code.Key()
				if err == nil && key != c.key {
					t.Fatalf("key %q, want %q", key, c.key)
				}
				if err == nil && (code.Lot != c.lot || code.Expiry != c.exp) {
					t.Fatalf("lot %q expiry %q", code.Lot, code.Expiry)
				}
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
		})
	}
}

func TestExpiryCentury(t *testing.T) {
	cases := []struct {
		yymmdd string
		ref    int
		want   string
	}{
		{"261231", 2026, "2026-12-31"},
		{"270200", 2026, "2027-02-28"}, // day 00: last day of the month
		{"280200", 2026, "2028-02-29"},
		{"990101", 2026, "1999-01-01"},
		{"760101", 2026, "2076-01-01"},
		{"770101", 2026, "1977-01-01"},
	}
	for _, c := range cases {
		got, err := parseYYMMDD(c.yymmdd, c.ref)
		if err != nil || got.Format(time.DateOnly) != c.want {
			t.Errorf("%s: %v %v, want %s", c.yymmdd, got, err, c.want)
		}
	}
}

func TestDigitalLinkRoundTrip(t *testing.T) {
	for _, in := range []string{"(01)09506000134352(10)AB1(21)X%1(17)261231", "(00)106141412345678908", "(8003)00614141123452400"} {
		c, err := Parse(in)
		if err != nil {
			t.Fatal(in, err)
		}
		back, err := Parse(c.DigitalLink())
		if err != nil {
			t.Fatal(c.DigitalLink(), err)
		}
		k1, _, _ := c.Key()
		k2, _, _ := back.Key()
		if k1 != k2 || back.Expiry != c.Expiry || back.Lot != c.Lot {
			t.Fatalf("%s -> %s -> %s", in, c.DigitalLink(), k2)
		}
	}
}

// FuzzParse: no input panics, and whatever parses has a key that survives a
// round trip through its Digital Link.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"(01)09506000134352(17)261231(10)AB-12(21)XYZ001",
		"010950600013435217261231" + "10AB-12\x1d21XYZ001",
		"]d2\x1d0109506000134352" + "21XYZ001",
		"https://id.gs1.org/01/09506000134352/10/AB-12/21/XYZ001?17=261231",
		"urn:epc:id:sgtin:0614141.112345.400", "urn:epc:id:sscc:0614141.1234567890",
		"urn:epc:id:grai:0614141.12345.400", "urn:epc:id:sgln:0614141.12345.400",
		"(8003)00614141123452400", "(", "()", "(01", "8003", "urn:epc:id:sgtin:..",
		"(00)106141419999999991(01)09506000134352(21)FORGED1", "(01)09506000134352(21)A(01)09506000134352(21)B",
		"01095060001343521728063010AMX2026A21DEMO004",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Every reading of a code is itself a code that parses back, and
		// there are never more than maxReadings.
		readings, rerr := Readings(s)
		if len(readings) > maxReadings {
			t.Fatalf("%q: %d readings", s, len(readings))
		}
		for _, r := range readings {
			if r == nil {
				t.Fatalf("%q: a nil reading", s)
			}
		}
		c, err := Parse(s)
		if err == nil && (rerr != nil || len(readings) == 0 || *readings[0] != *c) {
			t.Fatalf("%q: Parse reads %+v, Readings %v first (%v)", s, c, readings, rerr)
		}
		if err != nil {
			return
		}
		key, kind, err := c.Key()
		if err != nil || kind == KindLGTIN || kind == KindSGLN {
			return
		}
		back, err := Parse(c.DigitalLink())
		if err != nil {
			t.Fatalf("%q: its Digital Link %q does not parse: %v", s, c.DigitalLink(), err)
		}
		if k, _, _ := back.Key(); k != key {
			t.Fatalf("%q: key %q became %q through %q", s, key, k, c.DigitalLink())
		}
	})
}

// BenchmarkParse reads a pack's code as a scanner sends it, the first step
// of every dispensing and verification.
func BenchmarkParse(b *testing.B) {
	const scanned = "]d201095060001343521726123110AB12\x1d21XYZ0001"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(scanned); err != nil {
			b.Fatal(err)
		}
	}
}
