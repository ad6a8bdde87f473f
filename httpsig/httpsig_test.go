package httpsig

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// RFC 9421 Appendix B.1.4 (test-key-ed25519), B.2 (test-request) and B.2.6
// (Signing a Request Using ed25519), unwrapped per RFC 8792.
const (
	rfcPrivateKey = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
`
	rfcPublicKey = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
`
	rfcBody          = `{"hello": "world"}`
	rfcContentDigest = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"

	rfcBase = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcSignatureInput = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcSignature      = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
)

var rfcComponents = []string{"date", "@method", "@path", "@authority", "content-type", "content-length"}

// rfcKeys parses the RFC's PKCS#8 and SPKI PEM keys.
func rfcKeys(tb testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	tb.Helper()
	block, _ := pem.Decode([]byte(rfcPrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ = pem.Decode([]byte(rfcPublicKey))
	p, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	priv, pub := k.(ed25519.PrivateKey), p.(ed25519.PublicKey)
	if !pub.Equal(priv.Public()) {
		tb.Fatal("the RFC's public key is not its private key's")
	}
	return priv, pub
}

// rfcRequest is the RFC's test-request as a Go client builds it.
func rfcRequest(tb testing.TB) *http.Request {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://example.com/foo?param=Value&Pet=dog", strings.NewReader(rfcBody))
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Digest", rfcContentDigest)
	r.Header.Set("Content-Length", "18")
	return r
}

// rfcServerRequest is the RFC's test-request, signed as in B.2.6, as a
// Go server reads it off the wire.
func rfcServerRequest(tb testing.TB) *http.Request {
	tb.Helper()
	raw := strings.Join([]string{
		"POST /foo?param=Value&Pet=dog HTTP/1.1",
		"Host: example.com",
		"Date: Tue, 20 Apr 2021 02:07:55 GMT",
		"Content-Type: application/json",
		"Content-Digest: " + rfcContentDigest,
		"Content-Length: 18",
		"Signature-Input: " + rfcSignatureInput,
		"Signature: " + rfcSignature,
		"", rfcBody,
	}, "\r\n")
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	r.TLS = &tls.ConnectionState{} // as if served over HTTPS
	return r
}

func TestRFC9421Ed25519Vector(t *testing.T) {
	priv, pub := rfcKeys(t)

	// The body is the RFC's: its SHA-512 is the RFC's Content-Digest.
	sum := sha512.Sum512([]byte(rfcBody))
	if got := "sha-512=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"; got != rfcContentDigest {
		t.Fatalf("body digest %s, RFC has %s", got, rfcContentDigest)
	}

	p := Params{Created: 1618884473, KeyID: "test-key-ed25519"}
	base, sigParams, err := SignatureBase(rfcRequest(t), rfcComponents, p)
	if err != nil {
		t.Fatal(err)
	}
	if base != rfcBase {
		t.Errorf("signature base\n%s\nRFC 9421 B.2.6 has\n%s", base, rfcBase)
	}
	if want := strings.TrimPrefix(rfcSignatureInput, "sig-b26="); sigParams != want {
		t.Errorf("@signature-params %s, want %s", sigParams, want)
	}

	// Ed25519 is deterministic: Sign must write the RFC's fields exactly.
	r := rfcRequest(t)
	if err := Sign(r, "sig-b26", rfcComponents, p, priv); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("Signature-Input"); got != rfcSignatureInput {
		t.Errorf("Signature-Input\n%s\nwant\n%s", got, rfcSignatureInput)
	}
	if got := r.Header.Get("Signature"); got != rfcSignature {
		t.Errorf("Signature\n%s\nwant\n%s", got, rfcSignature)
	}

	// Verify accepts the RFC's own fields, on a client's request and on a
	// server's.
	client := rfcRequest(t)
	client.Header.Set("Signature-Input", rfcSignatureInput)
	client.Header.Set("Signature", rfcSignature)
	for name, r := range map[string]*http.Request{"client": client, "server": rfcServerRequest(t)} {
		s, err := Verify(r, "sig-b26")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Base != rfcBase {
			t.Errorf("%s: rebuilt base\n%s\nwant\n%s", name, s.Base, rfcBase)
		}
		if !slices.Equal(s.Components, rfcComponents) || s.Params.Created != p.Created || s.Params.KeyID != p.KeyID {
			t.Errorf("%s: parsed %q %+v", name, s.Components, s.Params)
		}
		if !s.VerifyEd25519(pub) {
			t.Errorf("%s: the RFC's signature does not verify", name)
		}
		if !s.Covers("@method", "@path", "@authority") || s.Covers("content-digest") {
			t.Errorf("%s: Covers is wrong for %q", name, s.Components)
		}
	}
}

func TestDerivedComponents(t *testing.T) {
	client, server := rfcRequest(t), rfcServerRequest(t)
	for _, tc := range []struct{ component, want string }{
		{"@method", "POST"},
		{"@authority", "example.com"},
		{"@scheme", "https"},
		{"@path", "/foo"},
		{"@query", "?param=Value&Pet=dog"},
		{"@target-uri", "https://example.com/foo?param=Value&Pet=dog"},
		{"@request-target", "/foo?param=Value&Pet=dog"},
	} {
		for name, r := range map[string]*http.Request{"client": client, "server": server} {
			got, err := componentValue(r, tc.component)
			if err != nil || got != tc.want {
				t.Errorf("%s %s = %q, %v; want %q", name, tc.component, got, err, tc.want)
			}
		}
	}
}

func TestAuthority(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://Example.COM/x", "example.com"},
		{"https://example.com:443/x", "example.com"},
		{"http://example.com:80/x", "example.com"},
		{"https://example.com:80/x", "example.com:80"},
		{"https://example.com:8443/x", "example.com:8443"},
		{"http://[::1]:80/", "[::1]"},
		{"http://[::1]:8080/", "[::1]:8080"},
		{"http://[::1]/", "[::1]"},
	} {
		r, err := http.NewRequest(http.MethodGet, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := componentValue(r, "@authority"); err != nil || got != tc.want {
			t.Errorf("@authority of %s = %q, %v; want %q", tc.url, got, err, tc.want)
		}
	}
}

func TestFieldValues(t *testing.T) {
	// RFC 9421 §2.1's examples.
	r, _ := http.NewRequest(http.MethodGet, "https://www.example.com/", nil)
	r.Header.Add("Cache-Control", "max-age=60")
	r.Header.Add("Cache-Control", "   must-revalidate")
	r.Header.Set("X-Ows-Header", "  Leading and trailing whitespace.  ")
	r.Header.Set("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
	r.Header.Set("X-Empty-Header", "")
	base, _, err := SignatureBase(r, []string{"cache-control", "x-ows-header", "example-dict", "x-empty-header"}, Params{})
	if err != nil {
		t.Fatal(err)
	}
	want := `"cache-control": max-age=60, must-revalidate
"x-ows-header": Leading and trailing whitespace.
"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)
"x-empty-header": 
"@signature-params": ("cache-control" "x-ows-header" "example-dict" "x-empty-header")`
	if base != want {
		t.Errorf("base\n%s\nwant\n%s", base, want)
	}
}

func TestContentDigest(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{rfcBody, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"}, // RFC 9530
		{"", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
	} {
		if got := ContentDigest([]byte(tc.body)); got != tc.want {
			t.Errorf("ContentDigest(%q) = %s, want %s", tc.body, got, tc.want)
		}
	}
}

// primumComponents are what a Primum client covers on a request with a
// body.
var primumComponents = []string{"@method", "@authority", "@path", "@query", "content-digest", "content-type", "date"}

func signedRequest(tb testing.TB, priv ed25519.PrivateKey) *http.Request {
	tb.Helper()
	r := rfcRequest(tb)
	r.Header.Set("Content-Digest", ContentDigest([]byte(rfcBody)))
	if err := Sign(r, "sig1", primumComponents, Params{Created: 1618884473, KeyID: "k1", Alg: AlgEd25519}, priv); err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestTamperingFailsVerification(t *testing.T) {
	priv, pub := rfcKeys(t)
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for _, tc := range []struct {
		name   string
		change func(*http.Request)
		key    ed25519.PublicKey
		valid  bool
	}{
		{name: "untouched", change: func(*http.Request) {}, valid: true},
		{name: "uncovered field changed", change: func(r *http.Request) { r.Header.Set("User-Agent", "x") }, valid: true},
		{name: "method", change: func(r *http.Request) { r.Method = http.MethodPut }},
		{name: "path", change: func(r *http.Request) { r.URL.Path = "/bar" }},
		{name: "query", change: func(r *http.Request) { r.URL.RawQuery = "param=Value&Pet=cat" }},
		{name: "query dropped", change: func(r *http.Request) { r.URL.RawQuery = "" }},
		{name: "authority", change: func(r *http.Request) { r.Host = "evil.example" }},
		{name: "covered field", change: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{name: "covered field line added", change: func(r *http.Request) { r.Header.Add("Content-Type", "text/plain") }},
		{name: "body digest", change: func(r *http.Request) {
			r.Header.Set("Content-Digest", ContentDigest([]byte(`{"hello": "mallory"}`)))
		}},
		{name: "created", change: func(r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "created=1618884473", "created=1618884474", 1))
		}},
		{name: "component dropped", change: func(r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), ` "date"`, "", 1))
		}},
		{name: "signature bit", change: func(r *http.Request) {
			s := r.Header.Get("Signature")
			sig, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(s, "sig1=:"), ":"))
			sig[0] ^= 1
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
		}},
		{name: "another key", change: func(*http.Request) {}, key: other.Public().(ed25519.PublicKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signedRequest(t, priv)
			tc.change(r)
			s, err := Verify(r, "sig1")
			if err != nil {
				t.Fatal(err)
			}
			key := pub
			if tc.key != nil {
				key = tc.key
			}
			if got := s.VerifyEd25519(key); got != tc.valid {
				t.Errorf("VerifyEd25519 = %v, want %v", got, tc.valid)
			}
		})
	}
}

// TestContentDigestBindsBody shows the server's half: the signature covers
// Content-Digest, and the server checks the body against it.
func TestContentDigestBindsBody(t *testing.T) {
	priv, pub := rfcKeys(t)
	r := signedRequest(t, priv)
	s, err := Verify(r, "sig1")
	if err != nil || !s.VerifyEd25519(pub) || !s.Covers("content-digest") {
		t.Fatalf("signed request does not verify: %v", err)
	}
	if r.Header.Get("Content-Digest") != ContentDigest([]byte(rfcBody)) {
		t.Error("the body sent does not match its digest")
	}
	if r.Header.Get("Content-Digest") == ContentDigest([]byte(`{"hello": "mallory"}`)) {
		t.Error("a changed body matches the signed digest")
	}
}

func TestParameterOrder(t *testing.T) {
	priv, pub := rfcKeys(t)

	// Params a caller builds: every parameter, in the canonical order, and
	// strings escaped.
	all := Params{Created: 1, Expires: 2, Nonce: "n", KeyID: `a"b\c`, Alg: AlgEd25519, Tag: "t"}
	_, sigParams, err := SignatureBase(rfcRequest(t), []string{"@method"}, all)
	if err != nil {
		t.Fatal(err)
	}
	if want := `("@method");created=1;expires=2;keyid="a\"b\\c";alg="ed25519";nonce="n";tag="t"`; sigParams != want {
		t.Errorf("@signature-params %s, want %s", sigParams, want)
	}

	// Params a signer wrote in another order keep it, so the base matches
	// the signer's; a zero value that was written stays written.
	for _, input := range []string{
		`sig1=("@method");keyid="k";created=5`,
		`sig1=("@method");tag="t";nonce="n";alg="ed25519";expires=9;keyid="k";created=0`,
		`sig1=()`,
	} {
		r := rfcRequest(t)
		r.Header.Set("Signature-Input", input)
		r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
		s, err := Verify(r, "sig1")
		if err != nil {
			t.Fatal(err)
		}
		if want := `"@signature-params": ` + strings.TrimPrefix(input, "sig1="); !strings.HasSuffix(s.Base, want) {
			t.Errorf("base\n%s\ndoes not end with\n%s", s.Base, want)
		}
		r2 := rfcRequest(t)
		if err := Sign(r2, "sig1", s.Components, s.Params, priv); err != nil {
			t.Fatal(err)
		}
		if got := r2.Header.Get("Signature-Input"); got != input {
			t.Errorf("re-signed Signature-Input %s, want %s", got, input)
		}
		s2, err := Verify(r2, "sig1")
		if err != nil || s2.Base != s.Base || s2.Params != s.Params || !s2.VerifyEd25519(pub) {
			t.Errorf("re-signed %s does not verify the same: %v", input, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	sig64 := "sig1=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":"
	good := `sig1=("@method" "@path" "content-type");created=1;keyid="k"`
	many := make([]string, 33)
	for i := range many {
		many[i] = `"x-h` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"`
	}
	for _, tc := range []struct {
		name   string
		input  []string // nil: no Signature-Input field
		sig    []string // nil: no Signature field
		label  string   // "" means sig1
		want   error
		detail string // part of the message
	}{
		{name: "no Signature-Input", sig: []string{sig64}, want: ErrMissing, detail: "no Signature-Input field"},
		{name: "no Signature", input: []string{good}, want: ErrMissing, detail: "no Signature field"},
		{name: "empty Signature-Input", input: []string{""}, sig: []string{sig64}, want: ErrMissing, detail: "empty"},
		{name: "label not in Signature-Input", input: []string{strings.Replace(good, "sig1", "sig2", 1)}, sig: []string{sig64}, want: ErrMissing, detail: `Signature-Input has no signature labelled "sig1"`},
		{name: "label not in Signature", input: []string{good}, sig: []string{strings.Replace(sig64, "sig1", "sig2", 1)}, want: ErrMissing, detail: `Signature has no signature labelled "sig1"`},
		{name: "label twice", input: []string{good + ", " + good}, sig: []string{sig64}, want: ErrMalformed, detail: `label "sig1" appears twice`},
		{name: "label twice across lines", input: []string{good}, sig: []string{sig64, sig64}, want: ErrMalformed, detail: "appears twice"},
		{name: "bad label asked for", input: []string{good}, sig: []string{sig64}, label: "Sig1", want: ErrMalformed, detail: "label"},
		{name: "unterminated list", input: []string{`sig1=("@method"`}, sig: []string{sig64}, want: ErrMalformed, detail: "no ')'"},
		{name: "trailing comma", input: []string{good + ","}, sig: []string{sig64}, want: ErrMalformed, detail: "trailing ','"},
		{name: "non-ASCII", input: []string{`sig1=("@méthod")`}, sig: []string{sig64}, want: ErrMalformed, detail: "not printable ASCII"},
		{name: "too large", input: []string{good + `;nonce="` + strings.Repeat("n", 9000) + `"`}, sig: []string{sig64}, want: ErrTooLarge, detail: "over 8192"},
		{name: "too many components", input: []string{"sig1=(" + strings.Join(many, " ") + ")"}, sig: []string{sig64}, want: ErrTooLarge, detail: "33 components"},
		{name: "component twice", input: []string{`sig1=("@method" "@path" "@method")`}, sig: []string{sig64}, want: ErrMalformed, detail: `"@method" is listed twice`},
		{name: "unknown derived component", input: []string{`sig1=("@status")`}, sig: []string{sig64}, want: ErrUnsupported, detail: "@status"},
		{name: "component parameter", input: []string{`sig1=("content-type";sf)`}, sig: []string{sig64}, want: ErrUnsupported, detail: "component parameters"},
		{name: "upper-case component", input: []string{`sig1=("Content-Type")`}, sig: []string{sig64}, want: ErrMalformed, detail: "lower-case"},
		{name: "host", input: []string{`sig1=("host")`}, sig: []string{sig64}, want: ErrUnsupported, detail: "@authority"},
		{name: "component not a string", input: []string{`sig1=(method)`}, sig: []string{sig64}, want: ErrMalformed, detail: "quoted strings"},
		{name: "covered field absent", input: []string{`sig1=("x-missing")`}, sig: []string{sig64}, want: ErrComponent, detail: "no x-missing field"},
		{name: "input not a list", input: []string{`sig1=1`}, sig: []string{sig64}, want: ErrMalformed, detail: "not a parenthesised list"},
		{name: "unknown parameter", input: []string{`sig1=();foo=1`}, sig: []string{sig64}, want: ErrUnsupported, detail: `"foo"`},
		{name: "parameter twice", input: []string{`sig1=();created=1;created=2`}, sig: []string{sig64}, want: ErrMalformed, detail: `"created" appears twice`},
		{name: "created a string", input: []string{`sig1=();created="1"`}, sig: []string{sig64}, want: ErrMalformed, detail: "non-negative integer"},
		{name: "created negative", input: []string{`sig1=();created=-1`}, sig: []string{sig64}, want: ErrMalformed, detail: "non-negative integer"},
		{name: "created decimal", input: []string{`sig1=();created=1.5`}, sig: []string{sig64}, want: ErrMalformed, detail: "decimals"},
		{name: "created 16 digits", input: []string{`sig1=();created=1234567890123456`}, sig: []string{sig64}, want: ErrMalformed, detail: "15 digits"},
		{name: "keyid a token", input: []string{`sig1=();keyid=k`}, sig: []string{sig64}, want: ErrMalformed, detail: "quoted string"},
		{name: "bad escape", input: []string{`sig1=();keyid="a\b"`}, sig: []string{sig64}, want: ErrMalformed, detail: "escape"},
		{name: "other algorithm", input: []string{`sig1=();alg="rsa-pss-sha512"`}, sig: []string{sig64}, want: ErrUnsupported, detail: "rsa-pss-sha512"},
		{name: "other member malformed", input: []string{`other=1.5, ` + good}, sig: []string{sig64}, want: ErrMalformed, detail: "decimals"},
		{name: "signature a string", input: []string{good}, sig: []string{`sig1="abc"`}, want: ErrMalformed, detail: "byte sequence"},
		{name: "signature bad base64", input: []string{good}, sig: []string{`sig1=:abc:`}, want: ErrMalformed, detail: "base64"},
		{name: "signature empty", input: []string{good}, sig: []string{`sig1=::`}, want: ErrMalformed, detail: "empty"},
		{name: "signature unterminated", input: []string{good}, sig: []string{`sig1=:AAAA`}, want: ErrMalformed, detail: "closing ':'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rfcRequest(t)
			if tc.input != nil {
				r.Header["Signature-Input"] = tc.input
			}
			if tc.sig != nil {
				r.Header["Signature"] = tc.sig
			}
			label := tc.label
			if label == "" {
				label = "sig1"
			}
			_, err := Verify(r, label)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("Verify: %q does not say %q", err, tc.detail)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	priv, _ := rfcKeys(t)
	for _, tc := range []struct {
		name       string
		label      string
		components []string
		p          Params
		key        ed25519.PrivateKey
		want       error
	}{
		{name: "bad label", label: "Sig", key: priv, want: ErrMalformed},
		{name: "other algorithm", label: "s", p: Params{Alg: "hmac-sha256"}, key: priv, want: ErrUnsupported},
		{name: "nonce not printable", label: "s", p: Params{Nonce: "a\nb"}, key: priv, want: ErrMalformed},
		{name: "created negative", label: "s", p: Params{Created: -1}, key: priv, want: ErrMalformed},
		{name: "absent field", label: "s", components: []string{"x-absent"}, key: priv, want: ErrComponent},
		{name: "field with newline", label: "s", components: []string{"x-bad"}, key: priv, want: ErrComponent},
		{name: "short key", label: "s", key: priv[:32], want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rfcRequest(t)
			r.Header["X-Bad"] = []string{"a\nb"}
			err := Sign(r, tc.label, tc.components, tc.p, tc.key)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Sign: %v, want %v", err, tc.want)
			}
			if r.Header.Get("Signature") != "" {
				t.Error("a failed Sign left a Signature field")
			}
		})
	}
}
