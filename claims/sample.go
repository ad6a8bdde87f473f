package claims

// A small, realistic sample of the reference data (not the licensed full
// sets: ICD-10-CM is public, CPT is the AMA's; these CPT-shaped codes and
// their short descriptions are for demonstration), and a policy an
// insurer could publish. The demo, the tests and the benchmark use them.

// SampleCodes is a code table: diagnoses and procedures in use.
var SampleCodes = []CodeEntry{
	{System: "icd10cm", Code: "E11.9", Display: "Type 2 diabetes mellitus without complications"},
	{System: "icd10cm", Code: "E11.65", Display: "Type 2 diabetes mellitus with hyperglycemia"},
	{System: "icd10cm", Code: "E78.5", Display: "Hyperlipidemia, unspecified"},
	{System: "icd10cm", Code: "I10", Display: "Essential (primary) hypertension"},
	{System: "icd10cm", Code: "J06.9", Display: "Acute upper respiratory infection, unspecified"},
	{System: "icd10cm", Code: "J45.909", Display: "Unspecified asthma, uncomplicated"},
	{System: "icd10cm", Code: "M17.11", Display: "Unilateral primary osteoarthritis, right knee"},
	{System: "icd10cm", Code: "M54.50", Display: "Low back pain, unspecified"},
	{System: "icd10cm", Code: "N18.3", Display: "Chronic kidney disease, stage 3 (moderate)"},
	{System: "icd10cm", Code: "R07.9", Display: "Chest pain, unspecified"},
	{System: "icd10cm", Code: "S93.401A", Display: "Sprain of unspecified ligament of right ankle, initial encounter"},
	{System: "icd10cm", Code: "Z00.00", Display: "Encounter for general adult medical examination without abnormal findings"},
	{System: "cpt", Code: "99202", Display: "Office visit, new patient, straightforward"},
	{System: "cpt", Code: "99203", Display: "Office visit, new patient, low complexity"},
	{System: "cpt", Code: "99204", Display: "Office visit, new patient, moderate complexity"},
	{System: "cpt", Code: "99205", Display: "Office visit, new patient, high complexity"},
	{System: "cpt", Code: "99211", Display: "Office visit, established patient, minimal"},
	{System: "cpt", Code: "99212", Display: "Office visit, established patient, straightforward"},
	{System: "cpt", Code: "99213", Display: "Office visit, established patient, low complexity"},
	{System: "cpt", Code: "99214", Display: "Office visit, established patient, moderate complexity"},
	{System: "cpt", Code: "99215", Display: "Office visit, established patient, high complexity"},
	{System: "cpt", Code: "36415", Display: "Routine venipuncture"},
	{System: "cpt", Code: "80048", Display: "Basic metabolic panel"},
	{System: "cpt", Code: "80053", Display: "Comprehensive metabolic panel"},
	{System: "cpt", Code: "83036", Display: "Hemoglobin A1c"},
	{System: "cpt", Code: "85025", Display: "Complete blood count with differential"},
	{System: "cpt", Code: "93000", Display: "Electrocardiogram, complete"},
	{System: "cpt", Code: "93005", Display: "Electrocardiogram, tracing only"},
	{System: "cpt", Code: "93010", Display: "Electrocardiogram, interpretation and report only"},
	{System: "cpt", Code: "71046", Display: "Chest X-ray, 2 views"},
	{System: "cpt", Code: "20610", Display: "Arthrocentesis, major joint"},
	{System: "cpt", Code: "96372", Display: "Therapeutic injection, subcutaneous or intramuscular"},
	{System: "cpt", Code: "97110", Display: "Therapeutic exercise, each 15 minutes"},
	{System: "cpt", Code: "15780", Display: "Dermabrasion, total face"},
	{System: "hcpcs", Code: "J3301", Display: "Injection, triamcinolone acetonide, per 10 mg"},
	{System: "hcpcs", Code: "G0439", Display: "Annual wellness visit, subsequent"},
}

// SampleCodeUpdate is a later code table: a code split into more
// specific ones (the old one not valid from its date).
var SampleCodeUpdate = []CodeEntry{
	{System: "icd10cm", Code: "N18.3", Display: "Chronic kidney disease, stage 3 (moderate)", Retired: true},
	{System: "icd10cm", Code: "N18.30", Display: "Chronic kidney disease, stage 3 unspecified"},
	{System: "icd10cm", Code: "N18.31", Display: "Chronic kidney disease, stage 3a"},
}

// SamplePTP are NCCI-style procedure pairs.
var SamplePTP = []PTPEntry{
	{Column1: "93000", Column2: "93005", Indicator: 0},
	{Column1: "93000", Column2: "93010", Indicator: 0},
	{Column1: "80053", Column2: "80048", Indicator: 0},
	{Column1: "20610", Column2: "96372", Indicator: 1},
	{Column1: "99215", Column2: "99213", Indicator: 0},
	{Column1: "99215", Column2: "99214", Indicator: 0},
}

// SampleMUE are medically unlikely edits.
var SampleMUE = []MUEEntry{
	{Code: "99202", Units: 1}, {Code: "99203", Units: 1}, {Code: "99204", Units: 1}, {Code: "99205", Units: 1},
	{Code: "99211", Units: 1}, {Code: "99212", Units: 1}, {Code: "99213", Units: 1}, {Code: "99214", Units: 1}, {Code: "99215", Units: 1},
	{Code: "36415", Units: 2}, {Code: "80053", Units: 1}, {Code: "83036", Units: 2}, {Code: "93000", Units: 3},
	{Code: "20610", Units: 2}, {Code: "96372", Units: 4}, {Code: "97110", Units: 6}, {Code: "J3301", Units: 8},
}

// SampleRuleSet is a realistic policy: a $500 deductible, 20%
// coinsurance, a $3,000 out-of-pocket maximum, a fee schedule, and rules
// a claims examiner would recognise.
func SampleRuleSet() RuleSet {
	return RuleSet{
		Plan: Plan{Name: "CareShield Gold", Deductible: 500_00, CoinsurancePercent: 20, OOPMax: 3000_00},
		Fees: []Fee{
			{"99202", 7400}, {"99203", 11300}, {"99204", 16900}, {"99205", 22300},
			{"99211", 2400}, {"99212", 5700}, {"99213", 9200}, {"99214", 13100}, {"99215", 18400},
			{"36415", 300}, {"80048", 900}, {"80053", 1100}, {"83036", 1300}, {"85025", 800},
			{"93000", 1700}, {"93005", 900}, {"93010", 800}, {"71046", 3000},
			{"20610", 6500}, {"96372", 2500}, {"97110", 3000}, {"J3301", 200}, {"G0439", 13000},
		},
		Lists: []CodeList{
			{Name: "diabetes_dx", Codes: []string{"E11.9", "E11.65"}},
			{Name: "cosmetic", Codes: []string{"15780"}},
			{Name: "preventive", Codes: []string{"G0439", "Z00.00"}},
		},
		Rules: []Rule{
			{ID: "cosmetic-excluded", Doc: "Cosmetic procedures are not covered.",
				When: `line.code in lists["cosmetic"]`, Outcome: Denied, Reason: "CO-96"},
			{ID: "hba1c-needs-diabetes", Doc: "An HbA1c test is covered to monitor a diagnosed diabetes.",
				When: `line.code == "83036" && !line.dx.exists(d, d in lists["diabetes_dx"])`, Outcome: Denied, Reason: "CO-50"},
			{ID: "preventive-no-cost-share", Doc: "The annual wellness visit is paid in full at the fee schedule.",
				When: `line.code in lists["preventive"]`, Outcome: Covered, Waive: true},
			{ID: "imaging-over-500-review", Doc: "Imaging charged over $500 a line is reviewed by an examiner.",
				When: `line.code == "71046" && line.charge > 50000`, Outcome: Pended, Reason: "CO-133"},
			{ID: "high-level-visit-review", Doc: "A level-5 visit with a single routine diagnosis is reviewed.",
				When: `line.code == "99215" && claim.dx.size() == 1 && claim.dx[0] in ["J06.9", "Z00.00"]`, Outcome: Pended, Reason: "CO-133"},
		},
	}
}
