package supply

// GS1 company prefixes held by members. GS1 allocates a company prefix to
// one company, which numbers its products (GTIN), logistic units (SSCC),
// returnable assets (GRAI) and locations (GLN) under it. The ledger learns
// whose prefix is whose from the member itself (supply.claim_prefix), the
// regulator standing for GS1 to settle a dispute (supply.assign_prefix,
// supply.release_prefix). Once a prefix is held, an identifier under it is
// created by its holder only: another member can neither register its
// GTINs nor commission under them, nor create its SSCCs and GRAIs, nor
// declare its GLNs (which would reroute EPCIS shipments meant for it). A
// number under no held prefix is anyone's to create, as before.
//
// Claims never nest: no held prefix is the start of another, so a key falls
// under one at most, and who holds it is found by one read per possible
// prefix length (4 to 12 digits: 9 reads), never a listing.

import (
	"fmt"
	"time"

	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypeClaimPrefix   = "supply.claim_prefix"
	TypeAssignPrefix  = "supply.assign_prefix"
	TypeReleasePrefix = "supply.release_prefix"
)

// MaxPrefixes bounds the company prefixes one member holds.
const MaxPrefixes = 16

// Bodies.
type (
	// ClaimPrefix: a member claims a GS1 company prefix as its own.
	ClaimPrefix struct {
		Prefix string `json:"prefix"`
	}
	// AssignPrefix: the regulator gives a prefix to a member, taking it
	// from whoever held it.
	AssignPrefix struct {
		Prefix string `json:"prefix"`
		Org    string `json:"org" doc:"the member's organisation id"`
		Reason string `json:"reason" doc:"the allocation it rests on, e.g. a GS1 certificate"`
	}
	// ReleasePrefix: the holder gives a prefix up, or the regulator takes
	// it away (saying why).
	ReleasePrefix struct {
		Prefix string `json:"prefix"`
		Reason string `json:"reason,omitempty" doc:"why (the regulator, taking it away)"`
	}
)

// GetCompanyPrefix reads the claim of exactly prefix.
func GetCompanyPrefix(r ledger.Reader, prefix string) (*CompanyPrefix, error) {
	p, err := readPrefix(r, prefix)
	if err == nil && p == nil {
		err = ErrUnknownPrefix.Wrapf("%s", short(prefix))
	}
	return p, err
}

func readPrefix(r ledger.Reader, prefix string) (*CompanyPrefix, error) {
	var p CompanyPrefix
	found, err := ledger.GetJSON(r, k(prefixCompany, prefix), &p)
	if err != nil || !found {
		return nil, err
	}
	return &p, nil
}

// CoveringPrefix returns the held prefix a code's primary key falls under
// (nil: none). It reads one key per possible prefix length, at most 9.
func CoveringPrefix(r ledger.Reader, c *gs1.Code) (*CompanyPrefix, error) {
	digits := c.CompanyDigits()
	for n := gs1.MinPrefixLen; n <= gs1.MaxPrefixLen && n <= len(digits); n++ {
		if p, err := readPrefix(r, digits[:n]); err != nil || p != nil {
			return p, err
		}
	}
	return nil, nil
}

// Prefixes lists the company prefixes a member holds (at most MaxPrefixes).
func Prefixes(r ledger.Reader, org string) ([]*CompanyPrefix, error) {
	return ledger.Indexed(r, append(k(prefixCompanyOf, org), '/'), GetCompanyPrefix)
}

// PrefixesPage lists every held prefix in prefix order from the page token
// after (ledger.ScanPage).
func PrefixesPage(r ledger.Reader, after string, limit int) ([]*CompanyPrefix, string, error) {
	return ledger.ScanPage[CompanyPrefix](r, prefixCompany, after, limit, nil)
}

// mayCreate refuses an identifier under a company prefix another member
// holds, naming the prefix and its holder so that the sender knows whom to
// ask (or, if the prefix is in fact theirs, to go to the regulator). It
// returns the prefix the code falls under, if any.
func mayCreate(ctx *ledger.Context, c *gs1.Code) (*CompanyPrefix, error) {
	// One primary key, the one the prefix is read from: a code that also
	// carried another would be checked against the wrong prefix.
	keys := 0
	for _, v := range []string{c.GTIN, c.SSCC, c.GRAI, c.GLN} {
		if v != "" {
			keys++
		}
	}
	if keys != 1 {
		return nil, ErrBadCode.Wrapf("%s: %v", label(c), gs1.ErrSeveralKeys)
	}
	p, err := CoveringPrefix(ctx.State, c)
	if err != nil || p == nil || p.Owner == actor(ctx) {
		return p, err
	}
	return nil, ErrPrefixNotYours.Wrapf("%s is under the company prefix %s, held by %s", label(c), p.Prefix, holder(ctx.State, p.Owner))
}

// authoritative says whether a prefix's hold came from the regulator or
// the genesis, rather than from its holder's own claim. A claim of one's
// own needs no proof, so it binds only what is created after it: what
// another member made under the prefix before keeps working for them. Only
// a hold the regulator (standing for GS1) or the founding members gave
// takes back what others made first: their GLNs and their products.
func authoritative(p *CompanyPrefix) bool { return p != nil && p.By != p.Owner }

// label names a code's primary key for a person.
func label(c *gs1.Code) string {
	switch {
	case c.GTIN != "":
		return "GTIN " + c.GTIN
	case c.SSCC != "":
		return "SSCC " + c.SSCC
	case c.GRAI != "":
		return "GRAI " + c.GRAI + c.GRAISerial
	}
	return "GLN " + c.GLN
}

// holder names a member for a person: its name and its id.
func holder(r ledger.Reader, id string) string {
	if m, err := identity.Get(r, id); err == nil && m.Name != "" {
		return fmt.Sprintf("%s (%s)", m.Name, id)
	}
	return id
}

// overlapping returns a held prefix that prefix overlaps: one it starts
// with, itself, or one that starts with it (nil: none). Bounded: one read
// per shorter length, and one listing that stops at its first key.
func overlapping(r ledger.Reader, prefix string) (*CompanyPrefix, error) {
	for n := gs1.MinPrefixLen; n < len(prefix); n++ {
		if p, err := readPrefix(r, prefix[:n]); err != nil || p != nil {
			return p, err
		}
	}
	var p *CompanyPrefix
	var derr error
	err := r.Iterate(k(prefixCompany, prefix), func(_, v []byte) bool {
		p = new(CompanyPrefix)
		derr = ledger.DecodeState(v, p)
		return false
	})
	if err == nil {
		err = derr
	}
	return p, err
}

func overlapError(r ledger.Reader, prefix string, p *CompanyPrefix) error {
	if p.Prefix == prefix {
		return ErrPrefixOverlap.Wrapf("%s is already held by %s", prefix, holder(r, p.Owner))
	}
	return ErrPrefixOverlap.Wrapf("%s overlaps %s, held by %s", prefix, p.Prefix, holder(r, p.Owner))
}

// roomFor refuses a member that already holds MaxPrefixes prefixes.
func roomFor(r ledger.Reader, org string) error {
	n := 0
	err := r.Iterate(append(k(prefixCompanyOf, org), '/'), func(_, _ []byte) bool {
		n++
		return n < MaxPrefixes
	})
	if err == nil && n >= MaxPrefixes {
		err = ErrTooManyPrefixes.Wrapf("%s holds %d", short(org), n)
	}
	return err
}

func checkPrefix(prefix string) error {
	if err := gs1.CheckCompanyPrefix(prefix); err != nil {
		return ErrBadPrefix.Wrapf("%q: %v", short(prefix), err)
	}
	return nil
}

func checkReason(reason string, required bool) error {
	if (required && reason == "") || len(reason) > 300 {
		return ErrBadField.Wrapf("reason (≤300) is required when the regulator assigns or takes away a prefix")
	}
	return nil
}

// hold writes that owner holds prefix, given by the signer.
func hold(ctx *ledger.Context, prefix, owner, reason string) {
	ledger.SetJSON(ctx.State, k(prefixCompany, prefix), CompanyPrefix{Prefix: prefix, Owner: owner, By: ctx.Signer.ID, Reason: reason,
		Time: ctx.Time.Format(time.RFC3339), Height: ctx.Height})
	ledger.SetPresent(ctx.State, k(prefixCompanyOf, owner, prefix))
}

func drop(ctx *ledger.Context, p *CompanyPrefix) {
	ctx.State.Delete(k(prefixCompany, p.Prefix))
	ctx.State.Delete(k(prefixCompanyOf, p.Owner, p.Prefix))
}

func claimPrefix(ctx *ledger.Context, m *ClaimPrefix) error {
	if err := checkPrefix(m.Prefix); err != nil {
		return err
	}
	if p, err := overlapping(ctx.State, m.Prefix); err != nil {
		return err
	} else if p != nil {
		return overlapError(ctx.State, m.Prefix, p)
	}
	if err := roomFor(ctx.State, actor(ctx)); err != nil {
		return err
	}
	hold(ctx, m.Prefix, actor(ctx), "")
	ctx.Emit("supply.prefix_claimed", [2]string{"prefix", m.Prefix}, [2]string{"owner", actor(ctx)})
	return nil
}

func assignPrefix(ctx *ledger.Context, m *AssignPrefix) error {
	if err := checkPrefix(m.Prefix); err != nil {
		return err
	}
	if err := checkReason(m.Reason, true); err != nil {
		return err
	}
	if to, err := identity.InGoodStanding(ctx.State, m.Org, ctx.Time); err != nil || to.Kind != ledger.KindOrganisation {
		return ErrUnknownOrg.Wrapf("%q", short(m.Org))
	}
	// The regulator takes the prefix itself from its holder; a different
	// prefix that overlaps it is released first, deliberately.
	was, err := overlapping(ctx.State, m.Prefix)
	switch {
	case err != nil:
		return err
	case was != nil && was.Prefix != m.Prefix:
		return overlapError(ctx.State, m.Prefix, was)
	case was != nil && was.Owner == m.Org && authoritative(was):
		return ErrPrefixOverlap.Wrapf("%s already holds %s", holder(ctx.State, m.Org), m.Prefix)
	case was != nil && was.Owner == m.Org:
		// The regulator confirms a holder's own claim: from now on the
		// hold takes back what others made under it first (authoritative).
	default:
		if err := roomFor(ctx.State, m.Org); err != nil {
			return err
		}
	}
	from := ""
	if was != nil {
		from = was.Owner
		drop(ctx, was)
	}
	hold(ctx, m.Prefix, m.Org, m.Reason)
	ctx.Emit("supply.prefix_assigned", [2]string{"prefix", m.Prefix}, [2]string{"owner", m.Org}, [2]string{"from", from})
	return nil
}

func releasePrefix(ctx *ledger.Context, m *ReleasePrefix) error {
	if err := checkPrefix(m.Prefix); err != nil {
		return err
	}
	p, err := GetCompanyPrefix(ctx.State, m.Prefix)
	if err != nil {
		return err
	}
	switch {
	case p.Owner == actor(ctx):
		err = checkReason(m.Reason, false)
	case ctx.Signer.IsRegulator():
		err = checkReason(m.Reason, true)
	default:
		err = ErrPrefixNotYours.Wrapf("%s is held by %s: only its holder or the regulator releases it", p.Prefix, holder(ctx.State, p.Owner))
	}
	if err != nil {
		return err
	}
	drop(ctx, p)
	ctx.Emit("supply.prefix_released", [2]string{"prefix", p.Prefix}, [2]string{"owner", p.Owner}, [2]string{"by", ctx.Signer.ID})
	return nil
}
