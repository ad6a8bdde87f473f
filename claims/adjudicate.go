package claims

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// bypass are the modifiers that let a procedure pair with indicator 1 be
// paid together (distinct procedural service).
var bypass = []string{"59", "XE", "XP", "XS", "XU"}

// Adjudicate decides a claim's lines from the claim, its recorded inputs
// (c.Inputs: the member's accumulators before it, the provider, the edits
// the ledger found) and the rule set. It reads nothing else: the block
// runs it, and Replay runs it again anywhere. It sets each line's
// decision, the totals, the status and the trace's hash, and returns the
// trace and the member's accumulators after the claim.
func Adjudicate(c *Claim, rs *RuleSet) (trace []string, after MemberInput, err error) {
	// The claim names its rule set's hash (the ledger's copy, computed when
	// the policy was published; Replay checks it against the rule set).
	hash := c.RuleSet
	if hash == "" {
		hash = rs.Hash()
	}
	comp, err := compileCached(rs, hash)
	if err != nil {
		return nil, after, err
	}
	claimIn := ClaimInput{ServiceDate: c.ServiceDate, Dx: c.Diagnoses, Lines: int64(len(c.Lines))}
	for _, l := range c.Lines {
		claimIn.Codes = append(claimIn.Codes, l.Code)
		claimIn.Total += l.Charge
	}
	member := c.Inputs.Member // as the rules see it: before this claim
	after = member
	trace = append(trace, fmt.Sprintf("claim %s rule_set %s service_date %s member %s/%d/%d/%d/%d", c.ID, hash, c.ServiceDate,
		member.Plan, member.Deductible, member.DeductibleMet, member.OOPMax, member.OOPMet))
	c.Charge, c.Allowed, c.PatientShare, c.Payer = 0, 0, 0, 0
	pended := false
	for i := range c.Lines {
		l := &c.Lines[i]
		l.Outcome, l.Reasons, l.Rule, l.Allowed, l.Deductible, l.Coinsurance, l.PatientShare, l.Payer, l.Cost, l.Reviewed = "", []string{}, "", 0, 0, 0, 0, 0, 0, false
		in := map[string]any{
			"line":     LineInput{N: l.N, Code: l.Code, Modifiers: nonNil(l.Modifiers), Units: l.Units, Charge: l.Charge, Dx: nonNil(l.Dx)},
			"claim":    claimIn,
			"member":   member,
			"provider": c.Inputs.Provider,
			"fees":     comp.Fees,
			"lists":    comp.Lists,
		}
		step := func(format string, args ...any) {
			trace = append(trace, fmt.Sprintf("line %d: ", l.N)+fmt.Sprintf(format, args...))
		}
		decide := func(outcome, reason, rule string) {
			l.Outcome, l.Rule = outcome, rule
			if reason != "" {
				l.Reasons = append(l.Reasons, reason)
			}
			step("%s %s by %s", outcome, reason, rule)
		}
		// The edits first, in the order the ledger recorded them.
		for _, e := range c.Inputs.Edits {
			if e.Line != l.N || l.Outcome != "" {
				continue
			}
			switch e.Kind {
			case SignalSuspended: // not eligible on the date of service
				decide(Denied, "CO-B7", "credential:"+e.With)
			case SignalDuplicate:
				decide(Denied, "CO-18", "duplicate")
			case "mue":
				if l.Units > e.Cap {
					decide(Denied, "CO-151", fmt.Sprintf("mue:%d", e.Cap))
				} else {
					step("mue cap %d ok", e.Cap)
				}
			case "ptp":
				ok := e.Indicator == 9 || (e.Indicator == 1 && slices.ContainsFunc(l.Modifiers, func(m string) bool { return slices.Contains(bypass, m) }))
				if ok {
					step("ptp with %s indicator %d passes", e.With, e.Indicator)
				} else {
					decide(Denied, "CO-97", "ncci-ptp:"+e.With)
				}
			case SignalCrossPayer:
				decide(Pended, "CO-133", "cross-payer")
			case "limit":
				decide(Pended, "CO-133", "index-limit")
			}
		}
		allowedBy, waive := comp.Default, false
		for j, r := range rs.Rules {
			if l.Outcome != "" {
				break
			}
			hit, cost, err := evalBool(comp.When[j], in)
			l.Cost += cost
			if err != nil {
				step("rule %s error (cost %d): %v", r.ID, cost, err)
				decide(Pended, "CO-133", "error:"+r.ID)
				break
			}
			step("rule %s %v (cost %d)", r.ID, hit, cost)
			if !hit {
				continue
			}
			if r.Outcome == Covered {
				if comp.Allowed[j] != nil {
					allowedBy = comp.Allowed[j]
				}
				l.Outcome, l.Rule, waive = Covered, r.ID, r.Waive
				if r.Reason != "" {
					l.Reasons = append(l.Reasons, r.Reason)
				}
				break
			}
			decide(r.Outcome, r.Reason, r.ID)
		}
		if l.Outcome == "" {
			l.Outcome, l.Rule = Covered, "default"
		}
		if l.Outcome == Covered {
			allowed, cost, err := evalInt(allowedBy, in)
			l.Cost += cost
			if err != nil {
				step("allowed error (cost %d): %v", cost, err)
				decide(Pended, "CO-133", "error:allowed")
			} else {
				l.Allowed = min(max(allowed, 0), l.Charge)
				if l.Allowed < l.Charge {
					l.Reasons = append(l.Reasons, "CO-45")
				}
				step("covered by %s allowed %d (cost %d)", l.Rule, l.Allowed, cost)
			}
		}
		if l.Outcome == Covered && waive {
			l.Payer = l.Allowed
			step("cost share waived payer %d", l.Payer)
		} else if l.Outcome == Covered {
			share(l, rs.Plan, &after)
			step("deductible %d coinsurance %d payer %d", l.Deductible, l.Coinsurance, l.Payer)
		}
		pended = pended || l.Outcome == Pended
		c.Charge += l.Charge
		c.Allowed += l.Allowed
		c.PatientShare += l.PatientShare
		c.Payer += l.Payer
	}
	c.Status = StatusAdjudicated
	if pended {
		c.Status = StatusPended
	}
	c.Trace = TraceHash(trace)
	return trace, after, nil
}

// share splits a covered line's allowed amount between the member (the
// deductible left, then coinsurance, up to the out-of-pocket maximum) and
// the payer, and adds the member's part to acc.
func share(l *Line, plan Plan, acc *MemberInput) {
	ded := min(l.Allowed, max(0, plan.Deductible-acc.DeductibleMet))
	coins := (l.Allowed - ded) * plan.CoinsurancePercent / 100
	total := ded + coins
	if left := max(0, plan.OOPMax-acc.OOPMet); total > left {
		total = left
		ded = min(ded, total)
		coins = total - ded
	}
	l.Deductible, l.Coinsurance, l.PatientShare, l.Payer = ded, coins, total, l.Allowed-total
	if ded > 0 {
		l.Reasons = append(l.Reasons, "PR-1")
	}
	if coins > 0 {
		l.Reasons = append(l.Reasons, "PR-2")
	}
	acc.DeductibleMet += ded
	acc.OOPMet += total
}

// unshare takes a line's member share back out of acc (a review that
// changes the line).
func unshare(l *Line, acc *MemberInput) {
	acc.DeductibleMet = max(0, acc.DeductibleMet-l.Deductible)
	acc.OOPMet = max(0, acc.OOPMet-l.PatientShare)
	l.Deductible, l.Coinsurance, l.PatientShare, l.Payer = 0, 0, 0, 0
	l.Reasons = slices.DeleteFunc(l.Reasons, func(r string) bool { return r == "PR-1" || r == "PR-2" })
}

// TraceHash is the hash a claim records of its evaluation trace.
func TraceHash(trace []string) string {
	s := sha256.Sum256([]byte(strings.Join(trace, "\n")))
	return hex.EncodeToString(s[:])
}

// Replay decides the claim again from its recorded inputs under the rule
// set it names (p, the policy version), as any member can, and says
// where the result differs from the ledger's: nothing when it agrees. A
// line the insurer decided by hand (reviewed) is compared by the trace
// alone.
func Replay(c *Claim, p *Policy) (trace []string, diffs []string, err error) {
	if p.Hash != c.RuleSet || p.RuleSet.Hash() != c.RuleSet {
		return nil, []string{fmt.Sprintf("the policy version's rule set is %s, the claim was decided under %s", p.RuleSet.Hash(), c.RuleSet)}, nil
	}
	again := *c
	again.Lines = slices.Clone(c.Lines)
	for i := range again.Lines {
		again.Lines[i].Reasons = nil
	}
	trace, _, err = Adjudicate(&again, &p.RuleSet)
	if err != nil {
		return nil, nil, err
	}
	if again.Trace != c.Trace {
		diffs = append(diffs, fmt.Sprintf("trace hash %s, the ledger's %s", again.Trace, c.Trace))
	}
	for i, l := range c.Lines {
		if l.Reviewed {
			continue
		}
		a := again.Lines[i]
		if a.Outcome != l.Outcome || a.Allowed != l.Allowed || a.PatientShare != l.PatientShare || a.Payer != l.Payer || !slices.Equal(a.Reasons, l.Reasons) {
			diffs = append(diffs, fmt.Sprintf("line %d: %s %d (patient %d, payer %d, %s); the ledger's %s %d (patient %d, payer %d, %s)",
				l.N, a.Outcome, a.Allowed, a.PatientShare, a.Payer, strings.Join(a.Reasons, ","), l.Outcome, l.Allowed, l.PatientShare, l.Payer, strings.Join(l.Reasons, ",")))
		}
	}
	return trace, diffs, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
