package fhir

import (
	"fmt"
	"time"

	"github.com/primum-health/primum/devices"
)

// MDC is the code system of IEEE 11073-10101 (the Personal Health Device
// IG's codes for device readings).
const MDC = "urn:iso:std:iso:11073:10101"

// centi writes hundredths as an exact decimal (no float on the way).
func centi(v int64) jsonDecimal {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return jsonDecimal(fmt.Sprintf("%s%d.%02d", sign, v/100, v%100))
}

// DeviceObservation is a device's reading as an R4 Observation, shaped as
// the vital-signs examples are: the LOINC code (where the reading has one)
// and the MDC code, the vital-signs category, the device, the patient
// whose wearable it is (patient "" for an organisation's device), the time
// and the value in its UCUM unit. id names it (the device and the
// reading's place in its log).
func DeviceObservation(id, device, patient string, r devices.Reading) (Object, error) {
	m, ok := devices.MeasureOf(r.Code)
	if !ok {
		return nil, fmt.Errorf("MDC code %d is not one a reading carries", r.Code)
	}
	var codes []any
	if m.LOINC != "" {
		codes = append(codes, Object{"system": "http://loinc.org", "code": m.LOINC, "display": m.Display})
	}
	codes = append(codes, Object{"system": MDC, "code": fmt.Sprint(m.Code), "display": m.MDC})
	o := Object{
		"resourceType":      "Observation",
		"id":                id,
		"status":            "final",
		"code":              Object{"coding": codes, "text": m.Display},
		"device":            Object{"reference": "Device/" + device},
		"effectiveDateTime": time.Unix(r.Time, 0).UTC().Format(time.RFC3339),
		"valueQuantity":     Object{"value": centi(r.Value), "unit": m.Unit, "system": "http://unitsofmeasure.org", "code": m.Unit},
	}
	if m.VitalSign {
		o["category"] = []any{Object{"coding": []any{Object{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}}}}
	}
	if patient != "" {
		o["subject"] = Object{"reference": "Patient/" + patient}
	}
	return o, nil
}

// DeviceReadings is one part of a wearable's batch as its keeper keeps it,
// the record id (devices.KeptID): a collection Bundle of the readings'
// Observations, the first being reading from of the device's log. Each
// Observation is named as verify-bundle --fhir names it (device.index) and
// carries its place in the log as an identifier, so that any one of them
// can be proven (primum devices prove).
func DeviceReadings(device, patient, id string, from uint64, rs []devices.Reading) (Object, error) {
	entries := make([]any, len(rs))
	for i, r := range rs {
		index := from + uint64(i)
		o, err := DeviceObservation(fmt.Sprintf("%s.%d", device, index), device, patient, r)
		if err != nil {
			return nil, err
		}
		o["identifier"] = []any{Object{"system": "urn:primum:device:" + device + ":log", "value": fmt.Sprint(index)}}
		entries[i] = Object{"fullUrl": "urn:primum:device:" + device + ":log:" + fmt.Sprint(index), "resource": o}
	}
	return Object{"resourceType": "Bundle", "id": id, "type": "collection", "entry": entries}, nil
}
