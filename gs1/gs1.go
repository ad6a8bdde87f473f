// Package gs1 parses the identifiers of GS1 standards that a scanner, an
// EPCIS document or a GS1 Digital Link carries: element strings
// ("(01)…(21)…" or raw with FNC1/GS separators), Digital Link URIs and EPC
// pure-identity URNs (sgtin, sscc, grai, sgln), validating check digits. It
// reduces each to one canonical key so the ledger holds one identity per
// physical object whatever form it was scanned in.
//
// Pure functions: no clock, no I/O. Expiry dates are read with the century
// rule of GS1 General Specifications §7.12 against a reference year the
// caller passes in.
package gs1

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors.
var (
	ErrEmpty        = errors.New("empty code")
	ErrCheckDigit   = errors.New("check digit does not match")
	ErrUnknownAI    = errors.New("unsupported GS1 application identifier")
	ErrBadLength    = errors.New("wrong length for this application identifier")
	ErrBadCharacter = errors.New("character not allowed here")
	ErrBadDate      = errors.New("invalid date")
	ErrNotAnID      = errors.New("not a GS1 identifier this parser knows (element string, Digital Link URI or EPC URN)")
	ErrNoPrimaryKey = errors.New("the code has no primary key (GTIN with serial, SSCC, GRAI or GLN)")
	// ErrSeveralKeys: one element string names one object. A code that
	// carries two primary keys — an SSCC with a GTIN and serial appended,
	// a GRAI with a GTIN — would let whoever chose the code decide which
	// object it names.
	ErrSeveralKeys = errors.New("the code carries more than one primary key (GTIN, SSCC, GRAI, GLN): scan one object at a time")
	// ErrRepeatedAI: the same application identifier twice with different
	// values, as when two scans land in one field.
	ErrRepeatedAI = errors.New("an application identifier appears twice with different values (two scans in one field?)")
)

// Kind of object a key names.
type Kind string

const (
	KindSGTIN Kind = "sgtin" // a serialised trade item: GTIN + serial
	KindSSCC  Kind = "sscc"  // a logistic unit (case, pallet)
	KindGRAI  Kind = "grai"  // a returnable asset (e.g. an oxygen cylinder)
	KindSGLN  Kind = "sgln"  // a location
	KindLGTIN Kind = "lgtin" // a lot of a trade item (class level)
)

// Code is what a scan or an identifier says.
type Code struct {
	GTIN       string // 14 digits
	Serial     string // AI 21
	Lot        string // AI 10
	Expiry     string // AI 17, YYMMDD as scanned
	SSCC       string // 18 digits
	GRAI       string // 14 digits (the asset type, with leading zero and check digit)
	GRAISerial string
	GLN        string // 13 digits
	GLNExt     string
	// CompanyPrefixLen is known when the code came from an EPC URN.
	CompanyPrefixLen int
}

// Key is the canonical identity of the object: "sgtin:<gtin14>.<serial>",
// "sscc:<sscc18>", "grai:<grai14>.<serial>", "sgln:<gln13>.<ext>" or
// "lgtin:<gtin14>.<lot>".
func (c *Code) Key() (string, Kind, error) {
	keys := 0
	for _, v := range []string{c.GTIN, c.SSCC, c.GRAI, c.GLN} {
		if v != "" {
			keys++
		}
	}
	if keys > 1 {
		return "", "", ErrSeveralKeys
	}
	switch {
	case c.GTIN != "" && c.Serial != "":
		return "sgtin:" + c.GTIN + "." + c.Serial, KindSGTIN, nil
	case c.SSCC != "":
		return "sscc:" + c.SSCC, KindSSCC, nil
	case c.GRAI != "" && c.GRAISerial != "":
		return "grai:" + c.GRAI + "." + c.GRAISerial, KindGRAI, nil
	case c.GLN != "":
		return "sgln:" + c.GLN + "." + c.GLNExt, KindSGLN, nil
	case c.GTIN != "" && c.Lot != "":
		return "lgtin:" + c.GTIN + "." + c.Lot, KindLGTIN, nil
	}
	return "", "", ErrNoPrimaryKey
}

// ExpiryDate reads AI 17. Day 00 means the last day of the month. refYear is
// the current year, for the century (GS1 GenSpecs §7.12).
func (c *Code) ExpiryDate(refYear int) (time.Time, bool, error) {
	if c.Expiry == "" {
		return time.Time{}, false, nil
	}
	t, err := parseYYMMDD(c.Expiry, refYear)
	return t, err == nil, err
}

func parseYYMMDD(s string, refYear int) (time.Time, error) {
	if len(s) != 6 || !AllDigits(s) {
		return time.Time{}, fmt.Errorf("%w: %q is not YYMMDD", ErrBadDate, s)
	}
	yy, _ := strconv.Atoi(s[:2])
	mm, _ := strconv.Atoi(s[2:4])
	dd, _ := strconv.Atoi(s[4:])
	// §7.12: the year is within -49…+50 of the reference year.
	year := refYear/100*100 + yy
	switch d := year - refYear; {
	case d > 50:
		year -= 100
	case d < -49:
		year += 100
	}
	if mm < 1 || mm > 12 {
		return time.Time{}, fmt.Errorf("%w: month %02d", ErrBadDate, mm)
	}
	last := time.Date(year, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd == 0 {
		dd = last
	}
	if dd > last {
		return time.Time{}, fmt.Errorf("%w: day %02d of %04d-%02d", ErrBadDate, dd, year, mm)
	}
	return time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC), nil
}

// DigitalLink renders the code as a GS1 Digital Link URI on id.gs1.org. A
// URI names one primary identifier; when a scan carries several (a GTIN and
// an SSCC on one label) it names the one Key picks, so the object keeps its
// identity through the link.
func (c *Code) DigitalLink() string {
	var b strings.Builder
	b.WriteString("https://id.gs1.org")
	_, kind, _ := c.Key()
	switch {
	case c.GTIN != "" && (kind == KindSGTIN || kind == KindLGTIN || kind == ""):
		b.WriteString("/01/" + c.GTIN)
		if c.Lot != "" {
			b.WriteString("/10/" + url.PathEscape(c.Lot))
		}
		if c.Serial != "" {
			b.WriteString("/21/" + url.PathEscape(c.Serial))
		}
		if c.Expiry != "" {
			b.WriteString("?17=" + c.Expiry)
		}
	case c.SSCC != "":
		b.WriteString("/00/" + c.SSCC)
	case c.GRAI != "":
		b.WriteString("/8003/" + c.GRAI + url.PathEscape(c.GRAISerial))
	case c.GLN != "":
		b.WriteString("/414/" + c.GLN)
		if c.GLNExt != "" && c.GLNExt != "0" {
			b.WriteString("/254/" + url.PathEscape(c.GLNExt))
		}
	}
	return b.String()
}

// Parse accepts any supported form.
func Parse(s string) (*Code, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, ErrEmpty
	case strings.HasPrefix(s, "urn:epc:"):
		return ParseEPC(s)
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		return ParseDigitalLink(s)
	default:
		return ParseElementString(s)
	}
}

// CheckDigit computes the GS1 mod-10 check digit of the digits before it.
func CheckDigit(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func validCheck(s string) bool {
	return len(s) >= 2 && AllDigits(s) && CheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// AllDigits says whether s is one or more decimal digits.
func AllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cset82 is GS1 AI encodable character set 82 (GenSpecs Figure 7.11-1).
func cset82(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7a || strings.IndexByte(`#$@[\]^`+"`", c) >= 0 {
			return false
		}
	}
	return true
}

// setAI validates one AI's value and stores it.
func (c *Code) setAI(ai, v string) error {
	spec, ok := aiSpecs[ai]
	if !ok {
		return fmt.Errorf("%w (%s)", ErrUnknownAI, ai)
	}
	if (spec.fixed > 0 && len(v) != spec.fixed) || (spec.fixed == 0 && (len(v) < 1 || len(v) > spec.max)) {
		return fmt.Errorf("%w: AI (%s) value of %d characters", ErrBadLength, ai, len(v))
	}
	if spec.check && len(v) < spec.checkLen {
		return fmt.Errorf("%w: AI (%s) needs at least %d digits", ErrBadLength, ai, spec.checkLen)
	}
	if spec.numeric && !AllDigits(v) {
		return fmt.Errorf("%w: AI (%s) must be digits", ErrBadCharacter, ai)
	}
	if !spec.numeric && !cset82(v) {
		return fmt.Errorf("%w: AI (%s)", ErrBadCharacter, ai)
	}
	if spec.check && (!AllDigits(v[:spec.checkLen]) || !validCheck(v[:spec.checkLen])) {
		return fmt.Errorf("%w: AI (%s) %s", ErrCheckDigit, ai, v[:spec.checkLen])
	}
	if prev := c.value(ai); prev != "" && prev != v {
		return fmt.Errorf("%w: AI (%s)", ErrRepeatedAI, ai)
	}
	switch ai {
	case "01":
		c.GTIN = v
	case "21":
		c.Serial = v
	case "10":
		c.Lot = v
	case "17":
		if _, err := parseYYMMDD(v, 2000); err != nil {
			return err
		}
		c.Expiry = v
	case "00":
		c.SSCC = v
	case "8003":
		c.GRAI, c.GRAISerial = v[:14], v[14:]
	case "414":
		c.GLN = v
	case "254":
		c.GLNExt = v
	}
	return nil
}

// value is what the code already holds for ai ("" if nothing).
func (c *Code) value(ai string) string {
	switch ai {
	case "01":
		return c.GTIN
	case "21":
		return c.Serial
	case "10":
		return c.Lot
	case "17":
		return c.Expiry
	case "00":
		return c.SSCC
	case "8003":
		if c.GRAI == "" {
			return ""
		}
		return c.GRAI + c.GRAISerial
	case "414":
		return c.GLN
	case "254":
		return c.GLNExt
	}
	return ""
}

type aiSpec struct {
	fixed    int // exact length, or 0 for variable
	max      int // variable: maximum length
	numeric  bool
	check    bool
	checkLen int // how many leading characters carry a check digit
	// predefined: the AI never takes a GS separator after it.
	predefined bool
}

// aiSpecs are the application identifiers Primum reads (GS1 GenSpecs §3).
var aiSpecs = map[string]aiSpec{
	"00":   {fixed: 18, numeric: true, check: true, checkLen: 18, predefined: true},
	"01":   {fixed: 14, numeric: true, check: true, checkLen: 14, predefined: true},
	"10":   {max: 20},
	"11":   {fixed: 6, numeric: true, predefined: true},
	"15":   {fixed: 6, numeric: true, predefined: true},
	"17":   {fixed: 6, numeric: true, predefined: true},
	"21":   {max: 20},
	"30":   {max: 8, numeric: true},
	"414":  {fixed: 13, numeric: true, check: true, checkLen: 13},
	"254":  {max: 20},
	"8003": {max: 30, check: true, checkLen: 14},
}
