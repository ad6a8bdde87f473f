package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/primum-health/primum/httpsig"
)

// WithToken returns a client of the same node that sends token (an API
// token naming a key the node holds) with every request, for the routes
// only some callers may read.
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, http: c.http, token: token, key: c.key}
}

// WithKey returns a client of the same node that signs every request with
// key (RFC 9421 HTTP Message Signatures): the node learns who asks without
// ever holding the key, and answers the reads that key's identity may
// make.
func (c *Client) WithKey(key ed25519.PrivateKey) *Client {
	return &Client{base: c.base, http: c.http, token: c.token, key: key}
}

// SignatureLabel is the label of Primum's request signatures.
const SignatureLabel = "primum"

// SignRequest signs req, whose body is body, with key as the node checks
// it: label "primum", Ed25519, keyid the public key in hex, covering
// @method @authority @path @query and (with a body) content-digest, with
// created now and a random nonce. A signed request is good for a single
// use within two minutes.
func SignRequest(req *http.Request, body []byte, key ed25519.PrivateKey) error {
	components := []string{"@method", "@authority", "@path", "@query"}
	if len(body) > 0 {
		req.Header.Set("Content-Digest", httpsig.ContentDigest(body))
		components = append(components, "content-digest")
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	return httpsig.Sign(req, SignatureLabel, components, httpsig.Params{Created: time.Now().Unix(),
		Nonce: hex.EncodeToString(nonce[:]), KeyID: hex.EncodeToString(key.Public().(ed25519.PublicKey)), Alg: "ed25519"}, key)
}

// Query reads a route of the API (a module query, see GET
// /api/v1/openapi.json) and returns its JSON answer as it came.
func (c *Client) Query(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	out, _, err := c.QueryPage(ctx, path, params)
	return out, err
}

// QueryPage is Query for a route that answers a page of a listing: next
// are the parameters of the following page, from the answer's Link header
// (nil: it was the last), to query the same path with.
func (c *Client) QueryPage(ctx context.Context, path string, params url.Values) (out json.RawMessage, next url.Values, err error) {
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	err = c.doPage(ctx, "GET", path, nil, &out, &next)
	return out, next, err
}
