package lifetime

import (
	"strings"
	"testing"
	"time"
)

// A consent's or a token's lifetime is written in weeks and days as well as
// in Go durations (primum consent grant --valid-for 1w was refused); what
// is not a lifetime is refused saying what is.
func TestParseLife(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string // "" when it parses
	}{
		{"7d", 7 * Day, ""},
		{"2w", 14 * Day, ""},
		{"1w3d", 10 * Day, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"1w1h30m", Week + 90*time.Minute, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"366d", 366 * Day, ""},
		{"1d1w", 0, "want weeks or days"}, // weeks first
		{"1.5d", 0, "want weeks or days"},
		{"1y", 0, "want weeks or days"},
		{"d", 0, "want weeks or days"},
		{"", 0, "longer than zero"},
		{"0d", 0, "longer than zero"},
		{"-1h", 0, "longer than zero"},
		{"1w-8d", 0, "want weeks or days"},
		{"99999999999999w", 0, "too long"},
		{"15250w2000000h", 0, "too long"},
	} {
		got, err := Parse(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Parse(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
		}
	}
}

// A lifetime is shown in the largest whole unit, as the flag reads it back.
func TestFormatLife(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{30 * Day, "30d"},
		{14 * Day, "2w"},
		{36 * time.Hour, "36h0m0s"},
		{90 * time.Minute, "1h30m0s"},
	} {
		if got := Format(c.in); got != c.want {
			t.Errorf("Format(%v) = %q, want %q", c.in, got, c.want)
		}
		if back, err := Parse(Format(c.in)); err != nil || back != c.in {
			t.Errorf("%v does not read back: %v, %v", c.in, back, err)
		}
	}
}
