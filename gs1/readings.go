package gs1

import (
	"errors"
	"strings"
)

// ErrMissingSeparator: a raw element string has no GS separator after a
// variable-length field, and its characters can be read more than one way
// (a keyboard-wedge scanner that drops GS sends "…10AMX2026A21DEMO004",
// where the lot may end before "21"). Not a counterfeit: a scan to repeat
// with the scanner set to send GS.
var ErrMissingSeparator = errors.New("the scanner sent no GS separator after a variable-length field (lot, serial), so the code can be read more than one way: set the scanner to send GS (FNC1), or type the code with parentheses")

// maxReadings bounds the readings Readings builds (and so its work): a
// code that could be read more ways than this is ambiguous anyway.
const maxReadings = 64

// maxReadingLen bounds the codes Readings reads more than one way: a
// pack's GTIN, expiry, lot and serial take at most 70 characters, and a
// longer string is no scan of one (the public verification reads it the
// one way ParseElementString does, in microseconds).
const maxReadingLen = 100

// Readings lists the ways an element string can be read. A code in
// parentheses, or one whose variable-length fields each end at a GS, is
// read one way, as ParseElementString reads it. Without separators a
// variable-length field may end at the end of the string (as
// ParseElementString reads it) or at any earlier point from which the rest
// reads as valid application identifiers: each such reading is listed,
// ParseElementString's first (when it reads the string at all: a field read
// to the end may be too long, and only shorter readings stand). Digital Link URIs and EPC URNs have one
// reading. The work is bounded by maxReadings.
func Readings(s string) ([]*Code, error) {
	first, err := Parse(s)
	raw := typedGS.Replace(strings.TrimSpace(s))
	for _, sym := range []string{"]d2", "]C1", "]Q3", "]e0"} {
		raw = strings.TrimPrefix(raw, sym)
	}
	raw = strings.TrimPrefix(raw, gs)
	if (err != nil && !errors.Is(err, ErrBadLength)) || strings.HasPrefix(raw, "(") || strings.Contains(raw, gs) ||
		strings.HasPrefix(raw, "urn:") || strings.Contains(raw, "://") || len(raw) > maxReadingLen {
		if err != nil {
			return nil, err
		}
		return []*Code{first}, nil
	}
	// Read to the end, a variable-length field may be too long (a lot of 15
	// characters and the serial after it): only the shorter readings stand.
	var out []*Code
	if first != nil {
		out = append(out, first)
	}
	budget := maxReadings * 8 // calls, so that dead ends are bounded too
	var walk func(s string, c Code)
	walk = func(s string, c Code) {
		if budget--; budget < 0 || len(out) >= maxReadings {
			return
		}
		if s == "" {
			if first == nil || !sameCode(&c, first) {
				cc := c
				out = append(out, &cc)
			}
			return
		}
		ai, spec, err := readAI(s)
		if err != nil {
			return
		}
		rest := s[len(ai):]
		if spec.fixed > 0 {
			if len(rest) >= spec.fixed && c.setAI(ai, rest[:spec.fixed]) == nil {
				walk(rest[spec.fixed:], c)
			}
			return
		}
		for end := 1; end <= len(rest) && end <= spec.max; end++ {
			if end < len(rest) {
				if _, _, err := readAI(rest[end:]); err != nil {
					continue
				}
			}
			next := c
			if next.setAI(ai, rest[:end]) == nil {
				walk(rest[end:], next)
			}
		}
	}
	walk(raw, Code{})
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

func sameCode(a, b *Code) bool { return *a == *b }
