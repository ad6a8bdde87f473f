package httpsig

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The signature base is fixed by RFC 9421 §2.5, byte for byte: signer and
// verifier build it independently and any difference fails every
// signature. httpsig_test.go checks it against the RFC's own example
// (Appendix B.2.6).

// derived are the derived components (RFC 9421 §2.2) this package can
// compute from a request. @query-param and @status are not among them.
var derived = map[string]bool{
	"@method":         true,
	"@target-uri":     true,
	"@authority":      true,
	"@scheme":         true,
	"@request-target": true,
	"@path":           true,
	"@query":          true,
}

// A paramCode names a signature parameter inside Params.order.
type paramCode = byte

const (
	paramCreated paramCode = 'c'
	paramExpires paramCode = 'e'
	paramKeyID   paramCode = 'k'
	paramAlg     paramCode = 'a'
	paramNonce   paramCode = 'n'
	paramTag     paramCode = 't'

	// canonicalOrder is the order Params a caller builds are written in:
	// the RFC's examples put created first, then expires, keyid and alg
	// (§4.3), and nonce (B.2.1) and tag (B.2.2) after keyid.
	canonicalOrder = "cekant"
)

var paramCodes = map[string]paramCode{
	"created": paramCreated,
	"expires": paramExpires,
	"keyid":   paramKeyID,
	"alg":     paramAlg,
	"nonce":   paramNonce,
	"tag":     paramTag,
}

var paramNames = map[paramCode]string{
	paramCreated: "created",
	paramExpires: "expires",
	paramKeyID:   "keyid",
	paramAlg:     "alg",
	paramNonce:   "nonce",
	paramTag:     "tag",
}

func (p *Params) stringField(code paramCode) *string {
	switch code {
	case paramKeyID:
		return &p.KeyID
	case paramAlg:
		return &p.Alg
	case paramNonce:
		return &p.Nonce
	case paramTag:
		return &p.Tag
	}
	panic("httpsig: no string parameter " + string(code))
}

// SignatureBase builds the RFC 9421 §2.5 signature base of r over
// components (in that order) and p. It returns the base, whose bytes are
// what is signed, and sigParams, the serialised @signature-params value
// (§2.3) that follows the label in the Signature-Input field.
//
// Components are derived components (@method, @authority, @path, @query,
// @target-uri, @scheme, @request-target) or lower-case header field names.
// A field's value is its lines, each trimmed, joined with ", " (§2.1).
func SignatureBase(r *http.Request, components []string, p Params) (base string, sigParams string, err error) {
	if r == nil || r.URL == nil {
		return "", "", fmt.Errorf("%w: no request or request URL", ErrComponent)
	}
	if err := checkComponents(components); err != nil {
		return "", "", err
	}
	sigParams, err = serializeParams(components, p)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, c := range components {
		v, err := componentValue(r, c)
		if err != nil {
			return "", "", err
		}
		// Names are checked to hold no '"' or '\', so quoting needs no
		// escapes.
		b.WriteString(`"` + c + `": ` + v + "\n")
	}
	b.WriteString(`"@signature-params": ` + sigParams)
	return b.String(), sigParams, nil
}

// checkComponents rejects lists this package cannot sign or verify
// faithfully.
func checkComponents(components []string) error {
	if len(components) > maxComponents {
		return fmt.Errorf("%w: %d covered components, over %d", ErrTooLarge, len(components), maxComponents)
	}
	for i, c := range components {
		switch {
		case c == "":
			return fmt.Errorf("%w: an empty component name", ErrMalformed)
		case derived[c]:
		case c[0] == '@':
			return fmt.Errorf("%w: derived component %q (supported: @method, @authority, @path, @query, @target-uri, @scheme, @request-target)", ErrUnsupported, c)
		case !isFieldName(c):
			return fmt.Errorf("%w: component %q is not a lower-case HTTP field name", ErrMalformed, c)
		case c == "host":
			// net/http moves Host out of the header map into r.Host.
			return fmt.Errorf("%w: cover @authority rather than the host field", ErrUnsupported)
		case c == "signature" || c == "signature-input":
			// Covering another signature needs the ;key parameter.
			return fmt.Errorf("%w: a signature cannot cover the %s field", ErrUnsupported, c)
		}
		for _, d := range components[:i] {
			if d == c {
				return fmt.Errorf("%w: component %q is listed twice", ErrMalformed, c)
			}
		}
	}
	return nil
}

// serializeParams writes the @signature-params value (RFC 9421 §2.3): the
// quoted component names as an Inner List, then the parameters in the order
// Verify read them, and any others in canonicalOrder.
func serializeParams(components []string, p Params) (string, error) {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range components {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + c + `"`)
	}
	b.WriteByte(')')
	var done [256]bool
	for _, code := range []byte(p.order + canonicalOrder) {
		if done[code] {
			continue
		}
		done[code] = true
		parsed := strings.IndexByte(p.order, code) >= 0
		name := paramNames[code]
		switch code {
		case paramCreated, paramExpires:
			n := p.Created
			if code == paramExpires {
				n = p.Expires
			}
			if n == 0 && !parsed {
				continue
			}
			if n < 0 || n > maxInteger {
				return "", fmt.Errorf("%w: %s %d is not a Unix time in seconds", ErrMalformed, name, n)
			}
			b.WriteString(";" + name + "=" + strconv.FormatInt(n, 10))
		default:
			s := *p.stringField(code)
			if s == "" && !parsed {
				continue
			}
			if !isSFString(s) {
				return "", fmt.Errorf("%w: %s %q holds a byte that is not printable ASCII", ErrMalformed, name, s)
			}
			b.WriteString(";" + name + "=")
			writeSFString(&b, s)
		}
	}
	return b.String(), nil
}

// componentValue is a component's value in the signature base (RFC 9421
// §2.1 for fields, §2.2 for derived components).
func componentValue(r *http.Request, c string) (string, error) {
	var v string
	switch c {
	case "@method":
		v = r.Method
		if v == "" {
			v = http.MethodGet // as net/http sends it
		}
	case "@authority":
		a, err := authority(r)
		if err != nil {
			return "", err
		}
		v = a
	case "@scheme":
		v = scheme(r)
	case "@path":
		p, err := path(r)
		if err != nil {
			return "", err
		}
		v = p
	case "@query":
		v = "?" + r.URL.RawQuery
	case "@request-target":
		// A server has the request line's target verbatim; a client sends
		// r.URL.RequestURI().
		v = r.RequestURI
		if v == "" {
			v = r.URL.RequestURI()
		}
	case "@target-uri":
		a, err := authority(r)
		if err != nil {
			return "", err
		}
		p, err := path(r)
		if err != nil {
			return "", err
		}
		v = scheme(r) + "://" + a + p
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			v += "?" + r.URL.RawQuery
		}
	default:
		return fieldValue(r, c)
	}
	if !isDerivedValue(v) {
		return "", fmt.Errorf("%w: %s %q is empty, or not printable ASCII", ErrComponent, c, v)
	}
	return v, nil
}

// fieldValue is a header field's lines, each trimmed, joined with ", "
// (RFC 9421 §2.1).
func fieldValue(r *http.Request, name string) (string, error) {
	lines := r.Header.Values(name)
	if len(lines) == 0 {
		return "", fmt.Errorf("%w: the request has no %s field to cover", ErrComponent, name)
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strings.Trim(l, " \t"))
	}
	v := b.String()
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			return "", fmt.Errorf("%w: the %s field holds byte 0x%02x; covered fields must be printable ASCII", ErrComponent, name, c)
		}
	}
	return v, nil
}

// Authority is the request's @authority as a signature covers it: host and
// port, lower-cased, without the scheme's default port (RFC 9110 §4.2.3).
func Authority(r *http.Request) (string, error) { return authority(r) }

func authority(r *http.Request) (string, error) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if host == "" {
		return "", fmt.Errorf("%w: @authority: the request has no host", ErrComponent)
	}
	host = strings.ToLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		port, s := host[i+1:], scheme(r)
		if port == "" || (port == "443" && s == "https") || (port == "80" && s == "http") {
			host = host[:i]
		}
	}
	return host, nil
}

// scheme is the URL's scheme, or, on a server (where r.URL has none), https
// when the request came over TLS.
func scheme(r *http.Request) string {
	if r.URL.Scheme != "" {
		return strings.ToLower(r.URL.Scheme)
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// path is the URL's path as sent, percent-encoding kept; "/" if empty.
func path(r *http.Request) (string, error) {
	if r.URL.Opaque != "" {
		return "", fmt.Errorf("%w: @path of an opaque URL", ErrUnsupported)
	}
	p := r.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p, nil
}

// isFieldName reports whether s is a lower-case HTTP field name (RFC 9110
// token).
func isFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || !isTchar(c) {
			return false
		}
	}
	return s != ""
}

// isDerivedValue: RFC 9421 §2.2 wants printable characters and spaces, no
// newline, no leading or trailing whitespace.
func isDerivedValue(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
