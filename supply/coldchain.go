package supply

//go:generate go tool easyjson -no_std_marshalers coldchain.go

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/ledger"
)

// The cold chain: a manufacturer's storage rule for a product, the
// temperature readings an EPCIS event's sensorElementList carries, and the
// verdict the ledger draws from them. Everything here is integers: degrees
// in hundredths (centi-degrees Celsius), time in Unix seconds. A float on
// this path would be a fork waiting for a mixed fleet.

// Transaction types of the cold chain.
const (
	TypeStorageRule       = "supply.storage_rule"
	TypeExcursionDecision = "supply.excursion_decision"
	TypeObserve           = "supply.observe"
)

// Bounds of the cold chain, per transaction.
const (
	// MaxReadings bounds the temperature readings one capture carries, all
	// its events together: a month of a logger reading every 30 minutes,
	// or a day of one reading every minute. With its readings (some 27
	// bytes each as JSON) a transaction still fits an envelope (64 KiB).
	MaxReadings = 1440
	// MaxRuleAssessments bounds the products with a storage rule one event
	// is assessed against (a mixed pallet): each assessment reads every
	// reading once.
	MaxRuleAssessments = 64
	// MaxAlarms bounds the cumulative thresholds of one storage rule.
	MaxAlarms = 8
	// MaxColdHolds bounds the undecided (or destroy) excursions holding
	// one pack.
	MaxColdHolds = 16
	// MaxColdRecords is how many of its latest cold-chain records a pack
	// keeps a reference to (its verdict's chart). Older ones stay on the
	// ledger and in the pack's trail.
	MaxColdRecords = 8
	// MinCenti and MaxCenti bound a plausible reading: −200 °C (liquid
	// nitrogen) to +100 °C.
	MinCenti = -20000
	MaxCenti = 10000
)

// VerdictExcursion is the verdict of a pack held because its shipment went
// outside its product's storage rule.
const VerdictExcursion = "temperature_excursion"

// Errors of the cold chain.
var (
	ErrBadRule        = ledger.NewError("supply", 41, "bad_storage_rule", 400, "a storage rule needs min_c < max_c (hundredths of a degree Celsius, between -200 °C and 100 °C), a non-negative allowance, and at most 8 alarms, each at_or_above or at_or_below a temperature for a positive number of seconds")
	ErrBadSensor      = ledger.NewError("supply", 42, "bad_sensor_report", 400, "a temperature reading must be between -200 °C and 100 °C, in time order, not after the block, and a capture carries at most 1,440 readings (split a longer record into several events, in several captures)")
	ErrUnknownUnit    = ledger.NewError("supply", 43, "unknown_unit", 400, "a temperature sensor report must give its unit as CEL, FAH or KEL (UN/CEFACT codes)")
	ErrColdHold       = ledger.NewError("supply", 44, "temperature_excursion", 409, "the pack went outside its product's storage rule: it is held until the manufacturer releases or destroys it")
	ErrUnknownExc     = ledger.NewError("supply", 45, "unknown_excursion", 404, "no such excursion: give the cold-chain record's number and the product's GTIN, as the excursions list shows them")
	ErrExcDecided     = ledger.NewError("supply", 46, "excursion_decided", 409, "this excursion was already decided")
	ErrNotRuleHolder  = ledger.NewError("supply", 47, "not_product_manufacturer", 403, "only the product's manufacturer (or the regulator, for a decision) may do this")
	ErrTooManyRules   = ledger.NewError("supply", 48, "too_many_products", 400, "one event's objects may hold at most 64 products with a storage rule: record their temperatures in several events")
	ErrNotAnchored    = ledger.NewError("supply", 51, "not_the_loggers_batch", 409, "the readings are not what the named logger's batch committed: give the logger's device id, the batch that added exactly these readings, and the frontier of its log before them")
	ErrTooManyHolds   = ledger.NewError("supply", 52, "too_many_holds", 409, "the pack is held by 16 excursions already: its manufacturer decides them before more records of it are taken")
	ErrNoRule         = ledger.NewError("supply", 50, "no_storage_rule", 404, "the product has no storage rule: its manufacturer sets one with supply.storage_rule")
	ErrNothingToWatch = ledger.NewError("supply", 49, "no_readings", 400, "a sensor report names no temperature reading")
)

var (
	prefixRule       = []byte("sup/rule/")     // sup/rule/<gtin> -> StorageRule
	prefixCold       = []byte("sup/cold/")     // sup/cold/<seq uint64> -> ColdRecord
	keyNextCold      = []byte("sup/coldnext")  // next ColdRecord seq
	prefixExc        = []byte("sup/exc/")      // sup/exc/<seq uint64>/<gtin> -> Excursion
	prefixExcObj     = []byte("sup/excobj/")   // sup/excobj/<seq uint64>/<gtin>/<key> -> "" (objects held)
	prefixExcLot     = []byte("sup/exclot/")   // sup/exclot/<gtin>/<lot>/<seq uint64> -> ""
	prefixExcRoute   = []byte("sup/excroute/") // sup/excroute/<from>/<to> -> count uint64
	prefixExcCarrier = []byte("sup/exccarr/")  // sup/exccarr/<carrier> -> count uint64
)

// alarmWords say an alarm's direction in a reason.
var alarmWords = map[string]string{"at_or_above": "at or above", "at_or_below": "at or below"}

// Alarm is a cumulative threshold (WHO PQS shipping indicators): the
// rule is broken once the readings spent Seconds in all at or above (or
// at or below) C.
//
//easyjson:json
type Alarm struct {
	When    string `json:"when" doc:"at_or_above or at_or_below"`
	C       int64  `json:"c" doc:"the threshold, hundredths of a degree Celsius"`
	Seconds int64  `json:"seconds" doc:"cumulative time at or past it that breaks the rule"`
}

// StorageRule is how a product must be kept, as its manufacturer says.
//
//easyjson:json
type StorageRule struct {
	GTIN string `json:"gtin"`
	// MinC and MaxC are the labelled range, hundredths of a degree
	// Celsius (2–8 °C is 200 and 800).
	MinC int64 `json:"min_c"`
	MaxC int64 `json:"max_c"`
	// AllowanceS is the time in all the product may spend outside the
	// range in one shipment (its stability budget); 0: none, any reading
	// outside breaks the rule.
	AllowanceS int64   `json:"allowance_s"`
	Alarms     []Alarm `json:"alarms,omitempty"`
	By         string  `json:"by"`
	Height     int64   `json:"height"`
}

// Label says the rule in words: "2.00–8.00 °C".
func (r *StorageRule) Label() string {
	s := Centi(r.MinC) + "–" + Centi(r.MaxC) + " °C"
	if r.AllowanceS > 0 {
		s += ", up to " + Duration(r.AllowanceS) + " outside"
	}
	return s
}

// Centi writes hundredths of a degree as degrees: 250 is "2.50", -50 "-0.50".
func Centi(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// Duration writes seconds as "3 h 10 min", "45 min" or "20 s".
func Duration(s int64) string {
	switch {
	case s >= 3600 && s%3600/60 != 0:
		return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
	case s >= 3600:
		return fmt.Sprintf("%d h", s/3600)
	case s >= 60:
		return fmt.Sprintf("%d min", s/60)
	}
	return fmt.Sprintf("%d s", s)
}

// Reading is one temperature reading: when (Unix seconds) and how warm
// (hundredths of a degree Celsius).
//
//easyjson:json
type Reading struct {
	T int64 `json:"t"`
	C int64 `json:"c"`
}

// SensorException is an alarm or error a logger raised itself (EPCIS
// sensorReport exception: ALARM_CONDITION or ERROR_CONDITION).
//
//easyjson:json
type SensorException struct {
	T         int64  `json:"t"`
	Exception string `json:"exception"`
}

// Sensor is what an event's sensorElementList says about temperature,
// already in integers.
//
//easyjson:json
type Sensor struct {
	// Device is the logger (sensorMetadata.deviceID), as given.
	Device     string            `json:"device,omitempty"`
	Readings   []Reading         `json:"readings"`
	Exceptions []SensorException `json:"exceptions,omitempty"`
	// Logger and Batch name a registered device's batch that committed
	// these very readings (each as a devices reading of code MDC_TEMP),
	// the whole batch and nothing else; Frontier is the compact range of
	// the logger's log before the batch (anchor.Frontier, hex). Then any
	// reading of the record is provable offline from the logger's log.
	Logger   string   `json:"logger,omitempty"`
	Batch    uint64   `json:"batch,omitempty"`
	Frontier []string `json:"frontier,omitempty"`
}

// LoggerCode is the MDC code of a logger's temperature (MDC_TEMP).
const LoggerCode = 150344

// LoggerLeaves are a record's readings as the logger's log holds them.
func LoggerLeaves(rs []Reading) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = devices.Reading{Time: r.T, Code: LoggerCode, Value: r.C}.Encode()
	}
	return out
}

// anchored checks that the logger's batch committed exactly these
// readings: its size is the readings after the batch before, and its root
// is the frontier of the log before extended by them. Bounded: at most
// MaxReadings leaves hashed, 64 frontier hashes.
func (s *Sensor) anchored(r ledger.Reader) error {
	if s.Logger == "" {
		if s.Batch != 0 || len(s.Frontier) > 0 {
			return ErrNotAnchored.Wrapf("a batch or frontier without its logger")
		}
		return nil
	}
	if len(s.Frontier) > 64 {
		return ErrNotAnchored.Wrapf("%d frontier hashes", len(s.Frontier))
	}
	e, err := devices.GetBatch(r, s.Logger, s.Batch)
	if errors.Is(err, devices.ErrUnknownBatch) {
		return ErrNotAnchored.Wrapf("logger %s has no batch %d", short(s.Logger), s.Batch)
	} else if err != nil {
		return err
	}
	if e.Size-e.From != uint64(len(s.Readings)) {
		return ErrNotAnchored.Wrapf("batch %d added %d readings, the record has %d", s.Batch, e.Size-e.From, len(s.Readings))
	}
	frontier := make([][]byte, len(s.Frontier))
	for i, h := range s.Frontier {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return ErrNotAnchored.Wrapf("frontier hash %d is not 64 hex", i)
		}
		frontier[i] = b
	}
	root, err := anchor.Extend(frontier, e.From, LoggerLeaves(s.Readings))
	if err != nil || hex.EncodeToString(root) != e.Root {
		return ErrNotAnchored.Wrapf("the readings and frontier do not give batch %d's root", s.Batch)
	}
	return nil
}

func (s *Sensor) check(now time.Time) error {
	if len(s.Readings) == 0 && len(s.Exceptions) == 0 {
		return ErrNothingToWatch
	}
	if len(s.Device) > 256 {
		return ErrBadSensor.Wrapf("device id longer than 256")
	}
	last := int64(-1 << 62)
	limit := now.Unix() + 3600
	for i, r := range s.Readings {
		switch {
		case r.C < MinCenti || r.C > MaxCenti:
			return ErrBadSensor.Wrapf("reading %d: %s °C is not a plausible temperature", i, Centi(r.C))
		case r.T < last:
			return ErrBadSensor.Wrapf("reading %d is earlier than the one before it", i)
		case r.T <= 0 || r.T > limit:
			return ErrBadSensor.Wrapf("reading %d is dated after the block or before 1970", i)
		}
		last = r.T
	}
	for i, e := range s.Exceptions {
		if e.Exception != "ALARM_CONDITION" && e.Exception != "ERROR_CONDITION" {
			return ErrBadSensor.Wrapf("exception %d: %q is neither ALARM_CONDITION nor ERROR_CONDITION", i, short(e.Exception))
		}
		if e.T <= 0 || e.T > limit {
			return ErrBadSensor.Wrapf("exception %d is dated after the block or before 1970", i)
		}
	}
	return nil
}

// Assessment is what a storage rule makes of one event's readings.
//
//easyjson:json
type Assessment struct {
	GTIN      string `json:"gtin"`
	Rule      string `json:"rule"`
	Excursion bool   `json:"excursion"`
	// Reason says which part of the rule broke, in words.
	Reason string `json:"reason,omitempty"`
	// Start and End are the first and last second spent outside the
	// range (Unix seconds); Seconds is the time outside in all.
	Start   int64 `json:"start,omitempty"`
	End     int64 `json:"end,omitempty"`
	Seconds int64 `json:"seconds"`
	// Lowest and Highest are the extremes read.
	Lowest  int64 `json:"lowest_c"`
	Highest int64 `json:"highest_c"`
	// AlarmSeconds is the time at or past each of the rule's alarms.
	AlarmSeconds []int64 `json:"alarm_seconds,omitempty"`
	// Packs is how many packs of the product the event held; Held how
	// many of them its excursion holds (a pack's earlier records count
	// too: see Judge).
	Packs int64 `json:"packs"`
	Held  int64 `json:"held,omitempty"`
}

// Spans of a reading. A reading stands for the time until the next one,
// at most MaxSpan (a gap longer than that is not known to have been at
// that temperature); the last reading of a record for as long as the
// interval before it, at most LastSpan, and a lone reading for LastSpan
// (CDC: a data logger reads at least every 30 minutes).
const (
	MaxSpan  = 3600
	LastSpan = 1800
)

// span is how long reading i of rs stands for.
func span(rs []Reading, i int) int64 {
	if i+1 < len(rs) {
		return min(rs[i+1].T-rs[i].T, MaxSpan)
	}
	if i > 0 {
		return min(rs[i].T-rs[i-1].T, LastSpan)
	}
	return LastSpan
}

// Assess applies the rule to one record's readings: each stands for its
// span. The rule is broken when the time outside [MinC, MaxC] passes the
// allowance (with none, when any reading is outside), when an alarm's
// cumulative time is reached, or when the logger raised ALARM_CONDITION.
// Integer arithmetic only. (A pack's earlier records count too: Judge.)
func (r *StorageRule) Assess(s *Sensor) Assessment {
	a := Assessment{GTIN: r.GTIN, Rule: r.Label()}
	alarmS := make([]int64, len(r.Alarms))
	a.AlarmSeconds = alarmS
	outside := 0
	var outLow, outHigh int64
	for i, rd := range s.Readings {
		d := span(s.Readings, i)
		if i == 0 || rd.C < a.Lowest {
			a.Lowest = rd.C
		}
		if i == 0 || rd.C > a.Highest {
			a.Highest = rd.C
		}
		if rd.C < r.MinC || rd.C > r.MaxC {
			if outside == 0 || rd.C < outLow {
				outLow = rd.C
			}
			if outside == 0 || rd.C > outHigh {
				outHigh = rd.C
			}
			outside++
			if a.Start == 0 {
				a.Start = rd.T
			}
			a.End = rd.T + d
			a.Seconds += d
		}
		for j, al := range r.Alarms {
			if (al.When == "at_or_above" && rd.C >= al.C) || (al.When == "at_or_below" && rd.C <= al.C) {
				alarmS[j] += d
			}
		}
	}
	for j, al := range r.Alarms {
		if alarmS[j] >= al.Seconds {
			a.Excursion = true
			a.Reason = fmt.Sprintf("%s %s °C for %s in all (the rule allows less than %s)", alarmWords[al.When], Centi(al.C), Duration(alarmS[j]), Duration(al.Seconds))
			break
		}
	}
	if !a.Excursion && outside > 0 && (r.AllowanceS == 0 || a.Seconds > r.AllowanceS) {
		a.Excursion = true
		at := Centi(outLow) + " to " + Centi(outHigh)
		if outLow == outHigh {
			at = Centi(outLow)
		}
		a.Reason = fmt.Sprintf("outside %s–%s °C for %s (%d %s at %s °C)", Centi(r.MinC), Centi(r.MaxC), Duration(a.Seconds), outside, plural(outside, "reading"), at)
		if r.AllowanceS > 0 {
			a.Reason += fmt.Sprintf(", more than the %s allowed", Duration(r.AllowanceS))
		}
	}
	if !a.Excursion {
		for _, e := range s.Exceptions {
			if e.Exception == "ALARM_CONDITION" {
				a.Excursion, a.Reason = true, "the logger raised an alarm (ALARM_CONDITION) at "+time.Unix(e.T, 0).UTC().Format(time.RFC3339)
				if a.Start == 0 {
					a.Start, a.End = e.T, e.T
				}
				break
			}
		}
	}
	return a
}

// Judge says whether a pack breaks the rule with this record's assessment
// added to what its earlier records under the same rule (counted since
// rule height ruleAt) spent outside the range and past each alarm — so a
// journey's records add up, however it was split — and why. It returns the
// pack's new totals.
func (r *StorageRule) Judge(a *Assessment, o *Object) (broken bool, why string, outside int64, alarms []int64) {
	outside = a.Seconds
	alarms = append([]int64{}, a.AlarmSeconds...)
	earlier := o.ColdRule == r.Height && len(o.ColdAlarmS) == len(r.Alarms)
	if earlier {
		outside += o.ColdOutsideS
		for j := range alarms {
			alarms[j] += o.ColdAlarmS[j]
		}
	}
	if a.Excursion {
		return true, a.Reason, outside, alarms
	}
	if !earlier {
		return false, "", outside, alarms
	}
	for j, al := range r.Alarms {
		if alarms[j] >= al.Seconds && a.AlarmSeconds[j] > 0 {
			return true, fmt.Sprintf("%s %s °C for %s in all with the pack's earlier records (the rule allows less than %s)",
				alarmWords[al.When], Centi(al.C), Duration(alarms[j]), Duration(al.Seconds)), outside, alarms
		}
	}
	if r.AllowanceS > 0 && a.Seconds > 0 && outside > r.AllowanceS {
		return true, fmt.Sprintf("outside %s–%s °C for %s in all with the pack's earlier records, more than the %s allowed",
			Centi(r.MinC), Centi(r.MaxC), Duration(outside), Duration(r.AllowanceS)), outside, alarms
	}
	return false, "", outside, alarms
}

// ColdRecord is one event's temperature record: the readings, whose
// objects they were, the route, and what each product's rule made of them.
//
//easyjson:json
type ColdRecord struct {
	Seq     uint64 `json:"seq"`
	EventID string `json:"event_id,omitempty"`
	Step    string `json:"step"` // ship, receive, observe
	// Keys are the objects the event named (their contents were with them).
	Keys []string `json:"keys"`
	By   string   `json:"by"`
	// From and To are the route: the shipper and the receiver (To is
	// empty for an observation in store). Carrier is the shipment's.
	From        string            `json:"from,omitempty"`
	To          string            `json:"to,omitempty"`
	Carrier     string            `json:"carrier,omitempty"`
	Device      string            `json:"device,omitempty"`
	Readings    []Reading         `json:"readings"`
	Exceptions  []SensorException `json:"exceptions,omitempty"`
	Assessments []Assessment      `json:"assessments,omitempty"`
	// EventTime is when the event says it happened (else the block time).
	EventTime string `json:"event_time,omitempty"`
	// Logger and Batch: the registered logger's batch that committed the
	// readings (Sensor.anchored), when the record names one.
	Logger string `json:"logger,omitempty"`
	Batch  uint64 `json:"batch,omitempty"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

// Excursion is a product's rule broken in one cold-chain record: the packs
// it holds, and the manufacturer's decision.
//
//easyjson:json
type Excursion struct {
	// ID is "<record>/<gtin>", what a decision names.
	ID      string   `json:"id"`
	Record  uint64   `json:"record"`
	GTIN    string   `json:"gtin"`
	Lots    []string `json:"lots"`
	Packs   int64    `json:"packs"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	Carrier string   `json:"carrier,omitempty"`
	// Reporter is the member whose readings they were.
	Reporter string `json:"reporter"`
	Reason   string `json:"reason"`
	Start    int64  `json:"start,omitempty"`
	End      int64  `json:"end,omitempty"`
	Seconds  int64  `json:"seconds"`
	Time     string `json:"time"`
	Height   int64  `json:"height"`
	Decision string `json:"decision,omitempty"` // release, destroy
	// DecidedBy, Note and DecidedHeight say who decided, why, and when.
	DecidedBy     string `json:"decided_by,omitempty"`
	Note          string `json:"note,omitempty"`
	DecidedHeight int64  `json:"decided_height,omitempty"`
}

// maxExcursionLots bounds the lots an excursion lists (a pallet of many
// lots); Packs still counts them all.
const maxExcursionLots = 32

func seqKey(prefix []byte, seq uint64, parts ...string) []byte {
	b := binary.BigEndian.AppendUint64(append([]byte{}, prefix...), seq)
	for _, p := range parts {
		b = appendEscaped(append(b, '/'), p)
	}
	return b
}

// ExcursionID is what names an excursion: its record and its product.
func ExcursionID(record uint64, gtin string) string {
	return strconv.FormatUint(record, 10) + "/" + gtin
}

// GetRule reads a product's storage rule (nil: it has none).
func GetRule(r ledger.Reader, gtin string) (*StorageRule, error) {
	var rule StorageRule
	found, err := ledger.GetJSON(r, k(prefixRule, gtin), &rule)
	if err != nil || !found {
		return nil, err
	}
	return &rule, nil
}

// GetColdRecord reads one cold-chain record.
func GetColdRecord(r ledger.Reader, seq uint64) (*ColdRecord, error) {
	var rec ColdRecord
	found, err := ledger.GetJSON(r, seqKey(prefixCold, seq), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownExc.Wrapf("no cold-chain record %d", seq)
	}
	return &rec, nil
}

// GetExcursion reads an excursion by its record and product.
func GetExcursion(r ledger.Reader, record uint64, gtin string) (*Excursion, error) {
	var e Excursion
	found, err := ledger.GetJSON(r, seqKey(prefixExc, record, gtin), &e)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownExc.Wrapf("%s", ExcursionID(record, gtin))
	}
	return &e, nil
}

// ParseExcursionID reads "<record>/<gtin>".
func ParseExcursionID(id string) (uint64, string, error) {
	seq, gtin, ok := strings.Cut(id, "/")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || len(gtin) != 14 {
		return 0, "", ErrUnknownExc.Wrapf("%q is not <record>/<gtin>", short(id))
	}
	return n, gtin, nil
}

// SetStorageRule is the body of supply.storage_rule.
type SetStorageRule struct {
	GTIN       string  `json:"gtin" doc:"GTIN-14 of a product you registered"`
	MinC       int64   `json:"min_c" doc:"lowest temperature allowed, hundredths of a degree Celsius (2 °C is 200)"`
	MaxC       int64   `json:"max_c" doc:"highest temperature allowed, hundredths of a degree Celsius (8 °C is 800)"`
	AllowanceS int64   `json:"allowance_s,omitempty" doc:"seconds in all a shipment may spend outside the range (0: none)"`
	Alarms     []Alarm `json:"alarms,omitempty" doc:"cumulative thresholds (WHO PQS style), at most 8"`
}

func setStorageRule(ctx *ledger.Context, m *SetStorageRule) error {
	p, err := GetProduct(ctx.State, m.GTIN)
	if err != nil {
		return err
	}
	if p.Manufacturer != ctx.Signer.ID {
		return ErrNotRuleHolder.Wrapf("%s is %s's product", p.GTIN, p.Manufacturer)
	}
	switch {
	case m.MinC < MinCenti || m.MaxC > MaxCenti || m.MinC >= m.MaxC:
		return ErrBadRule.Wrapf("range %s to %s °C", Centi(m.MinC), Centi(m.MaxC))
	case m.AllowanceS < 0 || m.AllowanceS > 365*24*3600:
		return ErrBadRule.Wrapf("allowance %d s", m.AllowanceS)
	case len(m.Alarms) > MaxAlarms:
		return ErrBadRule.Wrapf("%d alarms", len(m.Alarms))
	}
	for i, a := range m.Alarms {
		if (a.When != "at_or_above" && a.When != "at_or_below") || a.C < MinCenti || a.C > MaxCenti || a.Seconds <= 0 || a.Seconds > 365*24*3600 {
			return ErrBadRule.Wrapf("alarm %d", i)
		}
	}
	ledger.SetJSON(ctx.State, k(prefixRule, p.GTIN), StorageRule{GTIN: p.GTIN, MinC: m.MinC, MaxC: m.MaxC, AllowanceS: m.AllowanceS,
		Alarms: m.Alarms, By: ctx.Signer.ID, Height: ctx.Height})
	ctx.Emit("supply.storage_rule", [2]string{"gtin", p.GTIN})
	return nil
}

// coldApply applies one event's readings to the objects the event moves
// or observes, one object at a time as the step walks them: it keeps a
// reference to the record on each, assesses each product's rule once, and
// holds the packs of a product whose rule broke.
type coldApply struct {
	rec      *ColdRecord
	products map[string]*coldProduct
	order    []string // GTINs in the order first met (the record's order)
	ruled    int      // products with a rule among them
}

type coldProduct struct {
	rule *StorageRule
	a    Assessment
	lots []string
	// why is the first held pack's reason; newlyHeld counts the packs no
	// excursion held before.
	why       string
	newlyHeld int
}

// startCold opens a cold-chain record for an event's sensor data, or nil
// when the event carries none.
func startCold(ctx *ledger.Context, s *Sensor, step, eventID string) (*coldApply, error) {
	if s == nil {
		return nil, nil
	}
	if err := s.check(ctx.Time); err != nil {
		return nil, err
	}
	if err := s.anchored(ctx.State); err != nil {
		return nil, err
	}
	if len(s.Readings) > MaxReadings {
		return nil, ErrBadSensor.Wrapf("%d readings", len(s.Readings))
	}
	seq, err := bump(ctx, keyNextCold)
	if err != nil {
		return nil, err
	}
	return &coldApply{rec: &ColdRecord{Seq: seq, EventID: eventID, Step: step, By: actor(ctx), Device: s.Device, Logger: s.Logger, Batch: s.Batch,
		Readings: s.Readings, Exceptions: s.Exceptions, Time: ctx.Time.Format(time.RFC3339), Height: ctx.Height, EventTime: ctx.EventTime},
		products: map[string]*coldProduct{}}, nil
}

// route notes an object the event names; the first sets the record's
// route (shipper, receiver and carrier).
func (c *coldApply) route(o *Object, from, to string) {
	if c == nil {
		return
	}
	if len(c.rec.Keys) == 0 {
		c.rec.From, c.rec.To, c.rec.Carrier = from, to, o.Carrier
	}
	c.rec.Keys = append(c.rec.Keys, o.Key)
}

// touch applies the record to one object before the step writes it.
func (c *coldApply) touch(ctx *ledger.Context, x *Object) error {
	if c == nil {
		return nil
	}
	x.Cold = append(x.Cold, c.rec.Seq)
	if len(x.Cold) > MaxColdRecords {
		x.Cold = slices.Clone(x.Cold[len(x.Cold)-MaxColdRecords:])
	}
	if x.Kind != gs1.KindSGTIN || x.GTIN == "" {
		return nil
	}
	p, ok := c.products[x.GTIN]
	if !ok {
		rule, err := GetRule(ctx.State, x.GTIN)
		if err != nil {
			return err
		}
		p = &coldProduct{rule: rule}
		if rule != nil {
			if c.ruled++; c.ruled > MaxRuleAssessments {
				return ErrTooManyRules
			}
			p.a = rule.Assess(&Sensor{Readings: c.rec.Readings, Exceptions: c.rec.Exceptions})
		}
		c.products[x.GTIN] = p
		c.order = append(c.order, x.GTIN)
	}
	if p.rule == nil {
		return nil
	}
	p.a.Packs++
	if !live(x) {
		return nil
	}
	broken, why, outside, alarms := p.rule.Judge(&p.a, x)
	x.ColdRule, x.ColdOutsideS, x.ColdAlarmS = p.rule.Height, outside, alarms
	if !broken {
		return nil
	}
	if p.why == "" {
		p.why = why
	}
	id := ExcursionID(c.rec.Seq, x.GTIN)
	if len(x.ColdHolds) == 0 {
		p.newlyHeld++
	}
	if !slices.Contains(x.ColdHolds, id) {
		if len(x.ColdHolds) >= MaxColdHolds {
			return ErrTooManyHolds.Wrapf("%s", x.Key)
		}
		x.ColdHolds = append(x.ColdHolds, id)
	}
	ledger.SetPresent(ctx.State, seqKey(prefixExcObj, c.rec.Seq, x.GTIN, x.Key))
	p.a.Held++
	if len(p.lots) < maxExcursionLots && !slices.Contains(p.lots, x.Lot) {
		p.lots = append(p.lots, x.Lot)
	}
	return nil
}

// ref is what an event keeps of its record: its seq plus one (0: none).
func (c *coldApply) ref() uint64 {
	if c == nil {
		return 0
	}
	return c.rec.Seq + 1
}

// finish writes the record, its excursions and their indexes.
func (c *coldApply) finish(ctx *ledger.Context) error {
	if c == nil {
		return nil
	}
	for _, gtin := range c.order {
		p := c.products[gtin]
		if p.rule == nil {
			continue
		}
		if p.a.Held > 0 && !p.a.Excursion {
			// Broken with the packs' earlier records only.
			p.a.Excursion, p.a.Reason = true, p.why
		}
		c.rec.Assessments = append(c.rec.Assessments, p.a)
		if p.a.Held == 0 {
			continue
		}
		sort.Strings(p.lots)
		e := Excursion{ID: ExcursionID(c.rec.Seq, gtin), Record: c.rec.Seq, GTIN: gtin, Lots: p.lots, Packs: p.a.Held,
			From: c.rec.From, To: c.rec.To, Carrier: c.rec.Carrier, Reporter: c.rec.By, Reason: p.why, Start: p.a.Start, End: p.a.End,
			Seconds: p.a.Seconds, Time: c.rec.Time, Height: c.rec.Height}
		ledger.SetJSON(ctx.State, seqKey(prefixExc, c.rec.Seq, gtin), e)
		for _, lot := range p.lots {
			ledger.SetPresent(ctx.State, seqKeyAfter(k(prefixExcLot, gtin, lot), c.rec.Seq))
		}
		// Counted by route and carrier once, when it holds packs no
		// excursion held: records of packs already held add none.
		if p.newlyHeld > 0 {
			if _, err := bump(ctx, k(prefixExcRoute, orNone(c.rec.From), orNone(c.rec.To))); err != nil {
				return err
			}
			if _, err := bump(ctx, k(prefixExcCarrier, orNone(c.rec.Carrier))); err != nil {
				return err
			}
		}
		ctx.Emit("supply.excursion", [2]string{"id", e.ID}, [2]string{"gtin", gtin})
	}
	ledger.SetJSON(ctx.State, seqKey(prefixCold, c.rec.Seq), c.rec)
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func seqKeyAfter(prefix []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(prefix, '/'), seq)
}

// bump adds one to the counter at key (8 bytes, big-endian; none: 0) and
// returns what it held: a sequence's next number, or a count.
func bump(ctx *ledger.Context, key []byte) (uint64, error) {
	n := counter(ctx, key)
	ctx.State.Set(key, binary.BigEndian.AppendUint64(nil, n+1))
	return n, nil
}

// Observe is the body of an observation with sensor data: the custodian
// (or the receiver of a shipment on its way) records the temperatures its
// objects met, without moving them.
type Observe struct {
	Codes   []string `json:"codes"`
	BizStep string   `json:"biz_step,omitempty" doc:"the EPCIS bizStep, bare (default inspecting)"`
	Sensor  *Sensor  `json:"sensor,omitempty"`
	EventID string   `json:"event_id,omitempty"`
}

func observe(ctx *ledger.Context, m *Observe) error {
	if err := checkCount(len(m.Codes)); err != nil {
		return err
	}
	if len(m.BizStep) > 64 {
		return ErrBadField.Wrapf("biz_step longer than 64")
	}
	if err := claimEvent(ctx, m.EventID); err != nil {
		return err
	}
	cold, err := startCold(ctx, m.Sensor, "observe", m.EventID)
	if err != nil {
		return err
	}
	var keys []string
	for _, code := range m.Codes {
		o, err := objectByCode(ctx.State, code)
		if err != nil {
			return err
		}
		// Who may say what an object met: who holds it, or the member a
		// shipment of it is on its way to.
		if o.Custodian != actor(ctx) && (o.Status != StatusInTransit || o.ShipTo != actor(ctx)) {
			return ErrNotCustodian.Wrapf("%s", o.Key)
		}
		if o.Parent != "" {
			return ErrInContainer.Wrapf("%s is in %s: observe the container", o.Key, o.Parent)
		}
		if o.Status == StatusDispensed {
			return ErrDispensed.Wrapf("%s", o.Key)
		}
		if !live(o) {
			return ErrDecommissioned.Wrapf("%s is %s", o.Key, o.Status)
		}
		keys = append(keys, o.Key)
		from, to := o.Custodian, ""
		if o.Status == StatusInTransit {
			to = o.ShipTo
		}
		cold.route(o, from, to)
		all, err := withContents(ctx, o)
		if err != nil {
			return err
		}
		for _, x := range all {
			if x != o && !live(x) {
				continue
			}
			if err := cold.touch(ctx, x); err != nil {
				return err
			}
			if cold != nil {
				addStep(ctx, x, Step{Action: "observe", EventID: m.EventID, Note: fmt.Sprintf("cold-chain record %d", cold.rec.Seq)})
			}
			putObject(ctx.State, x)
		}
	}
	if err := cold.finish(ctx); err != nil {
		return err
	}
	step := m.BizStep
	if step == "" {
		step = "inspecting"
	}
	recordEvent(ctx, Event{EventID: m.EventID, Type: "ObjectEvent", Action: "OBSERVE", BizStep: step, Keys: keys, Cold: cold.ref()})
	return nil
}

// ExcursionDecision is the body of supply.excursion_decision.
type ExcursionDecision struct {
	ID       string `json:"id" doc:"the excursion: <record>/<gtin>, as the excursions list names it"`
	Decision string `json:"decision" doc:"release (the product is still good: its packs may be dispensed again) or destroy (they stay held; their custodians decommission them)"`
	Note     string `json:"note" doc:"why, e.g. the stability data consulted (no patient data, ≤300)"`
}

func decideExcursion(ctx *ledger.Context, m *ExcursionDecision) error {
	seq, gtin, err := ParseExcursionID(m.ID)
	if err != nil {
		return err
	}
	if m.Decision != "release" && m.Decision != "destroy" {
		return ErrBadField.Wrapf("decision must be release or destroy")
	}
	if m.Note == "" || len(m.Note) > 300 {
		return ErrBadField.Wrapf("note is required (≤300)")
	}
	e, err := GetExcursion(ctx.State, seq, gtin)
	if err != nil {
		return err
	}
	p, err := GetProduct(ctx.State, gtin)
	if err != nil {
		return err
	}
	if p.Manufacturer != ctx.Signer.ID && ctx.Signer.OrgType != "regulator" {
		return ErrNotRuleHolder.Wrapf("%s is %s's product", gtin, p.Manufacturer)
	}
	if e.Decision != "" {
		return ErrExcDecided.Wrapf("%s: %s by %s", e.ID, e.Decision, e.DecidedBy)
	}
	e.Decision, e.DecidedBy, e.Note, e.DecidedHeight = m.Decision, ctx.Signer.ID, m.Note, ctx.Height
	ledger.SetJSON(ctx.State, seqKey(prefixExc, seq, gtin), e)
	if m.Decision == "release" {
		// The packs held: at most what one event walked (MaxMoved).
		prefix := append(seqKey(prefixExcObj, seq, gtin), '/')
		var keys []string
		if err := ctx.State.Iterate(prefix, func(key, _ []byte) bool {
			keys = append(keys, unescape(string(key[len(prefix):])))
			return true
		}); err != nil {
			return err
		}
		if err := charge(ctx, int64(len(keys)), "release of "+e.ID); err != nil {
			return err
		}
		for _, key := range keys {
			o, err := GetObject(ctx.State, key)
			if err != nil {
				return err
			}
			i := slices.Index(o.ColdHolds, e.ID)
			if i < 0 {
				continue
			}
			o.ColdHolds = slices.Delete(o.ColdHolds, i, i+1)
			if len(o.ColdHolds) == 0 {
				o.ColdHolds = nil
			}
			addStep(ctx, o, Step{Action: "cold_release", Note: short(m.Note)})
			putObject(ctx.State, o)
		}
	}
	ctx.Emit("supply.excursion_decided", [2]string{"id", e.ID}, [2]string{"decision", m.Decision})
	return nil
}

// ExcursionsPage lists excursions, oldest first, from the page token after
// (ledger.ScanPage); with gtin, those of one product.
func ExcursionsPage(r ledger.Reader, gtin, after string, limit int) ([]*Excursion, string, error) {
	return ledger.ScanPage(r, prefixExc, after, limit, func(e *Excursion) bool { return gtin == "" || e.GTIN == gtin })
}

// LotExcursions lists the excursions of one lot (at most limit).
func LotExcursions(r ledger.Reader, gtin, lot string, limit int) ([]*Excursion, error) {
	prefix := append(k(prefixExcLot, gtin, lot), '/')
	var seqs []uint64
	if err := r.Iterate(prefix, func(key, _ []byte) bool {
		if rest := key[len(prefix):]; len(rest) == 8 {
			seqs = append(seqs, binary.BigEndian.Uint64(rest))
		}
		return len(seqs) < limit
	}); err != nil {
		return nil, err
	}
	var out []*Excursion
	for _, s := range seqs {
		e, err := GetExcursion(r, s, gtin)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ExcursionCounts answers the regulator's question: where do excursions
// happen?
type ExcursionCounts struct {
	Routes   []ExcursionCount `json:"routes"`
	Carriers []ExcursionCount `json:"carriers"`
	// Truncated: more routes or carriers than the answer lists.
	Truncated bool `json:"truncated,omitempty"`
}

// ExcursionCount is how many excursions one route or carrier had.
type ExcursionCount struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Carrier string `json:"carrier,omitempty"`
	Count   uint64 `json:"count"`
}

// Counts lists excursions by route (from → to) or by carrier, up to
// limit rows of each; truncated says there were more.
func Counts(r ledger.Reader, limit int) (routes, carriers []ExcursionCount, truncated bool, err error) {
	routes, carriers = []ExcursionCount{}, []ExcursionCount{}
	err = r.Iterate(prefixExcRoute, func(key, v []byte) bool {
		if len(routes) == limit {
			truncated = true
			return false
		}
		from, to, _ := strings.Cut(string(key[len(prefixExcRoute):]), "/")
		routes = append(routes, ExcursionCount{From: unescape(from), To: unescape(to), Count: binary.BigEndian.Uint64(pad8(v))})
		return true
	})
	if err != nil {
		return nil, nil, false, err
	}
	err = r.Iterate(prefixExcCarrier, func(key, v []byte) bool {
		if len(carriers) == limit {
			truncated = true
			return false
		}
		carriers = append(carriers, ExcursionCount{Carrier: unescape(string(key[len(prefixExcCarrier):])), Count: binary.BigEndian.Uint64(pad8(v))})
		return true
	})
	return routes, carriers, truncated, err
}

func pad8(b []byte) []byte {
	if len(b) == 8 {
		return b
	}
	return make([]byte, 8)
}
