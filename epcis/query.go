package epcis

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/supply"
)

// ParseQuery reads the SimpleEventQuery parameters Primum answers
// (eventType, EQ_action, EQ_bizStep, MATCH_epc, GE_eventTime, LT_eventTime,
// perPage, nextPageToken; lists separated by '|') into the ledger's event
// filter: 100 events a page unless perPage says otherwise.
func ParseQuery(q url.Values) (supply.EventFilter, error) {
	f := supply.EventFilter{Limit: 100}
	split := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for _, p := range strings.Split(v, "|") {
				if p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f.Types, f.Actions = split("eventType"), split("EQ_action")
	for _, b := range split("EQ_bizStep") {
		f.BizSteps = append(f.BizSteps, cbvName(b))
	}
	for _, code := range split("MATCH_epc") {
		key, _, err := supply.KeyOf(code)
		if err != nil {
			return f, ErrQueryParam.Wrapf("MATCH_epc: %v", err)
		}
		f.Keys = append(f.Keys, key)
	}
	for name, dst := range map[string]*time.Time{"GE_eventTime": &f.From, "LT_eventTime": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, ErrQueryParam.Wrapf("%s: %v", name, err)
			}
			*dst = t
		}
	}
	if v := q.Get("perPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, ErrQueryParam.Wrapf("perPage must be 1-1000")
		}
		f.Limit = n
	}
	if v := q.Get("nextPageToken"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, ErrQueryParam.Wrapf("nextPageToken")
		}
		f.After = n
	}
	return f, nil
}

// QueryDocument is the EPCISQueryDocument answering a SimpleEventQuery
// with events, created at created.
func QueryDocument(events []supply.Event, created time.Time) map[string]any {
	list := make([]map[string]any, 0, len(events))
	for _, e := range events {
		list = append(list, renderEvent(e))
	}
	return map[string]any{
		"@context":      []any{"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"},
		"type":          "EPCISQueryDocument",
		"schemaVersion": "2.0",
		"creationDate":  created.UTC().Format(time.RFC3339),
		"epcisBody": map[string]any{"queryResults": map[string]any{
			"queryName":   "SimpleEventQuery",
			"resultsBody": map[string]any{"eventList": list},
		}},
	}
}

// renderEvent is one ledger event as EPCIS 2.0 JSON; an event captured
// without a URI for its id is named by its place in the ledger
// (urn:primum:event:<seq>).
func renderEvent(e supply.Event) map[string]any {
	id := e.EventID
	if id == "" || !strings.Contains(id, ":") {
		id = "urn:primum:event:" + strconv.FormatUint(e.Seq, 10)
	}
	uris := make([]string, len(e.Keys))
	for i, k := range e.Keys {
		uris[i] = supply.URI(k)
	}
	out := map[string]any{
		"type": e.Type, "eventID": id, "eventTime": e.EventTime, "eventTimeZoneOffset": "+00:00",
		"recordTime": e.RecordTime, "action": e.Action, "bizStep": e.BizStep,
		"sourceList": []map[string]string{{"type": "owning_party", "source": "urn:primum:org:" + e.By}},
	}
	if e.Disposition != "" {
		out["disposition"] = e.Disposition
	}
	if e.Type == "AggregationEvent" {
		out["parentID"], out["childEPCs"] = supply.URI(e.Parent), uris
	} else {
		out["epcList"] = uris
	}
	if e.To != "" {
		out["destinationList"] = []map[string]string{{"type": "owning_party", "destination": "urn:primum:org:" + e.To}}
	}
	if e.Lot != "" || e.Expiry != "" {
		out["ilmd"] = map[string]string{"cbvmda:lotNumber": e.Lot, "cbvmda:itemExpirationDate": e.Expiry}
	}
	return out
}
