package api

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// Page tokens are sealed. A listing's next-page token is where the next
// page starts: the key of the next entry, which the caller's filter may
// hide (another's record id, whose prefix names its category; when someone
// else read the patient's records). So every token the API hands out is
// encrypted under a key this server makes when it starts (AES-GCM): a
// caller can hand it back, not read it. Tokens therefore last while the
// node runs and work on the node that made them. A caller may still name a
// position itself (a step number, say): a value without the seal's mark is
// taken as written, which reveals nothing, since every entry of a page is
// filtered whatever its start.
//
// A token is bound to where it was given (the seal's additional data): the
// route, the path, the parameter that carries it and the listing's other
// parameters (a FHIR search's patient, a filter) but the page size. It
// opens only there, and only the paging parameter is ever opened, so a
// token handed to another route, another patient's listing or search, or a
// parameter that echoes its value (a code to verify, a prefix to look up)
// stays sealed.
type pageTokens struct{ aead cipher.AEAD }

// sealMark starts a sealed token (base64url never holds it).
const sealMark = "~"

func newPageTokens() *pageTokens {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on a supported platform
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &pageTokens{aead: aead}
}

// tokenScope is what a token is bound to: r's route and path, the paging
// parameter, and r's other parameters but the page size.
func tokenScope(r *http.Request, param string) []byte {
	rest := url.Values{}
	for k, vs := range r.URL.Query() {
		switch k {
		case param, "limit", "_count":
		default:
			rest[k] = vs
		}
	}
	return []byte(r.Pattern + "\x00" + r.URL.Path + "\x00" + param + "\x00" + rest.Encode())
}

// seal hides a next-page token ("" stays "") for the listing r asked for,
// continued with param.
func (p *pageTokens) seal(token string, r *http.Request, param string) string {
	if token == "" {
		return ""
	}
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return sealMark + base64.RawURLEncoding.EncodeToString(p.aead.Seal(nonce, nonce, []byte(token), tokenScope(r, param)))
}

// open reads back a token seal made for this listing's param; a value
// without the mark is a position the caller named and is returned as it is.
func (p *pageTokens) open(value string, r *http.Request, param string) (string, error) {
	if !strings.HasPrefix(value, sealMark) {
		return value, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(value[len(sealMark):])
	if err == nil && len(b) >= p.aead.NonceSize() {
		var plain []byte
		if plain, err = p.aead.Open(nil, b[:p.aead.NonceSize()], b[p.aead.NonceSize():], tokenScope(r, param)); err == nil {
			return string(plain), nil
		}
	}
	return "", ledger.ErrBadRequest.Wrapf("%s: a page token is good on the node that gave it, for the listing that gave it, until the node restarts: start the listing again", param)
}
