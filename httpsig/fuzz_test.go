package httpsig

import (
	"errors"
	"slices"
	"testing"
)

// FuzzVerify feeds arbitrary Signature-Input and Signature fields to Verify
// over the RFC's test request. Verify must never panic, must refuse with one
// of the package's errors, and whatever it accepts must sign again into
// fields that Verify reads back as the same signature: same components, same
// parameters in the same order, same base, and a signature that verifies.
func FuzzVerify(f *testing.F) {
	f.Add("sig-b26", rfcSignatureInput, rfcSignature)
	f.Add("sig1", `sig1=("@method" "@target-uri" "@query" "@scheme" "@request-target" "content-digest");keyid="a\"b";created=1;expires=2;nonce="n";alg="ed25519";tag="t"`, `sig1=:AAAA:`)
	f.Add("sig1", "other=(\"x\";a;b=?0 tok/en:x), \t sig1=();created=007, b=:AAAA:;p=1", "sig1=:AAAA:, other=1")
	f.Add("*", `*=("date")`, `*=:AA==:`)
	f.Add("sig1", `sig1=("@method" "@method")`, `sig1=:AAAA:`)
	priv, pub := rfcKeys(f)
	f.Fuzz(func(t *testing.T, label, input, sig string) {
		r := rfcRequest(t)
		r.Header["Signature-Input"] = []string{input}
		r.Header["Signature"] = []string{sig}
		s, err := Verify(r, label)
		if err != nil {
			for _, e := range []error{ErrMissing, ErrMalformed, ErrTooLarge, ErrUnsupported, ErrComponent} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error wraps none of the package's errors: %v", err)
		}
		if base, _, err := SignatureBase(r, s.Components, s.Params); err != nil || base != s.Base {
			t.Fatalf("SignatureBase of what Verify accepted: %v\n%s\nVerify built\n%s", err, base, s.Base)
		}
		r2 := rfcRequest(t)
		if err := Sign(r2, label, s.Components, s.Params, priv); err != nil {
			t.Fatalf("cannot sign what Verify accepted (%q %+v): %v", s.Components, s.Params, err)
		}
		s2, err := Verify(r2, label)
		if err != nil {
			t.Fatalf("Verify refuses its own re-serialisation %q: %v", r2.Header.Get("Signature-Input"), err)
		}
		if !slices.Equal(s2.Components, s.Components) || s2.Params != s.Params || s2.Base != s.Base {
			t.Fatalf("re-serialised signature differs:\n%q %+v\n%s\nwas\n%q %+v\n%s", s2.Components, s2.Params, s2.Base, s.Components, s.Params, s.Base)
		}
		if !s2.VerifyEd25519(pub) {
			t.Fatalf("re-signed base does not verify:\n%s", s2.Base)
		}
	})
}
