package records

import (
	"slices"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// EmergencyView is how long a granted emergency (break-glass) access lets
// its practitioner see the rest of the patient's records index.
const EmergencyView = 24 * time.Hour

// View is what one caller may see about one patient: the rule behind
// every read of personal metadata (records index, consents, access trail,
// cases). Least privilege: the patient sees everything about themself; a
// practitioner or organisation sees the records a consent in force covers
// and those its organisation holds, the consents that name it and the
// trail entries of its own and its organisation's requests and of the
// records its organisation holds; a
// practitioner who was granted an emergency access in the last
// EmergencyView sees the whole index; the regulator sees the trail, the
// consents and the cases (the audit), not the records index.
type View struct {
	Patient   string
	caller    ledger.Signer
	self      bool
	regulator bool
	org       string // the caller's organisation: itself, or the one credentialing a practitioner
	consents  []*consent.Consent
	emergency bool
	custodian bool // the caller's organisation holds at least one of the patient's records
}

// ViewOf works out what caller may see about patient at time now, with a
// bounded number of reads whatever the patient's history (it runs before
// a stranger is refused): the consents naming the caller or its
// organisation (the pair index: at most 2 × consent.MaxLivePerGrantee
// live ones), at most ledger.MaxPageScan of the patient's index entries to
// find one its organisation holds, and, for a practitioner, the trail
// newest first back to EmergencyView ago (at most ledger.MaxPageScan
// entries).
func ViewOf(r ledger.Reader, caller ledger.Signer, patient string, now time.Time) (*View, error) {
	v := &View{Patient: patient, caller: caller, regulator: caller.IsRegulator()}
	switch caller.Kind {
	case ledger.KindPatient:
		v.self = caller.ID == patient
		return v, nil
	case ledger.KindOrganisation:
		v.org = caller.ID
	case ledger.KindPractitioner:
		v.org = caller.OrgID
	default:
		return v, nil
	}
	grantees := []string{caller.ID}
	if v.org != caller.ID {
		grantees = append(grantees, v.org)
	}
	for _, g := range grantees {
		named, err := consent.Naming(r, patient, g)
		if err != nil {
			return nil, err
		}
		for _, c := range named {
			if c.Active(now) {
				v.consents = append(v.consents, c)
			}
		}
	}
	examined := 0
	var gerr error
	err := r.Iterate(ledger.Key(prefixByPatient, patient, ""), func(key, _ []byte) bool {
		if examined++; examined > ledger.MaxPageScan {
			return false
		}
		var rec *Record
		if rec, gerr = lastPart(Get)(r, string(key[len(prefixByPatient):])); gerr != nil {
			return false
		}
		v.custodian = rec.Custodian == v.org
		return !v.custodian
	})
	if err == nil {
		err = gerr
	}
	if err != nil {
		return nil, err
	}
	if caller.Kind == ledger.KindPractitioner {
		since := now.Add(-EmergencyView).UTC().Format(time.RFC3339)
		examined := 0
		prefix := ledger.Key(prefixAccByPat, patient, "")
		err := ledger.Scan(r, prefix, nil, true, func(key, _ []byte) bool {
			if examined++; examined > ledger.MaxPageScan {
				return false
			}
			var a *Access
			if a, gerr = lastPart(GetAccess)(r, string(key[len(prefixAccByPat):])); gerr != nil || a.Time < since {
				return false
			}
			v.emergency = a.Emergency && a.Outcome == Granted && a.Requester == caller.ID
			return !v.emergency
		})
		if err == nil {
			err = gerr
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Standing refuses a caller with no standing with the patient; index says
// whether the read is of the records index (which the regulator's audit
// does not cover) rather than of the trail, consents or cases.
func (v *View) Standing(index bool) error {
	if v.self || v.custodian || v.emergency || len(v.consents) > 0 || (v.regulator && !index) {
		return nil
	}
	return ledger.ErrNoStanding
}

// Record reports whether the caller may see a record's index entry.
func (v *View) Record(rec *Record) bool {
	if v.self || v.emergency || (v.org != "" && rec.Custodian == v.org) {
		return true
	}
	ref := consent.RecordRef{ID: rec.ID, Patient: rec.Patient, Category: rec.Category}
	return slices.ContainsFunc(v.consents, func(c *consent.Consent) bool { return c.Scope.Covers(ref) })
}

// Consent reports whether the caller may see a consent: the patient and
// the regulator all of them, others those that name them or their
// organisation.
func (v *View) Consent(c *consent.Consent) bool {
	return v.self || v.regulator || c.Grantee == v.caller.ID || (v.org != "" && c.Grantee == v.org)
}

// Access reports whether the caller may see a trail entry: the patient
// and the regulator all of them; others their own accesses and those of
// the records their organisation holds.
func (v *View) Access(a *Access) bool {
	return v.self || v.regulator || a.Requester == v.caller.ID || (v.org != "" && (a.Custodian == v.org || a.RequesterOrg == v.org))
}

// Case reports whether the caller may see a second-opinion case: its
// patient, requester and specialist, and the regulator.
func (v *View) Case(c *Case) bool {
	return v.self || v.regulator || c.Requester == v.caller.ID || c.Specialist == v.caller.ID
}

// Sees says whether the caller may see item: a *Record, *consent.Consent,
// *Access or *Case (ledger.Viewer); anything else, no.
func (v *View) Sees(item any) bool {
	switch x := item.(type) {
	case *Record:
		return v.Record(x)
	case *consent.Consent:
		return v.Consent(x)
	case *Access:
		return v.Access(x)
	case *Case:
		return v.Case(x)
	}
	return false
}

// SeesRecord says whether caller may see one record's index entry, looked
// up by its id: whoever its View shows it to, and whoever may ask its
// custodian for it (the ledger would log their request: a practitioner of
// a care provider, an identity a consent of the patient names). The id is
// the pointer they were given (a referral, a letter); the patient's list
// of records stays with the patient's circle.
func SeesRecord(r ledger.Reader, caller ledger.Signer, rec *Record, now time.Time) (bool, error) {
	if caller.ID == "" || caller.Kind == ledger.KindUnregistered {
		return false, nil
	}
	view, err := ViewOf(r, caller, rec.Patient, now)
	if err != nil || view.Record(rec) {
		return err == nil, err
	}
	return standing(r, &identity.Identity{ID: caller.ID, Kind: caller.Kind, OrgID: caller.OrgID}, rec), nil
}
