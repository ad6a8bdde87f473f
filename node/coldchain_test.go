package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/supply"
)

// TestColdChainEndToEnd: a vaccine's storage rule; two cases shipped by
// EPCIS capture with their carriers and received with their loggers'
// sensorElementList; the warm case's packs scan as temperature_excursion
// with their chart in a real Chromium (phone and desktop), the clean
// case's as dispensable; the regulator page lists the excursion by route
// and carrier, and a release by the manufacturer makes the packs
// dispensable again.
func TestColdChainEndToEnd(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"manufacturer", "manufacturer"}, {"pharmacy", "pharmacy"}, {"regulator", "regulator"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maker, ph := m["manufacturer"], m["pharmacy"]
	sendAll(ctx, t, c, []step{
		{maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "MR vaccine", Form: "powder for injection", Strength: "10 doses"}},
		{maker, supply.TypeStorageRule, supply.SetStorageRule{GTIN: testGTIN, MinC: 200, MaxC: 800, Alarms: []supply.Alarm{{When: "at_or_above", C: 4500, Seconds: 3600}}}},
	})
	day := time.Now().UTC().Add(-30 * time.Hour).Truncate(time.Hour)
	epc := func(s string) string { return "https://id.gs1.org/01/" + testGTIN + "/21/" + s }
	const caseA, caseB = "urn:epc:id:sscc:0614141.1234567890", "urn:epc:id:sscc:0614141.1234567891"
	at := func(h int) string { return day.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	ship := func(id, sscc, carrier string) string {
		return `{"type":"ObjectEvent","eventID":"` + id + `","eventTime":"` + at(1) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"shipping","epcList":["` + sscc +
			`"],"destinationList":[{"type":"owning_party","destination":"urn:primum:org:` + ph.id + `"}],"example:carrier":"` + carrier + `"}`
	}
	logger := func(warmFrom, warmTo int) string {
		var els []string
		for i := range 24 {
			c := 5.0 + float64(i%3)*0.5
			if i >= warmFrom && i < warmTo {
				c = 12.5
			}
			els = append(els, fmt.Sprintf(`{"sensorMetadata":{"time":"%s","deviceID":"urn:epc:id:giai:0614141.L1"},"sensorReport":[{"type":"Temperature","value":%.1f,"uom":"CEL"},{"type":"RelativeHumidity","value":40,"uom":"P1"}]}`,
				day.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), c))
		}
		return strings.Join(els, ",")
	}
	receive := func(id, sscc, readings string) string {
		return `{"type":"ObjectEvent","eventID":"` + id + `","eventTime":"` + at(25) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["` + sscc +
			`"],"sensorElementList":[` + readings + `]}`
	}
	makerDoc := epcisDoc(
		`{"type":"ObjectEvent","eventID":"urn:uuid:c0","eventTime":"`+at(0)+`","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","epcList":["`+epc("A1")+`","`+epc("A2")+`"],"ilmd":{"cbvmda:lotNumber":"CLEAN","cbvmda:itemExpirationDate":"2029-01-31"}}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:c1","eventTime":"`+at(0)+`","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","epcList":["`+epc("B1")+`","`+epc("B2")+`"],"ilmd":{"cbvmda:lotNumber":"WARM","cbvmda:itemExpirationDate":"2029-01-31"}}`,
		`{"type":"AggregationEvent","eventID":"urn:uuid:c2","eventTime":"`+at(0)+`","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"packing","parentID":"`+caseA+`","childEPCs":["`+epc("A1")+`","`+epc("A2")+`"]}`,
		`{"type":"AggregationEvent","eventID":"urn:uuid:c3","eventTime":"`+at(0)+`","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"packing","parentID":"`+caseB+`","childEPCs":["`+epc("B1")+`","`+epc("B2")+`"]}`,
		ship("urn:uuid:c4", caseA, "Nordic Cold"), ship("urn:uuid:c5", caseB, "QuickFreight"),
	)
	if job := capture(t, n.APIURL(), maker.token, "", makerDoc); !job.Success {
		t.Fatalf("the maker's capture: %+v", job)
	}
	// Master data in the header registers a new product, with a
	// class-level observation kept as recorded.
	header := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T10:00:00Z",
"epcisHeader":{"epcisMasterData":{"vocabularyList":[{"type":"urn:epcglobal:epcis:vtype:EPCClass","vocabularyElementList":[{"id":"https://id.gs1.org/01/09506000134376",
"attributes":[{"id":"urn:epcglobal:cbv:mda#regulatedProductName","attribute":"MR vaccine, live"}]}]}]}},
"epcisBody":{"eventList":[{"type":"ObjectEvent","eventID":"urn:uuid:c9","eventTime":"` + at(0) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"inspecting",
"quantityList":[{"epcClass":"urn:epc:class:lgtin:9506000.013435.CLEAN","quantity":200}]}]}}`
	if job := capture(t, n.APIURL(), maker.token, "", []byte(header)); !job.Success {
		t.Fatalf("master data: %+v", job)
	}
	var product supply.Product
	if err := c.Get(ctx, "/api/v1/supply/products/09506000134376", &product); err != nil || product.Name != "MR vaccine, live" || product.Manufacturer != maker.id {
		t.Fatalf("the product after master data: %v %+v", err, product)
	}
	if job := capture(t, n.APIURL(), ph.token, "", []byte(strings.Replace(header, "urn:uuid:c9", "urn:uuid:c10", 1))); job.Success || job.Errors[0].Code != "unauthorized" {
		t.Fatalf("a pharmacy's master data: %+v", job)
	}
	// A temperature in an unknown unit is refused with its code, and
	// nothing is received.
	bad := epcisDoc(`{"type":"ObjectEvent","eventID":"urn:uuid:c6","eventTime":"` + at(25) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["` + caseA +
		`"],"sensorElementList":[{"sensorMetadata":{"time":"` + at(2) + `"},"sensorReport":[{"type":"Temperature","value":5,"uom":"DEG"}]}]}`)
	if job := capture(t, n.APIURL(), ph.token, "", bad); job.Success || job.Errors[0].Code != "unknown_unit" {
		t.Fatalf("an unknown unit: %+v", job)
	}
	if job := capture(t, n.APIURL(), ph.token, "", epcisDoc(receive("urn:uuid:c7", caseA, logger(0, 0)), receive("urn:uuid:c8", caseB, logger(10, 14)))); !job.Success {
		t.Fatalf("the pharmacy's capture: %+v", job)
	}
	// An inspection's sensor data beyond temperatures is kept whole: a
	// laboratory's summary and a swab's finding.
	inspected := epcisDoc(`{"type":"ObjectEvent","eventID":"urn:uuid:c11","eventTime":"` + at(26) + `","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"inspecting","epcList":["` + caseA +
		`"],"sensorElementList":[{"sensorMetadata":{"startTime":"` + at(25) + `","endTime":"` + at(26) + `","dataProcessingMethod":"https://example.org/lab/pcr","example:lab":"L-7"},` +
		`"sensorReport":[{"type":"RelativeHumidity","minValue":40,"maxValue":48,"meanValue":44.5,"percRank":50,"percValue":44,"uom":"P1","sDev":2.1},` +
		`{"type":"AmountOfSubstancePerUnitVolume","microorganism":"https://www.ncbi.nlm.nih.gov/taxonomy/1126011","value":0.05,"uom":"C35"},` +
		`{"type":"example:seal","stringValue":"intact","booleanValue":true,"example:cv":"123"}],"example:batchNote":"swab 3"}]}`)
	if job := capture(t, n.APIURL(), ph.token, "", inspected); !job.Success {
		t.Fatalf("the inspection: %+v", job)
	}
	// The EPCIS query interface answers from the sensor data, and refuses
	// a parameter the standard does not define.
	query := func(params string) (int, []string, string) {
		res, err := http.Get(n.APIURL() + "/epcis/events?" + params)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var doc struct {
			Code      string `json:"code"`
			EPCISBody struct {
				QueryResults struct {
					ResultsBody struct {
						EventList []struct {
							EventID string `json:"eventID"`
						} `json:"eventList"`
					} `json:"resultsBody"`
				} `json:"queryResults"`
			} `json:"epcisBody"`
		}
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &doc)
		if res.StatusCode == 200 {
			validEPCIS(t, params, raw) // sensor data included
		}
		var ids []string
		for _, e := range doc.EPCISBody.QueryResults.ResultsBody.EventList {
			ids = append(ids, e.EventID)
		}
		return res.StatusCode, ids, doc.Code
	}
	for _, c := range []struct {
		params string
		status int
		ids    string
	}{
		{"GE_value_CEL=10", 200, "urn:uuid:c8"},
		{"EXISTS_sensorElementList&LT_maxValue_FAH=46.5", 200, "urn:uuid:c7"},
		{"orderDirection=DESC&eventCountLimit=2", 200, "urn:uuid:c11 urn:uuid:c8"},
		{"EQ_deviceID=urn:epc:id:giai:0614141.L1&GE_time=" + url.QueryEscape(at(20)), 200, "urn:uuid:c7 urn:uuid:c8"},
		{"colour=red", 400, ""},
		{"EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0614141073467:1152", 200, ""},
		// What a logger's humidity and an inspection's laboratory said.
		{"EQ_type=gs1:RelativeHumidity", 200, "urn:uuid:c7 urn:uuid:c8 urn:uuid:c11"},
		{"GE_value_P1=40", 200, "urn:uuid:c7 urn:uuid:c8"},
		{"GT_value_P1=40", 200, ""},
		{"GE_percRank=50&LT_meanValue_P1=45&GE_maxValue_P1=48", 200, "urn:uuid:c11"},
		{"GT_sDev_P1=2&LT_sDev_P1=3", 200, "urn:uuid:c11"},
		{"GT_sDev_P1=3", 200, ""},
		{"EQ_microorganism=https://www.ncbi.nlm.nih.gov/taxonomy/1126011&LE_value_C35=0.05", 200, "urn:uuid:c11"},
		{"EQ_stringValue=intact&EQ_booleanValue=true&EQ_dataProcessingMethod=https://example.org/lab/pcr", 200, "urn:uuid:c11"},
		{"EQ_booleanValue=false", 200, ""},
		{"GE_startTime=" + url.QueryEscape(at(25)) + "&LT_endTime=" + url.QueryEscape(at(27)), 200, "urn:uuid:c11"},
		{"EQ_SENSORMETADATA_example:lab=L-7&EQ_SENSORREPORT_example:cv=123&EXISTS_SENSORELEMENT_example:batchNote", 200, "urn:uuid:c11"},
		{"GT_SENSORREPORT_example:cv=200", 200, ""},
		{"EQ_deviceID=urn:epc:id:giai:0614141.L1&EQ_type=Temperature&eventType=ObjectEvent&EXISTS_sensorElementList", 200, "urn:uuid:c7 urn:uuid:c8"},
		{"EQ_ATTR_disposition_sst=201", 501, ""},
		// By event time (c9 was recorded after c4 and c5, and happened
		// before them), from a time, and the latest first.
		{"orderBy=eventTime&eventCountLimit=6", 200, "urn:uuid:c0 urn:uuid:c1 urn:uuid:c2 urn:uuid:c3 urn:uuid:c9 urn:uuid:c4"},
		{"orderBy=eventTime&GE_eventTime=" + url.QueryEscape(at(1)), 200, "urn:uuid:c4 urn:uuid:c5 urn:uuid:c7 urn:uuid:c8 urn:uuid:c11"},
		{"orderBy=eventTime&orderDirection=DESC&eventCountLimit=4", 200, "urn:uuid:c11 urn:uuid:c8 urn:uuid:c7 urn:uuid:c5"},
		{"orderBy=eventTime&orderDirection=DESC&LT_eventTime=" + url.QueryEscape(at(25)) + "&eventCountLimit=2", 200, "urn:uuid:c5 urn:uuid:c4"},
		{"orderBy=eventTime&nextPageToken=7", 400, ""},
		{"orderBy=eventTime&LT_eventTime=" + url.QueryEscape(at(1)), 200, "urn:uuid:c0 urn:uuid:c1 urn:uuid:c2 urn:uuid:c3 urn:uuid:c9"},
	} {
		status, ids, code := query(c.params)
		if status != c.status || strings.Join(ids, " ") != c.ids {
			t.Errorf("EPCIS query %s: %d %v %s", c.params, status, ids, code)
		}
	}
	// Pages by event time go on from where the last ended.
	var pages []string
	next := "orderBy=eventTime&perPage=4"
	for range 4 {
		res, err := http.Get(n.APIURL() + "/epcis/events?" + next)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		_, ids, _ := query(next)
		pages = append(pages, strings.Join(ids, " "))
		link := res.Header.Get("Link")
		if link == "" {
			break
		}
		_, rest, _ := strings.Cut(strings.TrimSuffix(strings.Split(link, ">")[0], ">"), "?")
		next = rest
	}
	if got := strings.Join(pages, " | "); got != "urn:uuid:c0 urn:uuid:c1 urn:uuid:c2 urn:uuid:c3 | urn:uuid:c9 urn:uuid:c4 urn:uuid:c5 urn:uuid:c7 | urn:uuid:c8 urn:uuid:c11" {
		t.Errorf("pages by event time: %s", got)
	}
	verdict := func(code string) *supply.Verdict {
		var v supply.Verdict
		if err := c.Get(ctx, "/api/v1/verify?"+url.Values{"code": {code}}.Encode(), &v); err != nil {
			t.Fatal(err)
		}
		return &v
	}
	warm := "(01)" + testGTIN + "(21)B1"
	if v := verdict(warm); v.Verdict != supply.VerdictExcursion || v.Excursion == nil || v.Excursion.Seconds != 4*3600 || v.Excursion.Carrier != "QuickFreight" ||
		len(v.ColdChain) != 1 || len(v.ColdChain[0].Readings) != 24 || !strings.Contains(v.Message, "on the way from") {
		t.Fatalf("the warm pack: %+v", v)
	}
	if v := verdict("(01)" + testGTIN + "(21)A1"); v.Verdict == supply.VerdictExcursion || len(v.ColdChain) != 1 || v.ColdChain[0].Assessments[0].Excursion {
		t.Fatalf("the clean pack: %+v", v)
	}

	b := browser(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			checkPage(t, b, axe, "verify-excursion", []chromedp.Action{chromedp.Navigate(n.APIURL() + "/verify.html?as=" + ph.id)},
				`document.querySelectorAll("#as option").length > 3`, []chromedp.Action{
					chromedp.SendKeys("#code", warm),
					chromedp.Click("#verify-button"),
					chromedp.Poll(`document.querySelectorAll("#cold-charts svg polyline").length === 1`, nil),
				}, size)
			var headline, storage, caption string
			var outside int
			if err := chromedp.Run(b, chromedp.Text("#verdict", &headline), chromedp.Text("#storage", &storage), chromedp.Text("#cold-charts figcaption", &caption),
				chromedp.Evaluate(`document.querySelectorAll("#cold-charts circle.out").length`, &outside)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(headline, "Temperature excursion") || storage != "2.0–8.0 °C" || outside != 4 || !strings.Contains(caption, "QuickFreight") || !strings.Contains(caption, "✗") {
				t.Errorf("the page: %q, storage %q, %d readings outside, caption %q", headline, storage, outside, caption)
			}
			checkPage(t, b, axe, "regulator-excursions", []chromedp.Action{chromedp.Navigate(n.APIURL() + "/regulator.html")},
				`document.querySelectorAll("#excursions tbody tr").length > 0 && document.querySelectorAll("#excursion-carriers tbody tr").length > 0`, nil, size)
			var row, carriers string
			if err := chromedp.Run(b, chromedp.Text("#excursions tbody", &row), chromedp.Text("#excursion-carriers tbody", &carriers)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(row, "WARM") || !strings.Contains(row, "QuickFreight") || !strings.Contains(row, "MR vaccine") || strings.Join(strings.Fields(carriers), " ") != "QuickFreight 1" {
				t.Errorf("the regulator's excursions: %q; carriers %q", row, carriers)
			}
		})
	}

	// The manufacturer releases: the packs are dispensable again, the
	// chart stays.
	v := verdict(warm)
	sendAll(ctx, t, c, []step{{maker, supply.TypeExcursionDecision, supply.ExcursionDecision{ID: v.Excursion.ID, Decision: "release", Note: "stability data: 4 h at 12.5 °C is within label"}}})
	if v := verdict(warm); v.Verdict == supply.VerdictExcursion || len(v.ColdChain) != 1 {
		t.Fatalf("after the release: %s %s", v.Verdict, v.Message)
	}
}
