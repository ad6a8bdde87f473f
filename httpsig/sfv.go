package httpsig

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// The part of RFC 8941 (Structured Field Values) that Signature-Input and
// Signature are written in: a Dictionary whose members are Inner Lists or
// Items, with Parameters; bare items that are Integers, Strings, Tokens,
// Byte Sequences or Booleans. Decimals are refused. Where RFC 8941 lets a
// later duplicate key win, this parser refuses the field: a signature
// whose meaning depends on which copy a parser keeps is not one to accept.

type itemKind uint8

const (
	kindInteger itemKind = iota + 1
	kindString
	kindToken
	kindBytes
	kindBoolean
)

// maxInteger is RFC 8941's largest Integer (15 digits).
const maxInteger = 999_999_999_999_999

type bareItem struct {
	kind    itemKind
	integer int64
	str     string // a String's or a Token's text
	bytes   []byte
	boolean bool
}

type param struct {
	key   string
	value bareItem
}

type item struct {
	value  bareItem
	params []param
}

// member is one Dictionary member: an Inner List with its parameters, or
// an Item.
type member struct {
	key     string
	isInner bool
	inner   []item
	params  []param // the Inner List's
	item    item
}

type parser struct {
	field string // for error messages
	s     string
	i     int
}

func (p *parser) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s, byte %d: %s", ErrMalformed, p.field, p.i, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *parser) skipSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// parseDictionary parses a whole field value (RFC 8941 §4.2.2), which the
// caller has trimmed.
func parseDictionary(field, s string) ([]member, error) {
	p := &parser{field: field, s: s}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			p.i = i
			return nil, p.fail("byte 0x%02x is not printable ASCII", c)
		}
	}
	var out []member
	seen := make(map[string]bool)
	for {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, p.fail("label %q appears twice", key)
		}
		seen[key] = true
		m := member{key: key}
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				m.isInner = true
				if m.inner, err = p.innerList(); err != nil {
					return nil, err
				}
				if m.params, err = p.parameters(); err != nil {
					return nil, err
				}
			} else if m.item, err = p.item(); err != nil {
				return nil, err
			}
		} else {
			m.item.value = bareItem{kind: kindBoolean, boolean: true}
			if m.item.params, err = p.parameters(); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.s[p.i] != ',' {
			return nil, p.fail("expected ',' between members, found %q", p.s[p.i])
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, p.fail("trailing ','")
		}
	}
}

// key parses an RFC 8941 key: lcalpha or '*', then lcalpha, DIGIT, '_',
// '-', '.' or '*'.
func (p *parser) key() (string, error) {
	start := p.i
	if c := p.peek(); !('a' <= c && c <= 'z' || c == '*') {
		return "", p.fail("expected a key (lower-case letter or '*')")
	}
	for p.i++; !p.eof() && isKeyChar(p.s[p.i]); p.i++ {
	}
	return p.s[start:p.i], nil
}

func (p *parser) innerList() ([]item, error) {
	p.i++ // '('
	var items []item
	for {
		p.skipSP()
		if p.eof() {
			return nil, p.fail("unterminated list: no ')'")
		}
		if p.s[p.i] == ')' {
			p.i++
			return items, nil
		}
		it, err := p.item()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if p.eof() {
			return nil, p.fail("unterminated list: no ')'")
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, p.fail("expected ' ' or ')' after a list item")
		}
	}
}

func (p *parser) item() (item, error) {
	v, err := p.bareItem()
	if err != nil {
		return item{}, err
	}
	params, err := p.parameters()
	return item{value: v, params: params}, err
}

func (p *parser) parameters() ([]param, error) {
	var out []param
	var seen map[string]bool
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, p.fail("parameter %q appears twice", key)
		}
		if seen == nil {
			seen = make(map[string]bool)
		}
		seen[key] = true
		v := bareItem{kind: kindBoolean, boolean: true}
		if p.peek() == '=' {
			p.i++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		out = append(out, param{key: key, value: v})
	}
	return out, nil
}

func (p *parser) bareItem() (bareItem, error) {
	switch c := p.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		return p.integer()
	case c == '"':
		return p.string()
	case c == ':':
		return p.byteSequence()
	case c == '?':
		return p.boolean()
	case c == '*' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		return p.token(), nil
	default:
		return bareItem{}, p.fail("expected a value")
	}
}

func (p *parser) integer() (bareItem, error) {
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	start := p.i
	var n int64
	for !p.eof() && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		if p.i-start == 15 {
			return bareItem{}, p.fail("integer longer than 15 digits")
		}
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start {
		return bareItem{}, p.fail("expected a digit")
	}
	if p.peek() == '.' {
		return bareItem{}, p.fail("decimals are not supported")
	}
	if neg {
		n = -n
	}
	return bareItem{kind: kindInteger, integer: n}, nil
}

func (p *parser) string() (bareItem, error) {
	p.i++ // '"'
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return bareItem{kind: kindString, str: b.String()}, nil
		case c == '\\':
			if p.eof() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return bareItem{}, p.fail(`a string may escape only '"' and '\'`)
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c < 0x20 || c > 0x7e:
			return bareItem{}, p.fail("byte 0x%02x in a string", c)
		default:
			b.WriteByte(c)
		}
	}
	return bareItem{}, p.fail("unterminated string")
}

func (p *parser) token() bareItem {
	start := p.i
	for p.i++; !p.eof() && (isTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/'); p.i++ {
	}
	return bareItem{kind: kindToken, str: p.s[start:p.i]}
}

func (p *parser) byteSequence() (bareItem, error) {
	p.i++ // ':'
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return bareItem{}, p.fail("unterminated byte sequence: no closing ':'")
	}
	// Strict: padded, and no stray bits, so one value has one spelling.
	b, err := base64.StdEncoding.Strict().DecodeString(p.s[p.i : p.i+end])
	if err != nil {
		return bareItem{}, p.fail("byte sequence is not padded standard base64")
	}
	p.i += end + 1
	return bareItem{kind: kindBytes, bytes: b}, nil
}

func (p *parser) boolean() (bareItem, error) {
	p.i++ // '?'
	switch p.peek() {
	case '0', '1':
		b := p.s[p.i] == '1'
		p.i++
		return bareItem{kind: kindBoolean, boolean: b}, nil
	}
	return bareItem{}, p.fail("a boolean is ?0 or ?1")
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*'
}

// isKey reports whether s is an RFC 8941 key.
func isKey(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || s[0] == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar: RFC 9110 token characters.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isSFString reports whether s can be written as an RFC 8941 String.
func isSFString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func writeSFString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
