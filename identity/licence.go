package identity

import (
	"errors"
	"unicode/utf8"

	"github.com/primum-health/primum/ledger"
)

// A regulator suspends a practitioner's licence, not a key: a suspension
// that a new key under the same licence escaped would stop nobody. So
// practitioners are indexed by licence (lic/<LicenceKey>/<id>), and
//
//   - a registration is refused while an identity holding the licence is
//     suspended by a regulator, or was revoked by one (licence_suspended);
//     an organisation's own suspension or revocation is about its own
//     credential and holds no other organisation back, since any member
//     can register any licence and could otherwise block a real
//     practitioner everywhere by registering and suspending a copy;
//   - a regulator's status change applies to every identity holding the
//     licence (setPractitionerStatus);
//   - a licence is held by at most MaxPerLicence identities (licence_limit),
//     which bounds the work of both, and by at most MaxPerOrgLicence of one
//     organisation, so that one organisation cannot fill a licence.
//
// The index holds what may still matter: an organisation's own revocation
// ends its credential and holds nothing, so it frees the entry, while a
// regulator's revocation stays indexed for good.

// MaxPerLicence bounds the practitioner identities one licence may have
// (several organisations, a key replaced by a new registration): it bounds
// what a registration and a regulator's status change read and write.
const MaxPerLicence = 16

// MaxPerOrgLicence bounds the identities one organisation holds under one
// licence: a practitioner and a replacement key registered before the old
// one is revoked. Filling a licence takes MaxPerLicence/MaxPerOrgLicence
// organisations acting together, each named on the ledger.
const MaxPerOrgLicence = 2

// LicenceKey is the form under which a licence is indexed and compared: its
// ASCII letters upper-cased and its digits, with spaces and punctuation
// dropped, so that "GMC-7001234", "gmc 7001234" and "GMC7001234" are one
// licence (checkLicence refuses a licence for which it is empty). The form
// is part of the state layout: it must never change without a migration.
func LicenceKey(licence string) string {
	b := make([]byte, 0, len(licence))
	for i := 0; i < len(licence); i++ {
		switch c := licence[i]; {
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b = append(b, c)
		}
	}
	return string(b)
}

// checkLicence validates a licence as written: 1-64 characters of printable
// ASCII, at least one a letter or digit. ASCII only, so that a look-alike
// letter from another script cannot make a licence the index treats as
// another one.
func checkLicence(licence string) error {
	if err := mustLen("licence", licence, 64); err != nil {
		return err
	}
	for i := 0; i < len(licence); i++ {
		if c := licence[i]; c < 0x20 || c > 0x7e {
			return ErrBadLicence.Wrapf("%q has a character outside printable ASCII", licence)
		}
	}
	if LicenceKey(licence) == "" {
		return ErrBadLicence.Wrapf("%q has no letter or digit", licence)
	}
	return nil
}

// licenceHolders reads the identities indexed under a licence key, in id
// order: at most MaxPerLicence, as every write of the index keeps to it.
func licenceHolders(r ledger.Reader, lk string) ([]*Identity, error) {
	return ledger.Indexed(r, licencePrefix(lk), Get)
}

// licenceHold says why p keeps another registration of p's licence from
// being made, or nil: only a regulator's word holds across organisations.
// Only p's credentialing organisation and regulators may set p's status
// (ownPractitioner), so an author other than the organisation is a
// regulator; a suspension from before status_by has no known author and
// counts as the organisation's.
func licenceHold(p *Identity, licence string) error {
	byRegulator := p.StatusBy != "" && p.StatusBy != p.OrgID
	switch {
	case p.Status == StatusSuspended && byRegulator:
		return ErrLicenceSuspended.Wrapf("licence %q: the regulator %s suspended practitioner %s; only the regulator can lift it", licence, p.StatusBy, p.ID)
	case p.Status == StatusRevoked && byRegulator:
		return ErrLicenceSuspended.Wrapf("licence %q: the regulator %s revoked practitioner %s; the licence cannot be registered again", licence, p.StatusBy, p.ID)
	}
	return nil
}

// admitLicence decides whether org may register the practitioner id under
// licence and, if so, indexes it. Entries that hold nothing any more — an
// identity revoked by its organisation, or of an organisation voted out of
// the consortium — do not count and are dropped, so a licence filled by an
// organisation that was then removed is freed again.
func admitLicence(w ledger.Writer, org, licence, id string) error {
	lk := LicenceKey(licence)
	holders, err := licenceHolders(w, lk)
	if err != nil {
		return err
	}
	var stale []string
	own := 0
	for _, p := range holders {
		if err := licenceHold(p, licence); err != nil {
			return err
		}
		owner, err := Get(w, p.OrgID)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		if p.Status == StatusRevoked || err != nil || owner.Status == StatusRemoved {
			stale = append(stale, p.ID)
		} else if p.OrgID == org {
			own++
		}
	}
	if own >= MaxPerOrgLicence {
		return ErrLicenceFull.Wrapf("your organisation already credentials %d practitioner identities under licence %q, the most one organisation may", own, licence)
	}
	if len(holders)-len(stale) >= MaxPerLicence {
		return ErrLicenceFull.Wrapf("licence %q already has %d practitioner identities", licence, len(holders)-len(stale))
	}
	for _, s := range stale {
		w.Delete(licenceKey(lk, s))
	}
	ledger.SetPresent(w, licenceKey(lk, id))
	return nil
}

// licenceStatusChanged follows a change of p's status by signer: an
// organisation's revocation frees p's entry in the index, and a regulator's
// change applies to every other identity holding the licence — a
// suspension or revocation to all that are not revoked, a reinstatement to
// those this regulator suspended. It returns the identities it changed, in
// id order, for their events.
func licenceStatusChanged(w ledger.Writer, signer ledger.Signer, p *Identity) ([]*Identity, error) {
	lk := LicenceKey(p.Licence)
	if signer.OrgType != "regulator" {
		if p.Status == StatusRevoked {
			w.Delete(licenceKey(lk, p.ID))
		}
		return nil, nil
	}
	holders, err := licenceHolders(w, lk)
	if err != nil {
		return nil, err
	}
	var changed []*Identity
	for _, q := range holders {
		if q.ID == p.ID || q.Status == StatusRevoked {
			continue
		}
		if p.Status == StatusActive && (q.Status != StatusSuspended || q.StatusBy != signer.ID) {
			continue
		}
		q.Status, q.StatusNote, q.StatusBy = p.Status, p.StatusNote, signer.ID
		put(w, q)
		changed = append(changed, q)
	}
	return changed, nil
}

// CheckName accepts a name people read (a practitioner's, an
// organisation's): 1 to max bytes of valid UTF-8 with no C0 or C1 control
// character and none of the characters that override the direction text
// is shown in (which could make a name read as another). The rule is a
// fixed list, not Unicode's tables: it runs in block execution, and every
// node, whatever its Go version, must agree.
func CheckName(name string, max int) error {
	if name == "" || len(name) > max || !utf8.ValidString(name) {
		return ErrBadName.Wrapf("%d bytes", len(name))
	}
	for _, r := range name {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return ErrBadName.Wrapf("a control character (U+%04X)", r)
		case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x061c:
			return ErrBadName.Wrapf("a direction-override character (U+%04X)", r)
		}
	}
	return nil
}
