package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/release"
	"github.com/primum-health/primum/wire"
)

// Record reads a record's index entry from the ledger.
func (c *Client) Record(ctx context.Context, id string) (*records.Record, error) {
	var r records.Record
	return &r, c.do(ctx, "GET", "/api/v1/records/"+url.PathEscape(id), nil, &r)
}

// Records lists a patient's records at every custodian (every page).
func (c *Client) Records(ctx context.Context, patient string) ([]*records.Record, error) {
	return allPages[*records.Record](ctx, c, "/api/v1/patients/"+url.PathEscape(patient)+"/records")
}

// Consents lists a patient's consents (every page).
func (c *Client) Consents(ctx context.Context, patient string) ([]*consent.Consent, error) {
	return allPages[*consent.Consent](ctx, c, "/api/v1/patients/"+url.PathEscape(patient)+"/consents")
}

// Trail lists the access entries about a patient's records, oldest first
// (every page).
func (c *Client) Trail(ctx context.Context, patient string) ([]*records.Access, error) {
	return allPages[*records.Access](ctx, c, "/api/v1/patients/"+url.PathEscape(patient)+"/access")
}

// allPages reads a paged listing at path page after page, following the
// Link headers, and returns every item: each request costs the node one
// page.
func allPages[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var out []T
	for query := ""; ; {
		var page []T
		var next url.Values
		if err := c.doPage(ctx, "GET", path+query, nil, &page, &next); err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == nil {
			return out, nil
		}
		query = "?" + next.Encode()
	}
}

// Endpoint is where an organisation's node answers record requests, as it
// published on the ledger.
func (c *Client) Endpoint(ctx context.Context, org string) (string, error) {
	var e struct {
		Endpoint string `json:"endpoint"`
	}
	if err := c.do(ctx, "GET", "/api/v1/identities/"+url.PathEscape(org)+"/endpoint", nil, &e); err != nil {
		return "", err
	}
	return e.Endpoint, nil
}

// Retention reads an organisation's retention policy (no holds: none).
func (c *Client) Retention(ctx context.Context, org string) (*records.Retention, error) {
	var p records.Retention
	return &p, c.do(ctx, "GET", "/api/v1/identities/"+url.PathEscape(org)+"/retention", nil, &p)
}

// Fetched is a record read from its custodian and checked against the
// ledger.
type Fetched struct {
	Record  *records.Record
	Access  *records.Access
	Content []byte
}

// FetchRecord asks the record's custodian for it, signing the request with
// key, and checks what arrives against the commitment this client's node
// holds. The custodian logs the access on the ledger before it answers.
func (c *Client) FetchRecord(ctx context.Context, key ed25519.PrivateKey, id, purpose, emergencyReason string) (*Fetched, error) {
	c = c.WithKey(key) // the record's index entry is read as the requester
	rec, err := c.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	info, err := c.Self(ctx, key)
	if err != nil {
		return nil, err
	}
	endpoint, err := c.Endpoint(ctx, rec.Custodian)
	if err != nil {
		return nil, err
	}
	return c.fetch(ctx, key, info, rec, endpoint, purpose, emergencyReason)
}

// fetch is FetchRecord once the requester, the record and the custodian's
// endpoint are known.
func (c *Client) fetch(ctx context.Context, key ed25519.PrivateKey, info *wire.KeyInfo, rec *records.Record, endpoint, purpose, emergencyReason string) (*Fetched, error) {
	if info.Identity == nil {
		return nil, fmt.Errorf("this key (%s) is not registered on the ledger", info.Address)
	}
	p, access, err := release.Fetch(ctx, c.http, endpoint, key, release.Ask{ChainID: info.ChainID, Requester: info.Identity.ID,
		Record: rec.ID, Purpose: purpose, EmergencyReason: emergencyReason}, rec.Commitment, time.Now())
	if err != nil {
		return &Fetched{Record: rec, Access: access}, err
	}
	return &Fetched{Record: rec, Access: access, Content: p.Content}, nil
}

// Export assembles a patient's GDPR export, reading each record from its
// custodian with the patient's own key.
func (c *Client) Export(ctx context.Context, key ed25519.PrivateKey) (fhir.Object, error) {
	c = c.WithKey(key) // the patient reads their own index, consents and trail
	info, err := c.Self(ctx, key)
	if err != nil {
		return nil, err
	}
	patient := info.Address
	if info.Identity != nil {
		patient = info.Identity.ID
	}
	recs, err := c.Records(ctx, patient)
	if err != nil {
		return nil, err
	}
	consents, err := c.Consents(ctx, patient)
	if err != nil {
		return nil, err
	}
	// Each custodian's endpoint once, before the concurrent reads.
	endpoints := map[string]string{}
	for _, rec := range recs {
		if _, ok := endpoints[rec.Custodian]; !ok {
			endpoints[rec.Custodian], _ = c.Endpoint(ctx, rec.Custodian)
		}
	}
	return fhir.Export(fhir.ExportSource{Patient: patient, Records: recs, Consents: consents, Now: time.Now(),
		Endpoint: func(org string) string { return endpoints[org] },
		Read: func(rec *records.Record) ([]byte, error) {
			f, err := c.fetch(ctx, key, info, rec, endpoints[rec.Custodian], "patient", "")
			if err != nil {
				return nil, err
			}
			return f.Content, nil
		},
		Trail: func() ([]*records.Access, error) { return c.Trail(ctx, patient) },
	})
}

// FHIRImport is what a FHIR import did: the node's answer (the resource's
// DocumentReference, or a batch-response Bundle with one per entry), how
// many resources it stored and indexed now, and how many the custodian
// held already for the patient (the same content, in any layout), which it
// did not store again.
type FHIRImport struct {
	Stored          int         `json:"stored"`
	AlreadyRecorded int         `json:"already_recorded"`
	Response        fhir.Object `json:"response"`
}

// ImportFHIR posts a FHIR resource (resourceType names it) or a Bundle to
// the node as the custodian named by token, for patient. Importing the
// same again stores nothing twice.
func (c *Client) ImportFHIR(ctx context.Context, token, patient string, doc []byte) (*FHIRImport, error) {
	r, err := fhir.ParseResource(doc)
	if err != nil {
		return nil, err
	}
	path := "/fhir/" + r.Type
	if r.Type == "Bundle" {
		path = "/fhir"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path+"?patient="+url.QueryEscape(patient), bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %w", c.base, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out fhir.Object
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode, b)
	}
	if res.StatusCode >= 300 {
		if issues, ok := out["issue"].([]any); ok && len(issues) > 0 {
			if i, ok := issues[0].(map[string]any); ok {
				return nil, fmt.Errorf("HTTP %d: %v", res.StatusCode, i["diagnostics"])
			}
		}
		return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode, b)
	}
	imp := &FHIRImport{Response: out}
	if r.Type != "Bundle" { // 201 stored, 200 held already (FHIR's conditional create)
		if res.StatusCode == http.StatusCreated {
			imp.Stored = 1
		} else {
			imp.AlreadyRecorded = 1
		}
		return imp, nil
	}
	entries, _ := out["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		response, _ := entry["response"].(map[string]any)
		if status, _ := response["status"].(string); strings.HasPrefix(status, "201") {
			imp.Stored++
		} else {
			imp.AlreadyRecorded++
		}
	}
	return imp, nil
}

// Erasure is where a patient's erasure stands after Erase: their records at
// every custodian (erased; retained, with until when and on which basis;
// or stored, when registered since) and the records.erase transactions sent.
type Erasure struct {
	Records []*records.Record `json:"records"`
	Txs     []string          `json:"txs"`
}

// Count is how many of the records have status s.
func (e *Erasure) Count(s string) int {
	n := 0
	for _, r := range e.Records {
		if r.Status == s {
			n++
		}
	}
	return n
}

// Erase erases the records of key's patient (GDPR Art. 17). One
// records.erase reaches at most records.MaxErasePerTx records, so it sends
// one and waits for it until none of the patient's records is left
// unreached; progress, if not nil, is told after each how many are left. A
// patient whose every record an erasure has already reached gets its status
// without a transaction; one with no records at all gets the ledger's
// nothing_to_erase.
func (c *Client) Erase(ctx context.Context, key ed25519.PrivateKey, progress func(left int)) (*Erasure, error) {
	c = c.WithKey(key) // the patient's records index is theirs to read
	info, err := c.Self(ctx, key)
	if err != nil {
		return nil, err
	}
	if info.Identity == nil {
		return nil, fmt.Errorf("this key (%s) is not registered on the ledger", info.Address)
	}
	out := &Erasure{}
	if out.Records, err = c.Records(ctx, info.Identity.ID); err != nil {
		return nil, err
	}
	if len(out.Records) > 0 && out.Count(records.StatusStored) == 0 {
		return out, nil // already complete: nothing left to reach
	}
	// Records registered meanwhile may add a step or two; a custodian that
	// keeps registering cannot keep this loop going.
	for limit := out.Count(records.StatusStored)/records.MaxErasePerTx + 3; ; limit-- {
		res, err := c.Send(ctx, key, records.TypeErase, records.Erase{}, true)
		if err != nil {
			return out, err
		}
		out.Txs = append(out.Txs, res.Hash)
		if out.Records, err = c.Records(ctx, info.Identity.ID); err != nil {
			return out, err
		}
		left := out.Count(records.StatusStored)
		if progress != nil {
			progress(left)
		}
		if left == 0 {
			return out, nil
		}
		if limit == 1 {
			return out, fmt.Errorf("%d records are still not reached: records are being registered for this patient meanwhile; erase again", left)
		}
	}
}

// KeepReadings uploads batch seq's readings of the device whose key c signs
// with (WithKey) to its keeper's node, c's (devices.CheckUpload says what
// it checks).
func (c *Client) KeepReadings(ctx context.Context, device string, seq uint64, u *devices.Upload) (*devices.Kept, error) {
	var out devices.Kept
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/devices/%s/batches/%d/readings", url.PathEscape(device), seq), u, &out)
	return &out, err
}

// KeepLog uploads to keeper (a client of the keeper's node, signing as the
// device) the readings of the device's committed batches the keeper does
// not keep yet, from its log: from its latest batch back to one kept
// before, or its first. c reads the batches (as the device, or anyone who
// may). It answers what was kept, oldest first.
func (c *Client) KeepLog(ctx context.Context, device string, log [][]byte, keeper *Client) ([]*devices.Kept, error) {
	var latest devices.Entry
	if err := c.Get(ctx, "/api/v1/devices/"+url.PathEscape(device)+"/latest", &latest); err != nil {
		return nil, err
	}
	var out []*devices.Kept
	for seq := latest.Seq; seq >= 1; seq-- {
		e := &latest
		if seq != latest.Seq {
			e = &devices.Entry{}
			if err := c.Get(ctx, fmt.Sprintf("/api/v1/devices/%s/batches/%d", url.PathEscape(device), seq), e); err != nil {
				return out, err
			}
		}
		u, err := devices.UploadOf(log, e)
		if err != nil {
			return out, err
		}
		kept, err := keeper.KeepReadings(ctx, device, seq, u)
		if err != nil {
			return out, fmt.Errorf("batch %d: %w", seq, err)
		}
		if kept.Already {
			break
		}
		out = append([]*devices.Kept{kept}, out...)
	}
	return out, nil
}
