package release

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/primum-health/primum/records"
)

// FetchBody is the body of POST /api/v1/records/{id}/fetch on the
// custodian's node.
type FetchBody struct {
	Request   records.AccessRequest `json:"request"`
	Signature string                `json:"signature"`
	PublicKey []byte                `json:"public_key"` // base64 in JSON
}

// FetchAnswer is the custodian's answer to a granted request.
type FetchAnswer struct {
	Access records.Access `json:"access"`
	Suite  string         `json:"suite"`
	Sealed []byte         `json:"sealed"` // base64 in JSON
}

// Refusal is a custodian's refusal: a problem+json answer. Access names the
// ledger entry of a refused access, when there is one.
type Refusal struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Refusal string `json:"refusal,omitempty"`
	Access  string `json:"access,omitempty"`
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("%s: %s", r.Code, r.Detail)
	if r.Refusal != "" {
		msg = fmt.Sprintf("%s (%s): %s", r.Code, r.Refusal, r.Detail)
	}
	if r.Access != "" {
		msg += "; access entry " + r.Access
	}
	return msg
}

// Ask is what a requester asks for.
type Ask struct {
	ChainID         string
	Requester       string
	Record          string
	Purpose         string
	EmergencyReason string
}

// Fetch asks a custodian's node (endpoint: its API base URL) for a record
// with a request signed by key, opens the sealed answer with a one-time key
// and checks it against commitment, which the caller read from a ledger it
// trusts. It returns the record and the access entry that released it.
//
// The endpoint is checked again here (records.CheckEndpoint), since one
// published before that check existed may still be on the ledger, and a
// redirect is never followed: the request goes to the address the custodian
// published, or nowhere.
func Fetch(ctx context.Context, hc *http.Client, endpoint string, key ed25519.PrivateKey, ask Ask, commitment string, now time.Time) (*Payload, *records.Access, error) {
	u, err := FetchURL(endpoint, ask.Record)
	if err != nil {
		return nil, nil, err
	}
	one, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	req := records.AccessRequest{ChainID: ask.ChainID, Requester: ask.Requester, Record: ask.Record, Purpose: ask.Purpose,
		EmergencyReason: ask.EmergencyReason, KeyDigest: Digest(one.Public()), Nonce: hex.EncodeToString(nonce),
		NotAfter: now.Add(5 * time.Minute).UTC().Format(time.RFC3339)}
	body, _ := json.Marshal(FetchBody{Request: req, Signature: req.Sign(key), PublicKey: one.Public()})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirects.Do(hr)
	if err != nil {
		return nil, nil, &Unreachable{Endpoint: endpoint, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Where it pointed is not repeated: it may be an internal address.
		return nil, nil, &Refusal{Status: resp.StatusCode, Code: "custodian_redirect",
			Detail: fmt.Sprintf("the custodian's node answered HTTP %d, a redirect; record requests are sent only to the endpoint it published on the ledger, so it must publish the address that answers (public_url)", resp.StatusCode)}
	}
	if resp.StatusCode != http.StatusOK {
		r := &Refusal{Status: resp.StatusCode}
		if json.Unmarshal(b, r) != nil || r.Code == "" {
			r.Code, r.Detail = "custodian_error", fmt.Sprintf("HTTP %d from the custodian", resp.StatusCode)
		}
		return nil, nil, r
	}
	var ans FetchAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, nil, fmt.Errorf("custodian answered something that is not a release: %w", err)
	}
	p, err := one.Open(ask.Record, ans.Access.ID, ans.Sealed)
	if err != nil {
		return nil, &ans.Access, err
	}
	if err := p.Verify(commitment); err != nil {
		return nil, &ans.Access, err
	}
	return p, &ans.Access, nil
}

// FetchURL is where a record is fetched from a custodian's endpoint: the
// endpoint's path, then api/v1/records/<id>/fetch with the id escaped as one
// path segment.
func FetchURL(endpoint, record string) (string, error) {
	if err := records.CheckEndpoint(endpoint); err != nil {
		return "", &Refusal{Status: http.StatusBadGateway, Code: "bad_custodian_endpoint",
			Detail: "the endpoint the custodian published is unusable: " + err.Error()}
	}
	if record == "" || record == "." || record == ".." { // a path segment of its own, not a step
		return "", records.ErrBadRecordID.Wrapf("%q", record)
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return "", err // CheckEndpoint parsed it already
	}
	return base.JoinPath("api", "v1", "records", url.PathEscape(record), "fetch").String(), nil
}

// Unreachable is a custodian's node that could not be reached. Its Error
// says what kind of failure it was, never where: the endpoint and the
// addresses it resolved to may be a hospital's internal ones, and the
// answer goes to whoever asked. The node's log keeps the whole of it
// (Detail).
type Unreachable struct {
	Endpoint string
	Err      error
}

func (u *Unreachable) Unwrap() error { return u.Err }

// Detail is the whole failure, for the node's own log.
func (u *Unreachable) Detail() string { return fmt.Sprintf("%s: %v", u.Endpoint, u.Err) }

func (u *Unreachable) Error() string {
	var dns *net.DNSError
	var opErr *net.OpError
	var tlsErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.Is(u.Err, context.DeadlineExceeded) || isTimeout(u.Err):
		return "cannot reach the custodian's node: it did not answer in time"
	case errors.As(u.Err, &dns):
		return "cannot reach the custodian's node: its published name does not resolve"
	case errors.As(u.Err, &tlsErr) || errors.As(u.Err, &unknownCA) || errors.As(u.Err, &hostname):
		return "cannot reach the custodian's node: its TLS certificate was not accepted"
	case errors.As(u.Err, &opErr) && opErr.Op == "dial":
		return "cannot reach the custodian's node: it refused the connection or is down"
	}
	return "cannot reach the custodian's node: the connection failed"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
