package gs1

import (
	"fmt"
	"net/url"
	"strings"
)

const gs = "\x1d"

// typedGS replaces the ways a GS separator is typed by the character
// itself. Built once: a Replacer builds a lookup trie, and parsing a pack's
// code is on the path of every dispensing.
var typedGS = strings.NewReplacer("<GS>", gs, "{GS}", gs, "<gs>", gs, "\\x1d", gs, "\\u001d", gs)

// ParseElementString reads "(01)09506000134352(17)261231(10)AB12(21)XYZ",
// or the same without parentheses as a DataMatrix carries it: a leading
// symbology identifier (]d2, ]C1, ]Q3) or FNC1 is skipped, and variable-
// length fields end at a GS character (ASCII 29, also written "<GS>" or
// "{GS}" when typed).
func ParseElementString(s string) (*Code, error) {
	s = typedGS.Replace(strings.TrimSpace(s))
	for _, sym := range []string{"]d2", "]C1", "]Q3", "]e0"} {
		s = strings.TrimPrefix(s, sym)
	}
	s = strings.TrimPrefix(s, gs)
	if s == "" {
		return nil, ErrEmpty
	}
	c := &Code{}
	if strings.HasPrefix(s, "(") {
		for s != "" {
			if s[0] != '(' {
				return nil, fmt.Errorf("%w: expected '(' at %q", ErrBadCharacter, short(s))
			}
			end := strings.IndexByte(s, ')')
			if end < 0 {
				return nil, fmt.Errorf("%w: unclosed '('", ErrBadCharacter)
			}
			ai := s[1:end]
			s = s[end+1:]
			next := strings.IndexByte(s, '(')
			if next < 0 {
				next = len(s)
			}
			if err := c.setAI(ai, strings.TrimSuffix(s[:next], gs)); err != nil {
				return nil, err
			}
			s = s[next:]
		}
		return c, nil
	}
	for s != "" {
		ai, spec, err := readAI(s)
		if err != nil {
			return nil, err
		}
		s = s[len(ai):]
		var v string
		if spec.fixed > 0 {
			if len(s) < spec.fixed {
				return nil, fmt.Errorf("%w: AI (%s) needs %d characters", ErrBadLength, ai, spec.fixed)
			}
			v, s = s[:spec.fixed], s[spec.fixed:]
		} else {
			end := strings.Index(s, gs)
			if end < 0 {
				end = len(s)
			}
			v, s = s[:end], s[end:]
		}
		s = strings.TrimPrefix(s, gs)
		if err := c.setAI(ai, v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// readAI finds the application identifier at the start of s (2 to 4 digits).
func readAI(s string) (string, aiSpec, error) {
	for n := 2; n <= 4 && n <= len(s); n++ {
		if spec, ok := aiSpecs[s[:n]]; ok {
			return s[:n], spec, nil
		}
	}
	return "", aiSpec{}, fmt.Errorf("%w at %q", ErrUnknownAI, short(s))
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// ParseDigitalLink reads a GS1 Digital Link URI: any host, then
// /01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}] (or /00/{sscc},
// /8003/{grai}, /414/{gln}[/254/{ext}]), and data attributes in the query
// (17=expiry, 10=lot).
func ParseDigitalLink(raw string) (*Code, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: not a URI", ErrNotAnID)
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	// The primary key may follow a path prefix of the resolver's own.
	start := -1
	for i, p := range parts {
		if (p == "01" || p == "00" || p == "8003" || p == "414" || p == "gtin") && i+1 < len(parts) {
			start = i
			break
		}
	}
	if start < 0 || (len(parts)-start)%2 != 0 {
		return nil, fmt.Errorf("%w: no GS1 key in the path", ErrNotAnID)
	}
	c := &Code{}
	for i := start; i < len(parts); i += 2 {
		ai := parts[i]
		if ai == "gtin" {
			ai = "01"
		}
		v, err := url.PathUnescape(parts[i+1])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCharacter, err)
		}
		if ai == "01" && len(v) < 14 && AllDigits(v) && (len(v) == 8 || len(v) == 12 || len(v) == 13) {
			v = strings.Repeat("0", 14-len(v)) + v
		}
		if ai == "22" {
			continue // consumer product variant: not part of the identity
		}
		if err := c.setAI(ai, v); err != nil {
			return nil, err
		}
	}
	q := u.Query()
	for _, ai := range []string{"17", "10"} {
		if v := q.Get(ai); v != "" {
			if err := c.setAI(ai, v); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// ParseEPC reads an EPC pure-identity URN: urn:epc:id:sgtin:, sscc:, grai:,
// sgln:, or the class-level urn:epc:class:lgtin:.
func ParseEPC(urn string) (*Code, error) {
	var scheme, rest string
	switch {
	case strings.HasPrefix(urn, "urn:epc:id:"):
		scheme, rest, _ = strings.Cut(strings.TrimPrefix(urn, "urn:epc:id:"), ":")
	case strings.HasPrefix(urn, "urn:epc:class:lgtin:"):
		scheme, rest = "lgtin", strings.TrimPrefix(urn, "urn:epc:class:lgtin:")
	default:
		return nil, fmt.Errorf("%w: %q", ErrNotAnID, short(urn))
	}
	f := strings.Split(rest, ".")
	unesc := func(s string) (string, error) {
		v, err := url.PathUnescape(s)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadCharacter, err)
		}
		return v, nil
	}
	c := &Code{}
	digits := func(parts ...string) error {
		for _, p := range parts {
			if !AllDigits(p) {
				return fmt.Errorf("%w: EPC %s fields must be digits", ErrBadCharacter, scheme)
			}
		}
		return nil
	}
	switch scheme {
	case "sgtin", "lgtin":
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: %s needs CompanyPrefix.IndicatorItemRef.%s", ErrBadLength, scheme, map[string]string{"sgtin": "Serial", "lgtin": "Lot"}[scheme])
		}
		if err := digits(f[0], f[1]); err != nil {
			return nil, err
		}
		if len(f[0])+len(f[1]) != 13 || len(f[0]) < 6 || len(f[0]) > 12 {
			return nil, fmt.Errorf("%w: company prefix and item reference must total 13 digits", ErrBadLength)
		}
		body := f[1][:1] + f[0] + f[1][1:]
		v, err := unesc(f[2])
		if err != nil {
			return nil, err
		}
		c.CompanyPrefixLen = len(f[0])
		if err := c.setAI("01", body+string(CheckDigit(body))); err != nil {
			return nil, err
		}
		if scheme == "sgtin" {
			return c, c.setAI("21", v)
		}
		return c, c.setAI("10", v)
	case "sscc":
		if len(f) != 2 || digits(f[0], f[1]) != nil || len(f[0])+len(f[1]) != 17 {
			return nil, fmt.Errorf("%w: sscc needs CompanyPrefix.SerialReference of 17 digits", ErrBadLength)
		}
		body := f[1][:1] + f[0] + f[1][1:]
		c.CompanyPrefixLen = len(f[0])
		return c, c.setAI("00", body+string(CheckDigit(body)))
	case "grai":
		if len(f) != 3 || digits(f[0], f[1]) != nil || len(f[0])+len(f[1]) != 12 {
			return nil, fmt.Errorf("%w: grai needs CompanyPrefix.AssetType.Serial (12 digits before the serial)", ErrBadLength)
		}
		body := "0" + f[0] + f[1]
		v, err := unesc(f[2])
		if err != nil {
			return nil, err
		}
		c.CompanyPrefixLen = len(f[0])
		return c, c.setAI("8003", body+string(CheckDigit(body))+v)
	case "sgln":
		if len(f) != 3 || digits(f[0], f[1]) != nil || len(f[0])+len(f[1]) != 12 {
			return nil, fmt.Errorf("%w: sgln needs CompanyPrefix.LocationReference.Extension (12 digits)", ErrBadLength)
		}
		body := f[0] + f[1]
		v, err := unesc(f[2])
		if err != nil {
			return nil, err
		}
		c.CompanyPrefixLen = len(f[0])
		if err := c.setAI("414", body+string(CheckDigit(body))); err != nil {
			return nil, err
		}
		if v != "" && v != "0" {
			return c, c.setAI("254", v)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: EPC scheme %q", ErrNotAnID, scheme)
}
