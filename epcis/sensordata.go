package epcis

import (
	"cmp"
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/primum-health/primum/supply"
)

// An event's sensor data beyond its temperature record (sensorData, kept
// as supply.Event.Sensors) answers the query parameters on sensor
// metadata and reports: other measurements and their units, times,
// methods, percentiles, values of other kinds, extension fields.

// keptElement is one kept sensor element, decoded (numbers as
// json.Number): its metadata, its reports and its own extension fields.
type keptElement struct {
	ext      map[string]any
	metadata map[string]any
	reports  []map[string]any
}

// Fields a kept element shows, as the schema has them: those that are
// decimals, booleans, else text.
var (
	metadataFields = []string{"time", "deviceID", "deviceMetadata", "rawData", "startTime", "endTime", "dataProcessingMethod", "bizRules"}
	reportFields   = []string{"type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules", "time",
		"microorganism", "chemicalSubstance", "coordinateReferenceSystem", "value", "component", "stringValue", "booleanValue",
		"hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom"}
	decimalFields = []string{"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)

// shown says whether a kept field of the kind may be shown: a standard
// one with a value of its type, or a namespaced extension.
func shown(standard []string, k string, v any) bool {
	if !slices.Contains(standard, k) {
		return ExtensionName(k)
	}
	switch v.(type) {
	case json.Number:
		return slices.Contains(decimalFields, k)
	case bool:
		return k == "booleanValue"
	case string:
		return !slices.Contains(decimalFields, k) && k != "booleanValue"
	}
	return false
}

// keptSensors decodes an event's kept sensor elements: only what may be
// shown (a hand-signed capture may have kept anything within the bound),
// and only elements with a report that has a type.
func keptSensors(doc string) []keptElement {
	if doc == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var raw []map[string]any
	if dec.Decode(&raw) != nil {
		return nil
	}
	var out []keptElement
	for _, el := range raw {
		k := keptElement{ext: map[string]any{}, metadata: map[string]any{}}
		for name, v := range el {
			if name != "sensorMetadata" && name != "sensorReport" && ExtensionName(name) {
				k.ext[name] = v
			}
		}
		if md, ok := el["sensorMetadata"].(map[string]any); ok {
			for name, v := range md {
				if shown(metadataFields, name, v) {
					k.metadata[name] = v
				}
			}
		}
		reports, _ := el["sensorReport"].([]any)
		for _, r := range reports {
			r, ok := r.(map[string]any)
			if !ok {
				continue
			}
			rep := map[string]any{}
			for name, v := range r {
				if shown(reportFields, name, v) {
					rep[name] = v
				}
			}
			if _, ok := rep["type"]; ok {
				k.reports = append(k.reports, rep)
			}
		}
		if len(k.reports) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// render is a kept element as EPCIS JSON.
func (k keptElement) render() map[string]any {
	out := map[string]any{"sensorReport": k.reports}
	if len(k.metadata) > 0 {
		out["sensorMetadata"] = k.metadata
	}
	for name, v := range k.ext {
		out[name] = v
	}
	return out
}

// sensorCache decodes an event's kept sensor elements once for all the
// conditions that read them (they run one event at a time).
type sensorCache struct {
	event *supply.Event
	kept  []keptElement
}

func (c *sensorCache) of(e *supply.Event) []keptElement {
	if c.event != e {
		c.event, c.kept = e, keptSensors(e.Sensors)
	}
	return c.kept
}

// texts are the text values of a field in a kept element's metadata and
// reports (at), or in its reports only.
func (k keptElement) texts(field string, metadata bool) []string {
	var out []string
	if metadata {
		if s, ok := k.metadata[field].(string); ok {
			out = append(out, s)
		}
	}
	for _, r := range k.reports {
		if s, ok := r[field].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// bareType is a measurement type's bare name: "Humidity" from
// "gs1:Humidity" or its vocabulary URI.
func bareType(t string) string {
	for _, p := range []string{"gs1:", "https://gs1.org/voc/MeasurementType-", "https://gs1.org/voc/"} {
		if rest, ok := strings.CutPrefix(t, p); ok {
			return rest
		}
	}
	return t
}

var (
	// measureParam: a kept report's measure in a unit (a temperature in
	// CEL, FAH or KEL compares converted).
	measureParam = regexp.MustCompile(`^(EQ|GE|GT|LT|LE)_(value|minValue|maxValue|meanValue|sDev|percValue)_([A-Z0-9]{2,4})$`)
	// percRankParam: a kept report's percentile rank.
	percRankParam = regexp.MustCompile(`^(EQ|GE|GT|LT|LE)_percRank$`)
	// sensorExtParam: an extension field of a kept sensor element, of its
	// metadata or of one of its reports.
	sensorExtParam = regexp.MustCompile(`^(EQ|GT|GE|LT|LE|EXISTS)_(INNER_)?(SENSORELEMENT|SENSORMETADATA|SENSORREPORT)_([a-z][a-zA-Z0-9]*:\w+)$`)
)

// sensorTexts are the EQ_ parameters on a text field of kept sensor data:
// the field, and whether metadata has it too (else reports only).
var sensorTexts = map[string]struct {
	field    string
	metadata bool
}{
	"EQ_dataProcessingMethod": {"dataProcessingMethod", true}, "EQ_bizRules": {"bizRules", true},
	"EQ_microorganism": {"microorganism", false}, "EQ_chemicalSubstance": {"chemicalSubstance", false},
	"EQ_stringValue": {"stringValue", false}, "EQ_hexBinaryValue": {"hexBinaryValue", false}, "EQ_uriValue": {"uriValue", false},
}

// sensorTimes are the parameters on a kept element's start and end times.
var sensorTimes = map[string]struct {
	field string
	after bool
}{
	"GE_startTime": {"startTime", true}, "LT_startTime": {"startTime", false},
	"GE_endTime": {"endTime", true}, "LT_endTime": {"endTime", false},
}

// sensorAnswered says whether a parameter is one answered from kept
// sensor data.
func sensorAnswered(n string) bool {
	_, text := sensorTexts[n]
	_, at := sensorTimes[n]
	return text || at || n == "EQ_booleanValue" || measureParam.MatchString(n) || percRankParam.MatchString(n) || sensorExtParam.MatchString(n)
}

// measureMatches says whether a kept report's measure compares with
// limit in unit uom: in the same unit, or, temperatures, converted
// (centi: the limit in centi-degrees Celsius); a percentile rank ("")
// has none.
func measureMatches(r map[string]any, measure, uom, op string, limit *big.Rat, centi int64) bool {
	n, ok := r[measure].(json.Number)
	if !ok {
		return false
	}
	have, _ := r["uom"].(string)
	if isTemperatureUnit(uom) && isTemperatureUnit(have) {
		c, err := centiCelsius(string(n), have)
		return err == nil && compare(cmp.Compare(c, centi), op)
	}
	v, ok := decimal(string(n))
	return ok && (uom == "" || have == uom) && compare(v.Cmp(limit), op) // percRank: no unit
}

func isTemperatureUnit(u string) bool { return u == "CEL" || u == "FAH" || u == "KEL" }

// timeIn says whether a text time is at or after (after) or before at.
func timeIn(s string, at time.Time, after bool) bool {
	t, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && (after && !t.Before(at) || !after && t.Before(at))
}
