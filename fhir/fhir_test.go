package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/trials"
)

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The validator itself: the published R4 examples pass it, and the
// mistakes it exists to catch are caught.
func TestValidatorAgainstPublishedExamples(t *testing.T) {
	v := conformance.LoadFHIR(t)
	files, _ := filepath.Glob(filepath.Join(conformance.Dir(t, "fhir-r4/examples"), "*.json"))
	if len(files) < 20 {
		t.Fatalf("only %d examples", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if problems := v.Validate(b); len(problems) > 0 {
			t.Errorf("%s: %v", filepath.Base(f), problems)
		}
	}
	broken := []struct{ name, doc, want string }{
		{"missing status", `{"resourceType":"Consent","scope":{},"category":[{}]}`, "required element status"},
		{"bad status code", `{"resourceType":"Consent","status":"on","scope":{},"category":[{}]}`, "required value set"},
		{"array where max is 1", `{"resourceType":"Consent","status":"active","scope":[{}],"category":[{}]}`, "must not be an array"},
		{"single where max is *", `{"resourceType":"Consent","status":"active","scope":{},"category":{}}`, "must be an array"},
		{"unknown element", `{"resourceType":"Consent","status":"active","scope":{},"category":[{}],"colour":"red"}`, "unknown element"},
		{"bad instant", `{"resourceType":"AuditEvent","type":{},"recorded":"yesterday","agent":[{"requestor":true}],"source":{"observer":{}}}`, "not a valid instant"},
	}
	for _, b := range broken {
		problems := strings.Join(v.Validate([]byte(b.doc)), "; ")
		if !strings.Contains(problems, b.want) {
			t.Errorf("%s: got %q, want a problem containing %q", b.name, problems, b.want)
		}
	}
}

func TestRenderedResourcesConform(t *testing.T) {
	v := conformance.LoadFHIR(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := &consent.Consent{ID: "c1", Patient: "p1", Grantee: "d1", GranteeKind: "practitioner", Purpose: "treatment",
		Scope: consent.Scope{Categories: []string{"observation"}, Records: []string{"obs-1"}}, Expires: "2027-01-01T00:00:00Z",
		Status: consent.StatusRevoked, Granted: "2026-11-01T00:00:00Z", Revoked: "2026-11-02T00:00:00Z"}
	granted := &records.Access{ID: "a1", Time: "2026-11-22T09:00:00Z", Requester: "d1", RequesterKind: "practitioner", Patient: "p1",
		Record: "obs-1", Custodian: "h1", Purpose: "emergency", Outcome: records.Granted, Emergency: true, EmergencyReason: "life_threatening"}
	refused := &records.Access{ID: "a2", Time: "2026-11-22T09:00:00Z", Requester: "o1", RequesterKind: "organisation", Patient: "p1",
		Record: "obs-1", Custodian: "h1", Purpose: "payment", Outcome: records.Refused, Refusal: "no_consent"}
	rec := &records.Record{ID: "obs-1", Patient: "p1", Custodian: "h1", Category: "observation", Commitment: strings.Repeat("ab", 32),
		Registered: "2026-11-22T08:00:00Z", Status: records.StatusErased}
	all := []Object{Consent(c, now), AuditEvent(granted), AuditEvent(refused), DocumentReference(rec, "http://127.0.0.1:8080"),
		DocumentReference(rec, ""), Patient("p1"), CapabilityStatement("http://x/fhir", "1", "2026-11-22", []string{"Observation"})}
	tr := &trials.Trial{ID: "PRM-1", Sponsor: "s1", Status: trials.StatusReported, Version: 2, Registered: "2026-11-01T00:00:00Z", Updated: "2026-11-20T00:00:00Z",
		Protocol: trials.Protocol{Title: "T", Conditions: []string{"c"}, Interventions: []string{"i"}, Inclusion: "in", Exclusion: "ex", SampleSize: 10,
			PrimaryOutcomes: []trials.Outcome{{ID: "p", Measure: "m", TimeFrame: "1 week"}}, SecondaryOutcomes: []trials.Outcome{{ID: "s", Measure: "m2", TimeFrame: "2 weeks"}},
			Sites: []string{"h1"}, ProtocolCommitment: strings.Repeat("ab", 32)},
		Flags: []trials.Flag{{Kind: trials.FlagOutcomeSwitched, Version: 2, Time: "2026-11-10T00:00:00Z", Added: []string{"p"}, Dropped: []string{"q"}}},
		Score: &trials.Score{Registered: 2, Reported: 1, Missing: 1, PrimarySwitched: true}}
	all = append(all, ResearchStudy(tr))
	all = append(all, SearchSet("http://x/fhir/Consent?patient=p1", "http://x/fhir/Consent?patient=p1&_after=c3", "http://x/fhir", all[:3], 10), Collection("e1", "2026-11-22T10:00:00Z", all[:4]))
	for _, r := range all {
		if problems := v.Validate(mustJSON(t, r)); len(problems) > 0 {
			t.Errorf("%s: %v", r["resourceType"], problems)
		}
	}
}

func TestParse(t *testing.T) {
	synthea, err := os.ReadFile(filepath.Join(conformance.Dir(t, "fhir-r4"), "synthea.bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	typ, entries, err := ParseBundle(synthea)
	if err != nil || typ != "collection" || len(entries) != 27 {
		t.Fatalf("synthea bundle: %s, %d entries, %v", typ, len(entries), err)
	}
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"resource", `{"resourceType":"Observation","id":"o-1","status":"final"}`, nil},
		{"array", `[{"resourceType":"Observation"}]`, ErrNotJSON},
		{"truncated", `{"resourceType":"Observation"`, ErrNotJSON},
		{"no type", `{"id":"x"}`, ErrResourceType},
		{"unknown type", `{"resourceType":"Gossip"}`, ErrResourceType},
		{"bad id", `{"resourceType":"Observation","id":"../../etc/passwd"}`, ErrBadID},
		{"duplicate key", `{"resourceType":"Observation","status":"final","status":"amended"}`, ErrNotJSON},
		{"bundle without entries", `{"resourceType":"Bundle","type":"collection","entry":[]}`, ErrBundle},
		{"bundle of an unknown type", `{"resourceType":"Bundle","type":"pile","entry":[{"resource":{"resourceType":"Patient"}}]}`, ErrBundle},
		{"bundle entry without resource", `{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":"x"}]}`, ErrBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if strings.Contains(tt.doc, `"Bundle"`) {
				_, _, err = ParseBundle([]byte(tt.doc))
			} else {
				_, err = ParseResource([]byte(tt.doc))
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "passwd") {
				t.Fatal("an error quotes the input")
			}
		})
	}
}

// FuzzParse: FHIR input from custodians never panics the parser, and what
// it accepts is a JSON object of a known type.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(conformance.Dir(f, "fhir-r4/examples"), "*.json"))
	for _, p := range files[:10] {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	b, _ := os.ReadFile(filepath.Join(conformance.Dir(f, "fhir-r4"), "synthea.bundle.json"))
	f.Add(b)
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if r, err := ParseResource(doc); err == nil && (r.Type == "" || !json.Valid(r.Raw)) {
			t.Fatalf("accepted %q as %q", doc, r.Type)
		}
		if _, entries, err := ParseBundle(doc); err == nil && len(entries) == 0 {
			t.Fatal("accepted a Bundle without entries")
		}
	})
}

// A resource sent again in another layout is the same resource; any change
// to what it says, a number's digits included, is another.
func TestCanonical(t *testing.T) {
	const obs = `{"resourceType":"Observation","id":"o-1","status":"final","valueQuantity":{"value":7.40,"unit":"%"},"note":[{"text":"é"},{"text":"b"}]}`
	for _, c := range []struct {
		name, doc string
		same      bool
	}{
		{"the same bytes", obs, true},
		{"pretty-printed, keys in another order", "{\n  \"status\": \"final\",\n  \"resourceType\": \"Observation\",\n  \"id\": \"o-1\",\n  \"note\": [ { \"text\": \"\\u00e9\" }, {\"text\":\"b\"} ],\n  \"valueQuantity\": { \"unit\": \"%\", \"value\": 7.40 }\n}", true},
		{"another value", strings.Replace(obs, "final", "amended", 1), false},
		{"a number written otherwise", strings.Replace(obs, "7.40", "7.4", 1), false},
		{"a list in another order", strings.Replace(obs, `[{"text":"é"},{"text":"b"}]`, `[{"text":"b"},{"text":"é"}]`, 1), false},
	} {
		a, err := Canonical([]byte(obs))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Canonical([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if same := string(a) == string(b); same != c.same {
			t.Errorf("%s: same %v, want %v\n%s\n%s", c.name, same, c.same, a, b)
		}
	}
	if _, err := Canonical([]byte(`{"resourceType":`)); !errors.Is(err, ErrNotJSON) {
		t.Errorf("truncated JSON: %v", err)
	}
}

// FuzzParseClaim: a FHIR Claim from outside never panics the parser; one
// it reads has whole-cent amounts from its text and diagnosis pointers
// that point into its diagnoses.
func FuzzParseClaim(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Claim","use":"claim","identifier":[{"value":"C-1"}],"patient":{"reference":"Patient/p"},"insurance":[{"coverage":{"reference":"Coverage/c"}}],` +
		`"diagnosis":[{"sequence":2,"diagnosisCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}},{"sequence":1,"diagnosisCodeableConcept":{"coding":[{"code":"I10"}]}}],` +
		`"item":[{"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"1"},{"system":"http://www.ama-assn.org/go/cpt","code":"99213"}]},"quantity":{"value":2},"net":{"value":150.5,"currency":"USD"},"diagnosisSequence":[2,1],"servicedDate":"2026-11-20"}]}`))
	f.Add([]byte(`{"resourceType":"Claim","patient":{"reference":"Patient/p"},"insurance":[{"coverage":{"reference":"Coverage/c"}}],"diagnosis":[{"sequence":-9223372036854775808},{"sequence":9223372036854775807}],"item":[{"net":{"value":1e400}}]}`))
	f.Add([]byte(`{"resourceType":"Claim","use":"predetermination"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseClaim(b)
		if err != nil {
			return
		}
		for _, l := range s.Lines {
			if l.Charge < 0 {
				t.Fatalf("a negative charge: %d", l.Charge)
			}
			for _, p := range l.Dx {
				if p < 1 || p > int64(len(s.Diagnoses)) {
					t.Fatalf("pointer %d of %d diagnoses", p, len(s.Diagnoses))
				}
			}
		}
	})
}

// TestCapacityResourcesConform: a site's Location, HealthcareService and
// MeasureReport, a region's MeasureReport and a Device are valid R4.
func TestCapacityResourcesConform(t *testing.T) {
	v := conformance.LoadFHIR(t)
	site := &capacity.Site{ID: "SLH-MAIN", Org: "h1", Name: "St Luke's", Region: "NORTH", LatE6: 51_517_400, LonE6: -118_800, Services: []string{"icu", "oxygen"}}
	rep := &capacity.Report{Site: site.ID, Time: "2026-12-04T10:00:00Z", Height: 7, Items: []capacity.Item{{Type: "icu-bed", Total: 24, InUse: 22, OutOfService: 1}}}
	st := &capacity.SiteStatus{Site: site, Fresh: true, Report: rep, Available: []capacity.Available{{Type: "icu-bed", Units: 1}}}
	never := &capacity.SiteStatus{Site: site, AgeSeconds: -1, Available: []capacity.Available{}}
	region := &capacity.Region{Code: "NORTH", Name: "Northern Region"}
	rows := []*capacity.Shortage{{Region: "NORTH", Type: "ventilator", Need: 10, Available: 1, Shortage: 9, Sites: 2, Stale: 1}}
	eq := &capacity.Equipment{ID: "EFH-VENT-03", Site: "EFH-MAIN", Org: "h2", Type: "ventilator", Model: "Hamilton C6", Serial: "C6-1"}
	for _, o := range []Object{Location(site), HealthcareService(site), SiteMeasureReport(st), SiteMeasureReport(never),
		RegionMeasureReport(region, rows, "2026-12-04T10:00:00Z"), Device(eq)} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if problems := v.Validate(b); len(problems) > 0 {
			t.Errorf("%s: %v\n%s", o["resourceType"], problems, b)
		}
	}
	if b, _ := json.Marshal(Location(site)); !strings.Contains(string(b), `"latitude":51.517400,"longitude":-0.118800`) {
		t.Errorf("position: %s", b)
	}
}
