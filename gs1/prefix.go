package gs1

import (
	"errors"
	"fmt"
	"strings"
)

// A GS1 Company Prefix is 4 to 12 digits (GS1 General Specifications
// §1.4.4). A key does not say how long its prefix is: only GS1, which
// allocated it, knows. So whoever asks who holds a key's prefix tries each
// length, MaxPrefixLen-MinPrefixLen+1 of them.
const (
	MinPrefixLen = 4
	MaxPrefixLen = 12
)

// ErrNotCompanyPrefix: not a number GS1 allocates to a company as its
// prefix.
var ErrNotCompanyPrefix = errors.New("not a GS1 company prefix")

// CompanyDigits returns the digits of the code's primary key that begin
// with its GS1 Company Prefix, without the check digit: a GTIN's after its
// indicator digit (a GTIN-13 is held as "0" + its 13 digits, a GTIN-12 as
// "00" + its 12, so the digits read the same), an SSCC's after its
// extension digit, a GRAI's after its leading zero, a GLN's from its first.
// "" for a code with no such key.
func (c *Code) CompanyDigits() string {
	switch {
	case len(c.GTIN) == 14:
		return c.GTIN[1:13]
	case len(c.SSCC) == 18:
		return c.SSCC[1:17]
	case len(c.GRAI) == 14:
		return c.GRAI[1:13]
	case len(c.GLN) == 13:
		return c.GLN[:12]
	}
	return ""
}

// CheckCompanyPrefix says whether p may be a GS1 Company Prefix: 4 to 12
// digits, outside the ranges GS1 never allocates to a company, where a
// number names nothing one company owns: restricted circulation numbers
// (GS1 Prefixes 02, 04 and 20-29, numbered inside a company or a region)
// and the digits of a GTIN-8 or a company-internal number (00000), so that
// no claim can cover them.
func CheckCompanyPrefix(p string) error {
	if len(p) < MinPrefixLen || len(p) > MaxPrefixLen || !AllDigits(p) {
		return fmt.Errorf("%w: %d to %d digits", ErrNotCompanyPrefix, MinPrefixLen, MaxPrefixLen)
	}
	switch {
	case strings.HasPrefix(p, "02"), strings.HasPrefix(p, "04"), strings.HasPrefix(p, "2"):
		return fmt.Errorf("%w: %s… is a restricted circulation range (GS1 Prefixes 02, 04, 20-29), numbered by each company or region", ErrNotCompanyPrefix, p[:2])
	case strings.HasPrefix(p, "00000"), p == "0000":
		return fmt.Errorf("%w: 00000… is where GTIN-8s and company-internal numbers are written", ErrNotCompanyPrefix)
	}
	return nil
}
