// Package httpsig signs and verifies HTTP requests with Ed25519 under the
// subset of RFC 9421 (HTTP Message Signatures) and RFC 9530
// (Content-Digest) that Primum's API uses: a caller signs each request with
// its own key, so the node never holds a bearer secret for it.
//
// The package owns the wire format: the signature base (RFC 9421 §2.5), the
// Signature-Input and Signature fields (§4) and the structured-field syntax
// they are written in (RFC 8941, only what those two fields need). It never
// decides who may call: which key a keyid names, which components must be
// covered, how old a signature may be and whether a nonce was seen before
// all belong to the server that calls Verify. It never reads a body either:
// the server compares the Content-Digest field with ContentDigest(body).
//
// A server behind a TLS-terminating proxy must give Verify the request as
// the client addressed it (r.Host, and r.URL.Scheme when @scheme or
// @target-uri is covered) or signatures over those components will fail.
package httpsig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// AlgEd25519 is the RFC 9421 algorithm name for Ed25519, the only algorithm
// this package signs or verifies.
const AlgEd25519 = "ed25519"

// Limits on what Verify will read. A signature from Primum's own clients is a
// few hundred bytes and covers under ten components.
const (
	maxHeaderBytes = 8 << 10 // each of Signature-Input and Signature, all lines joined
	maxComponents  = 32
	maxLabel       = 64
)

// The errors Verify, Sign and SignatureBase return wrap one of these, with
// detail after the colon; test for them with errors.Is.
var (
	// ErrMissing: no Signature-Input or Signature field, or the label asked
	// for is absent from one of them.
	ErrMissing = errors.New("httpsig: signature missing")
	// ErrMalformed: a field, label, component name or parameter breaks the
	// syntax of RFC 8941 or RFC 9421.
	ErrMalformed = errors.New("httpsig: malformed signature")
	// ErrTooLarge: a field over 8 KiB, or more than 32 covered components.
	ErrTooLarge = errors.New("httpsig: signature too large")
	// ErrUnsupported: valid RFC 9421 that this package does not implement
	// (an algorithm other than ed25519, a component or signature parameter
	// it does not know, component parameters such as ;sf or ;req).
	ErrUnsupported = errors.New("httpsig: unsupported signature feature")
	// ErrComponent: a covered component cannot be taken from the request
	// (a field that is absent, a value that is not printable ASCII).
	ErrComponent = errors.New("httpsig: covered component unavailable")
)

// ContentDigest is the RFC 9530 Content-Digest field value for body, using
// SHA-256: "sha-256=:<base64>:". A server checks a request's body by
// comparing its Content-Digest field with this value, and covers the field
// in the signature so the body is signed too.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// Params are a signature's parameters (RFC 9421 §2.3). A zero Created or
// Expires and an empty string are left out when signing. Created and
// Expires are Unix seconds; Alg, if set, must be "ed25519".
//
// Params returned by Verify remember the order the signer wrote them in, as
// the signature base has to repeat it. Params a caller builds are written in
// the order created, expires, keyid, alg, nonce, tag, the order of the
// RFC's examples.
type Params struct {
	Created int64
	Expires int64
	Nonce   string
	KeyID   string
	Alg     string
	Tag     string

	// order holds one paramCode per parameter, in the order Verify read
	// them; empty for Params a caller builds. A string keeps Params
	// comparable with ==.
	order string
}

// Signed is a signature Verify has parsed and whose signature base it has
// rebuilt from the request. It is not yet trusted: the caller looks up the
// key for Params.KeyID, calls VerifyEd25519, and applies its own policy
// (Covers, the time window, replay).
type Signed struct {
	// Components are the covered components in the signer's order.
	Components []string
	Params     Params
	// Base is the signature base rebuilt from the request: the exact bytes
	// the signer must have signed.
	Base      string
	Signature []byte
}

// VerifyEd25519 reports whether the signature is pub's Ed25519 signature
// of the signature base. It is false for a key or signature of the wrong
// length, and for a signature that names an algorithm other than ed25519.
func (s *Signed) VerifyEd25519(pub ed25519.PublicKey) bool {
	if s == nil || len(pub) != ed25519.PublicKeySize || len(s.Signature) != ed25519.SignatureSize {
		return false
	}
	if s.Params.Alg != "" && s.Params.Alg != AlgEd25519 {
		return false
	}
	return ed25519.Verify(pub, []byte(s.Base), s.Signature)
}

// Covers reports whether every one of components is covered by the
// signature.
func (s *Signed) Covers(components ...string) bool {
	for _, c := range components {
		if !slices.Contains(s.Components, c) {
			return false
		}
	}
	return true
}

// Sign signs r with key: it builds the signature base over components and
// p, and sets r's Signature-Input and Signature fields to one member named
// label, replacing any signature r had. Covered fields must already be set
// on r; a client that covers content-digest sets it first with
// ContentDigest.
func Sign(r *http.Request, label string, components []string, p Params, key ed25519.PrivateKey) error {
	if err := checkLabel(label); err != nil {
		return err
	}
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: an Ed25519 private key is %d bytes, not %d", ErrMalformed, ed25519.PrivateKeySize, len(key))
	}
	if p.Alg != "" && p.Alg != AlgEd25519 {
		return fmt.Errorf("%w: alg %q: this package signs only with %q", ErrUnsupported, p.Alg, AlgEd25519)
	}
	base, sigParams, err := SignatureBase(r, components, p)
	if err != nil {
		return err
	}
	input := label + "=" + sigParams
	if len(input) > maxHeaderBytes {
		return fmt.Errorf("%w: Signature-Input would be %d bytes, over the %d a verifier reads", ErrTooLarge, len(input), maxHeaderBytes)
	}
	sig := ed25519.Sign(key, []byte(base))
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set("Signature-Input", input)
	r.Header.Set("Signature", label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

// Verify parses the signature named label from r's Signature-Input and
// Signature fields and rebuilds its signature base from r. It trusts
// nothing in the fields: sizes, syntax, labels, component names and
// parameters are all checked, and any fault is an error wrapping one of
// the package's sentinel errors. A nil error does not mean the signature
// is valid: call VerifyEd25519 with the key Params.KeyID names.
func Verify(r *http.Request, label string) (*Signed, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no request", ErrMissing)
	}
	if err := checkLabel(label); err != nil {
		return nil, err
	}
	inputs, err := readDictionary(r.Header, "Signature-Input")
	if err != nil {
		return nil, err
	}
	sigs, err := readDictionary(r.Header, "Signature")
	if err != nil {
		return nil, err
	}
	in, ok := findMember(inputs, label)
	if !ok {
		return nil, fmt.Errorf("%w: Signature-Input has no signature labelled %q", ErrMissing, label)
	}
	sv, ok := findMember(sigs, label)
	if !ok {
		return nil, fmt.Errorf("%w: Signature has no signature labelled %q", ErrMissing, label)
	}
	components, params, err := parseInput(label, in)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(label, sv)
	if err != nil {
		return nil, err
	}
	base, _, err := SignatureBase(r, components, params)
	if err != nil {
		return nil, err
	}
	return &Signed{Components: components, Params: params, Base: base, Signature: sig}, nil
}

// readDictionary joins every line of the named field and parses it as an
// RFC 8941 Dictionary.
func readDictionary(h http.Header, name string) ([]member, error) {
	lines := h.Values(name)
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: no %s field; sign the request as RFC 9421 says (httpsig.Sign does)", ErrMissing, name)
	}
	size := len(lines) - 1
	for _, l := range lines {
		size += len(l)
	}
	if size > maxHeaderBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrTooLarge, name, size, maxHeaderBytes)
	}
	// RFC 8941 §4.2: the lines of a Dictionary field are one value joined
	// by commas.
	v := strings.Trim(strings.Join(lines, ","), " \t")
	if v == "" {
		return nil, fmt.Errorf("%w: the %s field is empty", ErrMissing, name)
	}
	return parseDictionary(name, v)
}

func findMember(ms []member, key string) (member, bool) {
	for _, m := range ms {
		if m.key == key {
			return m, true
		}
	}
	return member{}, false
}

// parseInput reads a Signature-Input member: an Inner List of component
// names with the signature parameters.
func parseInput(label string, m member) ([]string, Params, error) {
	var p Params
	if !m.isInner {
		return nil, p, fmt.Errorf("%w: Signature-Input %q is not a parenthesised list of components", ErrMalformed, label)
	}
	if len(m.inner) > maxComponents {
		return nil, p, fmt.Errorf("%w: Signature-Input %q covers %d components, over %d", ErrTooLarge, label, len(m.inner), maxComponents)
	}
	components := make([]string, 0, len(m.inner))
	for _, it := range m.inner {
		if it.value.kind != kindString {
			return nil, p, fmt.Errorf("%w: Signature-Input %q: components are quoted strings", ErrMalformed, label)
		}
		if len(it.params) > 0 {
			return nil, p, fmt.Errorf("%w: component parameters (%q;%s) are not supported", ErrUnsupported, it.value.str, it.params[0].key)
		}
		components = append(components, it.value.str)
	}
	for _, pm := range m.params {
		code, ok := paramCodes[pm.key]
		if !ok {
			return nil, p, fmt.Errorf("%w: signature parameter %q (known: created, expires, keyid, alg, nonce, tag)", ErrUnsupported, pm.key)
		}
		v := pm.value
		switch code {
		case paramCreated, paramExpires:
			if v.kind != kindInteger || v.integer < 0 {
				return nil, p, fmt.Errorf("%w: %s must be a non-negative integer (Unix seconds)", ErrMalformed, pm.key)
			}
			if code == paramCreated {
				p.Created = v.integer
			} else {
				p.Expires = v.integer
			}
		default:
			if v.kind != kindString {
				return nil, p, fmt.Errorf("%w: %s must be a quoted string", ErrMalformed, pm.key)
			}
			*p.stringField(code) = v.str
		}
		p.order += string(code)
	}
	if p.Alg != "" && p.Alg != AlgEd25519 {
		return nil, p, fmt.Errorf("%w: alg %q: this package verifies only %q", ErrUnsupported, p.Alg, AlgEd25519)
	}
	return components, p, nil
}

// parseSignature reads a Signature member: a Byte Sequence.
func parseSignature(label string, m member) ([]byte, error) {
	if m.isInner || m.item.value.kind != kindBytes {
		return nil, fmt.Errorf("%w: Signature %q is not a byte sequence (:base64:)", ErrMalformed, label)
	}
	if len(m.item.params) > 0 {
		return nil, fmt.Errorf("%w: Signature %q has parameters", ErrMalformed, label)
	}
	if len(m.item.value.bytes) == 0 {
		return nil, fmt.Errorf("%w: Signature %q is empty", ErrMalformed, label)
	}
	return m.item.value.bytes, nil
}

// checkLabel checks that label is an RFC 8941 key a verifier can look up.
func checkLabel(label string) error {
	if len(label) > maxLabel || !isKey(label) {
		return fmt.Errorf("%w: label %q: use 1 to %d lower-case letters, digits, '_', '-', '.' or '*', starting with a letter or '*'", ErrMalformed, label, maxLabel)
	}
	return nil
}
