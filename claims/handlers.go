package claims

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// uncoded is an error no rejection codes: a storage failure, which must
// stop the node rather than become one node's rejection.
func uncoded(err error) bool { return !errors.As(err, new(*ledger.Error)) }

func stamp(ctx *ledger.Context) string { return ctx.Time.UTC().Format(time.RFC3339) }
func today(ctx *ledger.Context) string { return ctx.Time.UTC().Format(time.DateOnly) }

// Check checks a rule set's shape and compiles every expression (type,
// determinism, estimated cost).
func (rs *RuleSet) Check() error {
	p := rs.Plan
	switch {
	case p.Name == "" || len(p.Name) > 60 || !utf8.ValidString(p.Name):
		return ErrBadPolicy.Wrapf("plan.name: 1-60 characters")
	case p.Deductible < 0 || p.Deductible > MaxAmount || p.OOPMax < 0 || p.OOPMax > MaxAmount:
		return ErrBadPolicy.Wrapf("plan: deductible and oop_max are cents, 0 to %d", int64(MaxAmount))
	case p.CoinsurancePercent < 0 || p.CoinsurancePercent > 100:
		return ErrBadPolicy.Wrapf("plan.coinsurance_percent: 0-100")
	case len(rs.Rules) > MaxRules:
		return ErrBadPolicy.Wrapf("at most %d rules", MaxRules)
	case len(rs.Fees) > MaxFees || len(rs.Lists) > MaxLists:
		return ErrBadPolicy.Wrapf("at most %d fees and %d lists", MaxFees, MaxLists)
	case len(rs.Allowed) > MaxExpr:
		return ErrBadRule.Wrapf("allowed: at most %d bytes", MaxExpr)
	}
	seen := map[string]bool{}
	for _, f := range rs.Fees {
		if !aCode.MatchString(f.Code) || f.Cents < 0 || f.Cents > MaxAmount || seen[f.Code] {
			return ErrBadPolicy.Wrapf("fee %q: a code once, cents 0 to %d", f.Code, int64(MaxAmount))
		}
		seen[f.Code] = true
	}
	clear(seen)
	for _, l := range rs.Lists {
		if !aListName.MatchString(l.Name) || seen[l.Name] || len(l.Codes) == 0 || len(l.Codes) > MaxListCodes {
			return ErrBadPolicy.Wrapf("list %q: a name (a-z, 0-9, _) once, 1-%d codes", l.Name, MaxListCodes)
		}
		seen[l.Name] = true
		for _, c := range l.Codes {
			if !aCode.MatchString(c) {
				return ErrBadPolicy.Wrapf("list %s: %q is not a code", l.Name, c)
			}
		}
	}
	clear(seen)
	for i, r := range rs.Rules {
		switch {
		case !aRuleID.MatchString(r.ID) || seen[r.ID]:
			return ErrBadRule.Wrapf("rule %d: an id (1-40 of a-z, 0-9, '-'), once", i+1)
		case len(r.Doc) > 300 || !utf8.ValidString(r.Doc):
			return ErrBadRule.Wrapf("rule %s: doc at most 300 characters", r.ID)
		case r.When == "" || len(r.When) > MaxExpr || len(r.Allowed) > MaxExpr:
			return ErrBadRule.Wrapf("rule %s: when is required; expressions at most %d bytes", r.ID, MaxExpr)
		case r.Outcome != Covered && r.Outcome != Denied && r.Outcome != Pended:
			return ErrBadRule.Wrapf("rule %s: outcome is covered, denied or pended", r.ID)
		case r.Outcome != Covered && !aReason.MatchString(r.Reason):
			return ErrBadRule.Wrapf("rule %s: a %s line needs a reason code like CO-50", r.ID, r.Outcome)
		case r.Reason != "" && !aReason.MatchString(r.Reason):
			return ErrBadRule.Wrapf("rule %s: reason %q is not a group and reason code like CO-50", r.ID, r.Reason)
		case r.Outcome != Covered && (r.Allowed != "" || r.Waive):
			return ErrBadRule.Wrapf("rule %s: only a covered line has an allowed amount or a waived cost share", r.ID)
		}
		seen[r.ID] = true
	}
	_, err := compileCached(rs, rs.Hash())
	return err
}

// CareProviders are the organisation types that bill claims.
var CareProviders = []string{"hospital", "clinic", "lab", "pharmacy"}

func publish(ctx *ledger.Context, b *Publish) error {
	if !anID.MatchString(b.ID) {
		return ErrBadPolicy.Wrapf("id %q", b.ID)
	}
	if _, ok := date(b.Effective); !ok {
		return ErrBadPolicy.Wrapf("effective %q: YYYY-MM-DD", b.Effective)
	}
	if len(b.Reason) > 300 || !utf8.ValidString(b.Reason) {
		return ErrBadPolicy.Wrapf("reason: at most 300 characters")
	}
	if err := b.RuleSet.Check(); err != nil {
		return err
	}
	head, err := GetPolicy(ctx.State, b.ID)
	if err != nil && ledger.AsError(err) != ErrUnknownPolicy {
		return err
	}
	if head == nil {
		head = &PolicyHead{ID: b.ID, Insurer: ctx.Signer.ID}
	}
	if head.Insurer != ctx.Signer.ID {
		return ErrNotInsurer.Wrapf("policy %s is another insurer's", b.ID)
	}
	if head.Version >= MaxVersions {
		return ErrBadPolicy.Wrapf("a policy has at most %d versions: publish a new one", MaxVersions)
	}
	if head.Version > 0 && b.Effective == head.Effective && b.RuleSet.Hash() == head.Hash {
		return ErrNoChange.Wrapf("policy %s version %d", b.ID, head.Version)
	}
	if head.Version > 0 && b.Effective < head.Effective {
		return ErrBadPolicy.Wrapf("a new version is effective on or after the last (%s)", head.Effective)
	}
	p := &Policy{ID: b.ID, Insurer: head.Insurer, Version: head.Version + 1, Effective: b.Effective, Reason: b.Reason,
		Hash: b.RuleSet.Hash(), RuleSet: b.RuleSet, Time: stamp(ctx), Height: ctx.Height}
	head.Version, head.Effective, head.Hash, head.Name, head.Retired = p.Version, p.Effective, p.Hash, b.RuleSet.Plan.Name, ""
	ledger.SetJSON(ctx.State, versionKey(p.ID, p.Version), p)
	ledger.SetJSON(ctx.State, ledger.Key(prefixPolicy, p.ID), head)
	ctx.Emit("claims.published", [2]string{"policy", p.ID}, [2]string{"version", strconv.FormatInt(p.Version, 10)}, [2]string{"hash", p.Hash})
	return nil
}

func retire(ctx *ledger.Context, b *Retire) error {
	if _, ok := date(b.From); !ok {
		return ErrBadPolicy.Wrapf("from %q: YYYY-MM-DD", b.From)
	}
	head, err := GetPolicy(ctx.State, b.ID)
	if err != nil {
		return err
	}
	if head.Insurer != ctx.Signer.ID {
		return ErrNotInsurer.Wrapf("policy %s is another insurer's", b.ID)
	}
	head.Retired = b.From
	ledger.SetJSON(ctx.State, ledger.Key(prefixPolicy, b.ID), head)
	ctx.Emit("claims.retired", [2]string{"policy", b.ID}, [2]string{"from", b.From})
	return nil
}

// policyFor is the version of the coverage's policy in force on day.
func policyFor(r ledger.Reader, id, day string) (*Policy, error) {
	head, err := GetPolicy(r, id)
	if err != nil {
		return nil, err
	}
	if head.Retired != "" && day >= head.Retired {
		return nil, ErrPolicyRetired.Wrapf("%s is retired from %s", id, head.Retired)
	}
	for v := head.Version; v > 0; v-- { // at most MaxVersions
		p, err := GetVersion(r, id, v)
		if err != nil {
			return nil, err
		}
		if p.Effective <= day {
			return p, nil
		}
	}
	return nil, ErrNoPolicyInForce.Wrapf("%s on %s", id, day)
}

func table(ctx *ledger.Context, b *Table) error {
	if !anID.MatchString(b.Version) {
		return ErrBadTable.Wrapf("version %q", b.Version)
	}
	if _, ok := date(b.Effective); !ok {
		return ErrBadTable.Wrapf("effective %q: YYYY-MM-DD", b.Effective)
	}
	n := len(b.Codes) + len(b.PTP) + len(b.MUE)
	var want int
	switch b.Kind {
	case TableCodes:
		want = len(b.Codes)
	case TablePTP:
		want = len(b.PTP)
	case TableMUE:
		want = len(b.MUE)
	default:
		return ErrBadTable.Wrapf("kind %q", b.Kind)
	}
	if n == 0 || n != want || n > MaxTableEntries {
		return ErrBadTable.Wrapf("a %s table holds 1-%d %s entries, and no other kind", b.Kind, MaxTableEntries, b.Kind)
	}
	tk := ledger.Key(prefixTable, b.Kind, b.Effective, b.Version)
	if v, err := ctx.State.Get(tk); err != nil {
		return err
	} else if v != nil {
		return ErrTableExists.Wrapf("%s %s", b.Kind, b.Version)
	}
	seen := map[string]bool{}
	once := func(k string) error {
		if seen[k] {
			return ErrBadTable.Wrapf("%s appears twice", k)
		}
		seen[k] = true
		return nil
	}
	for _, c := range b.Codes {
		if !slices.Contains(Systems, c.System) || !aCode.MatchString(c.Code) || len(c.Display) > 200 || !utf8.ValidString(c.Display) {
			return ErrBadTable.Wrapf("code %s %q: a system (%v), a code, a display of at most 200 characters", c.System, c.Code, Systems)
		}
		if err := once(c.System + " " + c.Code); err != nil {
			return err
		}
	}
	for _, p := range b.PTP {
		if !aCode.MatchString(p.Column1) || !aCode.MatchString(p.Column2) || p.Column1 == p.Column2 || (p.Indicator != 0 && p.Indicator != 1 && p.Indicator != 9) {
			return ErrBadTable.Wrapf("ptp %q/%q: two codes, indicator 0, 1 or 9", p.Column1, p.Column2)
		}
		if err := once(p.Column1 + " " + p.Column2); err != nil {
			return err
		}
	}
	// One PTP row per column-2 code (its column-1 partners, complete), and
	// one per column-1 code, to find a pair billed the other way round.
	byCol2, err := ptpRows(b.PTP, func(p PTPEntry) string { return p.Column2 }, "column-1")
	if err != nil {
		return err
	}
	byCol1, err := ptpRows(b.PTP, func(p PTPEntry) string { return p.Column1 }, "column-2")
	if err != nil {
		return err
	}
	for _, m := range b.MUE {
		if !aCode.MatchString(m.Code) || m.Units < 1 || m.Units > MaxUnits {
			return ErrBadTable.Wrapf("mue %q: a code, 1-%d units", m.Code, MaxUnits)
		}
		if err := once(m.Code); err != nil {
			return err
		}
	}
	for _, c := range b.Codes {
		ledger.SetJSON(ctx.State, ledger.Key(prefixCode, c.System, c.Code, b.Effective), c)
	}
	for _, r := range byCol2 {
		ledger.SetJSON(ctx.State, ledger.Key(prefixPTP, r.code, b.Effective), r.entries)
	}
	for _, r := range byCol1 {
		ledger.SetJSON(ctx.State, ledger.Key(prefixPTP1, r.code, b.Effective), r.entries)
	}
	for _, m := range b.MUE {
		ledger.SetJSON(ctx.State, ledger.Key(prefixMUE, m.Code, b.Effective), m)
	}
	raw, _ := json.Marshal(b)
	h := sha256.Sum256(raw)
	ledger.SetJSON(ctx.State, tk, &TableVersion{Kind: b.Kind, Version: b.Version, Effective: b.Effective, Entries: int64(n),
		Hash: hex.EncodeToString(h[:]), Time: stamp(ctx), Height: ctx.Height})
	ctx.Emit("claims.table", [2]string{"kind", b.Kind}, [2]string{"version", b.Version})
	return nil
}

// ptpRow is one code's procedure pairs in a PTP table.
type ptpRow struct {
	code    string
	entries []PTPEntry
}

// ptpRows groups a table's pairs by the code by gives, in the order the
// codes first appear, each code with at most MaxPTPPartners partners
// (whose column other names, for the refusal).
func ptpRows(pairs []PTPEntry, by func(PTPEntry) string, other string) ([]ptpRow, error) {
	var rows []ptpRow
	at := map[string]int{}
	for _, p := range pairs {
		i, ok := at[by(p)]
		if !ok {
			i, at[by(p)] = len(rows), len(rows)
			rows = append(rows, ptpRow{code: by(p)})
		}
		if rows[i].entries = append(rows[i].entries, p); len(rows[i].entries) > MaxPTPPartners {
			return nil, ErrBadTable.Wrapf("ptp: at most %d %s codes for %s", MaxPTPPartners, other, by(p))
		}
	}
	return rows, nil
}

func cover(ctx *ledger.Context, b *Cover) error {
	start, ok1 := date(b.Start)
	end, ok2 := date(b.End)
	if !anID.MatchString(b.ID) || !ok1 || !ok2 || end.Before(start) {
		return ErrBadCoverage.Wrapf("id %q, period %s to %s", b.ID, b.Start, b.End)
	}
	if v, err := ctx.State.Get(ledger.Key(prefixCoverage, b.ID)); err != nil {
		return err
	} else if v != nil {
		return ErrCoverageExists.Wrapf("%q", b.ID)
	}
	head, err := GetPolicy(ctx.State, b.Policy)
	if err != nil {
		return err
	}
	if head.Insurer != ctx.Signer.ID {
		return ErrNotInsurer.Wrapf("policy %s is another insurer's", b.Policy)
	}
	// The member agreed to be this insurer's: a payment consent naming it
	// (an id that is no patient has none, and reads the same).
	if c, err := consent.AcceptPurpose(ctx.State, ctx.Signer, b.Member, "payment", ctx.Time); err != nil {
		return err
	} else if c == nil {
		return ErrNoPaymentConsent.Wrapf("the member grants you a payment consent before you register their coverage")
	}
	ledger.SetJSON(ctx.State, ledger.Key(prefixCoverage, b.ID), &Coverage{ID: b.ID, Insurer: ctx.Signer.ID, Member: b.Member, Policy: b.Policy, Start: b.Start, End: b.End, Height: ctx.Height})
	ctx.Emit("claims.covered", [2]string{"coverage", b.ID}, [2]string{"policy", b.Policy})
	return nil
}

// Check checks a claim's shape, before any read: now is the block time.
func (b *Submit) Check(now time.Time) error {
	day, ok := date(b.ServiceDate)
	switch {
	case !anID.MatchString(b.ID):
		return ErrBadClaim.Wrapf("id %q", b.ID)
	case !ok:
		return ErrBadClaim.Wrapf("service_date %q: YYYY-MM-DD", b.ServiceDate)
	case day.After(now):
		return ErrBadClaim.Wrapf("service_date %s is in the future", b.ServiceDate)
	case now.Sub(day) > MaxFilingDays*24*time.Hour:
		return ErrBadClaim.Wrapf("service_date %s is more than %d days ago (timely filing)", b.ServiceDate, MaxFilingDays)
	case len(b.Diagnoses) == 0 || len(b.Diagnoses) > MaxDiagnoses:
		return ErrBadClaim.Wrapf("1-%d diagnoses", MaxDiagnoses)
	case len(b.Lines) == 0 || len(b.Lines) > MaxLines:
		return ErrBadClaim.Wrapf("1-%d lines", MaxLines)
	case len(b.Records) > MaxRecords:
		return ErrBadClaim.Wrapf("at most %d supporting records", MaxRecords)
	}
	for _, d := range b.Diagnoses {
		if !aCode.MatchString(d) {
			return ErrBadClaim.Wrapf("diagnosis %q is not a code", d)
		}
	}
	var total int64
	for i, l := range b.Lines {
		switch {
		case !aCode.MatchString(l.Code):
			return ErrBadClaim.Wrapf("line %d: code %q", i+1, l.Code)
		case l.Units < 1 || l.Units > MaxUnits:
			return ErrBadClaim.Wrapf("line %d: units 1-%d", i+1, MaxUnits)
		case l.Charge < 0 || l.Charge > MaxAmount:
			return ErrBadClaim.Wrapf("line %d: charge is cents, 0 to %d", i+1, int64(MaxAmount))
		case len(l.Modifiers) > MaxModifiers:
			return ErrBadClaim.Wrapf("line %d: at most %d modifiers", i+1, MaxModifiers)
		case len(l.Dx) == 0 || len(l.Dx) > 4:
			return ErrBadClaim.Wrapf("line %d: 1-4 diagnosis pointers", i+1)
		}
		for _, m := range l.Modifiers {
			if !aModifier.MatchString(m) {
				return ErrBadClaim.Wrapf("line %d: modifier %q", i+1, m)
			}
		}
		for _, p := range l.Dx {
			if p < 1 || p > int64(len(b.Diagnoses)) {
				return ErrBadClaim.Wrapf("line %d: diagnosis pointer %d (there are %d)", i+1, p, len(b.Diagnoses))
			}
		}
		total += l.Charge
	}
	if total > MaxAmount {
		return ErrBadClaim.Wrapf("the claim's total is over %d cents", int64(MaxAmount))
	}
	return nil
}

func submit(ctx *ledger.Context, b *Submit) error {
	if err := b.Check(ctx.Time); err != nil {
		return err
	}
	if v, err := ctx.State.Get(ledger.Key(prefixClaim, b.ID)); err != nil {
		return err
	} else if v != nil {
		return ErrClaimExists.Wrapf("%q", b.ID)
	}
	provider := ctx.Signer.ActsFor()
	org, err := identity.Get(ctx.State, provider)
	if err != nil {
		return err
	}
	if !slices.Contains(CareProviders, org.OrgType) {
		return ErrNotProvider
	}
	// The rendering practitioner: active, the provider's, credential
	// valid on the date of service.
	practitioner := b.Practitioner
	if practitioner == "" && ctx.Signer.Kind == ledger.KindPractitioner {
		practitioner = ctx.Signer.ID
	}
	in := Inputs{Provider: ProviderInput{OrgType: org.OrgType}, Edits: []Edit{}}
	var suspended *identity.Period
	if practitioner != "" {
		p, err := identity.Get(ctx.State, practitioner)
		if err != nil && uncoded(err) {
			return err
		}
		if err != nil || p.Kind != ledger.KindPractitioner || p.OrgID != provider || p.Status != identity.StatusActive ||
			(p.ValidUntil != "" && p.ValidUntil[:min(10, len(p.ValidUntil))] < b.ServiceDate) {
			return ErrPractitioner.Wrapf("%s", practitioner)
		}
		in.Provider.Profession, in.Provider.Specialty = p.Profession, p.Specialty
		// Active now, but the licence could not be used here at some time
		// on the date of service (a suspension lifted since, or one of
		// another identity holding the licence): the lines are denied and
		// the payer and the regulator see it.
		if suspended, err = identity.InactiveOn(ctx.State, p.Licence, provider, b.ServiceDate); err != nil {
			return err
		}
	}
	// The provider treats the patient (before anything about the
	// patient's coverage is answered): it holds one of the supporting
	// records, or the patient consented to treatment by it (or by the
	// practitioner who signs).
	related := false
	for i, id := range b.Records {
		rec, err := records.Get(ctx.State, id)
		if err != nil && uncoded(err) {
			return err
		}
		if err != nil || rec.Patient != b.Patient {
			return ErrUnknownRecord.Wrapf("supporting record %d", i+1)
		}
		related = related || rec.Custodian == provider
	}
	if !related {
		if c, err := consent.AcceptPurpose(ctx.State, ctx.Signer, b.Patient, "treatment", ctx.Time); err != nil {
			return err
		} else if c == nil {
			return ErrNoRelation
		}
	}
	cov, err := GetCoverage(ctx.State, b.Coverage)
	if err != nil {
		return err
	}
	if cov.Member != b.Patient {
		return ErrUnknownCoverage.Wrapf("%q", b.Coverage)
	}
	if b.ServiceDate < cov.Start || b.ServiceDate > cov.End {
		return ErrNotCovered.Wrapf("%s covers %s to %s", cov.ID, cov.Start, cov.End)
	}
	if c, err := consent.AcceptPurpose(ctx.State, ledger.Signer{ID: cov.Insurer, Kind: ledger.KindOrganisation}, b.Patient, "payment", ctx.Time); err != nil {
		return err
	} else if c == nil {
		return ErrNoPaymentConsent.Wrapf("the patient's consent for payment naming the insurer")
	}
	pol, err := policyFor(ctx.State, cov.Policy, b.ServiceDate)
	if err != nil {
		return err
	}
	// Codes valid on the date of service.
	for i, d := range b.Diagnoses {
		if err := validCode(ctx.State, []string{"icd10cm"}, d, b.ServiceDate, fmt.Sprintf("diagnosis %d", i+1)); err != nil {
			return err
		}
	}
	for i, l := range b.Lines {
		if err := validCode(ctx.State, []string{"cpt", "hcpcs"}, l.Code, b.ServiceDate, fmt.Sprintf("line %d's procedure", i+1)); err != nil {
			return err
		}
	}
	// The member's year so far.
	year := b.ServiceDate[:4]
	var acc Accumulator
	if _, err := ledger.GetJSON(ctx.State, ledger.Key(prefixAcc, cov.ID, year), &acc); err != nil {
		return err
	}
	rs := &pol.RuleSet
	in.Member = MemberInput{Plan: rs.Plan.Name, Deductible: rs.Plan.Deductible, DeductibleMet: acc.DeductibleMet, OOPMax: rs.Plan.OOPMax, OOPMet: acc.OOPMet, CoverageStart: cov.Start}

	c := &Claim{ID: b.ID, Provider: provider, Practitioner: practitioner, Patient: b.Patient, Insurer: cov.Insurer, Coverage: cov.ID,
		Policy: pol.ID, PolicyVersion: pol.Version, RuleSet: pol.Hash, ServiceDate: b.ServiceDate, Diagnoses: b.Diagnoses, Records: b.Records,
		Height: ctx.Height}
	for i, l := range b.Lines {
		line := Line{N: int64(i + 1), Code: l.Code, Modifiers: l.Modifiers, Units: l.Units, Charge: l.Charge, Dx: []string{}}
		for _, p := range l.Dx {
			line.Dx = append(line.Dx, b.Diagnoses[p-1])
		}
		c.Lines = append(c.Lines, line)
	}

	// The edits: duplicates, units, procedure pairs (on this claim and on
	// the provider's earlier claims for the patient that day).
	dayKey := ledger.Key(prefixDay, provider, b.Patient, b.ServiceDate)
	var dayCodes []dayEntry
	if _, err := ledger.GetJSON(ctx.State, dayKey, &dayCodes); err != nil {
		return err
	}
	var signals []Signal
	signal := func(kind string, l *Line, detail string) {
		signals = append(signals, Signal{Kind: kind, Claim: c.ID, Line: l.N, Insurer: c.Insurer, Provider: provider, Code: l.Code, Detail: detail, Time: stamp(ctx), Height: ctx.Height})
	}
	type dupWrite struct {
		k       []byte
		entries []dupEntry
	}
	var dups []dupWrite
	if suspended != nil {
		for i := range c.Lines {
			in.Edits = append(in.Edits, Edit{Line: c.Lines[i].N, Kind: SignalSuspended, With: suspended.Status})
		}
		until := "not lifted"
		if suspended.End != "" {
			until = "lifted " + suspended.End
		}
		signal(SignalSuspended, &c.Lines[0], fmt.Sprintf("the service is dated %s, inside a time practitioner %s's licence could not be used here: %s by %s from %s, %s",
			b.ServiceDate, practitioner, suspended.Status, suspended.By, suspended.Start, until))
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		dk := dupKey(b.Patient, provider, b.ServiceDate, l.Code, l.Modifiers)
		var entries []dupEntry
		if _, err := ledger.GetJSON(ctx.State, dk, &entries); err != nil {
			return err
		}
		for _, w := range dups { // the same service twice on this claim
			if string(w.k) == string(dk) {
				entries = w.entries
			}
		}
		same := slices.ContainsFunc(entries, func(e dupEntry) bool { return e.Insurer == c.Insurer })
		other := slices.IndexFunc(entries, func(e dupEntry) bool { return e.Insurer != c.Insurer })
		switch {
		case same:
			in.Edits = append(in.Edits, Edit{Line: l.N, Kind: SignalDuplicate})
			signal(SignalDuplicate, l, "the same service (patient, provider, date, code, modifiers) was billed to this payer before")
		case other >= 0:
			in.Edits = append(in.Edits, Edit{Line: l.N, Kind: SignalCrossPayer})
			signal(SignalCrossPayer, l, "the same service was billed to another payer: check coordination of benefits")
			o := entries[other]
			signals = append(signals, Signal{Kind: SignalCrossPayer, Claim: o.Claim, Line: o.Line, Insurer: o.Insurer, Provider: provider, Code: l.Code,
				Detail: "the same service was billed to another payer later: check coordination of benefits", Time: stamp(ctx), Height: ctx.Height})
		}
		if len(entries) < MaxDupEntries {
			entries = append(entries, dupEntry{Insurer: c.Insurer, Claim: c.ID, Line: l.N})
		} else {
			in.Edits = append(in.Edits, Edit{Line: l.N, Kind: "limit"})
		}
		dups = append(dups, dupWrite{dk, entries})

		if m, err := inForce[MUEEntry](ctx.State, append(ledger.Key(prefixMUE, l.Code), '/'), b.ServiceDate); err != nil {
			return err
		} else if m != nil {
			in.Edits = append(in.Edits, Edit{Line: l.N, Kind: "mue", Cap: m.Units})
			if l.Units > m.Units {
				signal(SignalUnitsOver, l, fmt.Sprintf("%d units, over the cap of %d", l.Units, m.Units))
			}
		}
		row, err := inForce[[]PTPEntry](ctx.State, append(ledger.Key(prefixPTP, l.Code), '/'), b.ServiceDate)
		if err != nil {
			return err
		}
		if row != nil {
			for _, p := range *row {
				onClaim := slices.ContainsFunc(c.Lines, func(o Line) bool { return o.Code == p.Column1 })
				prior := slices.IndexFunc(dayCodes, func(d dayEntry) bool { return d.Code == p.Column1 && d.Claim != c.ID })
				if !onClaim && prior < 0 {
					continue
				}
				in.Edits = append(in.Edits, Edit{Line: l.N, Kind: "ptp", With: p.Column1, Indicator: p.Indicator, Prior: !onClaim})
				if !onClaim && p.Indicator != 9 {
					signal(SignalUnbundling, l, fmt.Sprintf("billed apart from %s on the same day (%s): an NCCI pair", p.Column1, earlier(ctx, dayCodes[prior], c.Insurer)))
				}
			}
		}
	}
	// The other way round: a code billed now whose column-2 partner was
	// billed on an earlier claim that day (signalled: that line is
	// decided already).
	for i := range c.Lines {
		l := &c.Lines[i]
		row, err := inForce[[]PTPEntry](ctx.State, append(ledger.Key(prefixPTP1, l.Code), '/'), b.ServiceDate)
		if err != nil {
			return err
		}
		if row == nil {
			continue
		}
		for _, p := range *row {
			if prior := slices.IndexFunc(dayCodes, func(d dayEntry) bool { return d.Code == p.Column2 && d.Claim != c.ID }); prior >= 0 && p.Indicator != 9 {
				signal(SignalUnbundling, l, fmt.Sprintf("billed apart from %s on the same day (%s): an NCCI pair", p.Column2, earlier(ctx, dayCodes[prior], c.Insurer)))
			}
		}
	}
	// A same-day or duplicate index full (a provider billing one patient
	// dozens of times a day) checks no more: such a claim waits for review.
	if len(dayCodes) >= MaxDayCodes {
		for _, l := range c.Lines {
			in.Edits = append(in.Edits, Edit{Line: l.N, Kind: "limit"})
		}
	}
	c.Inputs = in
	_, after, err := Adjudicate(c, rs)
	if err != nil {
		return err
	}
	c.Signals = []string{}
	for _, s := range signals {
		if s.Claim == c.ID && !slices.Contains(c.Signals, s.Kind) {
			c.Signals = append(c.Signals, s.Kind)
		}
	}
	c.Steps = []Step{{Status: c.Status, Time: stamp(ctx), Height: ctx.Height, By: ctx.Signer.ID}}

	// Writes.
	others := map[string][]string{}
	ledger.SetJSON(ctx.State, ledger.Key(prefixClaim, c.ID), c)
	ledger.SetJSON(ctx.State, ledger.Key(prefixAcc, cov.ID, year), &Accumulator{DeductibleMet: after.DeductibleMet, OOPMet: after.OOPMet})
	for _, w := range dups {
		ledger.SetJSON(ctx.State, w.k, w.entries)
	}
	for _, l := range c.Lines {
		if len(dayCodes) < MaxDayCodes {
			dayCodes = append(dayCodes, dayEntry{Code: l.Code, Claim: c.ID, Insurer: c.Insurer})
		}
	}
	ledger.SetJSON(ctx.State, dayKey, dayCodes)
	ledger.SetPresent(ctx.State, heightKey(prefixByInsurer, c.Insurer, ctx.Height, c.ID))
	ledger.SetPresent(ctx.State, heightKey(prefixByProvider, provider, ctx.Height, c.ID))
	ledger.SetPresent(ctx.State, heightKey(prefixByPatient, c.Patient, ctx.Height, c.ID))
	if c.Status == StatusPended {
		ledger.SetPresent(ctx.State, ledger.Key(prefixQueue, c.Insurer, c.ID))
	}
	if err := countEM(ctx, c, org.OrgType); err != nil {
		return err
	}
	// A cross-payer duplicate shows on the earlier claim too (at most one
	// a line: the index keeps at most MaxDupEntries billings).
	for _, sg := range signals {
		if sg.Claim == c.ID || slices.Contains(others[sg.Claim], sg.Kind) {
			continue
		}
		o, err := GetClaim(ctx.State, sg.Claim)
		if err != nil {
			return err
		}
		o.Signals = append(o.Signals, sg.Kind)
		others[sg.Claim] = o.Signals
		ledger.SetJSON(ctx.State, ledger.Key(prefixClaim, o.ID), o)
	}
	for i, s := range signals {
		n := strconv.Itoa(i)
		k := binary.BigEndian.AppendUint64(slices.Clone(prefixSignal), uint64(ctx.Height))
		ledger.SetJSON(ctx.State, append(append(append(append(k, '/'), c.ID...), '/'), n...), s)
		ledger.SetJSON(ctx.State, heightKey(prefixSignalIns, s.Insurer, ctx.Height, c.ID, n), s)
	}
	ctx.Emit("claims.submitted", [2]string{"claim", c.ID}, [2]string{"status", c.Status}, [2]string{"insurer", c.Insurer})
	return nil
}

// earlier names an earlier claim for a signal: by its id when it is this
// payer's, else as another payer's (which it must not learn of).
func earlier(_ *ledger.Context, d dayEntry, insurer string) string {
	if d.Insurer == insurer {
		return "claim " + d.Claim
	}
	return "a claim to another payer"
}

// validCode says whether code is in one of systems on day; a refusal names
// it by where it is on the claim (what, such as "diagnosis 2"), not by the
// code, which a transaction's result must not carry.
func validCode(r ledger.Reader, systems []string, code, day, what string) error {
	known := false
	for _, s := range systems {
		e, err := LookupCode(r, s, code, day)
		if err != nil {
			return err
		}
		if e != nil && !e.Retired {
			return nil
		}
		if e != nil {
			known = true
		}
		// A code that only comes into force later is known too.
		var later bool
		if err := ledger.Scan(r, append(ledger.Key(prefixCode, s, code), '/'), nil, false, func(_, _ []byte) bool { later = true; return false }); err != nil {
			return err
		}
		known = known || later
	}
	if known {
		return ErrCodeNotValid.Wrapf("%s, on the date of service (look it up: primum claims code SYSTEM CODE --date %s)", what, day)
	}
	return ErrUnknownCode.Wrapf("%s is in none of %v", what, systems)
}

// EMCounts are a provider's evaluation-and-management visits in a month,
// by level (99211-99215 and 99202-99205: levels 1 to 5).
type EMCounts struct {
	Provider string   `json:"provider"`
	OrgType  string   `json:"org_type"`
	Month    string   `json:"month"`
	Levels   [5]int64 `json:"levels"`
}

var emLevel = map[string]int{"99211": 1, "99202": 2, "99212": 2, "99203": 3, "99213": 3, "99204": 4, "99214": 4, "99205": 5, "99215": 5}

func countEM(ctx *ledger.Context, c *Claim, orgType string) error {
	var levels []int
	for _, l := range c.Lines {
		if lv := emLevel[l.Code]; lv > 0 {
			levels = append(levels, lv)
		}
	}
	if len(levels) == 0 {
		return nil
	}
	month := c.ServiceDate[:7]
	k := ledger.Key(prefixEM, month, c.Provider)
	em := EMCounts{Provider: c.Provider, OrgType: orgType, Month: month}
	if _, err := ledger.GetJSON(ctx.State, k, &em); err != nil {
		return err
	}
	for _, lv := range levels {
		em.Levels[lv-1]++
	}
	ledger.SetJSON(ctx.State, k, &em)
	return nil
}

func review(ctx *ledger.Context, b *Review) error {
	c, err := GetClaim(ctx.State, b.Claim)
	if err != nil {
		return err
	}
	if c.Insurer != ctx.Signer.ActsFor() { // not yours: not yours to know of
		return ErrUnknownClaim.Wrapf("%q", c.ID)
	}
	if c.Status != StatusPended && c.Status != StatusAppealed {
		return ErrWrongStatus.Wrapf("claim %s is %s: a review decides a pended or appealed claim", c.ID, c.Status)
	}
	if len(b.Lines) == 0 || len(b.Lines) > MaxLines || len(b.Note) > 300 {
		return ErrBadReview.Wrapf("1-%d lines, a note of at most 300 characters", MaxLines)
	}
	year := c.ServiceDate[:4]
	var acc Accumulator
	if _, err := ledger.GetJSON(ctx.State, ledger.Key(prefixAcc, c.Coverage, year), &acc); err != nil {
		return err
	}
	pol, err := GetVersion(ctx.State, c.Policy, c.PolicyVersion)
	if err != nil {
		return err
	}
	m := MemberInput{DeductibleMet: acc.DeductibleMet, OOPMet: acc.OOPMet}
	seen := map[int64]bool{}
	for _, r := range b.Lines {
		if r.N < 1 || r.N > int64(len(c.Lines)) || seen[r.N] {
			return ErrBadReview.Wrapf("line %d: a line of the claim, once", r.N)
		}
		seen[r.N] = true
		l := &c.Lines[r.N-1]
		if c.Status == StatusPended && l.Outcome != Pended {
			return ErrBadReview.Wrapf("line %d is %s, not pended", r.N, l.Outcome)
		}
		switch {
		case r.Outcome == Covered && (r.Allowed < 0 || r.Allowed > l.Charge):
			return ErrBadReview.Wrapf("line %d: allowed 0 to the charge (%d)", r.N, l.Charge)
		case r.Outcome == Denied && (!aReason.MatchString(r.Reason) || r.Allowed != 0):
			return ErrBadReview.Wrapf("line %d: a denied line has a reason code like CO-50 and no allowed amount", r.N)
		case r.Outcome != Covered && r.Outcome != Denied:
			return ErrBadReview.Wrapf("line %d: outcome covered or denied", r.N)
		case r.Reason != "" && !aReason.MatchString(r.Reason):
			return ErrBadReview.Wrapf("line %d: reason %q", r.N, r.Reason)
		}
		unshare(l, &m)
		l.Outcome, l.Allowed, l.Reviewed, l.Rule, l.Reasons = r.Outcome, r.Allowed, true, "review", []string{}
		if r.Reason != "" {
			l.Reasons = append(l.Reasons, r.Reason)
		}
		if r.Outcome == Covered {
			if l.Allowed < l.Charge {
				l.Reasons = append(l.Reasons, "CO-45")
			}
			share(l, pol.RuleSet.Plan, &m)
		}
	}
	pended := false
	c.Allowed, c.PatientShare, c.Payer = 0, 0, 0
	for _, l := range c.Lines {
		pended = pended || l.Outcome == Pended
		c.Allowed += l.Allowed
		c.PatientShare += l.PatientShare
		c.Payer += l.Payer
	}
	switch {
	case pended:
		c.Status = StatusPended
	case c.Status == StatusAppealed:
		c.Status = StatusReadjudicated
	default:
		c.Status = StatusAdjudicated
	}
	if !pended {
		ctx.State.Delete(ledger.Key(prefixQueue, c.Insurer, c.ID))
	}
	c.Steps = append(c.Steps, Step{Status: c.Status, Time: stamp(ctx), Height: ctx.Height, By: ctx.Signer.ID, Note: b.Note})
	ledger.SetJSON(ctx.State, ledger.Key(prefixClaim, c.ID), c)
	ledger.SetJSON(ctx.State, ledger.Key(prefixAcc, c.Coverage, year), &Accumulator{DeductibleMet: m.DeductibleMet, OOPMet: m.OOPMet})
	ctx.Emit("claims.reviewed", [2]string{"claim", c.ID}, [2]string{"status", c.Status})
	return nil
}

func appeal(ctx *ledger.Context, b *Appeal) error {
	c, err := GetClaim(ctx.State, b.Claim)
	if err != nil {
		return err
	}
	if ctx.Signer.ActsFor() != c.Provider && ctx.Signer.ID != c.Patient {
		return ErrUnknownClaim.Wrapf("%q", c.ID)
	}
	if b.Reason == "" || len(b.Reason) > 300 || !utf8.ValidString(b.Reason) {
		return ErrBadAppeal
	}
	if c.Status != StatusAdjudicated { // once, before payment
		return ErrWrongStatus.Wrapf("claim %s is %s: a claim is appealed once, when it is decided and before it is paid", c.ID, c.Status)
	}
	c.Status = StatusAppealed
	c.Steps = append(c.Steps, Step{Status: c.Status, Time: stamp(ctx), Height: ctx.Height, By: ctx.Signer.ID, Note: b.Reason})
	ledger.SetJSON(ctx.State, ledger.Key(prefixClaim, c.ID), c)
	ledger.SetPresent(ctx.State, ledger.Key(prefixQueue, c.Insurer, c.ID))
	ctx.Emit("claims.appealed", [2]string{"claim", c.ID})
	return nil
}

func pay(ctx *ledger.Context, b *Pay) error {
	if !anID.MatchString(b.Remittance) {
		return ErrBadPayment.Wrapf("remittance %q", b.Remittance)
	}
	c, err := GetClaim(ctx.State, b.Claim)
	if err != nil {
		return err
	}
	if c.Insurer != ctx.Signer.ActsFor() {
		return ErrUnknownClaim.Wrapf("%q", c.ID)
	}
	if c.Status == StatusPaid {
		return ErrWrongStatus.Wrapf("claim %s is paid already (remittance %s)", c.ID, c.Remittance)
	}
	if c.Status != StatusAdjudicated && c.Status != StatusReadjudicated {
		return ErrWrongStatus.Wrapf("claim %s is %s: review it first; a decided claim is paid", c.ID, c.Status)
	}
	c.Status, c.Paid, c.Remittance = StatusPaid, c.Payer, b.Remittance
	c.Steps = append(c.Steps, Step{Status: c.Status, Time: stamp(ctx), Height: ctx.Height, By: ctx.Signer.ID, Note: "remittance " + b.Remittance})
	ledger.SetJSON(ctx.State, ledger.Key(prefixClaim, c.ID), c)
	ctx.Emit("claims.paid", [2]string{"claim", c.ID}, [2]string{"amount", strconv.FormatInt(c.Paid, 10)})
	return nil
}
