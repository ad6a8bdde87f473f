// Package fhir is Primum's FHIR R4 edge: it checks resources and Bundles a
// custodian ingests, and renders the ledger's consents, access entries,
// record index and pseudonymous patients as R4 resources.
//
// Parsed resources are health data: this package never logs them, and its
// errors name fields and positions, never values.
package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Errors of parsing. Messages never quote the resource.
var (
	ErrNotJSON      = errors.New("not a JSON object")
	ErrResourceType = errors.New("resourceType is missing or not an R4 resource type")
	ErrTypeMismatch = errors.New("resourceType does not match the URL")
	ErrBadID        = errors.New("id must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'")
	ErrBundle       = errors.New("not a usable Bundle")
)

// Resource is one parsed resource: its type, its id (if any) and its exact
// bytes.
type Resource struct {
	Type string
	ID   string
	Raw  json.RawMessage
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ParseResource checks that b is one FHIR R4 resource in JSON: an object
// with a known resourceType, a valid id if it has one, well-formed JSON
// throughout and no duplicate keys at the top level.
func ParseResource(b []byte) (*Resource, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return nil, ErrNotJSON
	}
	var head map[string]json.RawMessage
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, ErrNotJSON
	}
	if err := noDuplicateKeys(b); err != nil {
		return nil, err
	}
	var typ string
	if err := json.Unmarshal(head["resourceType"], &typ); err != nil || !slices.Contains(ResourceTypes, typ) {
		return nil, ErrResourceType
	}
	r := &Resource{Type: typ, Raw: json.RawMessage(b)}
	if raw, ok := head["id"]; ok {
		if err := json.Unmarshal(raw, &r.ID); err != nil || !idPattern.MatchString(r.ID) {
			return nil, ErrBadID
		}
	}
	return r, nil
}

func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return ErrNotJSON
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ErrNotJSON
		}
		k, _ := t.(string)
		if seen[k] {
			return fmt.Errorf("%w: element %q appears twice", ErrNotJSON, k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ErrNotJSON
		}
	}
	return nil
}

// Canonical is a resource's JSON in one form whatever its layout: object
// keys sorted, no whitespace between tokens, strings escaped one way,
// numbers as written. Two copies of a resource that differ only in layout
// (an EHR's export run again, pretty-printed or not) have the same
// canonical form, which is how a custodian tells a resource it holds
// already. Compare it in memory only: kept beside an encrypted record, it
// (or a digest of it) would confirm a guess of the record's content.
func Canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, ErrNotJSON
	}
	return json.Marshal(v)
}

// BundleTypes a custodian may send: each entry becomes one record.
var BundleTypes = []string{"collection", "batch", "transaction", "document", "searchset"}

// MaxBundleEntries bounds one import.
const MaxBundleEntries = 1000

// ParseBundle checks a Bundle and returns its entries' resources.
func ParseBundle(b []byte) (bundleType string, entries []*Resource, err error) {
	r, err := ParseResource(b)
	if err != nil {
		return "", nil, err
	}
	if r.Type != "Bundle" {
		return "", nil, fmt.Errorf("%w: resourceType is %s", ErrBundle, r.Type)
	}
	var bundle struct {
		Type  string `json:"type"`
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBundle, errors.Unwrap(err))
	}
	if !slices.Contains(BundleTypes, bundle.Type) {
		return "", nil, fmt.Errorf("%w: type must be one of %v", ErrBundle, BundleTypes)
	}
	if len(bundle.Entry) == 0 || len(bundle.Entry) > MaxBundleEntries {
		return "", nil, fmt.Errorf("%w: 1 to %d entries", ErrBundle, MaxBundleEntries)
	}
	for i, e := range bundle.Entry {
		res, err := ParseResource(e.Resource)
		if err != nil {
			return "", nil, fmt.Errorf("%w: entry %d: %v", ErrBundle, i, err)
		}
		if res.Type == "Bundle" {
			return "", nil, fmt.Errorf("%w: entry %d is a Bundle", ErrBundle, i)
		}
		entries = append(entries, res)
	}
	return bundle.Type, entries, nil
}

// ResourceTypes are the resource types of FHIR R4 (4.0.1).
var ResourceTypes = []string{
	"Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment", "AppointmentResponse",
	"AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct", "BodyStructure", "Bundle", "CapabilityStatement",
	"CarePlan", "CareTeam", "CatalogEntry", "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse",
	"ClinicalImpression", "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
	"ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
	"CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric", "DeviceRequest",
	"DeviceUseStatement", "DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
	"Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence",
	"EvidenceVariable", "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
	"GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
	"ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide", "InsurancePlan", "Invoice", "Library",
	"Linkage", "List", "Location", "Measure", "MeasureReport", "Media", "Medication", "MedicationAdministration",
	"MedicationDispense", "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
	"MedicinalProductAuthorization", "MedicinalProductContraindication", "MedicinalProductIndication",
	"MedicinalProductIngredient", "MedicinalProductInteraction", "MedicinalProductManufactured",
	"MedicinalProductPackaged", "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "MessageDefinition",
	"MessageHeader", "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation", "ObservationDefinition",
	"OperationDefinition", "OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
	"PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner", "PractitionerRole",
	"Procedure", "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "RequestGroup",
	"ResearchDefinition", "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment",
	"RiskEvidenceSynthesis", "Schedule", "SearchParameter", "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition",
	"StructureDefinition", "StructureMap", "Subscription", "Substance", "SubstanceNucleicAcid", "SubstancePolymer",
	"SubstanceProtein", "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
	"SupplyDelivery", "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet",
	"VerificationResult", "VisionPrescription",
}
