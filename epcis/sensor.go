package epcis

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// MaxSensorReports bounds the sensor reports one event may carry, of any
// type: a month of a logger every 15 minutes, with a few other measures.
const MaxSensorReports = 4 * supply.MaxReadings

// sensor reads an event's temperature reports into integers (hundredths
// of a degree Celsius, Unix seconds), in time order: what the ledger
// assesses against each product's storage rule. Reports of other types
// (humidity, light, shock) are not read. A temperature report gives its
// time, or its element's metadata does (time, else endTime, else the
// event's time). A report with a value is one reading; one with only
// minValue and maxValue (a summary) is two at its time. A temperature in
// a unit other than CEL, FAH or KEL is refused (supply.ErrUnknownUnit).
// nil: the event reports no temperature. Conversions are exact rational
// arithmetic, rounded half away from zero.
func (e *epcisEvent) sensor(eventTime time.Time) (*supply.Sensor, error) {
	if len(e.SensorElementList) == 0 {
		return nil, nil
	}
	n := 0
	for _, el := range e.SensorElementList {
		n += len(el.SensorReport)
	}
	if n > MaxSensorReports {
		return nil, ErrDocument.Wrapf("sensorElementList: %d reports (at most %d an event)", n, MaxSensorReports)
	}
	s := &supply.Sensor{}
	for i, el := range e.SensorElementList {
		md := el.SensorMetadata
		if len(md.DeviceID) > MaxField {
			return nil, ErrDocument.Wrapf("sensorElementList[%d].sensorMetadata.deviceID is longer than %d bytes", i, MaxField)
		}
		for j, r := range el.SensorReport {
			if !isTemperature(r.Type) {
				continue
			}
			at := r.Time
			for _, alt := range []string{md.Time, md.EndTime} {
				if at == "" {
					at = alt
				}
			}
			t := eventTime
			if at != "" {
				var err error
				if t, err = time.Parse(time.RFC3339Nano, at); err != nil {
					return nil, ErrDocument.Wrapf("sensorElementList[%d].sensorReport[%d]: time %q is not an RFC 3339 time", i, j, ledger.Echo(at))
				}
			}
			if s.Device == "" {
				s.Device = md.DeviceID
			}
			// A registered logger (urn:primum:device:<id>) and the batch
			// that committed these readings.
			if id, ok := strings.CutPrefix(md.DeviceID, "urn:primum:device:"); ok && md.Batch != 0 && s.Logger == "" {
				if len(md.Frontier) > 64 {
					return nil, ErrDocument.Wrapf("sensorElementList[%d].sensorMetadata: at most 64 frontier hashes", i)
				}
				s.Logger, s.Batch, s.Frontier = id, md.Batch, md.Frontier
			}
			switch r.Exception {
			case "":
			case "ALARM_CONDITION", "ERROR_CONDITION":
				s.Exceptions = append(s.Exceptions, supply.SensorException{T: t.Unix(), Exception: r.Exception})
			default:
				return nil, ErrDocument.Wrapf("sensorElementList[%d].sensorReport[%d]: exception must be ALARM_CONDITION or ERROR_CONDITION", i, j)
			}
			values := []*json.Number{r.Value}
			if r.Value == nil {
				values = []*json.Number{r.MinValue, r.MaxValue}
			}
			if r.Value == nil && r.MinValue == nil && r.MaxValue == nil && r.Exception == "" {
				return nil, supply.ErrNothingToWatch.Wrapf("sensorElementList[%d].sensorReport[%d]: a Temperature report with no value, minValue or maxValue", i, j)
			}
			for _, v := range values {
				if v == nil {
					continue
				}
				if r.UOM != "CEL" && r.UOM != "FAH" && r.UOM != "KEL" {
					return nil, supply.ErrUnknownUnit.Wrapf("sensorElementList[%d].sensorReport[%d]: the unit is %q", i, j, ledger.Echo(r.UOM))
				}
				c, err := centiCelsius(string(*v), r.UOM)
				if err != nil {
					return nil, supply.ErrBadSensor.Wrapf("sensorElementList[%d].sensorReport[%d]: %v", i, j, err)
				}
				s.Readings = append(s.Readings, supply.Reading{T: t.Unix(), C: c})
			}
		}
	}
	if len(s.Readings) == 0 && len(s.Exceptions) == 0 {
		return nil, nil
	}
	sort.SliceStable(s.Readings, func(a, b int) bool { return s.Readings[a].T < s.Readings[b].T })
	return s, nil
}

// MaxSensorData bounds what an event keeps of its sensor data beyond its
// temperature record, as canonical JSON.
const MaxSensorData = supply.MaxSensorData

// temperatureReport are the fields of a temperature report the
// temperature record holds; plainMetadata those of its element's
// metadata it holds (the logger's batch and frontier too).
var (
	temperatureReport = []string{"type", "time", "value", "minValue", "maxValue", "uom", "exception"}
	plainMetadata     = []string{"time", "deviceID", "endTime"}
)

// sensorData is an event's sensor elements that say more than its
// temperature record holds — another measurement (humidity, a
// microorganism, a string or boolean value), start times, methods,
// business rules, percentiles, extension fields — each kept whole, as
// captured (its metadata without the logger's batch and frontier, which
// the temperature record holds), as canonical JSON: "" when none. At most
// MaxSensorData bytes (supply.ErrBadSensor: split the readings over
// several events).
func sensorData(raw json.RawMessage) (string, error) {
	var ev struct {
		List []map[string]json.RawMessage `json:"sensorElementList"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return "", ErrDocument.Wrapf("sensorElementList: %v", wireError(err))
	}
	var kept []map[string]any
	for i, el := range ev.List {
		more := false
		out := map[string]any{}
		for k, v := range el {
			if k != "sensorMetadata" && k != "sensorReport" {
				more = true
				out[k] = v
			}
		}
		var md map[string]json.RawMessage
		if b, ok := el["sensorMetadata"]; ok {
			if err := json.Unmarshal(b, &md); err != nil {
				return "", ErrDocument.Wrapf("sensorElementList[%d].sensorMetadata: %v", i, wireError(err))
			}
			for k := range md {
				switch {
				case loggerField(k):
					delete(md, k)
				case !slices.Contains(plainMetadata, k):
					more = true
				}
			}
			if len(md) > 0 {
				out["sensorMetadata"] = md
			}
		}
		var reports []map[string]json.RawMessage
		if b, ok := el["sensorReport"]; ok {
			if err := json.Unmarshal(b, &reports); err != nil {
				return "", ErrDocument.Wrapf("sensorElementList[%d].sensorReport: %v", i, wireError(err))
			}
		}
		for _, r := range reports {
			var typ string
			_ = json.Unmarshal(r["type"], &typ)
			if !isTemperature(typ) {
				more = true
			}
			for k := range r {
				more = more || !slices.Contains(temperatureReport, k)
			}
		}
		if !more {
			continue
		}
		out["sensorReport"] = reports
		kept = append(kept, out)
	}
	if len(kept) == 0 {
		return "", nil
	}
	b, err := json.Marshal(kept) // sorted keys, compacted values
	if err != nil {
		return "", ErrDocument.Wrapf("sensorElementList: %v", err)
	}
	if len(b) > MaxSensorData {
		return "", supply.ErrBadSensor.Wrapf("sensor data beside temperatures of %d bytes: at most %d an event are kept (temperatures apart, up to %d readings): split the readings over several events", len(b), MaxSensorData, supply.MaxReadings)
	}
	return string(b), nil
}

// loggerField says whether a metadata field is the logger's batch or
// frontier (sensorMetadata.UnmarshalJSON).
func loggerField(k string) bool {
	i := strings.LastIndexByte(k, ':')
	return i > 0 && (k[i+1:] == "batch" || k[i+1:] == "frontier")
}

// isTemperature says whether a sensor report's type is temperature: the
// bare term, the gs1: compact IRI or the full vocabulary URI.
func isTemperature(t string) bool {
	return t == "Temperature" || t == "gs1:Temperature" || t == "https://gs1.org/voc/Temperature" || t == "https://gs1.org/voc/MeasurementType-Temperature"
}

var (
	hundred  = big.NewRat(100, 1)
	kelvin0  = big.NewRat(27315, 100)
	thirtyTw = big.NewRat(32, 1)
	fiveNine = big.NewRat(5, 9)
)

// maxDecimal bounds a decimal the node reads (a temperature, a quantity):
// its length, and its exponent. Rational arithmetic on 1e999999 would
// take megabytes and seconds.
const (
	maxDecimalLen = 40
	maxExponent   = 30
)

// decimal reads a JSON number (or a query's decimal) exactly, refusing one
// longer than 40 characters or with an exponent beyond ±30.
func decimal(s string) (*big.Rat, bool) {
	if len(s) == 0 || len(s) > maxDecimalLen {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > maxExponent || e < -maxExponent {
			return nil, false
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// centiCelsius converts a JSON number in a UN/CEFACT unit to hundredths of
// a degree Celsius.
func centiCelsius(num, uom string) (int64, error) {
	v, ok := decimal(num)
	if !ok {
		return 0, fmt.Errorf("%q is not a decimal of at most 40 characters and an exponent within ±30", ledger.Echo(num))
	}
	switch uom {
	case "CEL":
	case "KEL":
		v.Sub(v, kelvin0)
	case "FAH":
		v.Sub(v, thirtyTw).Mul(v, fiveNine)
	default:
		return 0, fmt.Errorf("the unit is %q", ledger.Echo(uom))
	}
	v.Mul(v, hundred)
	// Round half away from zero.
	num2, den := new(big.Int).Set(v.Num()), v.Denom()
	neg := num2.Sign() < 0
	num2.Abs(num2)
	q, r := new(big.Int).QuoRem(num2, den, new(big.Int))
	if r.Mul(r, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > 1<<40 {
		return 0, fmt.Errorf("%s is out of any range", ledger.Echo(num))
	}
	c := q.Int64()
	if neg {
		c = -c
	}
	return c, nil
}

// carrier reads a shipping event's carrier from an extension member whose
// name ends in ":carrier" (e.g. "example:carrier"), as a string (the
// first by name when several do).
func carrier(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if i := strings.LastIndexByte(k, ':'); i > 0 && k[i+1:] == "carrier" {
			var s string
			if json.Unmarshal(m[k], &s) == nil && len(s) <= 100 {
				return s
			}
		}
	}
	return ""
}
