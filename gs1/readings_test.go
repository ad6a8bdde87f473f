package gs1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReadings: a code whose variable-length fields end at a GS, or are in
// parentheses, reads one way; a keyboard-wedge scan without GS reads every
// way its characters allow, ParseElementString's first.
func TestReadings(t *testing.T) {
	const gtin = "0109506000134352"
	cases := []struct {
		name string
		code string
		want []string // lot/serial of each reading, in order
		err  error
	}{
		{"parentheses", "(01)09506000134352(10)AMX2026A(21)DEMO004", []string{"AMX2026A/DEMO004"}, nil},
		{"GS after the lot", gtin + "10AMX2026A\x1d21DEMO004", []string{"AMX2026A/DEMO004"}, nil},
		{"GS typed as <GS>", gtin + "10AMX2026A<GS>21DEMO004", []string{"AMX2026A/DEMO004"}, nil},
		{"the issue's scan: the lot swallows the serial", gtin + "1728063010AMX2026A21DEMO004", []string{"AMX2026A21DEMO004/", "AMX2026A/DEMO004"}, nil},
		{"the serial swallows the lot", gtin + "21DEMO00410AMX2026A", []string{"/DEMO00410AMX2026A", "AMX2026A/DEMO004"}, nil},
		{"read to the end the lot is too long", gtin + "10ABCDEFGHIJKLMNO21DEMO004", []string{"ABCDEFGHIJKLMNO/DEMO004"}, nil},
		{"a lot with no AI inside", gtin + "10AMXQ", []string{"AMXQ/"}, nil},
		{"Digital Link", "https://id.gs1.org/01/09506000134352/10/AMX2026A/21/DEMO004", []string{"AMX2026A/DEMO004"}, nil},
		{"not a code", "hello", nil, ErrUnknownAI},
		{"too long every way", gtin + "10ABCDEFGHIJKLMNOPQRSTUVWXYZ", nil, ErrBadLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Readings(c.code)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got {
				names = append(names, r.Lot+"/"+r.Serial)
			}
			if fmt.Sprint(names) != fmt.Sprint(c.want) {
				t.Fatalf("readings %v, want %v", names, c.want)
			}
		})
	}
}

// TestReadingsAreBounded: a string that can be split a great many ways
// yields at most maxReadings readings, quickly.
func TestReadingsAreBounded(t *testing.T) {
	code := "0109506000134352" + "10" + strings.Repeat("21A10B", 3) + "21C"
	got, err := Readings(code)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 2 || len(got) > maxReadings {
		t.Fatalf("%d readings", len(got))
	}
}

// TestLongCodesReadOneWay: past maxReadingLen a code is read only as
// ParseElementString reads it (no scan of a pack is that long), so the
// public verification spends microseconds on it.
func TestLongCodesReadOneWay(t *testing.T) {
	long := "0109506000134352" + "10AMX2026A21" + strings.Repeat("9", maxReadingLen)
	if got, err := Readings(long); err == nil && len(got) > 1 {
		t.Fatalf("%d readings of a %d-character code", len(got), len(long))
	}
}
