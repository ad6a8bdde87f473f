package demo

// For the external tests: a demo's members and the environment its
// stories run in, without running them.
var (
	NewEnv        = newEnv
	Patients      = patients
	Vouchers      = vouchers
	Practitioners = len(practitioners)
	Records       = len(recordDocs)
)
