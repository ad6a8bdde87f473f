package fhir

import (
	"strconv"

	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/trials"
)

// Systems and extensions of the trial registry's resources.
const (
	TrialSystem    = "https://primum.dev/fhir/NamingSystem/trial-id"
	OutcomeExt     = "https://primum.dev/fhir/StructureDefinition/outcome-measure"
	LedgerFlagExt  = "https://primum.dev/fhir/StructureDefinition/ledger-flag"
	ReportingExt   = "https://primum.dev/fhir/StructureDefinition/reporting-score"
	CommitmentDocs = "https://primum.dev/fhir/StructureDefinition/protocol-commitment"
	EnrollingSite  = "https://primum.dev/fhir/StructureDefinition/enrolling-site"
	ParticipantSys = "https://primum.dev/fhir/NamingSystem/participant"
)

// ResearchStudy renders a registered trial (R4). R4 has no outcome
// measures (R5 added ResearchStudy.outcomeMeasure): each registered
// outcome is an extension, as are the ledger's flags and the reporting
// score; meta.versionId is the protocol's version.
func ResearchStudy(t *trials.Trial) Object {
	status := "active"
	if t.Status == trials.StatusReported {
		status = "completed"
	}
	p := t.Protocol
	var conditions, arms, ext []any
	for _, c := range p.Conditions {
		conditions = append(conditions, Object{"text": c})
	}
	for i, in := range p.Interventions {
		arms = append(arms, Object{"name": "arm-" + itoa(int64(i+1)), "description": in})
	}
	outcome := func(kind string, o trials.Outcome) Object {
		return Object{"url": OutcomeExt, "extension": []any{
			Object{"url": "id", "valueString": o.ID}, Object{"url": "kind", "valueCode": kind},
			Object{"url": "measure", "valueString": o.Measure}, Object{"url": "timeFrame", "valueString": o.TimeFrame}}}
	}
	for _, o := range p.PrimaryOutcomes {
		ext = append(ext, outcome("primary", o))
	}
	for _, o := range p.SecondaryOutcomes {
		ext = append(ext, outcome("secondary", o))
	}
	for _, f := range t.Flags {
		fe := []any{Object{"url": "kind", "valueCode": f.Kind}, Object{"url": "time", "valueDateTime": f.Time}}
		if f.Version > 0 {
			fe = append(fe, Object{"url": "version", "valueInteger": f.Version})
		}
		for _, id := range f.Added {
			fe = append(fe, Object{"url": "added", "valueString": id})
		}
		for _, id := range f.Dropped {
			fe = append(fe, Object{"url": "dropped", "valueString": id})
		}
		for _, id := range f.Changed {
			fe = append(fe, Object{"url": "changed", "valueString": id})
		}
		ext = append(ext, Object{"url": LedgerFlagExt, "extension": fe})
	}
	if s := t.Score; s != nil {
		ext = append(ext, Object{"url": ReportingExt, "extension": []any{
			Object{"url": "registered", "valueInteger": s.Registered}, Object{"url": "reported", "valueInteger": s.Reported},
			Object{"url": "notReported", "valueInteger": s.NotReported}, Object{"url": "missing", "valueInteger": s.Missing},
			Object{"url": "added", "valueInteger": s.Added}, Object{"url": "primarySwitched", "valueBoolean": s.PrimarySwitched}}})
	}
	ext = append(ext, Object{"url": CommitmentDocs, "valueString": p.ProtocolCommitment})
	out := Object{
		"resourceType": "ResearchStudy",
		"id":           t.ID,
		"meta":         Object{"versionId": itoa(t.Version), "lastUpdated": t.Updated},
		"identifier":   []any{Object{"system": TrialSystem, "value": t.ID}},
		"title":        p.Title,
		"status":       status,
		"condition":    conditions,
		"arm":          arms,
		"sponsor":      Object{"reference": "Organization/" + t.Sponsor},
		"period":       Object{"start": t.Registered},
		"description":  "Inclusion: " + p.Inclusion + "\n\nExclusion: " + p.Exclusion + "\n\nTarget sample size: " + itoa(p.SampleSize),
		"extension":    ext,
	}
	// R4 types site as Reference(Location): the sites are organisations,
	// named by their reference in the display.
	var sites []any
	for _, s := range p.Sites {
		sites = append(sites, Object{"display": "Organization/" + s})
	}
	out["site"] = sites
	return out
}

// ResearchSubject renders an enrolment (R4): the participant's pseudonym
// as the individual, on-study until they withdraw, the period from
// enrolment to withdrawal; R4 has no site, so the enrolling organisation is
// an extension.
func ResearchSubject(p *trials.Participant) Object {
	status, period := "on-study", Object{"start": p.Enrolled}
	if p.Status == trials.ParticipantWithdrawn {
		status, period["end"] = "withdrawn", p.Withdrawn
	}
	return Object{
		"resourceType": "ResearchSubject",
		"id":           trials.SubjectID(p),
		"identifier":   []any{Object{"system": ParticipantSys, "value": p.Trial + "/" + p.Participant}},
		"status":       status,
		"period":       period,
		"study":        Object{"reference": "ResearchStudy/" + p.Trial},
		"individual":   Object{"reference": "Patient/" + p.Participant},
		"extension":    []any{Object{"url": EnrollingSite, "valueReference": Object{"reference": "Organization/" + p.Site}}},
	}
}

// ResearchMeasure is the measure of a research query's release: a count
// of the cohort, stratified by the dimension the query groups by.
const (
	ResearchMeasure = "https://primum.dev/fhir/Measure/research-count"
	DatasetSystem   = "https://primum.dev/fhir/NamingSystem/research-dataset"
	SuppressedExt   = "https://primum.dev/fhir/StructureDefinition/suppressed-cell"
	DimensionSystem = "https://primum.dev/fhir/CodeSystem/research-dimension"
)

// ResearchMeasureReport renders a research query's release (R4
// MeasureReport, summary): one stratum per group with its noisy count, a
// suppressed one (below 11, or beside one) without a count and marked so;
// pending until released.
func ResearchMeasureReport(q *research.Query) Object {
	status, date := "pending", q.Asked
	var strata []any
	for i, g := range q.Groups {
		st := Object{"value": Object{"text": g}}
		if q.Release != nil {
			if c := q.Release.Cells[i]; c != nil {
				st["population"] = []any{population("initial-population", *c)}
			} else {
				st["extension"] = []any{Object{"url": SuppressedExt, "valueBoolean": true}}
			}
		}
		strata = append(strata, st)
	}
	if q.Release != nil {
		status, date = "complete", q.Release.Time
	}
	return Object{
		"resourceType": "MeasureReport",
		"id":           "research-" + q.ID,
		"status":       status,
		"type":         "summary",
		"measure":      ResearchMeasure,
		"subject":      Object{"identifier": Object{"system": DatasetSystem, "value": q.Dataset}},
		"reporter":     Object{"reference": "Organization/" + q.Researcher},
		"date":         date,
		"period":       Object{"start": q.Asked, "end": date},
		"group": []any{Object{
			"code":       concept(DimensionSystem, q.GroupBy),
			"stratifier": []any{Object{"code": []any{concept(DimensionSystem, q.GroupBy)}, "stratum": strata}},
		}},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
