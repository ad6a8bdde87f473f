package api

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/capacity"
	"github.com/primum-health/primum/claims"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/research"
	"github.com/primum-health/primum/trials"
)

// The FHIR R4 facade (base /fhir). Errors are OperationOutcome resources.

const fhirJSON = "application/fhir+json"

// MaxFHIRBytes bounds a resource or Bundle a custodian posts.
const MaxFHIRBytes = 4 << 20

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fhirError answers with an OperationOutcome carrying the stable code.
func fhirError(w http.ResponseWriter, err error) {
	p := problemOf(err)
	issue := map[int]string{400: "invalid", 401: "security", 403: "forbidden", 404: "not-found", 409: "conflict", 410: "deleted",
		413: "too-costly", 429: "throttled"}[p.Status]
	if issue == "" {
		issue = "exception"
	}
	oo := fhir.OperationOutcome("error", issue, p.Code+": "+p.Detail)
	writeFHIR(w, p.Status, oo)
}

var errFHIRInvalid = newAPIError(40, "fhir_invalid", http.StatusBadRequest, "not a valid FHIR R4 resource")

func (s *server) fhirBase(r *http.Request) string { return s.apiBase(r) + "/fhir" }

// apiBase is where this node's API answers, for the absolute links FHIR
// Bundles carry: its public URL, or the host the request reached.
func (s *server) apiBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	return "http://" + r.Host
}

func (s *server) fhirMetadata(w http.ResponseWriter, r *http.Request) {
	writeFHIR(w, http.StatusOK, fhir.CapabilityStatement(s.fhirBase(r), "1", "2026-11-22", creatableTypes))
}

// creatableTypes are the resource types the CapabilityStatement lists as
// creatable; any R4 type is stored, these are the ones EHRs send most.
var creatableTypes = []string{"AllergyIntolerance", "CarePlan", "ClinicalImpression", "Condition", "DiagnosticReport",
	"DocumentReference", "Encounter", "Goal", "Immunization", "MedicationRequest", "MedicationStatement", "Observation",
	"Patient", "Procedure"}

// fhirCreate: POST /fhir/{type} — one resource — or POST /fhir — a Bundle,
// each entry one record. The custodian is the token's organisation; the
// patient pseudonym is ?patient=.
func (s *server) fhirCreate(w http.ResponseWriter, r *http.Request) {
	if s.catchingUp() { // before anything is stored: it could not be indexed
		fhirError(w, errCatchingUp)
		return
	}
	if r.PathValue("type") == "Claim" {
		s.fhirClaim(w, r)
		return
	}
	key, err := s.heldKey(r, tokens.ScopeFHIRCreate)
	if err != nil {
		fhirError(w, err)
		return
	}
	if s.Docs == nil {
		fhirError(w, errNoRecordStore)
		return
	}
	patient := r.URL.Query().Get("patient")
	if p, err := identity.Get(s.Ledger.Committed(), patient); err != nil || p.Kind != ledger.KindPatient {
		fhirError(w, records.ErrUnknownPatient.Wrapf("?patient= must name a registered patient pseudonym"))
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		fhirError(w, err)
		return
	}
	var resources []*fhir.Resource
	typ := r.PathValue("type")
	if typ == "" {
		_, resources, err = fhir.ParseBundle(b)
	} else {
		var res *fhir.Resource
		if res, err = fhir.ParseResource(b); err == nil && res.Type != typ {
			err = fhir.ErrTypeMismatch
		}
		resources = []*fhir.Resource{res}
	}
	if err != nil {
		fhirError(w, errFHIRInvalid.Wrapf("%v", err))
		return
	}
	recs, err := s.ingest(r.Context(), key, patient, resources)
	if err != nil {
		fhirError(w, err)
		return
	}
	committed := s.Ledger.Committed()
	endpoint, _ := records.Endpoint(committed, recs[0].Custodian)
	// A resource recorded before answers as FHIR's conditional create does
	// when it finds its match: 200 OK, nothing created.
	status := func(in ingested) (int, string) {
		if in.already {
			return http.StatusOK, "200 OK"
		}
		return http.StatusCreated, "201 Created"
	}
	if typ != "" {
		code, _ := status(recs[0])
		w.Header().Set("Location", s.fhirBase(r)+"/DocumentReference/"+recs[0].ID)
		writeFHIR(w, code, fhir.DocumentReference(recs[0].Record, endpoint))
		return
	}
	entries := make([]any, 0, len(recs))
	for _, in := range recs {
		_, line := status(in)
		response := fhir.Object{"status": line, "location": "DocumentReference/" + in.ID}
		if in.already {
			response["outcome"] = fhir.OperationOutcome("information", "duplicate", "already recorded: this custodian holds this resource for this patient, as "+in.ID)
		}
		entries = append(entries, fhir.Object{"resource": fhir.DocumentReference(in.Record, endpoint), "response": response})
	}
	writeFHIR(w, http.StatusOK, fhir.Object{"resourceType": "Bundle", "type": "batch-response", "entry": entries})
}

// ingested is what an import made of one resource: its record, and whether
// it was recorded before (then nothing was stored for it).
type ingested struct {
	*records.Record
	already bool
}

// held finds, for each of resources, a record custodian already holds for
// patient with the same content (fhir.Canonical: the same resource in any
// layout), so that an import run again records nothing twice. It answers
// the record's id, or "", for each resource; a record answers for one
// resource at most, so a Bundle that holds a resource twice made two
// records and finds both again. A record counts only while its index is on
// the ledger and it is not erased. The record store compares inside itself
// (docstore.Matching) and answers ids only: release stays its one way out.
func (s *server) held(committed ledger.Reader, custodian, patient string, resources []*fhir.Resource) ([]string, error) {
	types := map[string]bool{}
	contents := make([][]byte, len(resources))
	for i, res := range resources {
		types[res.Type] = true
		contents[i] = res.Raw
	}
	return s.Docs.Matching(patient, contents, fhir.Canonical, func(m docstore.Meta) bool {
		if m.Custodian != custodian || !types[m.ResourceType] {
			return false
		}
		rec, err := records.Get(committed, m.ID)
		return err == nil && rec.Status != records.StatusErased // not indexed (refused, or pending), or erased: not held
	})
}

// ingest stores resources encrypted and indexes them on the ledger, in
// transactions of up to records.MaxPerRegister records; stored copies whose
// index the ledger refused are discarded. A resource the custodian holds
// already for the patient (held) is not stored again: it answers with the
// record it has.
func (s *server) ingest(ctx context.Context, key ed25519.PrivateKey, patient string, resources []*fhir.Resource) ([]ingested, error) {
	// One wait for every chunk together: a bundle of several chunks on a
	// slow chain must still answer inside the server's write timeout.
	ctx, cancel := context.WithTimeout(ctx, s.commitWait())
	defer cancel()
	committed := s.Ledger.Committed()
	custodian, err := identity.Resolve(committed, key.Public().(ed25519.PublicKey), s.Ledger.LastBlockTime())
	if err != nil {
		return nil, err
	}
	before, err := s.held(committed, custodian.ID, patient, resources)
	if err != nil {
		return nil, err
	}
	var stored []records.NewRecord
	discard := func(recs []records.NewRecord) {
		for _, r := range recs {
			if err := s.Docs.Discard(r.ID); err != nil {
				s.log.Error("cannot discard an unindexed record", "record", r.ID, "err", err)
			}
		}
	}
	ids := make([]string, len(resources))
	for i, res := range resources {
		if before[i] != "" {
			ids[i] = before[i]
			continue
		}
		id := newRecordID(res.Type)
		ids[i] = id
		c, err := s.Docs.Put(docstore.Meta{ID: id, Patient: patient, Custodian: custodian.ID, Category: records.CategoryOf(res.Type),
			ResourceType: res.Type}, res.Raw)
		if err != nil {
			discard(stored)
			return nil, err
		}
		stored = append(stored, records.NewRecord{ID: id, Patient: patient, Category: records.CategoryOf(res.Type), Commitment: hex.EncodeToString(c)})
	}
	for start := 0; start < len(stored); start += records.MaxPerRegister {
		chunk := stored[start:min(len(stored), start+records.MaxPerRegister)]
		// The wait ran out: send no more, so that what the error says was
		// indexed is all that can be.
		sent, err := false, ctx.Err()
		if err != nil {
			err = errTimeout
		} else {
			sent = true
			_, err = s.sendAs(ctx, key, records.TypeRegister, records.Register{Endpoint: s.PublicURL, Records: chunk})
		}
		if err != nil {
			// Discard only what can no longer be indexed: a chunk the
			// ledger refused, and the chunks not sent. A chunk whose fate is
			// unknown (the wait ran out, the client left, the node could
			// not say) may still commit: deleting its copies then would
			// leave the ledger indexing records nobody can read.
			var refused *ledgerRejection
			if !sent || errors.As(err, &refused) || errors.Is(err, errMempoolFull) {
				discard(stored[start:])
			} else {
				discard(stored[start+len(chunk):])
				s.log.Warn("kept records whose index may still commit", "records", len(chunk), "err", err)
			}
			if start > 0 {
				return nil, fmt.Errorf("%w (the first %d records were stored and indexed)", err, start)
			}
			return nil, err
		}
	}
	committed = s.Ledger.Committed()
	out := make([]ingested, 0, len(resources))
	for i, id := range ids {
		rec, err := records.Get(committed, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ingested{Record: rec, already: before[i] != ""})
	}
	return out, nil
}

// fhirRead: GET /fhir/{type}/{id}.
func (s *server) fhirRead(w http.ResponseWriter, r *http.Request) {
	committed := s.Ledger.Committed()
	id := r.PathValue("id")
	// The trial registry is public.
	if r.PathValue("type") == "ResearchStudy" {
		t, err := trials.Get(committed, id)
		if err != nil {
			fhirError(w, err)
			return
		}
		writeFHIR(w, http.StatusOK, fhir.ResearchStudy(t))
		return
	}
	// Every resource here is about a patient: who asks is known before
	// anything is looked up, and may see it only with standing.
	caller, err := s.knownCaller(r, committed)
	if err != nil {
		fhirError(w, err)
		return
	}
	if r.PathValue("type") == "ResearchSubject" {
		// An enrolment, to those who may read it (trials.EnrolmentsFor).
		_, p, err := trials.Subject(committed, caller, id)
		if err != nil {
			fhirError(w, err)
			return
		}
		writeFHIR(w, http.StatusOK, fhir.ResearchSubject(p))
		return
	}
	sees := func(patient string, index bool, item any) error {
		view, err := s.patientView(r, committed, patient, index)
		if err == nil && item != nil && !view.Sees(item) {
			err = ledger.ErrNoStanding.Wrapf("this resource is not one you may see")
		}
		return err
	}
	var out fhir.Object
	switch r.PathValue("type") {
	case "Consent":
		var c *consent.Consent
		if c, err = consent.Get(committed, id); err == nil {
			if err = sees(c.Patient, false, c); err == nil {
				out = fhir.Consent(c, s.Ledger.LastBlockTime())
			}
		}
	case "AuditEvent":
		var a *records.Access
		if a, err = records.GetAccess(committed, id); err == nil {
			if err = sees(a.Patient, false, a); err == nil {
				out = fhir.AuditEvent(a)
			}
		}
	case "DocumentReference":
		var rec *records.Record
		if rec, err = records.Get(committed, id); err == nil {
			// By its id, as GET /api/v1/records/{id}: also to whoever may
			// ask its custodian for it.
			caller, _ := s.knownCaller(r, committed)
			if ok, serr := records.SeesRecord(committed, caller, rec, s.Ledger.LastBlockTime()); serr != nil {
				err = serr
			} else if !ok {
				err = ledger.ErrNoStanding.Wrapf("you may neither see nor ask for this record")
			}
			if err == nil {
				endpoint, _ := records.Endpoint(committed, rec.Custodian)
				out = fhir.DocumentReference(rec.AsOf(s.Ledger.LastBlockTime()), endpoint)
			}
		}
	case "Claim", "ClaimResponse", "ExplanationOfBenefit":
		// To the claim's provider, insurer, patient and the regulator; to
		// anyone else it does not exist.
		caller, _ := s.knownCaller(r, committed)
		var c *claims.Claim
		if c, err = claims.GetClaim(committed, id); err == nil && !claims.Party(caller, c) {
			err = claims.ErrUnknownClaim.Wrapf("%q", id)
		}
		if err == nil {
			out = map[string]func(*claims.Claim) fhir.Object{"Claim": fhir.Claim, "ClaimResponse": fhir.ClaimResponse,
				"ExplanationOfBenefit": fhir.ExplanationOfBenefit}[r.PathValue("type")](c)
		}
	case "Coverage":
		caller, _ := s.knownCaller(r, committed)
		var c *claims.Coverage
		if c, err = claims.GetCoverage(committed, id); err == nil && !claims.SeesCoverage(caller, c) {
			err = claims.ErrUnknownCoverage.Wrapf("%q", id)
		}
		if err == nil {
			out = fhir.Coverage(c)
		}
	case "Location", "HealthcareService", "MeasureReport":
		// Capacity: facility data, to any registered identity (the caller
		// is known above). A MeasureReport is a site's last report, or
		// "region-<code>" a region's picture now.
		var v *capacity.View
		if v, err = capacity.CurrentView(committed); err != nil {
			break
		}
		now := s.Ledger.LastBlockTime()
		if qid, ok := strings.CutPrefix(id, "research-"); ok && r.PathValue("type") == "MeasureReport" {
			// A research query's release, to those who may read it.
			var q *research.Query
			var d *research.DatasetState
			if q, err = research.GetQuery(committed, qid); err == nil {
				if d, err = research.GetDataset(committed, q.Dataset); err == nil {
					if research.Reads(caller, q.Researcher, &d.Dataset) {
						out = fhir.ResearchMeasureReport(q)
					} else {
						err = research.ErrNoStanding
					}
				}
			}
			break
		}
		if code, ok := strings.CutPrefix(id, "region-"); ok && r.PathValue("type") == "MeasureReport" {
			var region *capacity.Region
			if region, err = capacity.GetRegion(committed, code); err == nil {
				out = fhir.RegionMeasureReport(region, v.Shortages(now, code), now.UTC().Format(time.RFC3339))
			}
			break
		}
		site := v.Find(id)
		if site == nil {
			err = capacity.ErrUnknownSite.Wrapf("%q", id)
			break
		}
		height, _ := s.Ledger.CommittedVersion()
		switch r.PathValue("type") {
		case "Location":
			out = fhir.Location(site.Site)
		case "HealthcareService":
			out = fhir.HealthcareService(site.Site)
		default:
			out = fhir.SiteMeasureReport(capacity.StatusOf(site, now, height))
		}
	case "Device":
		var e *capacity.Equipment
		if e, err = capacity.GetEquipment(committed, id); err == nil {
			out = fhir.Device(e)
		}
	case "Patient":
		if err = sees(id, false, nil); err == nil {
			var p *identity.Identity
			if p, err = identity.Get(committed, id); err == nil && p.Kind != ledger.KindPatient {
				err = ledger.ErrNotFound.Wrapf("no patient %q", id)
			}
			out = fhir.Patient(id)
		}
	default:
		err = errNoRoute.Wrapf("this facade reads %v", append(slices.Clone(fhir.Searchable), "Claim", "ClaimResponse", "ExplanationOfBenefit", "Coverage", "ResearchStudy",
			"ResearchSubject", "Location", "HealthcareService", "MeasureReport", "Device"))
	}
	if err != nil {
		fhirError(w, err)
		return
	}
	writeFHIR(w, http.StatusOK, out)
}

// fhirSearch: GET /fhir/{type}?patient=&date=&_count=&_after=. A search
// answers one page: it seeks to the page token _after (from the previous
// page's next link), keeps up to _count matches, examining at most
// ledger.MaxPageScan entries, and links the next page from where it
// stopped. It costs its page, not the patient's history nor the ledger's.
func (s *server) fhirSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ := r.PathValue("type")
	if typ == "ResearchStudy" {
		s.researchStudies(w, r)
		return
	}
	if typ == "ExplanationOfBenefit" {
		s.explanations(w, r)
		return
	}
	if typ == "ResearchSubject" {
		s.researchSubjects(w, r)
		return
	}
	if typ == "Observation" {
		s.fhirObservations(w, r)
		return
	}
	if !slices.Contains(fhir.Searchable, typ) {
		fhirError(w, errNoRoute.Wrapf("this facade searches %v", fhir.Searchable))
		return
	}
	var dates []fhir.DateFilter
	for _, v := range q["date"] {
		f, err := fhir.ParseDate(v)
		if err != nil {
			fhirError(w, errBadRequest.Wrapf("%v", err))
			return
		}
		dates = append(dates, f)
	}
	count, after, err := s.searchPage(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	if len(after) > 256 {
		fhirError(w, errBadRequest.Wrapf("_after must be a page token from a Bundle's next link"))
		return
	}
	for k := range q {
		if k == "_offset" {
			fhirError(w, errBadRequest.Wrapf("_offset is not supported: follow the Bundle's next link (its _after token)"))
			return
		}
		if !slices.Contains([]string{"patient", "subject", "date", "_count", "_after", "_id", "outcome", "_format"}, k) {
			fhirError(w, errBadRequest.Wrapf("unsupported search parameter %q (see /fhir/metadata)", k))
			return
		}
	}
	patient := strings.TrimPrefix(q.Get("patient"), "Patient/")
	if patient == "" {
		patient = strings.TrimPrefix(q.Get("subject"), "Patient/")
	}
	matchDate := func(instant string) bool {
		for _, f := range dates {
			if !f.Match(instant) {
				return false
			}
		}
		return true
	}
	committed := s.Ledger.Committed()
	now := s.Ledger.LastBlockTime()
	// Who may search: about one patient, whoever has standing with them
	// (and sees what the view lets them); over every patient, the
	// regulator only (the audit).
	caller, err := s.knownCaller(r, committed)
	if err != nil {
		fhirError(w, err)
		return
	}
	var view *records.View
	switch {
	case typ == "DocumentReference" && patient == "":
		err = errBadRequest.Wrapf("DocumentReference search needs patient=")
	case typ == "Patient":
		if id := q.Get("_id"); id != "" {
			view, err = s.patientView(r, committed, id, false)
		}
	case patient != "":
		view, err = s.patientView(r, committed, patient, typ == "DocumentReference")
	case !caller.IsRegulator():
		err = errRegulatorOnly.Wrapf("a %s search over every patient is the regulator's audit: name a patient with patient=", typ)
	}
	if err != nil {
		fhirError(w, err)
		return
	}
	// sees: a patient's item the caller may see; over every patient (the
	// regulator) all of them.
	sees := func(item any) bool { return view == nil || view.Sees(item) }
	var page []fhir.Object
	next := ""
	switch typ {
	case "Consent":
		keep := func(c *consent.Consent) bool { return matchDate(c.Granted) && sees(c) }
		var list []*consent.Consent
		if patient != "" {
			list, next, err = consent.OfPatientPage(committed, patient, after, count, keep)
		} else {
			list, next, err = consent.Page(committed, after, count, keep)
		}
		for _, c := range list {
			page = append(page, fhir.Consent(c, now))
		}
	case "AuditEvent":
		outcome := q.Get("outcome")
		keep := func(a *records.Access) bool {
			return matchDate(a.Time) && (outcome == "" || outcome == fhir.AuditEvent(a)["outcome"]) && sees(a)
		}
		var list []*records.Access
		list, next, err = records.AccessPage(committed, patient, after, false, count, keep)
		for _, a := range list {
			page = append(page, fhir.AuditEvent(a))
		}
	case "DocumentReference":
		var list []*records.Record
		list, next, err = records.OfPatientPage(committed, patient, after, count, func(rec *records.Record) bool {
			return matchDate(rec.Registered) && sees(rec)
		})
		for _, rec := range list {
			endpoint, _ := records.Endpoint(committed, rec.Custodian)
			page = append(page, fhir.DocumentReference(rec.AsOf(now), endpoint))
		}
	case "Patient":
		id := q.Get("_id")
		if id == "" {
			fhirError(w, errBadRequest.Wrapf("Patient search needs _id= (patients are pseudonymous; there is nothing else to search by)"))
			return
		}
		if p, gerr := identity.Get(committed, id); gerr == nil && p.Kind == ledger.KindPatient {
			page = append(page, fhir.Patient(id))
		}
	}
	if err != nil {
		fhirError(w, err)
		return
	}
	bundle := s.searchSet(r, typ, page, next, after, count)
	if next != "" && len(page) < count {
		// Said in the bundle, as FHIR does: the page is short because the
		// search examined as many entries as a page may, not because it
		// reached the end.
		bundle["entry"] = append(bundle["entry"].([]any), fhir.Object{"search": fhir.Object{"mode": "outcome"},
			"resource": fhir.OperationOutcome("information", "too-costly", fmt.Sprintf("this page examined %d entries and found %d matches: the search goes on at the next link (or narrow it with patient= or date=)", ledger.MaxPageScan, len(page)))})
	}
	writeFHIR(w, http.StatusOK, bundle)
}

// MaxExportPage bounds the entries (records, consents, trail entries) one
// page of a patient's export holds; DefaultExportPage is a page's size
// when the request does not say. Each record on a page is read through its
// custodian (an access entry on the ledger each).
const (
	MaxExportPage     = 1000
	DefaultExportPage = 100
)

// exportPatient: GET /api/v1/patients/{id}/export — GDPR Art. 15/20: a
// FHIR collection Bundle with every record the patient can still decrypt
// (each read through its custodian, so each read is on the ledger), their
// consents and their access trail, a page at a time: records by id, then
// consents, then the trail (read last, so that it holds the export's own
// reads), at most limit entries a page. A page that is not the last links
// the next (Bundle.link "next", and a Link header); a patient with fewer
// entries than a page gets the whole export in one Bundle, as before.
func (s *server) exportPatient(w http.ResponseWriter, r *http.Request) {
	key, err := s.ownPatient(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	query := r.URL.Query()
	if query.Has("after") {
		opened, err := s.pages.open(query.Get("after"), r, "after")
		if err != nil {
			fhirError(w, err)
			return
		}
		query.Set("after", opened)
	}
	req := &ledger.Request{Query: query}
	limit, after, err := req.Paging(DefaultExportPage, MaxExportPage)
	if err != nil {
		fhirError(w, err)
		return
	}
	// The page token names the section the page starts in (r: records,
	// c: consents, t: the trail) and where in it.
	section, from := byte('r'), ""
	if after != "" {
		if section, from = after[0], after[1:]; !strings.ContainsRune("rct", rune(section)) {
			fhirError(w, errBadRequest.Wrapf("after must be a page token from the export's next link"))
			return
		}
	}
	committed, patient := s.Ledger.Committed(), r.PathValue("id")
	now := s.Ledger.LastBlockTime()
	left, next := limit, ""
	// more says where the following page starts, if this one is full.
	more := func(sec byte, token string) { next = string(sec) + token }
	var recs []*records.Record
	if section == 'r' {
		var token string
		if recs, token, err = records.OfPatientPage(committed, patient, from, left, nil); err != nil {
			fhirError(w, err)
			return
		}
		for i, rec := range recs {
			recs[i] = rec.AsOf(now)
		}
		if left -= len(recs); token != "" {
			more('r', token)
		} else {
			section, from = 'c', ""
		}
	}
	var consents []*consent.Consent
	if next == "" && section == 'c' {
		if left == 0 {
			more('c', from)
		} else {
			var token string
			if consents, token, err = consent.OfPatientPage(committed, patient, from, left, nil); err != nil {
				fhirError(w, err)
				return
			}
			switch left -= len(consents); {
			case token != "":
				more('c', token)
			case left == 0:
				more('t', "")
			default:
				section, from = 't', ""
			}
		}
	}
	bundle, err := fhir.Export(fhir.ExportSource{Patient: patient, Continued: after != "", Records: recs, Consents: consents, Now: time.Now(),
		Endpoint: func(org string) string { e, _ := records.Endpoint(committed, org); return e },
		Read: func(rec *records.Record) ([]byte, error) {
			ans, err := s.readAs(r.Context(), key, rec.ID, ReadRequest{Purpose: "patient"})
			if err != nil {
				return nil, errors.New(problemOf(err).Code)
			}
			return ans.Record, nil
		},
		// Read after the records: the trail then holds this page's reads.
		Trail: func() ([]*records.Access, error) {
			if next != "" || section != 't' {
				return nil, nil
			}
			trail, token, err := records.AccessPage(s.Ledger.Committed(), patient, from, false, left, nil)
			if token != "" {
				more('t', token)
			}
			return trail, err
		},
	})
	if err != nil {
		fhirError(w, err)
		return
	}
	if next != "" {
		nq := r.URL.Query()
		nq.Set("after", s.pages.seal(next, r, "after"))
		nq.Set("limit", strconv.Itoa(limit))
		bundle["link"] = []any{fhir.Object{"relation": "next", "url": s.apiBase(r) + r.URL.EscapedPath() + "?" + nq.Encode()}}
		linkNext(w, r, nq)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="primum-export.json"`)
	writeFHIR(w, http.StatusOK, bundle)
}

// searchSet is one page of a search as a searchset Bundle: the next page
// linked (the request's parameters, _after the sealed page token next,
// _count the page size) when there is one; the total known only when the
// first page is the whole answer (counting every match would read them
// all).
func (s *server) searchSet(r *http.Request, typ string, page []fhir.Object, next, after string, count int) fhir.Object {
	total, nextURL := -1, ""
	if next == "" && after == "" {
		total = len(page)
	}
	if next != "" {
		nq := r.URL.Query()
		nq.Set("_after", s.pages.seal(next, r, "_after"))
		nq.Set("_count", strconv.Itoa(count))
		nextURL = s.fhirBase(r) + "/" + typ + "?" + nq.Encode()
	}
	return fhir.SearchSet(s.fhirBase(r)+r.URL.RequestURI()[len("/fhir"):], nextURL, s.fhirBase(r), page, total)
}

// researchStudies: GET /fhir/ResearchStudy[?_count=&_after=] — the trial
// registry, public, a page at a time (as GET /api/v1/trials).
func (s *server) researchStudies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := searchParams(q, "ResearchStudy"); err != nil {
		fhirError(w, err)
		return
	}
	count, after, err := s.searchPage(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	list, next, err := trials.Page(s.Ledger.Committed(), after, count)
	if err != nil {
		fhirError(w, err)
		return
	}
	page := make([]fhir.Object, 0, len(list))
	for _, t := range list {
		page = append(page, fhir.ResearchStudy(t))
	}
	writeFHIR(w, http.StatusOK, s.searchSet(r, "ResearchStudy", page, next, after, count))
}

// researchSubjects: GET /fhir/ResearchSubject?study=ID[&_count=&_after=] —
// a trial's enrolments, as the caller may read them (as GET
// /api/v1/trials/{id}/participants).
func (s *server) researchSubjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := searchParams(q, "ResearchSubject", "study"); err != nil {
		fhirError(w, err)
		return
	}
	committed := s.Ledger.Committed()
	caller, err := s.knownCaller(r, committed)
	if err != nil {
		fhirError(w, err)
		return
	}
	study := strings.TrimPrefix(q.Get("study"), "ResearchStudy/")
	if study == "" {
		fhirError(w, errBadRequest.Wrapf("study=<trial id> is required"))
		return
	}
	count, after, err := s.searchPage(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	t, err := trials.Get(committed, study)
	if err != nil {
		fhirError(w, err)
		return
	}
	list, next, err := trials.Enrolments(committed, t, caller, after, count)
	if err != nil {
		fhirError(w, err)
		return
	}
	page := make([]fhir.Object, 0, len(list))
	for _, p := range list {
		page = append(page, fhir.ResearchSubject(p))
	}
	writeFHIR(w, http.StatusOK, s.searchSet(r, "ResearchSubject", page, next, after, count))
}

// searchParams refuses a search parameter other than named ones and the
// paging ones (_count, _after; _format is the facade's), naming those
// typ's search takes.
func searchParams(q url.Values, typ string, named ...string) error {
	takes := append(slices.Clone(named), "_count", "_after")
	for k := range q {
		if !slices.Contains(takes, k) && k != "_format" {
			return errBadRequest.Wrapf("unsupported search parameter %q for %s (%s)", k, typ, strings.Join(takes, ", "))
		}
	}
	return nil
}

// searchPage reads a search's page: _count (1-1000, default 100) and the
// opened _after token.
func (s *server) searchPage(r *http.Request) (count int, after string, err error) {
	count = 100
	if v := r.URL.Query().Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, "", errBadRequest.Wrapf("_count must be 1-1000 (a search reads its page only: it does not count every match)")
		}
		count = n
	}
	after, err = s.pages.open(r.URL.Query().Get("_after"), r, "_after")
	return count, after, err
}

// fhirClaim: POST /fhir/Claim — an R4 Claim submitted for adjudication,
// signed with the key the bearer token names (a provider or one of its
// practitioners). The ledger adjudicates it in its block; the answer is
// the ClaimResponse (201), or the ledger's refusal as an OperationOutcome.
func (s *server) fhirClaim(w http.ResponseWriter, r *http.Request) {
	key, err := s.heldKey(r, tokens.ScopeAct)
	if err != nil {
		fhirError(w, err)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		fhirError(w, err)
		return
	}
	if _, err := fhir.ParseResource(b); err != nil {
		fhirError(w, errFHIRInvalid.Wrapf("%v", err))
		return
	}
	body, err := fhir.ParseClaim(b)
	if err != nil {
		fhirError(w, errFHIRInvalid.Wrapf("%v", err))
		return
	}
	if ok, delay := s.limiter.allow(string(key.Public().(ed25519.PublicKey))); !ok {
		writeRateLimited(w, delay)
		return
	}
	if _, err := s.sendAs(r.Context(), key, claims.TypeSubmit, body); err != nil {
		fhirError(w, err)
		return
	}
	c, err := claims.GetClaim(s.Ledger.Committed(), body.ID)
	if err != nil {
		fhirError(w, err)
		return
	}
	w.Header().Set("Location", s.fhirBase(r)+"/ClaimResponse/"+c.ID)
	writeFHIR(w, http.StatusCreated, fhir.ClaimResponse(c))
}

// explanations: GET /fhir/ExplanationOfBenefit?patient=<pseudonym> — the
// patient's explanations of benefit, newest first, to the patient
// themself (each pseudonym asks for its own) and the regulator.
func (s *server) explanations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := searchParams(q, "ExplanationOfBenefit", "patient"); err != nil {
		fhirError(w, err)
		return
	}
	committed := s.Ledger.Committed()
	caller, err := s.knownCaller(r, committed)
	if err != nil {
		fhirError(w, err)
		return
	}
	patient := strings.TrimPrefix(q.Get("patient"), "Patient/")
	if patient == "" {
		fhirError(w, errBadRequest.Wrapf("patient=<your pseudonym> is required"))
		return
	}
	if caller.ID != patient && !caller.IsRegulator() {
		fhirError(w, ledger.ErrNoStanding.Wrapf("a patient's explanations of benefit are theirs (and the regulator's) to search"))
		return
	}
	count, after, err := s.searchPage(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	list, next, err := claims.OfPatient(committed, patient, after, count)
	if err != nil {
		fhirError(w, err)
		return
	}
	page := make([]fhir.Object, 0, len(list))
	for _, c := range list {
		page = append(page, fhir.ExplanationOfBenefit(c))
	}
	writeFHIR(w, http.StatusOK, s.searchSet(r, "ExplanationOfBenefit", page, next, after, count))
}
