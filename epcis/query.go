package epcis

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// QueryDocument is the EPCISQueryDocument answering a SimpleEventQuery
// with events, created at created. An event with a temperature record
// carries it as one summary sensor element (its times, logger, lowest and
// highest reading, the logger's exceptions; all its readings are at
// GET /api/v1/supply/cold/{seq}), then the sensor elements kept whole
// (those that said more than the temperature record holds).
func QueryDocument(r ledger.Reader, events []supply.Event, created time.Time) (map[string]any, error) {
	list := make([]map[string]any, 0, len(events))
	for _, e := range events {
		out := renderEvent(e)
		var sensors []map[string]any
		if e.Cold != 0 {
			rec, err := supply.GetColdRecord(r, e.Cold-1)
			if err != nil {
				return nil, err
			}
			sensors = sensorSummary(rec)
		}
		for _, k := range keptSensors(e.Sensors) {
			sensors = append(sensors, k.render())
		}
		if len(sensors) > 0 {
			out["sensorElementList"] = sensors
		}
		list = append(list, out)
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
	}, nil
}

// sensorSummary is a temperature record as EPCIS sensor elements: one
// summary of the readings, and one report per exception the logger raised.
func sensorSummary(rec *supply.ColdRecord) []map[string]any {
	unix := func(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }
	var out []map[string]any
	meta := func() map[string]any {
		m := map[string]any{}
		if rec.Device != "" {
			m["deviceID"] = rec.Device
		}
		return m
	}
	if n := len(rec.Readings); n > 0 {
		lo, hi := rec.Readings[0].C, rec.Readings[0].C
		for _, rd := range rec.Readings {
			lo, hi = min(lo, rd.C), max(hi, rd.C)
		}
		m := meta()
		m["startTime"], m["endTime"] = unix(rec.Readings[0].T), unix(rec.Readings[n-1].T)
		out = append(out, map[string]any{"sensorMetadata": m, "sensorReport": []map[string]any{{
			"type": "gs1:Temperature", "minValue": json.Number(supply.Centi(lo)), "maxValue": json.Number(supply.Centi(hi)), "uom": "CEL"}}})
	}
	for _, x := range rec.Exceptions {
		m := meta()
		m["time"] = unix(x.T)
		out = append(out, map[string]any{"sensorMetadata": m, "sensorReport": []map[string]any{{"type": "gs1:Temperature", "exception": x.Exception}}})
	}
	return out
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
	}
	// Its recorder is its owning party; the other parties and locations
	// it named, as captured.
	sources := []map[string]string{{"type": "owning_party", "source": "urn:primum:org:" + e.By}}
	for _, src := range e.Sources {
		if cbvName(src[0]) != "owning_party" {
			sources = append(sources, map[string]string{"type": src[0], "source": src[1]})
		}
	}
	out["sourceList"] = sources
	if e.Action != "" && e.Type != "TransformationEvent" {
		out["action"] = e.Action
	}
	if e.BizStep != "" {
		out["bizStep"] = e.BizStep
	}
	if e.Disposition != "" {
		out["disposition"] = e.Disposition
	}
	locs := locationFields(e.Locations)
	for name, id := range map[string]string{"readPoint": e.ReadPoint, "bizLocation": e.BizLocation} {
		if id == "" {
			continue
		}
		loc := map[string]any{"id": id}
		for k, v := range locs[name] {
			if ExtensionName(k) {
				loc[k] = v
			}
		}
		out[name] = loc
	}
	if d := e.ErrorDeclaration; d != nil {
		ed := map[string]any{"declarationTime": d.Time}
		if d.Reason != "" {
			ed["reason"] = d.Reason
		}
		if len(d.Corrective) > 0 {
			ed["correctiveEventIDs"] = d.Corrective
		}
		for k, v := range namespaced(d.Extensions, ExtensionName) {
			ed[k] = v
		}
		out["errorDeclaration"] = ed
	}
	if len(e.PersistentSet)+len(e.PersistentUnset) > 0 {
		pd := map[string][]string{}
		if len(e.PersistentSet) > 0 {
			pd["set"] = e.PersistentSet
		}
		if len(e.PersistentUnset) > 0 {
			pd["unset"] = e.PersistentUnset
		}
		out["persistentDisposition"] = pd
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
	// The member it was shipped to is its owning party at destination
	// (one it names itself is not shown: it could name any member); the
	// other parties and locations as captured.
	var dests []map[string]string
	if e.To != "" {
		dests = append(dests, map[string]string{"type": "owning_party", "destination": "urn:primum:org:" + e.To})
	}
	for _, d := range e.Destinations {
		if cbvName(d[0]) != "owning_party" {
			dests = append(dests, map[string]string{"type": d[0], "destination": d[1]})
		}
	}
	if len(dests) > 0 {
		out["destinationList"] = dests
	}
	ilmd := namespaced(e.ILMD, func(k string) bool {
		return ExtensionName(k) || strings.HasPrefix(k, "cbvmda:") && k != "cbvmda:lotNumber" && k != "cbvmda:itemExpirationDate"
	})
	if e.Lot != "" || e.Expiry != "" {
		ilmd["cbvmda:lotNumber"], ilmd["cbvmda:itemExpirationDate"] = e.Lot, e.Expiry
	}
	if len(ilmd) > 0 {
		out["ilmd"] = ilmd
	}
	// Extension fields as captured (namespaced: none can stand for one of
	// EPCIS's own).
	for k, v := range namespaced(e.Extensions, ExtensionName) {
		out[k] = v
	}
	return out
}

// namespaced are the fields of doc (canonical JSON kept on an event) whose
// names keep says may be shown (ExtensionName: what the schema wants of an
// extension field); none when doc is not a JSON object.
func namespaced(doc string, keep func(string) bool) map[string]any {
	out := map[string]any{}
	var m map[string]json.RawMessage
	if doc == "" || json.Unmarshal([]byte(doc), &m) != nil {
		return out
	}
	for k, v := range m {
		if keep(k) {
			out[k] = v
		}
	}
	return out
}

// locationFields are an event's kept read point's and business location's
// extension fields (supply.Event.Locations), decoded: none when there are
// none, or when what was kept is not an object of objects.
func locationFields(doc string) map[string]map[string]any {
	if doc == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var out map[string]map[string]any
	if dec.Decode(&out) != nil {
		return nil
	}
	return out
}
