package identity

import (
	"slices"
	"time"

	"github.com/primum-health/primum/ledger"
)

// A suspension is of a person's licence at an organisation (or, by a
// regulator, everywhere), not of one key: a second identity registered
// under the same licence must not clear a day the first could not work.
// So each change of a practitioner's status updates, for every
// organisation it concerns, the periods in which the licence could not be
// used there — from the day any identity of the organisation holding the
// licence stopped being active to the day all were active again — and a
// claim for a service on a past date is checked against them (claims). A
// period's days are block days, UTC, both ends included. Periods begin
// with this release: changes made before it are not in them.

// Period is a time a licence could not be used at an organisation.
type Period struct {
	Start  string `json:"start"`         // YYYY-MM-DD, UTC
	End    string `json:"end,omitempty"` // the day it was lifted; "" while it lasts
	Status string `json:"status"`        // suspended or revoked, as it began
	By     string `json:"by"`            // who began it
	Height int64  `json:"height"`
}

func periodPrefix(lk, org string) []byte {
	return append(append(append(append(slices.Clone(prefixStatus), lk...), '/'), org...), '/')
}

// everywhere stands for every organisation in a regulator's periods (an
// organisation's id is 40 hex digits: it cannot be this).
const everywhere = "regulator"

// updatePeriods follows a change of status of changed (identities holding
// one licence) by the signer: for each organisation they belong to, a
// period opens when one of its identities holding the licence is no
// longer active, and closes when all are (an organisation's revocation
// takes its identity out of the licence's index, so it closes the period:
// the credential is gone, a new one may be issued). Bounded: at most
// MaxPerLicence identities are read.
func updatePeriods(ctx *ledger.Context, changed []*Identity) error {
	if len(changed) == 0 {
		return nil
	}
	lk := LicenceKey(changed[0].Licence)
	holders, err := licenceHolders(ctx.State, lk)
	if err != nil {
		return err
	}
	var orgs []string
	for _, p := range changed {
		if !slices.Contains(orgs, p.OrgID) {
			orgs = append(orgs, p.OrgID)
		}
	}
	slices.Sort(orgs)
	// A regulator's change is of the licence everywhere: an organisation
	// that credentials the licence later must not bill the days of it.
	if ctx.Signer.OrgType == "regulator" {
		orgs = append(orgs, everywhere)
	}
	today := ctx.Time.UTC().Format(time.DateOnly)
	for _, org := range orgs {
		status := StatusActive
		for _, h := range holders {
			if h.OrgID == org && h.Status != StatusActive && status == StatusActive {
				status = h.Status
			}
		}
		if org == everywhere {
			status = changed[0].Status
		}
		last, lastKey, err := latestPeriod(ctx.State, lk, org, "")
		if err != nil {
			return err
		}
		switch {
		case status != StatusActive && last != nil && last.End != "" && last.Start == today:
			last.End = "" // lifted and imposed again the same day
			ledger.SetJSON(ctx.State, lastKey, last)
		case status != StatusActive && (last == nil || last.End != ""):
			ledger.SetJSON(ctx.State, append(periodPrefix(lk, org), today...),
				&Period{Start: today, Status: status, By: ctx.Signer.ID, Height: ctx.Height})
		case status == StatusActive && last != nil && last.End == "":
			last.End = today
			ledger.SetJSON(ctx.State, lastKey, last)
		}
	}
	return nil
}

// latestPeriod reads the licence's last period at the organisation that
// began on or before date ("": any), and its key.
func latestPeriod(r ledger.Reader, lk, org, date string) (*Period, []byte, error) {
	prefix := periodPrefix(lk, org)
	var start []byte
	if date != "" {
		start = append(slices.Clone(prefix), date...)
	}
	var p *Period
	var key []byte
	var decodeErr error
	err := ledger.Scan(r, prefix, start, true, func(k, v []byte) bool {
		p, key = new(Period), slices.Clone(k)
		decodeErr = ledger.DecodeState(v, p)
		return false
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, nil, err
	}
	return p, key, nil
}

// InactiveOn returns the period in which the licence could not be used at
// the organisation on date (YYYY-MM-DD, UTC), or nil: a suspension or
// revocation of one of the organisation's identities holding it, or a
// regulator's of the licence (wherever it is held, then or later), at any
// time that day. Two reads.
func InactiveOn(r ledger.Reader, licence, org, date string) (*Period, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, ledger.ErrBadRequest.Wrapf("date %q: YYYY-MM-DD", date)
	}
	for _, at := range []string{org, everywhere} {
		p, _, err := latestPeriod(r, LicenceKey(licence), at, date)
		if err != nil {
			return nil, err
		}
		if p != nil && (p.End == "" || p.End >= date) {
			return p, nil
		}
	}
	return nil, nil
}
