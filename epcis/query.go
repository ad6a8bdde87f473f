package epcis

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/supply"
)

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

func renderURIs(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = supply.URI(k)
	}
	return out
}

func renderQuantities(qs []supply.Quantity) []map[string]any {
	out := make([]map[string]any, len(qs))
	for i, q := range qs {
		m := map[string]any{"epcClass": q.Class}
		if q.Quantity != "" {
			m["quantity"] = json.Number(q.Quantity)
		}
		if q.UOM != "" {
			m["uom"] = q.UOM
		}
		out[i] = m
	}
	return out
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
		"recordTime": e.RecordTime,
		"sourceList": []map[string]string{{"type": "owning_party", "source": "urn:primum:org:" + e.By}},
	}
	if e.Action != "" && e.Type != "TransformationEvent" {
		out["action"] = e.Action
	}
	if e.BizStep != "" {
		out["bizStep"] = e.BizStep
	}
	if e.Disposition != "" {
		out["disposition"] = e.Disposition
	}
	switch e.Type {
	case "AggregationEvent", "AssociationEvent":
		if e.Parent != "" {
			out["parentID"] = supply.URI(e.Parent)
		}
		if len(uris) > 0 {
			out["childEPCs"] = uris
		}
		if len(e.ChildQuantities) > 0 {
			out["childQuantityList"] = renderQuantities(e.ChildQuantities)
		}
	case "TransformationEvent":
		if len(e.Inputs) > 0 {
			out["inputEPCList"] = renderURIs(e.Inputs)
		}
		if len(e.Outputs) > 0 {
			out["outputEPCList"] = renderURIs(e.Outputs)
		}
		if len(e.InputQuantities) > 0 {
			out["inputQuantityList"] = renderQuantities(e.InputQuantities)
		}
		if len(e.OutputQuantities) > 0 {
			out["outputQuantityList"] = renderQuantities(e.OutputQuantities)
		}
		if e.TransformationID != "" {
			out["transformationID"] = e.TransformationID
		}
	default:
		if len(uris) > 0 || len(e.Quantities) == 0 {
			out["epcList"] = uris
		}
		if len(e.Quantities) > 0 {
			out["quantityList"] = renderQuantities(e.Quantities)
		}
		if e.Parent != "" {
			out["parentID"] = supply.URI(e.Parent)
		}
	}
	if len(e.BizTransactions) > 0 {
		bts := make([]map[string]string, len(e.BizTransactions))
		for i, bt := range e.BizTransactions {
			bts[i] = map[string]string{"bizTransaction": bt[1]}
			if bt[0] != "" {
				bts[i]["type"] = bt[0]
			}
		}
		out["bizTransactionList"] = bts
	}
	if e.To != "" {
		out["destinationList"] = []map[string]string{{"type": "owning_party", "destination": "urn:primum:org:" + e.To}}
	}
	if e.Lot != "" || e.Expiry != "" {
		out["ilmd"] = map[string]string{"cbvmda:lotNumber": e.Lot, "cbvmda:itemExpirationDate": e.Expiry}
	}
	return out
}
