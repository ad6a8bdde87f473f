package epcis

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// cbvName reduces a CBV value to its bare name: "shipping" from
// "urn:epcglobal:cbv:bizstep:shipping" or "https://ref.gs1.org/cbv/BizStep-shipping".
func cbvName(v string) string {
	if i := strings.LastIndexAny(v, ":-"); i >= 0 && (strings.HasPrefix(v, "urn:epcglobal:cbv:") || strings.HasPrefix(v, "https://ref.gs1.org/cbv/")) {
		return v[i+1:]
	}
	return v
}

// TranslateEvent turns one EPCIS event into the custody steps it means, or
// says why Primum does not hold it.
func TranslateEvent(r ledger.Reader, raw json.RawMessage) ([]supply.CaptureEvent, error) {
	var e epcisEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, ErrDocument.Wrapf("event: %v", wireError(err))
	}
	if err := e.checkLengths(); err != nil {
		return nil, err
	}
	if e.EventTime == "" {
		return nil, ErrDocument.Wrapf("eventTime is required")
	}
	t, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil {
		return nil, ErrDocument.Wrapf("eventTime %q: %v", e.EventTime, err)
	}
	base := supply.CaptureEvent{EventID: e.EventID, EventTime: t.UTC().Format(time.RFC3339), Disposition: cbvName(e.Disposition),
		ReadPoint: e.ReadPoint.ID, BizLocation: e.BizLocation.ID}
	for _, b := range e.BizTransactions {
		base.BizTransactions = append(base.BizTransactions, [2]string{b.Type, b.BizTransaction})
	}
	for _, src := range e.SourceList {
		base.Sources = append(base.Sources, [2]string{src.Type, src.Source})
	}
	for _, d := range e.DestinationList {
		base.Destinations = append(base.Destinations, [2]string{d.Type, d.Destination})
	}
	if base.Locations, err = locationExtensions(raw); err != nil {
		return nil, err
	}
	for _, d := range e.PersistentDisposition.Set {
		base.PersistentSet = append(base.PersistentSet, cbvName(d))
	}
	for _, d := range e.PersistentDisposition.Unset {
		base.PersistentUnset = append(base.PersistentUnset, cbvName(d))
	}
	step := cbvName(e.BizStep)
	if d := e.ErrorDeclaration; d != nil {
		// The event declared in error, named by its eventID: its
		// declaration is kept beside it (its recorder's only).
		if e.EventID == "" {
			return nil, ErrDocument.Wrapf("an event with an errorDeclaration names the event it declares in error by its eventID")
		}
		at, err := time.Parse(time.RFC3339Nano, d.DeclarationTime)
		if err != nil {
			return nil, ErrDocument.Wrapf("errorDeclaration.declarationTime %q: %v", d.DeclarationTime, err)
		}
		// A CBV reason bare; any other as written (its URI).
		reason := cbvName(d.Reason)
		if reason != "did_not_occur" && reason != "incorrect_data" {
			reason = d.Reason
		}
		// Its own extension fields, kept with it.
		var fields struct {
			D map[string]json.RawMessage `json:"errorDeclaration"`
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, ErrDocument.Wrapf("errorDeclaration: %v", wireError(err))
		}
		ext, err := canonical("the error declaration's extension fields", fields.D, ExtensionName)
		if err != nil {
			return nil, err
		}
		return []supply.CaptureEvent{{Step: "declare_error", EventID: e.EventID, EventTime: base.EventTime,
			Declare: &supply.ErrorDeclaration{Time: at.UTC().Format(time.RFC3339), Reason: reason, Corrective: d.CorrectiveEventIDs, Extensions: ext}}}, nil
	}
	if base.Sensor, err = e.sensor(t); err != nil {
		return nil, err
	}
	if base.Sensors, err = sensorData(raw); err != nil {
		return nil, err
	}
	if base.Extensions, base.ILMD, err = extensions(raw, e.ILMD); err != nil {
		return nil, err
	}
	// A dispensing, of any kind, keeps none of what a pharmacy's system
	// may name the patient in: event data is public.
	if step == "dispensing" {
		base.Extensions, base.ILMD, base.Sensors, base.Sources, base.Destinations, base.Locations = "", "", "", nil, nil, ""
	}
	// ILMD is an ADD ObjectEvent's or a TransformationEvent's (as the
	// schema has it).
	if !(e.Type == "ObjectEvent" && e.Action == "ADD" || e.Type == "TransformationEvent") {
		base.ILMD = ""
	}
	switch e.Type {
	case "ObjectEvent":
		if len(e.EPCList) == 0 {
			// A class-level event, or one that names no object: kept as
			// recorded.
			return e.record(base)
		}
		base.Codes = e.EPCList
		switch {
		case e.Action == "ADD" && (step == "commissioning" || step == ""):
			base.Step = "commission"
			base.Lot = ilmdString(e.ILMD, "lotNumber")
			base.Expiry = ilmdString(e.ILMD, "itemExpirationDate")
			if base.Lot == "" || base.Expiry == "" {
				return nil, ErrNotHeld.Wrapf("commissioning without ilmd lotNumber and itemExpirationDate: Primum commissions medicine packs with lot and expiry")
			}
		case step == "shipping":
			base.Step = "ship"
			to, err := destination(r, e.DestinationList)
			if err != nil {
				return nil, err
			}
			base.To = to
			base.Carrier = carrier(raw)
		case step == "receiving":
			base.Step = "receive"
		case step == "dispensing":
			if base.Sensor != nil {
				return nil, sensorNotHeld("dispensing")
			}
			out := make([]supply.CaptureEvent, len(e.EPCList))
			for i, code := range e.EPCList {
				out[i] = base
				out[i].Step, out[i].Codes = "dispense", []string{code}
				if base.EventID != "" && len(e.EPCList) > 1 {
					out[i].EventID = base.EventID + "#" + strconv.Itoa(i)
				}
			}
			return out, nil
		case e.Action == "DELETE" || step == "decommissioning" || step == "destroying":
			base.Step = "decommission"
			switch d := cbvName(e.Disposition); d {
			case "destroyed", "stolen", "damaged", "expired":
				base.Reason = d
			default:
				base.Reason = "decommissioned"
				if step == "destroying" {
					base.Reason = "destroyed"
				}
			}
		case e.Action == "OBSERVE":
			// Any other observation (inspecting, storing, a logger's
			// readings): recorded on the objects, which stay where they are.
			base.Step, base.BizStep = "observe", step
			if len(step) > 64 {
				return nil, ErrDocument.Wrapf("bizStep is longer than 64 bytes")
			}
		default:
			return e.record(base)
		}
		if base.Sensor != nil && base.Step != "ship" && base.Step != "receive" && base.Step != "observe" {
			return nil, sensorNotHeld(base.Step)
		}
	case "AggregationEvent":
		if base.Sensor != nil {
			return nil, ErrNotHeld.Wrapf("sensor data on an AggregationEvent: record it on an ObjectEvent of the container")
		}
		if e.ParentID == "" || len(e.ChildEPCs) == 0 {
			if len(e.ChildQuantities) > 0 || (e.ParentID != "" && e.Action == "OBSERVE") {
				return e.record(base) // class-level, or an observation of a container
			}
			return nil, ErrDocument.Wrapf("AggregationEvent needs parentID and childEPCs")
		}
		base.Parent, base.Codes = e.ParentID, e.ChildEPCs
		switch e.Action {
		case "ADD":
			base.Step = "pack"
		case "DELETE":
			base.Step = "unpack"
		default:
			return e.record(base)
		}
	case "TransformationEvent", "AssociationEvent", "TransactionEvent":
		return e.record(base)
	default:
		return nil, ErrDocument.Wrapf("unknown event type %q", e.Type)
	}
	return []supply.CaptureEvent{base}, nil
}

// sensorNotHeld refuses sensor data on an event of a step that takes no
// temperature record.
func sensorNotHeld(step string) error {
	return ErrNotHeld.Wrapf("sensor data on a %s event: Primum records temperatures on shipping, receiving and observations", step)
}

// record keeps an event that changes no custody as it was recorded: its
// identifiers and quantities, answered by queries. Sensor data on it is
// refused: temperatures are assessed against the objects an event names.
func (e *epcisEvent) record(base supply.CaptureEvent) ([]supply.CaptureEvent, error) {
	if base.Sensor != nil {
		return nil, ErrNotHeld.Wrapf("sensor data on a %s that names no serialised object to hold it: Primum assesses temperatures of the packs and cases an event names", e.Type)
	}
	rec := &supply.Event{Type: e.Type, Action: e.Action, BizStep: cbvName(e.BizStep), Disposition: base.Disposition, EventID: e.EventID,
		TransformationID: e.TransformID}
	rec.Keys = keysOf(e.EPCList)
	if len(e.ChildEPCs) > 0 {
		rec.Keys = append(rec.Keys, keysOf(e.ChildEPCs)...)
	}
	if e.ParentID != "" {
		rec.Parent = keysOf([]string{e.ParentID})[0]
	}
	rec.Inputs, rec.Outputs = keysOf(e.InputEPCList), keysOf(e.OutputEPCList)
	rec.Quantities, rec.ChildQuantities = quantities(e.QuantityList), quantities(e.ChildQuantities)
	rec.InputQuantities, rec.OutputQuantities = quantities(e.InputQuantities), quantities(e.OutputQuantity)
	rec.BizTransactions = base.BizTransactions
	base.Step, base.Record, base.Sensor = "record", rec, nil
	return []supply.CaptureEvent{base}, nil
}

// keysOf reads identifiers to the ledger's canonical keys, keeping as
// written those it does not read (a GIAI, an SGLN).
func keysOf(codes []string) []string {
	if len(codes) == 0 {
		return nil
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c
		if key, _, err := supply.KeyOf(c); err == nil {
			out[i] = key
		}
	}
	return out
}

func quantities(list []quantityElement) []supply.Quantity {
	var out []supply.Quantity
	for _, q := range list {
		x := supply.Quantity{Class: q.EPCClass, UOM: q.UOM}
		if q.Quantity != nil {
			x.Quantity = string(*q.Quantity)
		}
		out = append(out, x)
	}
	return out
}

func ilmdString(ilmd map[string]json.RawMessage, name string) string {
	for k, v := range ilmd {
		if k == name || strings.HasSuffix(k, ":"+name) {
			var s string
			if json.Unmarshal(v, &s) == nil {
				return s
			}
		}
	}
	return ""
}

// destination finds the receiving member: a party named
// urn:primum:org:<id>, or a party/location GLN a member registered. A
// destination list that names a party or location, none of them a
// member's, is refused (supply.ErrUnknownDestination): taken as a shipment
// to anyone, it could be received by whoever came first. No destination at
// all is a shipment to anyone, as it says.
func destination(r ledger.Reader, list []struct {
	Type        string `json:"type"`
	Destination string `json:"destination"`
}) (string, error) {
	named := false
	for _, d := range list {
		if t := cbvName(d.Type); t != "owning_party" && t != "possessing_party" && t != "location" {
			continue
		}
		named = true
		if id, ok := strings.CutPrefix(d.Destination, "urn:primum:org:"); ok {
			return id, nil
		}
		gln := ""
		if c, err := gs1.Parse(strings.Replace(d.Destination, "urn:epc:id:pgln:", "urn:epc:id:sgln:", 1) + pglnSuffix(d.Destination)); err == nil {
			gln = c.GLN
		}
		if gln == "" {
			continue
		}
		org, err := supply.OrgOfLocation(r, gln)
		switch {
		case err == nil:
			return org, nil
		case !errors.Is(err, supply.ErrUnknownOrg):
			return "", err // a storage failure: the block stops
		}
	}
	if named {
		return "", supply.ErrUnknownDestination.Wrapf("%d destination(s), none a member's", len(list))
	}
	return "", nil
}

// pglnSuffix gives a party GLN URN the empty extension an SGLN URN has.
func pglnSuffix(urn string) string {
	if strings.HasPrefix(urn, "urn:epc:id:pgln:") {
		return ".0"
	}
	return ""
}

// MaxExtension bounds what is kept of an event's extension fields, and of
// its ILMD's fields beside the lot and expiry, each as canonical JSON.
const MaxExtension = supply.MaxExtension

// extensions are an event's own fields outside EPCIS's (namespaced, as the
// schema requires of them) and its ILMD's beside lotNumber and
// itemExpirationDate (kept as the lot and expiry): each as canonical JSON
// (keys sorted, compact), "" when none, at most MaxExtension bytes.
func extensions(raw json.RawMessage, ilmd map[string]json.RawMessage) (ext, rest string, err error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return "", "", ErrDocument.Wrapf("event: %v", wireError(err))
	}
	if ext, err = canonical("extension fields", all, ExtensionName); err != nil {
		return "", "", err
	}
	rest, err = canonical("ILMD fields", ilmd, func(k string) bool {
		return ExtensionName(k) || strings.HasPrefix(k, "cbvmda:") && !slices.Contains([]string{"cbvmda:lotNumber", "cbvmda:itemExpirationDate"}, k)
	})
	return ext, rest, err
}

// locationExtensions are the extension fields of an event's read point
// and business location, as canonical JSON {"readPoint":{…},
// "bizLocation":{…}}: "" when none, at most MaxExtension bytes.
func locationExtensions(raw json.RawMessage) (string, error) {
	var locs map[string]map[string]json.RawMessage
	var ev struct {
		ReadPoint   map[string]json.RawMessage `json:"readPoint"`
		BizLocation map[string]json.RawMessage `json:"bizLocation"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return "", ErrDocument.Wrapf("readPoint, bizLocation: %v", wireError(err))
	}
	for name, fields := range map[string]map[string]json.RawMessage{"readPoint": ev.ReadPoint, "bizLocation": ev.BizLocation} {
		kept := map[string]json.RawMessage{}
		for k, v := range fields {
			if ExtensionName(k) {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			if locs == nil {
				locs = map[string]map[string]json.RawMessage{}
			}
			locs[name] = kept
		}
	}
	if locs == nil {
		return "", nil
	}
	b, err := json.Marshal(locs) // sorted keys, compacted values
	if err != nil {
		return "", ErrDocument.Wrapf("readPoint, bizLocation: %v", err)
	}
	if len(b) > MaxExtension {
		return "", ErrDocument.Wrapf("the read point's and business location's extension fields of %d bytes: at most %d an event are kept", len(b), MaxExtension)
	}
	return string(b), nil
}

// canonical is m's fields that keep says are kept, as canonical JSON
// (keys sorted, values compacted): "" when none, at most MaxExtension
// bytes.
func canonical(what string, m map[string]json.RawMessage, keep func(string) bool) (string, error) {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if keep(k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return "", nil
	}
	b, err := json.Marshal(out) // sorted keys, compacted values
	if err != nil {
		return "", ErrDocument.Wrapf("%s: %v", what, err)
	}
	if len(b) > MaxExtension {
		return "", ErrDocument.Wrapf("%s of %d bytes: at most %d an event are kept", what, len(b), MaxExtension)
	}
	return string(b), nil
}

// extensionName is the form of an extension field's name: a namespace
// prefix or URI, then a name, no spaces.
var extensionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s"]+$`)

// ExtensionName says whether a field's name is an extension's kept on an
// event: namespaced, and not in EPCIS's, CBV's or GS1's own namespaces
// (which would stand for one of EPCIS's fields to a JSON-LD reader).
func ExtensionName(k string) bool {
	if !extensionName.MatchString(k) {
		return false
	}
	for _, own := range []string{"epcis:", "cbv:", "cbvmda:", "gs1:", "https://ref.gs1.org/", "http://ref.gs1.org/", "https://gs1.org/", "http://gs1.org/", "urn:epcglobal:", "https://ns.gs1.org/", "http://ns.gs1.org/"} {
		if strings.HasPrefix(k, own) {
			return false
		}
	}
	return true
}
