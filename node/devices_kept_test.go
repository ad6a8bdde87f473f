package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestWearableReadingsKept: a patient names the hospital that keeps their
// watch's readings; after each batch the watch uploads them to the
// hospital's node, which keeps exactly what the batch committed (a changed
// reading, or an upload not signed by the watch, is refused and nothing is
// stored) as the patient's records: FHIR Bundles of vital-signs
// Observations valid against R4, a part of at most 1,000 readings a
// record. The patient reads them; the hospital only under the patient's
// consent, each read in the trail.
func TestWearableReadingsKept(t *testing.T) {
	_, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"agency", "regulator"}}, "patient")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	patient := m["patient"]
	if _, err := c.Send(ctx, patient.key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	watch := newKey(t)
	if _, err := c.RegisterDevice(ctx, patient.key, watch, "wearable", true); err != nil {
		t.Fatal(err)
	}
	device := ledger.Address(watch.Public().(ed25519.PublicKey))
	if _, err := c.Send(ctx, m["hospital"].key, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, patient.key, devices.TypeKeeper, devices.Keep{Device: device, Keeper: m["hospital"].id}, true); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "watch.log")
	record := func(from, n int) {
		rs := make([]devices.Reading, n)
		for i := range rs {
			rs[i] = devices.Reading{Time: 1_790_000_000 + int64(from+i)*60, Code: 147842, Value: 60_00 + int64((from+i)%40)*25}
		}
		if err := devices.Append(logPath, rs...); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(latest *devices.Entry) *devices.Entry {
		log, err := devices.ReadLogFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		next, err := devices.Next(log, latest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(ctx, watch, devices.TypeBatch, next, true); err != nil {
			t.Fatal(err)
		}
		var e devices.Entry
		if err := c.WithKey(watch).Get(ctx, "/api/v1/devices/"+device+"/latest", &e); err != nil {
			t.Fatal(err)
		}
		return &e
	}
	upload := func(as ed25519.PrivateKey, e *devices.Entry, change func(*devices.Upload)) (*devices.Kept, error) {
		log, _ := devices.ReadLogFile(logPath)
		u, err := devices.UploadOf(log, e)
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			change(u)
		}
		return c.WithKey(as).KeepReadings(ctx, device, e.Seq, u)
	}
	code := func(err error) string {
		var p *client.Problem
		if errors.As(err, &p) {
			return p.Code
		}
		return fmt.Sprint(err)
	}

	record(0, 30)
	first := commit(nil)
	if _, err := upload(patient.key, first, nil); code(err) != devices.ErrNotDevice.Name {
		t.Fatalf("an upload signed by the patient: %v", err)
	}
	if _, err := upload(watch, first, func(u *devices.Upload) { u.Readings[3] = u.Readings[4] }); code(err) != devices.ErrNotTheBatch.Name {
		t.Fatalf("a changed reading: %v", err)
	}
	firstLog, _ := devices.ReadLogFile(logPath)
	id := devices.KeptID(device, 1, 0, firstLog)
	if _, err := c.WithToken(patient.token).Record(ctx, id); err == nil {
		t.Fatal("a refused upload was indexed")
	}
	// Within the keeper's quota only, while it keeps: refused before
	// anything is stored.
	for _, q := range []struct {
		perDay uint64
		want   string
	}{{20, devices.ErrBatchOverQuota.Name}, {0, devices.ErrNotKeeping.Name}} {
		if _, err := c.Send(ctx, m["hospital"].key, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: q.perDay}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := upload(watch, first, nil); code(err) != q.want {
			t.Fatalf("%d readings a day: %v; want %s", q.perDay, err, q.want)
		}
	}
	if _, err := c.WithToken(patient.token).Record(ctx, id); err == nil {
		t.Fatal("an upload over the quota was indexed")
	}
	if _, err := c.Send(ctx, m["hospital"].key, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}, true); err != nil {
		t.Fatal(err)
	}
	kept, err := upload(watch, first, nil)
	if err != nil || len(kept.Records) != 1 || kept.Records[0] != id || kept.Already || kept.Patient != patient.id || kept.Keeper != m["hospital"].id {
		t.Fatalf("kept %+v, %v", kept, err)
	}
	if again, err := upload(watch, first, nil); err != nil || !again.Already {
		t.Fatalf("again: %+v, %v", again, err)
	}
	rec, err := c.WithToken(patient.token).Record(ctx, id)
	if err != nil || rec.Patient != patient.id || rec.Custodian != m["hospital"].id || rec.Category != "observation" {
		t.Fatalf("the record's index: %+v, %v", rec, err)
	}
	// The keeper's word on the ledger, to the patient; to no one without
	// standing.
	var kb devices.KeptBatch
	if err := c.WithToken(patient.token).Get(ctx, "/api/v1/devices/"+device+"/kept/1", &kb); err != nil || len(kb.Records) != 1 || kb.Records[0] != id || kb.Keeper != m["hospital"].id {
		t.Fatalf("kept: %+v %v", kb, err)
	}

	// A batch of 1,500: kept in two parts.
	record(30, 1500)
	second := commit(first)
	kept, err = upload(watch, second, nil)
	if err != nil || len(kept.Records) != 2 || kept.Readings != 1500 {
		t.Fatalf("the second batch: %+v, %v", kept, err)
	}

	// The patient reads them: R4 Observations of the watch, in log order.
	base := c.BaseURL()
	read := func(token, record, purpose string) (int, []byte) {
		return call(t, "POST", base+"/api/v1/records/"+record+"/read", token, api_ReadRequest{Purpose: purpose})
	}
	status, body := read(patient.token, kept.Records[1], "patient")
	if status != 200 {
		t.Fatalf("the patient reads: %d %s", status, body)
	}
	var ans struct {
		Record   json.RawMessage `json:"record"`
		Verified bool            `json:"verified"`
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || !ans.Verified || json.Unmarshal(ans.Record, &bundle) != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) != 500 {
		t.Fatalf("read: %v %+v", err, ans.Verified)
	}
	v := conformance.LoadFHIR(t)
	if problems := v.Validate(ans.Record); len(problems) > 0 {
		t.Fatalf("the kept Bundle is not valid R4: %v", problems[:min(5, len(problems))])
	}
	// Reading 30+1000 is the second part's first.
	var first0 bytes.Buffer
	_ = json.Compact(&first0, bundle.Entry[0].Resource)
	if o := first0.String(); !strings.Contains(o, `"value":"1030"`) || !strings.Contains(o, `"reference":"Device/`+device+`"`) ||
		!strings.Contains(o, `"reference":"Patient/`+patient.id+`"`) || !strings.Contains(o, `"vital-signs"`) {
		t.Fatalf("the first Observation of part 2: %s", o)
	}

	// The hospital keeps them; it reads them under consent only.
	if status, body = read(m["hospital"].token, id, "treatment"); status != 403 || !strings.Contains(string(body), "no_consent") {
		t.Fatalf("the keeper without consent: %d %s", status, body)
	}
	// Through the FHIR facade: the same reads, as Observations.
	search := func(token, query string) (int, map[string]any) {
		status, body := call(t, "GET", base+"/fhir/Observation?"+query, token, nil)
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		return status, out
	}
	if status, oo := search(m["hospital"].token, "device="+device); status != 403 || !strings.Contains(fmt.Sprint(oo), "no_consent") {
		t.Fatalf("the keeper's search without consent: %d %v", status, oo)
	}
	if status, _ := search(m["agency"].token, "device=nobody"); status != 404 {
		t.Fatalf("a device no one keeps: %d", status)
	}
	if status, set := search(patient.token, "device=Device/"+device+"&_count=1000"); status != 200 || len(set["entry"].([]any)) != 30 {
		t.Fatalf("the patient's search: %d %v", status, set["total"])
	}
	grant := consent.Grant{Grantee: m["hospital"].id, Scope: consent.Scope{Categories: []string{"observation"}}, Purpose: "treatment",
		Expires: time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}
	mustCall(t, 200, "POST", base+"/api/v1/act", patient.token, map[string]any{"type": consent.TypeGrant, "body": grant})
	if status, body = read(m["hospital"].token, id, "treatment"); status != 200 {
		t.Fatalf("the keeper with consent: %d %s", status, body)
	}
	// A page at a time, oldest first: the first batch's 30 in two pages,
	// then the second batch's.
	status, set := search(m["hospital"].token, "device="+device+"&_count=20")
	ids := func(set map[string]any) []string {
		var out []string
		for _, e := range set["entry"].([]any) {
			out = append(out, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
		}
		return out
	}
	nextOf := func(set map[string]any) string {
		for _, l := range set["link"].([]any) {
			if l.(map[string]any)["relation"] == "next" {
				return l.(map[string]any)["url"].(string)
			}
		}
		return ""
	}
	if status != 200 || len(ids(set)) != 20 || ids(set)[0] != device+".0" || nextOf(set) == "" {
		t.Fatalf("the keeper's first page: %d %v", status, set)
	}
	status, body = call(t, "GET", nextOf(set), m["hospital"].token, nil)
	_ = json.Unmarshal(body, &set)
	if status != 200 || len(ids(set)) != 10 || ids(set)[0] != device+".20" || nextOf(set) == "" {
		t.Fatalf("the keeper's second page: %d %s", status, body)
	}
	status, body = call(t, "GET", nextOf(set), m["hospital"].token, nil)
	_ = json.Unmarshal(body, &set)
	if status != 200 || len(ids(set)) != 20 || ids(set)[0] != device+".30" {
		t.Fatalf("the keeper's third page: %d %s", status, body)
	}
	if problems := v.Validate(body); len(problems) > 0 {
		t.Fatalf("the searchset is not valid R4: %v", problems[:min(5, len(problems))])
	}
	trail, err := c.WithToken(patient.token).Trail(ctx, patient.id)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, a := range trail {
		if a.Record == id {
			outcomes[a.Outcome]++
		}
	}
	// Refused twice (the keeper's read and search without consent);
	// granted four times (the patient's search, the keeper's read and its
	// two pages over it).
	if outcomes[records.Granted] != 4 || outcomes[records.Refused] != 2 {
		t.Fatalf("the trail of the first part: %v", outcomes)
	}
}
