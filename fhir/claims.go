package fhir

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/ledger"
)

// Systems of the claims resources.
const (
	ClaimSystem    = "https://primum.dev/fhir/NamingSystem/claim-id"
	CoverageSystem = "https://primum.dev/fhir/NamingSystem/coverage-id"
	ICD10CM        = "http://hl7.org/fhir/sid/icd-10-cm"
	CPT            = "http://www.ama-assn.org/go/cpt"
	HCPCS          = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
	CARC           = "https://x12.org/codes/claim-adjustment-reason-codes"
	Adjudication   = "http://terminology.hl7.org/CodeSystem/adjudication"
	ClaimType      = "http://terminology.hl7.org/CodeSystem/claim-type"
	RuleSetExt     = "https://primum.dev/fhir/StructureDefinition/rule-set-hash"
	TraceExt       = "https://primum.dev/fhir/StructureDefinition/evaluation-trace-hash"
	Currency       = "USD"
)

// ErrClaim is a FHIR Claim the facade cannot read as a claim.
var ErrClaim = errors.New("not a usable Claim")

// ParseClaim reads an R4 Claim into a claims.Submit: identifier[0].value
// (or id) is the claim's id, patient Patient/<pseudonym>, insurance[0]
// the Coverage/<id>, careTeam[0].provider the rendering
// Practitioner/<id>, diagnosis[] in sequence order (ICD-10-CM codes),
// item[] the lines (productOrService's code, modifier codes, quantity,
// net in the currency's units to the cent, diagnosisSequence as pointers,
// servicedDate or billablePeriod.start the date of service), and
// supportingInfo[].valueReference DocumentReference/<record> the records.
// Amounts are read as decimal text, never through a float.
func ParseClaim(raw []byte) (*claims.Submit, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var c struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Use          string `json:"use"`
		Identifier   []struct {
			Value string `json:"value"`
		} `json:"identifier"`
		Patient        ref `json:"patient"`
		BillablePeriod struct {
			Start string `json:"start"`
		} `json:"billablePeriod"`
		CareTeam []struct {
			Provider ref `json:"provider"`
		} `json:"careTeam"`
		Diagnosis []struct {
			Sequence                 int64           `json:"sequence"`
			DiagnosisCodeableConcept codeableConcept `json:"diagnosisCodeableConcept"`
		} `json:"diagnosis"`
		Insurance []struct {
			Coverage ref `json:"coverage"`
		} `json:"insurance"`
		SupportingInfo []struct {
			ValueReference ref `json:"valueReference"`
		} `json:"supportingInfo"`
		Item []struct {
			ProductOrService codeableConcept             `json:"productOrService"`
			Modifier         []codeableConcept           `json:"modifier"`
			Quantity         struct{ Value json.Number } `json:"quantity"`
			Net              struct {
				Value    json.Number `json:"value"`
				Currency string      `json:"currency"`
			} `json:"net"`
			DiagnosisSequence []int64 `json:"diagnosisSequence"`
			ServicedDate      string  `json:"servicedDate"`
		} `json:"item"`
	}
	if err := dec.Decode(&c); err != nil || c.ResourceType != "Claim" {
		return nil, fmt.Errorf("%w: a JSON Claim resource", ErrClaim)
	}
	if c.Use != "" && c.Use != "claim" {
		return nil, fmt.Errorf("%w: use %q: the ledger adjudicates claims (use claim), not preauthorizations or predeterminations", ErrClaim, c.Use)
	}
	s := &claims.Submit{ID: c.ID, ServiceDate: c.BillablePeriod.Start}
	if len(c.Identifier) > 0 && c.Identifier[0].Value != "" {
		s.ID = c.Identifier[0].Value
	}
	var err error
	if s.Patient, err = c.Patient.id("Patient"); err != nil {
		return nil, err
	}
	if len(c.Insurance) == 0 {
		return nil, fmt.Errorf("%w: insurance[0].coverage names the Coverage", ErrClaim)
	}
	if s.Coverage, err = c.Insurance[0].Coverage.id("Coverage"); err != nil {
		return nil, err
	}
	if len(c.CareTeam) > 0 {
		if s.Practitioner, err = c.CareTeam[0].Provider.id("Practitioner"); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(c.Diagnosis, func(a, b struct {
		Sequence                 int64           `json:"sequence"`
		DiagnosisCodeableConcept codeableConcept `json:"diagnosisCodeableConcept"`
	}) int {
		return cmp.Compare(a.Sequence, b.Sequence)
	})
	seq := map[int64]int64{}
	for i, d := range c.Diagnosis {
		if d.Sequence < 1 || seq[d.Sequence] != 0 {
			return nil, fmt.Errorf("%w: diagnosis sequence %d: each a positive number, once", ErrClaim, d.Sequence)
		}
		s.Diagnoses = append(s.Diagnoses, d.DiagnosisCodeableConcept.code(ICD10CM))
		seq[d.Sequence] = int64(i + 1)
	}
	for _, si := range c.SupportingInfo {
		if r, err := si.ValueReference.id("DocumentReference"); err == nil {
			s.Records = append(s.Records, r)
		}
	}
	for i, it := range c.Item {
		l := claims.SubmitLine{Code: it.ProductOrService.code(CPT, HCPCS), Units: 1}
		for _, m := range it.Modifier {
			l.Modifiers = append(l.Modifiers, m.code())
		}
		if it.Net.Currency != "" && it.Net.Currency != Currency {
			return nil, fmt.Errorf("%w: item %d net is in %s: the ledger's amounts are %s", ErrClaim, i+1, it.Net.Currency, Currency)
		}
		if it.Quantity.Value != "" {
			if l.Units, err = strconv.ParseInt(string(it.Quantity.Value), 10, 64); err != nil {
				return nil, fmt.Errorf("%w: item %d quantity is a whole number of units", ErrClaim, i+1)
			}
		}
		if l.Charge, err = ParseCents(string(it.Net.Value)); err != nil {
			return nil, fmt.Errorf("%w: item %d net: %v", ErrClaim, i+1, err)
		}
		for _, d := range it.DiagnosisSequence {
			if seq[d] == 0 {
				return nil, fmt.Errorf("%w: item %d names diagnosis sequence %d, which the claim lacks", ErrClaim, i+1, d)
			}
			l.Dx = append(l.Dx, seq[d])
		}
		if it.ServicedDate != "" {
			if s.ServiceDate == "" {
				s.ServiceDate = it.ServicedDate
			} else if it.ServicedDate != s.ServiceDate {
				return nil, fmt.Errorf("%w: every item has the claim's one date of service", ErrClaim)
			}
		}
		s.Lines = append(s.Lines, l)
	}
	return s, nil
}

var decimal = regexp.MustCompile(`^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$`)

// ParseCents reads a non-negative decimal amount with at most two decimals
// ("123.4", "99") as cents, from its text.
func ParseCents(s string) (int64, error) {
	if !decimal.MatchString(s) {
		return 0, fmt.Errorf("%q is not an amount to the cent", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	return w*100 + f, nil
}

// money is an amount in cents as FHIR Money (the decimal written as text:
// no float on the way).
func money(cents int64) Object {
	return Object{"value": json.Number(ledger.Cents(cents)), "currency": Currency}
}

type ref struct {
	Reference string `json:"reference"`
}

func (r ref) id(typ string) (string, error) {
	id, ok := strings.CutPrefix(r.Reference, typ+"/")
	if !ok || id == "" {
		return "", fmt.Errorf("%w: a reference to %s/<id>", ErrClaim, typ)
	}
	return id, nil
}

type codeableConcept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

// code is the concept's code in one of systems (the first coding when
// none is of them, or none is asked for).
func (c codeableConcept) code(systems ...string) string {
	for _, cd := range c.Coding {
		if slices.Contains(systems, cd.System) {
			return cd.Code
		}
	}
	if len(c.Coding) == 0 {
		return ""
	}
	return c.Coding[0].Code
}

func procedureSystem(code string) string {
	if code != "" && code[0] >= 'A' && code[0] <= 'Z' {
		return HCPCS
	}
	return CPT
}

func coding(system, code string) Object {
	return Object{"coding": []any{Object{"system": system, "code": code}}}
}

func diagnoses(c *claims.Claim) []any {
	var out []any
	for i, d := range c.Diagnoses {
		out = append(out, Object{"sequence": i + 1, "diagnosisCodeableConcept": coding(ICD10CM, d)})
	}
	return out
}

func claimBase(c *claims.Claim, typ string) Object {
	return Object{
		"resourceType": typ,
		"id":           c.ID,
		"identifier":   []any{Object{"system": ClaimSystem, "value": c.ID}},
		"status":       "active",
		"type":         coding(ClaimType, "professional"),
		"use":          "claim",
		"patient":      Object{"reference": "Patient/" + c.Patient},
		"created":      c.Steps[0].Time,
	}
}

// billed is what a Claim and an ExplanationOfBenefit both say of the
// claim: claimBase, its diagnoses, the day of service, provider and
// insurer.
func billed(c *claims.Claim, typ string) Object {
	out := claimBase(c, typ)
	out["diagnosis"] = diagnoses(c)
	out["billablePeriod"] = Object{"start": c.ServiceDate, "end": c.ServiceDate}
	out["provider"] = Object{"reference": "Organization/" + c.Provider}
	out["insurer"] = Object{"reference": "Organization/" + c.Insurer}
	return out
}

// Claim renders a submitted claim as the R4 Claim it is.
func Claim(c *claims.Claim) Object {
	out := billed(c, "Claim")
	out["priority"] = coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal")
	out["insurance"] = []any{Object{"sequence": 1, "focal": true, "coverage": Object{"reference": "Coverage/" + c.Coverage}}}
	if c.Practitioner != "" {
		out["careTeam"] = []any{Object{"sequence": 1, "provider": Object{"reference": "Practitioner/" + c.Practitioner}}}
	}
	var items []any
	for _, l := range c.Lines {
		items = append(items, lineItem(c, l, "sequence"))
	}
	out["item"] = items
	out["total"] = money(c.Charge)
	return out
}

func lineItem(c *claims.Claim, l claims.Line, seqField string) Object {
	it := Object{seqField: l.N, "productOrService": coding(procedureSystem(l.Code), l.Code),
		"servicedDate": c.ServiceDate, "quantity": Object{"value": l.Units}, "net": money(l.Charge)}
	var mods, dx []any
	for _, m := range l.Modifiers {
		mods = append(mods, coding(CPT, m))
	}
	for _, d := range l.Dx {
		dx = append(dx, int64(slices.Index(c.Diagnoses, d)+1))
	}
	if len(mods) > 0 {
		it["modifier"] = mods
	}
	if len(dx) > 0 {
		it["diagnosisSequence"] = dx
	}
	return it
}

// adjudication is a line's decision as FHIR adjudication entries: the
// submitted charge, the eligible (allowed) amount, the deductible, the
// coinsurance, the benefit (what the payer pays), each reason code.
func adjudication(l claims.Line) []any {
	out := []any{
		Object{"category": coding(Adjudication, "submitted"), "amount": money(l.Charge)},
		Object{"category": coding(Adjudication, "eligible"), "amount": money(l.Allowed)},
		Object{"category": coding(Adjudication, "deductible"), "amount": money(l.Deductible)},
		Object{"category": coding("http://terminology.hl7.org/CodeSystem/adjudication", "copay"), "amount": money(l.Coinsurance)},
		Object{"category": coding(Adjudication, "benefit"), "amount": money(l.Payer)},
	}
	for _, r := range l.Reasons {
		out = append(out, Object{"category": coding(Adjudication, "submitted"), "reason": coding(CARC, r)})
	}
	return out
}

// outcome maps a claim's status to ClaimResponse.outcome.
func outcome(c *claims.Claim) string {
	switch c.Status {
	case claims.StatusPended, claims.StatusAppealed:
		return "queued"
	}
	for _, l := range c.Lines {
		if l.Outcome == claims.Denied || l.Outcome == claims.Pended {
			return "partial"
		}
	}
	return "complete"
}

func disposition(c *claims.Claim) string {
	switch c.Status {
	case claims.StatusPended:
		return "Pended: lines wait for the insurer's review."
	case claims.StatusAppealed:
		return "Appealed: the insurer reviews it again."
	case claims.StatusPaid:
		return "Paid, remittance " + c.Remittance + "."
	}
	return "Adjudicated by the ledger under rule set " + c.RuleSet + "."
}

func decisionExt(c *claims.Claim) []any {
	return []any{Object{"url": RuleSetExt, "valueString": c.RuleSet}, Object{"url": TraceExt, "valueString": c.Trace}}
}

// ClaimResponse renders a claim's adjudication (R4 ClaimResponse): each
// line's adjudication and reason codes, the totals, the rule set's hash
// and the evaluation trace's hash (extensions), the payment when paid.
func ClaimResponse(c *claims.Claim) Object {
	out := claimBase(c, "ClaimResponse")
	out["insurer"] = Object{"reference": "Organization/" + c.Insurer}
	out["requestor"] = Object{"reference": "Organization/" + c.Provider}
	out["request"] = Object{"reference": "Claim/" + c.ID}
	out["outcome"] = outcome(c)
	out["disposition"] = disposition(c)
	out["extension"] = decisionExt(c)
	var items []any
	for _, l := range c.Lines {
		items = append(items, Object{"itemSequence": l.N, "adjudication": adjudication(l)})
	}
	out["item"] = items
	out["total"] = totals(c)
	if c.Status == claims.StatusPaid {
		out["payment"] = Object{"type": coding("http://terminology.hl7.org/CodeSystem/ex-paymenttype", "complete"), "amount": money(c.Paid),
			"date": c.Steps[len(c.Steps)-1].Time[:10], "identifier": Object{"value": c.Remittance}}
	}
	return out
}

func totals(c *claims.Claim) []any {
	return []any{
		Object{"category": coding(Adjudication, "submitted"), "amount": money(c.Charge)},
		Object{"category": coding(Adjudication, "eligible"), "amount": money(c.Allowed)},
		Object{"category": coding(Adjudication, "benefit"), "amount": money(c.Payer)},
		Object{"category": coding("http://terminology.hl7.org/CodeSystem/adjudication", "copay"), "amount": money(c.PatientShare)},
	}
}

// ExplanationOfBenefit renders a claim for the patient (R4
// ExplanationOfBenefit): what was billed, allowed, what the insurer pays
// and what the patient owes, line by line with the reasons.
func ExplanationOfBenefit(c *claims.Claim) Object {
	out := billed(c, "ExplanationOfBenefit")
	out["claim"] = Object{"reference": "Claim/" + c.ID}
	out["claimResponse"] = Object{"reference": "ClaimResponse/" + c.ID}
	out["outcome"] = outcome(c)
	out["disposition"] = disposition(c)
	out["extension"] = decisionExt(c)
	out["insurance"] = []any{Object{"focal": true, "coverage": Object{"reference": "Coverage/" + c.Coverage}}}
	var items []any
	for _, l := range c.Lines {
		it := lineItem(c, l, "sequence")
		it["adjudication"] = adjudication(l)
		items = append(items, it)
	}
	out["item"] = items
	out["total"] = totals(c)
	if c.Status == claims.StatusPaid {
		out["payment"] = Object{"amount": money(c.Paid), "date": c.Steps[len(c.Steps)-1].Time[:10], "identifier": Object{"value": c.Remittance}}
	}
	return out
}

// Coverage renders a member's coverage (R4 Coverage).
func Coverage(c *claims.Coverage) Object {
	return Object{
		"resourceType": "Coverage",
		"id":           c.ID,
		"identifier":   []any{Object{"system": CoverageSystem, "value": c.ID}},
		"status":       "active",
		"beneficiary":  Object{"reference": "Patient/" + c.Member},
		"payor":        []any{Object{"reference": "Organization/" + c.Insurer}},
		"period":       Object{"start": c.Start, "end": c.End},
		"class":        []any{Object{"type": coding("http://terminology.hl7.org/CodeSystem/coverage-class", "plan"), "value": c.Policy}},
	}
}
