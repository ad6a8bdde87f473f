// Package devices is SPEC F13: wearables and medical devices keep an
// append-only log of their readings off-chain, and each batch commits on
// the ledger the log's RFC 9162 Merkle root and size, signed by the
// device's own key, with a consistency proof from the batch before — so a
// device (or its owner) cannot silently drop or rewrite an earlier
// reading. Any single reading is then provable against a validator-signed
// header with a self-contained bundle (client/prove).
package devices

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// A Reading is one measurement, in integers: its time (Unix seconds), its
// IEEE 11073 MDC code and its value in hundredths of the code's unit.
type Reading struct {
	Time  int64  `json:"time"`
	Code  uint32 `json:"code"`
	Value int64  `json:"value_centi"`
}

// ReadingSize is the length of an encoded reading.
const ReadingSize = 21

// readingVersion is the first byte of an encoded reading.
const readingVersion = 1

// Encode is the reading's canonical bytes, the log's leaf: version (1),
// time (int64), MDC code (uint32), value (int64), all big-endian — one
// encoding per reading, so its leaf hash is the same wherever it is made.
func (r Reading) Encode() []byte {
	b := make([]byte, ReadingSize)
	b[0] = readingVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(r.Time))
	binary.BigEndian.PutUint32(b[9:13], r.Code)
	binary.BigEndian.PutUint64(b[13:21], uint64(r.Value))
	return b
}

// Decode reads a reading's canonical bytes and checks it is plausible
// (Check).
func Decode(b []byte) (Reading, error) {
	if len(b) != ReadingSize || b[0] != readingVersion {
		return Reading{}, fmt.Errorf("%w: a reading is %d bytes, version %d first", ErrBadReading, ReadingSize, readingVersion)
	}
	r := Reading{Time: int64(binary.BigEndian.Uint64(b[1:9])), Code: binary.BigEndian.Uint32(b[9:13]), Value: int64(binary.BigEndian.Uint64(b[13:21]))}
	return r, r.Check()
}

// Measure is what an MDC code measures, its unit (UCUM) and the plausible
// range of its values, in hundredths.
type Measure struct {
	Code      uint32
	Name      string // as the command line names it
	MDC       string // the reference id, e.g. MDC_PULS_OXIM_SAT_O2
	Display   string
	Unit      string // UCUM
	LOINC     string // the FHIR vital-signs profile's code, when there is one
	Min, Max  int64  // centi-units
	VitalSign bool
}

// Measures are the codes a reading may carry (IEEE 11073-10101, as the HL7
// Personal Health Device IG maps them).
var Measures = []Measure{
	{Code: 147842, Name: "heart_rate", MDC: "MDC_ECG_HEART_RATE", Display: "Heart rate", Unit: "/min", LOINC: "8867-4", Min: 20_00, Max: 300_00, VitalSign: true},
	{Code: 150456, Name: "spo2", MDC: "MDC_PULS_OXIM_SAT_O2", Display: "Oxygen saturation", Unit: "%", LOINC: "59408-5", Min: 50_00, Max: 100_00, VitalSign: true},
	{Code: 150021, Name: "bp_systolic", MDC: "MDC_PRESS_BLD_NONINV_SYS", Display: "Systolic blood pressure", Unit: "mm[Hg]", LOINC: "8480-6", Min: 40_00, Max: 300_00, VitalSign: true},
	{Code: 150022, Name: "bp_diastolic", MDC: "MDC_PRESS_BLD_NONINV_DIA", Display: "Diastolic blood pressure", Unit: "mm[Hg]", LOINC: "8462-4", Min: 20_00, Max: 200_00, VitalSign: true},
	{Code: 150364, Name: "body_temp", MDC: "MDC_TEMP_BODY", Display: "Body temperature", Unit: "Cel", LOINC: "8310-5", Min: 25_00, Max: 45_00, VitalSign: true},
	// A cold-chain data logger's temperature (supply's cold chain): not a
	// vital sign.
	{Code: 150344, Name: "temperature", MDC: "MDC_TEMP", Display: "Temperature", Unit: "Cel", Min: -200_00, Max: 100_00},
	{Code: 160184, Name: "glucose", MDC: "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", Display: "Glucose in capillary blood", Unit: "mmol/L", LOINC: "2339-0", Min: 50, Max: 50_00},
}

// MeasureOf finds a measure by its code.
func MeasureOf(code uint32) (Measure, bool) {
	i := slices.IndexFunc(Measures, func(m Measure) bool { return m.Code == code })
	if i < 0 {
		return Measure{}, false
	}
	return Measures[i], true
}

// MeasureNamed finds a measure by its name on the command line, or its
// MDC reference id.
func MeasureNamed(name string) (Measure, bool) {
	i := slices.IndexFunc(Measures, func(m Measure) bool { return m.Name == name || strings.EqualFold(m.MDC, name) })
	if i < 0 {
		return Measure{}, false
	}
	return Measures[i], true
}

// Check says whether the reading is plausible: a known code, a value in
// its range, a time after 2000 and before 2200.
func (r Reading) Check() error {
	m, ok := MeasureOf(r.Code)
	switch {
	case !ok:
		return fmt.Errorf("%w: MDC code %d is not one of the codes readings carry", ErrBadReading, r.Code)
	case r.Value < m.Min || r.Value > m.Max:
		return fmt.Errorf("%w: %s %d.%02d %s is outside %d.%02d to %d.%02d", ErrBadReading, m.Name, r.Value/100, abs(r.Value%100), m.Unit, m.Min/100, abs(m.Min%100), m.Max/100, abs(m.Max%100))
	case r.Time < 946_684_800 || r.Time > 7_258_118_400:
		return fmt.Errorf("%w: the time %d is not between 2000 and 2200", ErrBadReading, r.Time)
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
