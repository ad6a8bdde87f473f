package epcis

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/supply"
)

// TestParseQuery: every EPCIS 2.0 parameter is known; those the ledger
// answers are parsed, the others refused by name as unsupported (501), and
// a name the standard does not define is a QueryParameterException (400).
func TestParseQuery(t *testing.T) {
	cases := []struct {
		query string
		want  error
	}{
		{"eventType=ObjectEvent&EQ_bizStep=receiving&MATCH_epc=urn:epc:id:sscc:0614141.1234567890", nil},
		{"GE_eventTime=2026-01-01T00:00:00Z&LT_recordTime=2027-01-01T00:00:00Z&EQ_disposition=in_transit", nil},
		{"EXISTS_sensorElementList&GE_value_CEL=8&LT_minValue_FAH=35.6&EQ_type=gs1:Temperature&EQ_deviceID=urn:epc:id:giai:4000001.111", nil},
		{"GE_time=2026-01-01T00:00:00Z&LT_time=2026-01-02T00:00:00Z", nil},
		{"orderBy=recordTime&orderDirection=DESC&eventCountLimit=5", nil},
		{"maxEventCount=10&EQ_ILMD_cbvmda:lotNumber=L1&EQ_destination_owning_party=urn:primum:org:x", nil},
		{"colour=red", ErrQueryParam},
		{"EQ_bizstep=receiving", ErrQueryParam},
		{"GE_value_CEL=warm", ErrQueryParam},
		{"GE_eventTime=yesterday", ErrQueryParam},
		{"orderDirection=UP", ErrQueryParam},
		{"eventCountLimit=3&maxEventCount=3", ErrQueryParam},
		{"MATCH_epc=not-a-code", ErrQueryParam},
		{"EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0614141073467:1152&EQ_persistentDisposition_unset=completeness_inferred", nil},
		{"EQ_errorReason=incorrect_data&EXISTS_errorDeclaration=&GE_errorDeclaration_Time=2026-01-01T00:00:00Z&EQ_correctiveEventID=urn:uuid:x", nil},
		{"LT_errorDeclaration_Time=soon", ErrQueryParam},
		{"EQ_example:colour=red|blue&EXISTS_errorDeclaration=&GT_INNER_ILMD_example:depth=3&EXISTS_INNER_example:x=", nil},
		{"GT_example:depth=3|4", ErrQueryParam},
		{"EQ_ERROR_DECLARATION_example:x=1", nil},
		{"GE_percRank=50", nil},
		{"GE_quantity=5&LT_quantity_KGM=2.5&MATCH_epcClass=urn:epc:idpat:sgtin:4012345.012345.*&EQ_transformationID=urn:uuid:x", nil},
		{"GE_quantity=lots", ErrQueryParam},
		{"GE_quantity=1e999999", ErrQueryParam},
		{"GE_value_CEL=1e-999999", ErrQueryParam},
		{"GE_quantity=" + strings.Repeat("9", 41), ErrQueryParam},
		{"eventType=ObjectEvent&eventType=AggregationEvent", nil},
		{"MATCH_epc=" + strings.Repeat("x|", 100) + "x", ErrQueryParam},
		{"EQ_readPoint=urn:epc:id:sgln:0614141.00777.0&WD_bizLocation=urn:epc:id:sgln:0614141.00888.0", nil},
		{"EQ_persistentDisposition_set=https://ref.gs1.org/cbv/Disp-completeness_verified", nil},
		{"EQ_SENSORREPORT_example:colour=red", nil},
		{"EXISTS_INNER_SENSORMETADATA_example:calibration&GE_startTime=2026-01-01T00:00:00Z&LT_endTime=2026-02-01T00:00:00Z", nil},
		{"EQ_microorganism=https://www.ncbi.nlm.nih.gov/taxonomy/1126011&EQ_stringValue=SN42&EQ_booleanValue=true&EQ_uriValue=urn:x", nil},
		{"GE_value_P1=40&LT_meanValue_CEL=8&GE_sDev_KGM=0.5&LE_percRank=95", nil},
		{"EQ_booleanValue=maybe", ErrQueryParam},
		{"EQ_booleanValue=", ErrQueryParam},
		{"EQ_bizStep=|", ErrQueryParam},
		{"orderDirection=DESC&nextPageToken=0", ErrQueryParam},
		{"EQ_source_location=urn:x&EQ_destination_possessing_party=urn:y&EQ_INNER_bizLocation_example:a=b&EQ_readPoint_example:door=3B", nil},
		{"GE_startTime=yesterday", ErrQueryParam},
		{"GE_value_P1=lots", ErrQueryParam},
		{"GT_SENSORREPORT_example:x=1|2", ErrQueryParam},
		{"EQ_ATTR_bizLocation_sst=201", nil},
		{"EQ_ATTR_epcClass_x=1", nil},
		{"EQ_ATTR_disposition_x=1", ErrQueryUnsupported},
		{"HASATTR_example:site", ErrQueryParam},
		{"HASATTR_example:colour=red", nil},
		{"HASATTR_bizLocation=urn:epcglobal:cbv:mda#sst", ErrQueryParam},
		{"orderBy=eventTime&orderDirection=DESC", nil},
		{"orderBy=eventTime&nextPageToken=t" + strings.Repeat("00", 20), nil},
		{"orderBy=eventTime&nextPageToken=7", ErrQueryParam},
		{"nextPageToken=t" + strings.Repeat("00", 20), ErrQueryParam},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseQuery(emptyState{}, q)
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestReadingsMatch: the sensor-value parameters against a record.
func TestReadingsMatch(t *testing.T) {
	rs := []supply.Reading{{T: 1, C: 450}, {T: 2, C: 1250}, {T: 3, C: 300}}
	for _, c := range []struct {
		which, op string
		limit     int64
		want      bool
	}{
		{"value", "GE", 1200, true}, {"value", "GT", 1250, false}, {"value", "EQ", 300, true},
		{"minValue", "LT", 301, true}, {"minValue", "GE", 301, false}, {"maxValue", "LE", 1250, true}, {"maxValue", "LT", 1250, false},
	} {
		if got := readingsMatch(rs, c.which, c.op, c.limit); got != c.want {
			t.Errorf("%s %s %d: %v", c.which, c.op, c.limit, got)
		}
	}
}

// FuzzParseQuery: a query string never panics the parser, and what it
// accepts is bounded (a page of at most 1,000 events).
func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{"eventType=ObjectEvent&EQ_bizStep=receiving", "GE_value_CEL=8&LT_minValue_FAH=35.6", "GE_quantity_KGM=2.5e1&MATCH_epcClass=urn:epc:idpat:sgtin:4012345.012345.*",
		"orderDirection=DESC&eventCountLimit=5", "maxEventCount=10", "GE_quantity=1e999999", "EQ_example:colour=red", "perPage=1000&nextPageToken=7"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := ParseQuery(emptyState{}, q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty refusal")
			}
			return
		}
		if p.Limit < 1 || p.Limit > 1001 {
			t.Fatalf("a page of %d", p.Limit)
		}
	})
}

// TestExtensionMatch: the extension-field parameters against an event's
// kept extension fields: top-level or nested (INNER_), as text, decimals or
// times; what does not compare does not match.
func TestExtensionMatch(t *testing.T) {
	ev := &supply.Event{Seq: 1, Extensions: `{"example:colour":"red","example:n":7,"example:reading":{"example:depth":4.5,"example:when":"2026-11-01T00:00:00Z"}}`,
		ILMD: `{"example:batchNote":"ok"}`}
	for _, c := range []struct {
		query string
		want  bool
	}{
		{"EQ_example:colour=red", true},
		{"EQ_example:colour=blue|red", true},
		{"EQ_example:colour=blue", false},
		{"GT_example:n=6.5", true},
		{"LE_example:n=6", false},
		{"EQ_example:depth=4.5", false}, // nested: INNER_ only
		{"EQ_INNER_example:depth=4.50", true},
		{"LT_INNER_example:when=2026-11-02T00:00:00Z", true},
		{"GT_example:colour=a", false},
		{"EXISTS_INNER_example:depth=", true},
		{"EXISTS_example:depth=", false},
		{"EQ_ILMD_example:batchNote=ok", true},
		{"EXISTS_ILMD_example:colour=", false},
	} {
		t.Run(c.query, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			parsed, err := ParseQuery(emptyState{}, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parsed.Keep(ev)
			if err != nil || got != c.want {
				t.Fatalf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
}
