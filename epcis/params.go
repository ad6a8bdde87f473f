package epcis

import (
	"cmp"
	"encoding/json"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// ErrQueryUnsupported answers a standard query parameter this repository
// does not evaluate: the events it keeps lack the field (EPCIS 2.0's
// ImplementationException, as 501).
var ErrQueryUnsupported = ledger.NewError("api", 53, "epcis_query_unsupported", 501, "a standard EPCIS query parameter this repository does not answer: the ledger keeps nothing it could read (no master data of that vocabulary)")

// ErrQueryTooLarge answers a query with more matches than its
// maxEventCount (EPCIS 2.0's QueryTooLargeException).
var ErrQueryTooLarge = ledger.NewError("api", 54, "epcis_query_too_large", 413, "more events match than maxEventCount allows: narrow the query")

// standardParams are the SimpleEventQuery parameters of EPCIS 2.0 by name
// (REST Bindings, query-schema.json); standardPatterns the families named
// by a pattern (a vocabulary type, a UOM or an extension field in the
// name). A parameter in neither is refused as QueryParameterException.
var standardParams = map[string]bool{}

var standardPatterns = []*regexp.Regexp{}

func init() {
	for _, p := range strings.Fields(`eventType GE_eventTime LT_eventTime GE_recordTime LT_recordTime EQ_action EQ_bizStep
		EQ_disposition EQ_persistentDisposition_set EQ_persistentDisposition_unset EQ_quantity GT_quantity GE_quantity
		LT_quantity LE_quantity EQ_readPoint WD_readPoint EQ_bizLocation WD_bizLocation EQ_transformationID MATCH_epc
		MATCH_parentID MATCH_inputEPC MATCH_outputEPC MATCH_anyEPC MATCH_epcClass MATCH_inputEPCClass MATCH_outputEPCClass
		MATCH_anyEPCClass EQ_eventID EXISTS_errorDeclaration GE_errorDeclaration_Time LT_errorDeclaration_Time EQ_errorReason
		EQ_correctiveEventID orderBy orderDirection eventCountLimit maxEventCount EXISTS_sensorElementList GE_time LT_time
		GE_startTime LT_startTime GE_endTime LT_endTime EQ_type EQ_deviceID EQ_dataProcessingMethod EQ_microorganism
		EQ_chemicalSubstance EQ_bizRules EQ_stringValue EQ_booleanValue EQ_hexBinaryValue EQ_uriValue GE_percRank
		LT_percRank GT_percRank LE_percRank perPage nextPageToken`) {
		standardParams[p] = true
	}
	const ext = `[a-z][a-zA-Z0-9]*:\w+`
	const uom = `[A-Z0-9]{2,4}`
	for _, p := range []string{
		`EQ_(bizTransaction|source|destination)_[a-z][a-zA-Z0-9_]+`,
		`(EQ|GT|GE|LT|LE)_(INNER_)?(ILMD_)?(ERROR_DECLARATION_)?` + ext,
		`(EQ|GT|GE|LT|LE)_(INNER_)?(SENSORELEMENT|SENSORMETADATA|SENSORREPORT)_` + ext,
		`EXISTS_(INNER_)?(ILMD_|ERROR_DECLARATION_|SENSORELEMENT_|SENSORMETADATA_|SENSORREPORT_)?` + ext,
		`HASATTR_` + ext, `EQ_ATTR_\w+_\w+`,
		`(EQ|GE|GT|LT|LE)_(value|minValue|maxValue|meanValue|sDev|percValue|quantity)_` + uom,
		`EQ_(INNER_)?(readPoint|bizLocation)_` + ext,
	} {
		standardPatterns = append(standardPatterns, regexp.MustCompile(`^(`+p+`)$`))
	}
}

// emptyCondition says whether a condition that compares with values was
// given none (EQ_bizStep= would otherwise match every event, or none).
func emptyCondition(name string, vals []string) bool {
	for _, p := range []string{"EQ_", "GT_", "GE_", "LT_", "LE_", "MATCH_", "WD_", "HASATTR_"} {
		if strings.HasPrefix(name, p) {
			for _, v := range vals {
				if strings.Trim(v, "|") != "" {
					return false
				}
			}
			return true
		}
	}
	return false
}

// standard says whether a parameter name is one of EPCIS 2.0's.
func standard(name string) bool {
	if standardParams[name] {
		return true
	}
	for _, re := range standardPatterns {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// answered are the parameters this repository evaluates, beside the
// sensor-value families (valueParam) and source/destination by party.
var answered = map[string]bool{
	"eventType": true, "GE_eventTime": true, "LT_eventTime": true, "GE_recordTime": true, "LT_recordTime": true,
	"EQ_action": true, "EQ_bizStep": true, "EQ_disposition": true, "MATCH_epc": true, "MATCH_parentID": true,
	"MATCH_anyEPC": true, "EQ_eventID": true, "orderBy": true, "orderDirection": true, "eventCountLimit": true,
	"maxEventCount": true, "EXISTS_sensorElementList": true, "GE_time": true, "LT_time": true, "EQ_type": true,
	"EQ_deviceID": true, "perPage": true, "nextPageToken": true,
	"EQ_ILMD_cbvmda:lotNumber": true, "EQ_ILMD_cbvmda:itemExpirationDate": true,
	"EQ_source_owning_party": true, "EQ_destination_owning_party": true,
	"MATCH_inputEPC": true, "MATCH_outputEPC": true, "MATCH_epcClass": true, "MATCH_inputEPCClass": true,
	"MATCH_outputEPCClass": true, "MATCH_anyEPCClass": true, "EQ_transformationID": true,
	"EQ_readPoint": true, "WD_readPoint": true, "EQ_bizLocation": true, "WD_bizLocation": true,
	"EQ_persistentDisposition_set": true, "EQ_persistentDisposition_unset": true,
	"EXISTS_errorDeclaration": true, "GE_errorDeclaration_Time": true, "LT_errorDeclaration_Time": true,
	"EQ_errorReason": true, "EQ_correctiveEventID": true,
	"EQ_quantity": true, "GT_quantity": true, "GE_quantity": true, "LT_quantity": true, "LE_quantity": true,
}

// extParam: a condition on an event's extension fields (top-level, or
// INNER_: nested in one), on its ILMD's (ILMD_) or on its error
// declaration's (ERROR_DECLARATION_).
var extParam = regexp.MustCompile(`^(EQ|GT|GE|LT|LE|EXISTS)_(INNER_)?(ILMD_|ERROR_DECLARATION_)?([a-z][a-zA-Z0-9]*:\w+)$`)

var bizTransactionParam = regexp.MustCompile(`^EQ_bizTransaction_([a-z][a-zA-Z0-9_]+)$`)

// partyParam: a source or destination of a type (owning_party is the
// recorder's and the receiver's, answered apart); locationExtParam: an
// extension field of the read point or business location.
var (
	partyParam       = regexp.MustCompile(`^EQ_(source|destination)_([a-z][a-zA-Z0-9_]+)$`)
	locationExtParam = regexp.MustCompile(`^EQ_(INNER_)?(readPoint|bizLocation)_([a-z][a-zA-Z0-9]*:\w+)$`)
)

var quantityParam = regexp.MustCompile(`^(EQ|GT|GE|LT|LE)_quantity(_([A-Z0-9]{2,4}))?$`)

var valueParam = regexp.MustCompile(`^(EQ|GE|GT|LT|LE)_(value|minValue|maxValue)_(CEL|FAH|KEL)$`)

// Bounds of one query: its parameters, and the values of a list.
const (
	maxParams = 32
	maxValues = 100
	// maxColdScan bounds the events a page examines when a condition
	// reads their temperature records.
	maxColdScan = 500
)

// Query is a parsed SimpleEventQuery: the ledger's filter, and the bounds
// of the answer.
type Query struct {
	supply.EventFilter
	// CountLimit ends the answer after this many events, with no next page
	// (eventCountLimit); MaxCount refuses a query that matches more
	// (maxEventCount). 0: none.
	CountLimit, MaxCount int
}

// ParseQuery reads a SimpleEventQuery's parameters (lists separated by
// '|'). A name EPCIS 2.0 does not define is refused (QueryParameterException,
// epcis_query_parameter, 400); a standard one the ledger cannot answer is
// refused as epcis_query_unsupported (501), naming it. 100 events a page
// unless perPage says otherwise.
func ParseQuery(r ledger.Reader, q url.Values) (*Query, error) {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > maxParams {
		return nil, ErrQueryParam.Wrapf("%d parameters: at most %d in one query", len(names), maxParams)
	}
	for _, n := range names {
		values := 0
		for _, v := range q[n] {
			values += 1 + strings.Count(v, "|")
		}
		if values > maxValues {
			return nil, ErrQueryParam.Wrapf("%s: at most %d values", ledger.Echo(n), maxValues)
		}
	}
	var conds []func(*supply.Event, *supply.ColdRecord) bool
	needCold, needExt := false, false
	for _, n := range names {
		switch {
		case !standard(n):
			return nil, ErrQueryParam.Wrapf("%q is not an EPCIS 2.0 query parameter (QueryParameterException)", ledger.Echo(n))
		case emptyCondition(n, q[n]):
			return nil, ErrQueryParam.Wrapf("%s takes a value", ledger.Echo(n))
		case answered[n], valueParam.MatchString(n), quantityParam.MatchString(n), bizTransactionParam.MatchString(n), extParam.MatchString(n), sensorAnswered(n), partyParam.MatchString(n), locationExtParam.MatchString(n), attrAnswered(n):
		default:
			return nil, ErrQueryUnsupported.Wrapf("%s", n)
		}
	}
	out := &Query{EventFilter: supply.EventFilter{Limit: 100}}
	f := &out.EventFilter
	split := func(name string) []string {
		var vals []string
		for _, v := range q[name] {
			for _, p := range strings.Split(v, "|") {
				if p != "" {
					vals = append(vals, p)
				}
			}
		}
		return vals
	}
	f.Types, f.Actions, f.EventIDs = split("eventType"), split("EQ_action"), split("EQ_eventID")
	for _, b := range split("EQ_bizStep") {
		f.BizSteps = append(f.BizSteps, cbvName(b))
	}
	keys := func(name string) ([]string, error) {
		var out []string
		for _, code := range split(name) {
			key, _, err := supply.KeyOf(code)
			if err != nil {
				return nil, ErrQueryParam.Wrapf("%s: %v", name, err)
			}
			out = append(out, key)
		}
		return out, nil
	}
	var err error
	if f.Keys, err = keys("MATCH_epc"); err != nil {
		return nil, err
	}
	if parents, err := keys("MATCH_parentID"); err != nil {
		return nil, err
	} else if len(parents) > 0 {
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return slices.Contains(parents, e.Parent) })
	}
	if any, err := keys("MATCH_anyEPC"); err != nil {
		return nil, err
	} else if len(any) > 0 {
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			if slices.Contains(any, e.Parent) {
				return true
			}
			for _, list := range [][]string{e.Keys, e.Inputs, e.Outputs} {
				for _, k := range list {
					if slices.Contains(any, k) {
						return true
					}
				}
			}
			return false
		})
	}
	for _, p := range []struct {
		name string
		list func(*supply.Event) []string
	}{
		{"MATCH_inputEPC", func(e *supply.Event) []string { return e.Inputs }},
		{"MATCH_outputEPC", func(e *supply.Event) []string { return e.Outputs }},
	} {
		want, err := keys(p.name)
		if err != nil {
			return nil, err
		}
		if len(want) > 0 {
			list := p.list
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				for _, k := range list(e) {
					if slices.Contains(want, k) {
						return true
					}
				}
				return false
			})
		}
	}
	for _, p := range []struct {
		name  string
		lists func(*supply.Event) [][]supply.Quantity
	}{
		{"MATCH_epcClass", func(e *supply.Event) [][]supply.Quantity { return [][]supply.Quantity{e.Quantities, e.ChildQuantities} }},
		{"MATCH_inputEPCClass", func(e *supply.Event) [][]supply.Quantity { return [][]supply.Quantity{e.InputQuantities} }},
		{"MATCH_outputEPCClass", func(e *supply.Event) [][]supply.Quantity { return [][]supply.Quantity{e.OutputQuantities} }},
		{"MATCH_anyEPCClass", func(e *supply.Event) [][]supply.Quantity {
			return [][]supply.Quantity{e.Quantities, e.ChildQuantities, e.InputQuantities, e.OutputQuantities}
		}},
	} {
		if want := split(p.name); len(want) > 0 {
			lists := p.lists
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				for _, l := range lists(e) {
					for _, q := range l {
						if classMatches(want, q.Class) {
							return true
						}
					}
				}
				return false
			})
		}
	}
	if ids := split("EQ_transformationID"); len(ids) > 0 {
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return slices.Contains(ids, e.TransformationID) })
	}
	for _, name := range names {
		m := quantityParam.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		limit, ok := decimal(q.Get(name))
		if !ok {
			return nil, ErrQueryParam.Wrapf("%s must be a number", name)
		}
		op, uom := m[1], m[3]
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			for _, l := range [][]supply.Quantity{e.Quantities, e.ChildQuantities, e.InputQuantities, e.OutputQuantities} {
				for _, x := range l {
					v, ok := decimal(x.Quantity)
					if ok && (uom == "" || x.UOM == uom) && compare(v.Cmp(limit), op) {
						return true
					}
				}
			}
			return false
		})
	}
	for _, n := range names {
		m := extParam.FindStringSubmatch(n)
		if m == nil || answered[n] {
			continue
		}
		op, inner, ilmd, declared, field := m[1], m[2] != "", m[3] == "ILMD_", m[3] == "ERROR_DECLARATION_", m[4]
		wants, err := conditionValues(n, op, split(n))
		if err != nil {
			return nil, err
		}
		// Each event examined decodes its extension fields: fewer events
		// a page, as for temperature records.
		needExt = true
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			var found []any
			switch {
			case ilmd && (field == "cbvmda:lotNumber" || field == "cbvmda:itemExpirationDate"):
				// The lot and expiry a commissioning recorded, not what
				// any ILMD may say.
				v := e.Expiry
				if field == "cbvmda:lotNumber" {
					v = e.Lot
				}
				if v != "" {
					found = []any{v}
				}
			case ilmd:
				found = extValues(e.ILMD, field, inner)
			case declared:
				if e.ErrorDeclaration != nil {
					found = extValues(e.ErrorDeclaration.Extensions, field, inner)
				}
			default:
				found = extValues(e.Extensions, field, inner)
			}
			return valuesMatch(found, op, wants)
		})
	}
	if _, ok := q["EXISTS_errorDeclaration"]; ok {
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return e.ErrorDeclaration != nil })
	}
	if reasons := split("EQ_errorReason"); len(reasons) > 0 {
		for i := range reasons {
			reasons[i] = cbvName(reasons[i])
		}
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return e.ErrorDeclaration != nil && slices.Contains(reasons, cbvName(e.ErrorDeclaration.Reason))
		})
	}
	if ids := split("EQ_correctiveEventID"); len(ids) > 0 {
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return e.ErrorDeclaration != nil && slices.ContainsFunc(e.ErrorDeclaration.Corrective, func(id string) bool { return slices.Contains(ids, id) })
		})
	}
	for _, p := range []struct {
		name  string
		after bool
	}{{"GE_errorDeclaration_Time", true}, {"LT_errorDeclaration_Time", false}} {
		name, after := p.name, p.after
		v := q.Get(name)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, ErrQueryParam.Wrapf("%s: an RFC 3339 time", name)
		}
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			if e.ErrorDeclaration == nil {
				return false
			}
			t, err := time.Parse(time.RFC3339Nano, e.ErrorDeclaration.Time)
			return err == nil && (after && !t.Before(at) || !after && t.Before(at))
		})
	}
	for _, set := range []string{"set", "unset"} {
		d := split("EQ_persistentDisposition_" + set)
		if len(d) == 0 {
			continue
		}
		for i := range d {
			d[i] = cbvName(d[i])
		}
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			list := e.PersistentSet
			if set == "unset" {
				list = e.PersistentUnset
			}
			return slices.ContainsFunc(list, func(x string) bool { return slices.Contains(d, x) })
		})
	}
	for _, n := range names {
		m := bizTransactionParam.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		typ, ids := m[1], split(n)
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return slices.ContainsFunc(e.BizTransactions, func(bt [2]string) bool { return cbvName(bt[0]) == typ && slices.Contains(ids, bt[1]) })
		})
	}
	for _, n := range names {
		if answered[n] {
			continue // owning_party: the recorder, the receiver
		}
		if m := partyParam.FindStringSubmatch(n); m != nil {
			source, typ, ids := m[1] == "source", m[2], split(n)
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				list := e.Destinations
				if source {
					list = e.Sources
				}
				return slices.ContainsFunc(list, func(p [2]string) bool { return cbvName(p[0]) == typ && slices.Contains(ids, p[1]) })
			})
		}
		if m := locationExtParam.FindStringSubmatch(n); m != nil {
			inner, loc, field := m[1] != "", m[2], m[3]
			wants, err := conditionValues(n, "EQ", split(n))
			if err != nil {
				return nil, err
			}
			needExt = true
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				fields := locationFields(e.Locations)[loc]
				return fields != nil && valuesMatch(extValuesIn(fields, field, inner), "EQ", wants)
			})
		}
	}
	// Master-data attributes of the locations an event names.
	masters := &locationMasters{r: r, seen: map[string]*supply.LocationMaster{}, products: map[string]*supply.Product{}}
	for _, n := range names {
		if m := eqAttrParam.FindStringSubmatch(n); m != nil && attrAnswered(n) {
			field, attr := m[1], m[2]
			wants, err := conditionValues(n, "EQ", split(n))
			if err != nil {
				return nil, err
			}
			needExt = true
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				var found []any
				switch field {
				case "epcClass":
					found = masters.productValues(gtinsOf(e), []string{attr})
				case "readPoint":
					found = masters.values(e.ReadPoint, []string{attr})
				default:
					found = masters.values(e.BizLocation, []string{attr})
				}
				return slices.ContainsFunc(found, func(v any) bool { return valuesMatch([]any{v}, "EQ", wants) })
			})
		}
		if m := hasAttrParam.FindStringSubmatch(n); m != nil {
			field, attrs := m[1], split(n)
			if len(attrs) == 0 {
				return nil, ErrQueryParam.Wrapf("%s takes the names of attributes", n)
			}
			needExt = true
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				for _, v := range extValues(e.Extensions, field, false) {
					if id, ok := v.(string); ok && len(masters.values(id, attrs)) > 0 {
						return true
					}
				}
				return false
			})
		}
	}
	if d := split("EQ_disposition"); len(d) > 0 {
		for i := range d {
			d[i] = cbvName(d[i])
		}
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return slices.Contains(d, e.Disposition) })
	}
	for _, p := range []struct {
		name  string
		field func(*supply.Event) string
	}{
		// WD_ (with descendants) is EQ_: the ledger keeps no location
		// hierarchy (no master data of locations), so a location's only
		// descendant it knows is itself.
		{"EQ_readPoint", func(e *supply.Event) string { return e.ReadPoint }},
		{"WD_readPoint", func(e *supply.Event) string { return e.ReadPoint }},
		{"EQ_bizLocation", func(e *supply.Event) string { return e.BizLocation }},
		{"WD_bizLocation", func(e *supply.Event) string { return e.BizLocation }},
		{"EQ_ILMD_cbvmda:lotNumber", func(e *supply.Event) string { return e.Lot }},
		{"EQ_ILMD_cbvmda:itemExpirationDate", func(e *supply.Event) string { return e.Expiry }},
		{"EQ_source_owning_party", func(e *supply.Event) string { return "urn:primum:org:" + e.By }},
		{"EQ_destination_owning_party", func(e *supply.Event) string {
			if e.To == "" {
				return ""
			}
			return "urn:primum:org:" + e.To
		}},
	} {
		if vals := split(p.name); len(vals) > 0 {
			field := p.field
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return slices.Contains(vals, field(e)) })
		}
	}
	times := map[string]*time.Time{"GE_eventTime": &f.From, "LT_eventTime": &f.To, "GE_recordTime": &f.RecordFrom, "LT_recordTime": &f.RecordTo}
	var readingFrom, readingTo time.Time
	times["GE_time"], times["LT_time"] = &readingFrom, &readingTo
	for _, name := range names {
		dst, ok := times[name]
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, q.Get(name))
		if err != nil {
			return nil, ErrQueryParam.Wrapf("%s must be an RFC 3339 time", name)
		}
		*dst = t
	}
	// Sensor data: the event's temperature record, and its sensor data
	// beyond it (kept: decoded once an event).
	if v := q.Get("EXISTS_sensorElementList"); q.Has("EXISTS_sensorElementList") && v != "" && v != "true" {
		return nil, ErrQueryParam.Wrapf("EXISTS_sensorElementList takes no value")
	}
	cache := &sensorCache{}
	if q.Has("EXISTS_sensorElementList") {
		needExt = true
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool { return e.Cold != 0 || len(cache.of(e)) > 0 })
	}
	// anyKept says whether some kept element of e has what ok looks for.
	anyKept := func(e *supply.Event, ok func(keptElement) bool) bool {
		return e.Sensors != "" && slices.ContainsFunc(cache.of(e), ok)
	}
	if types := split("EQ_type"); len(types) > 0 {
		temp := false
		for i, t := range types {
			temp = temp || isTemperature(t)
			types[i] = bareType(t)
		}
		needExt = true
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return temp && e.Cold != 0 || anyKept(e, func(k keptElement) bool {
				return slices.ContainsFunc(k.texts("type", false), func(t string) bool { return slices.Contains(types, bareType(t)) })
			})
		})
	}
	if devices := split("EQ_deviceID"); len(devices) > 0 {
		needCold = true
		conds = append(conds, func(e *supply.Event, rec *supply.ColdRecord) bool {
			return rec != nil && slices.Contains(devices, rec.Device) || anyKept(e, func(k keptElement) bool {
				return slices.ContainsFunc(k.texts("deviceID", true), func(d string) bool { return slices.Contains(devices, d) })
			})
		})
	}
	if !readingFrom.IsZero() || !readingTo.IsZero() {
		needCold = true
		within := func(t time.Time) bool {
			return (readingFrom.IsZero() || !t.Before(readingFrom)) && (readingTo.IsZero() || t.Before(readingTo))
		}
		conds = append(conds, func(e *supply.Event, rec *supply.ColdRecord) bool {
			if rec != nil && slices.ContainsFunc(rec.Readings, func(rd supply.Reading) bool { return within(time.Unix(rd.T, 0)) }) {
				return true
			}
			return anyKept(e, func(k keptElement) bool {
				return slices.ContainsFunc(k.texts("time", true), func(s string) bool {
					t, err := time.Parse(time.RFC3339Nano, s)
					return err == nil && within(t)
				})
			})
		})
	}
	for _, n := range names {
		if p, ok := sensorTexts[n]; ok {
			vals := split(n)
			needExt = true
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				return anyKept(e, func(k keptElement) bool {
					return slices.ContainsFunc(k.texts(p.field, p.metadata), func(v string) bool {
						return slices.Contains(vals, v) || p.field == "hexBinaryValue" && slices.ContainsFunc(vals, func(w string) bool { return strings.EqualFold(v, w) })
					})
				})
			})
		}
		if p, ok := sensorTimes[n]; ok {
			at, err := time.Parse(time.RFC3339Nano, q.Get(n))
			if err != nil {
				return nil, ErrQueryParam.Wrapf("%s must be an RFC 3339 time", n)
			}
			needExt = true
			conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
				return anyKept(e, func(k keptElement) bool {
					s, ok := k.metadata[p.field].(string)
					return ok && timeIn(s, at, p.after)
				})
			})
		}
	}
	if vals := split("EQ_booleanValue"); len(vals) > 0 {
		var want []bool
		for _, v := range vals {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return nil, ErrQueryParam.Wrapf("EQ_booleanValue is true or false")
			}
			want = append(want, b)
		}
		needExt = true
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return anyKept(e, func(k keptElement) bool {
				return slices.ContainsFunc(k.reports, func(r map[string]any) bool { b, ok := r["booleanValue"].(bool); return ok && slices.Contains(want, b) })
			})
		})
	}
	for _, n := range names {
		measure, unit, op := "", "", ""
		if m := measureParam.FindStringSubmatch(n); m != nil {
			op, measure, unit = m[1], m[2], m[3]
		} else if m := percRankParam.FindStringSubmatch(n); m != nil {
			op, measure = m[1], "percRank"
		} else {
			continue
		}
		limit, ok := decimal(q.Get(n))
		if !ok {
			return nil, ErrQueryParam.Wrapf("%s must be a number", n)
		}
		// A temperature's limit, in centi-degrees Celsius: value,
		// minValue and maxValue in CEL, FAH or KEL read the temperature
		// record too (some reading, the lowest, the highest).
		var centi int64
		cold := valueParam.MatchString(n)
		if isTemperatureUnit(unit) {
			var err error
			if centi, err = centiCelsius(q.Get(n), unit); err != nil {
				return nil, ErrQueryParam.Wrapf("%s must be a number", n)
			}
		}
		needCold, needExt = needCold || cold, true
		conds = append(conds, func(e *supply.Event, rec *supply.ColdRecord) bool {
			return cold && rec != nil && readingsMatch(rec.Readings, measure, op, centi) ||
				anyKept(e, func(k keptElement) bool {
					return slices.ContainsFunc(k.reports, func(r map[string]any) bool { return measureMatches(r, measure, unit, op, limit, centi) })
				})
		})
	}
	for _, n := range names {
		m := sensorExtParam.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		op, inner, level, field := m[1], m[2] != "", m[3], m[4]
		wants, err := conditionValues(n, op, split(n))
		if err != nil {
			return nil, err
		}
		needExt = true
		conds = append(conds, func(e *supply.Event, _ *supply.ColdRecord) bool {
			return anyKept(e, func(k keptElement) bool {
				var tops []map[string]any
				switch level {
				case "SENSORELEMENT":
					tops = []map[string]any{k.ext}
				case "SENSORMETADATA":
					tops = []map[string]any{k.metadata}
				default:
					tops = k.reports
				}
				for _, top := range tops {
					if valuesMatch(extValuesIn(top, field, inner), op, wants) {
						return true
					}
				}
				return false
			})
		})
	}
	// Paging and order.
	if v := q.Get("perPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, ErrQueryParam.Wrapf("perPage must be 1-1000")
		}
		f.Limit = n
	}
	switch q.Get("orderBy") {
	case "", "recordTime":
	case "eventTime":
		f.ByEventTime = true
	default:
		return nil, ErrQueryParam.Wrapf("orderBy must be eventTime or recordTime")
	}
	switch q.Get("orderDirection") {
	case "", "ASC":
	case "DESC":
		f.Desc = true
	default:
		return nil, ErrQueryParam.Wrapf("orderDirection must be ASC or DESC")
	}
	if v := q.Get("nextPageToken"); v != "" {
		if err := supply.ParseEventToken(v, f.ByEventTime, f.Desc); err != nil {
			return nil, ErrQueryParam.Wrapf("nextPageToken: not a page token of this query (the next link of an answer with the same orderBy and orderDirection)")
		}
		f.After = v
	}
	for name, dst := range map[string]*int{"eventCountLimit": &out.CountLimit, "maxEventCount": &out.MaxCount} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, ErrQueryParam.Wrapf("%s must be a positive integer", name)
			}
			*dst = n
		}
	}
	if out.CountLimit > 0 && out.MaxCount > 0 {
		return nil, ErrQueryParam.Wrapf("eventCountLimit and maxEventCount may not be given together")
	}
	if out.CountLimit > 0 && out.CountLimit < f.Limit {
		f.Limit = out.CountLimit
	}
	if out.MaxCount > 0 {
		// One more than allowed shows there are more.
		f.Limit = min(out.MaxCount+1, 1001)
	}
	if needCold || needExt {
		// Each event examined may read its temperature record (up to
		// 1,440 readings), or decode its extension fields: fewer events a
		// page.
		f.ScanLimit = maxColdScan
	}
	if len(conds) > 0 {
		f.Keep = func(e *supply.Event) (bool, error) {
			var rec *supply.ColdRecord
			if needCold && e.Cold != 0 {
				var err error
				if rec, err = supply.GetColdRecord(r, e.Cold-1); err != nil {
					return false, err
				}
			}
			for _, c := range conds {
				ok := c(e, rec)
				if masters.err != nil {
					return false, masters.err
				}
				if !ok {
					return false, nil
				}
			}
			return true, nil
		}
	}
	return out, nil
}

// classMatches says whether a class is one of want, or under a pattern of
// it ending in '*'.
func classMatches(want []string, class string) bool {
	for _, w := range want {
		if w == class || (strings.HasSuffix(w, "*") && strings.HasPrefix(class, strings.TrimSuffix(w, "*"))) {
			return true
		}
	}
	return false
}

// compare reads a comparison's result (-1, 0, 1) through an operator.
func compare(c int, op string) bool {
	switch op {
	case "EQ":
		return c == 0
	case "GT":
		return c > 0
	case "GE":
		return c >= 0
	case "LT":
		return c < 0
	}
	return c <= 0
}

// readingsMatch says whether a record's readings meet a sensor-value
// parameter: value (some reading), minValue (the lowest) or maxValue (the
// highest), compared with op to limit (centi-degrees).
func readingsMatch(rs []supply.Reading, which, op string, limit int64) bool {
	if len(rs) == 0 {
		return false
	}
	meets := func(c int64) bool { return compare(cmp.Compare(c, limit), op) }
	lo, hi := rs[0].C, rs[0].C
	for _, r := range rs {
		lo, hi = min(lo, r.C), max(hi, r.C)
		if which == "value" && meets(r.C) {
			return true
		}
	}
	switch which {
	case "minValue":
		return meets(lo)
	case "maxValue":
		return meets(hi)
	}
	return false
}

// Bounds of a search of an event's extension fields: how deep it walks
// and how many values of a field it compares.
const (
	maxExtDepth  = 8
	maxExtValues = 32
)

// extValues are the values of field in doc (an event's extension fields or
// ILMD, canonical JSON): its top-level field, or (inner) a field of that
// name nested inside one, at most maxExtDepth deep and maxExtValues of
// them. Bounded by doc (supply.MaxExtension).
func extValues(doc, field string, inner bool) []any {
	if doc == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var top map[string]any
	if dec.Decode(&top) != nil {
		return nil
	}
	return extValuesIn(top, field, inner)
}

// extValuesIn is extValues of a decoded object.
func extValuesIn(top map[string]any, field string, inner bool) []any {
	if !inner {
		if v, ok := top[field]; ok {
			return []any{v}
		}
		return nil
	}
	var out []any
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > maxExtDepth || len(out) >= maxExtValues {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, w := range x {
				if k == field && len(out) < maxExtValues {
					out = append(out, w)
				}
				walk(w, depth+1)
			}
		case []any:
			for _, w := range x {
				walk(w, depth+1)
			}
		}
	}
	for _, v := range top {
		walk(v, 1)
	}
	return out
}

// conditionValues reads, once, the values condition n (op EQ, GT, GE,
// LT, LE or EXISTS) compares with: any number for EQ, one for an
// ordering, none needed for EXISTS.
func conditionValues(n, op string, vals []string) ([]queryValue, error) {
	if op != "EXISTS" && op != "EQ" && len(vals) != 1 {
		return nil, ErrQueryParam.Wrapf("%s takes one value", n)
	}
	if op != "EXISTS" && len(vals) == 0 {
		return nil, ErrQueryParam.Wrapf("%s takes a value", n)
	}
	wants := make([]queryValue, len(vals))
	for i, v := range vals {
		wants[i] = parseValue(v)
	}
	return wants, nil
}

// valuesMatch says whether an extension field's values found meet a
// condition: EXISTS, or one compares with one of wants as op says.
func valuesMatch(found []any, op string, wants []queryValue) bool {
	if op == "EXISTS" {
		return len(found) > 0
	}
	for _, v := range found {
		for _, want := range wants {
			if c, ok := compareValue(v, want); ok && compare(c, op) {
				return true
			}
		}
	}
	return false
}

// queryValue is a query's value, read once: as text, and as a decimal
// and a time when it is one.
type queryValue struct {
	text string
	num  *big.Rat
	at   time.Time
	isAt bool
}

func parseValue(s string) queryValue {
	v := queryValue{text: s}
	v.num, _ = decimal(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		v.at, v.isAt = t, true
	}
	return v
}

// compareValue compares an extension field's value with a query's: as
// decimals when both are numbers, as times when both are RFC 3339 times,
// else (equality only) as text. ok is false when they do not compare.
func compareValue(v any, want queryValue) (int, bool) {
	var have string
	switch x := v.(type) {
	case string:
		have = x
	case json.Number:
		have = x.String()
	case bool:
		have = strconv.FormatBool(x)
	default:
		return 0, false // an object or a list: no value to compare
	}
	if want.num != nil {
		if a, ok := decimal(have); ok {
			return a.Cmp(want.num), true
		}
	}
	if want.isAt {
		if a, err := time.Parse(time.RFC3339Nano, have); err == nil {
			return a.Compare(want.at), true
		}
	}
	return 0, have == want.text // text: equal or not comparable
}
