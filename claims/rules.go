package claims

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/primum-health/primum/ledger"
)

// Coverage rules are CEL expressions (cel.dev/cel-go, pinned in go.mod: a
// new cel-go can count cost differently, so upgrading it is a consensus
// upgrade, like any change to block execution). Evaluating them on every
// node must give every node the same answer, so a rule is refused at
// publication unless it keeps to what is deterministic:
//
//   - integers only: no double anywhere in the checked expression (amounts
//     are integer cents; CEL integer overflow is an error, the same on every
//     node);
//   - no comprehension (all, exists, map, filter) over a map: Go's map
//     order is random, and the cost an early exit saves would differ;
//   - no clock: the date of service and the block's date are inputs;
//   - a bounded cost: the checker's estimate at publication, and
//     cel.CostLimit at evaluation, counted in CEL's abstract operations
//     (never a timeout). OptTrackState and OptExhaustiveEval are never used:
//     with them cel-go ignores the limit (cel-go issue 1425).

// CostLimit is the most one rule's evaluation may cost, in CEL's cost
// units, both as estimated at publication and as counted at evaluation.
const CostLimit = 10_000

// LineCostLimit is the most a policy's rules together (and its allowed
// amount) may be estimated to cost for one line: a claim of MaxLines
// lines then costs at most MaxLines × LineCostLimit units (a few
// milliseconds), whatever the policy.
const LineCostLimit = 20_000

// inputSizes bound the inputs' lists, maps and strings for the cost
// estimate, from the limits the bodies are checked against.
var inputSizes = map[string]uint64{
	"line.dx":        4,
	"line.modifiers": MaxModifiers,
	"claim.codes":    MaxLines,
	"claim.dx":       MaxDiagnoses,
	"fees":           MaxFees,
	"lists":          MaxLists,
	"lists.@values":  MaxListCodes,
}

// stringSize bounds every string input (codes, dates, names).
const stringSize = 64

var (
	envOnce sync.Once
	celEnv  *cel.Env
	envErr  error
)

// env is the one CEL environment rules are checked and run in: the
// inputs (LineInput, ClaimInput, MemberInput, ProviderInput as line,
// claim, member, provider), the policy's fee schedule (fees: code → cents)
// and code lists (lists: name → codes), and CEL's standard functions.
func env() (*cel.Env, error) {
	envOnce.Do(func() {
		celEnv, envErr = cel.NewEnv(
			ext.NativeTypes(reflect.TypeOf(LineInput{}), reflect.TypeOf(ClaimInput{}), reflect.TypeOf(MemberInput{}), reflect.TypeOf(ProviderInput{}),
				ext.ParseStructTag("json")),
			cel.Variable("line", cel.ObjectType("claims.LineInput")),
			cel.Variable("claim", cel.ObjectType("claims.ClaimInput")),
			cel.Variable("member", cel.ObjectType("claims.MemberInput")),
			cel.Variable("provider", cel.ObjectType("claims.ProviderInput")),
			cel.Variable("fees", cel.MapType(cel.StringType, cel.IntType)),
			cel.Variable("lists", cel.MapType(cel.StringType, cel.ListType(cel.StringType))),
		)
	})
	return celEnv, envErr
}

// LineInput is the claim line a rule decides.
type LineInput struct {
	N         int64    `json:"n"` // 1-based
	Code      string   `json:"code"`
	Modifiers []string `json:"modifiers"`
	Units     int64    `json:"units"`
	Charge    int64    `json:"charge"` // cents
	Dx        []string `json:"dx"`     // the diagnoses the line points to
}

// ClaimInput is the claim as a whole.
type ClaimInput struct {
	ServiceDate string   `json:"service_date"` // YYYY-MM-DD
	Codes       []string `json:"codes"`        // every line's code, in order
	Dx          []string `json:"dx"`           // every diagnosis, in order
	Lines       int64    `json:"lines"`
	Total       int64    `json:"total"` // cents
}

// MemberInput is the member's coverage and what they have paid this
// plan year before this claim.
type MemberInput struct {
	Plan          string `json:"plan"`
	Deductible    int64  `json:"deductible"`
	DeductibleMet int64  `json:"deductible_met"`
	OOPMax        int64  `json:"oop_max"`
	OOPMet        int64  `json:"oop_met"`
	CoverageStart string `json:"coverage_start"`
}

// ProviderInput is the billing provider and the rendering practitioner's
// credential.
type ProviderInput struct {
	OrgType    string `json:"org_type"`
	Profession string `json:"profession"`
	Specialty  string `json:"specialty"`
}

// Compiled is a rule set ready to run: each expression checked and
// planned once.
type Compiled struct {
	Hash    string
	When    []cel.Program // per rule
	Allowed []cel.Program // per rule; nil where the rule has none
	Default cel.Program   // the policy's allowed amount
	// Estimate is the most the rules and the allowed amounts together may
	// cost for one line, as estimated.
	Estimate uint64
	// Fees and Lists are the rule set's fee schedule and code lists as the
	// rules read them (fees, lists), made once; read-only.
	Fees  map[string]int64
	Lists map[string][]string
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Compiled{} // by rule-set hash
)

// compileCached compiles p's rules, or returns them compiled before (by
// the rule set's hash: the same rules always compile to the same
// programs).
func compileCached(p *RuleSet, h string) (*Compiled, error) {
	cacheMu.Lock()
	c, ok := cache[h]
	cacheMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := compile(p)
	if err != nil {
		return nil, err
	}
	cacheMu.Lock()
	if len(cache) > 4096 { // a long-running node: forget, recompile on use
		clear(cache)
	}
	cache[h] = c
	cacheMu.Unlock()
	return c, nil
}

func compile(p *RuleSet) (*Compiled, error) {
	c := &Compiled{Hash: p.Hash(), Fees: make(map[string]int64, len(p.Fees)), Lists: make(map[string][]string, len(p.Lists))}
	for _, f := range p.Fees {
		c.Fees[f.Code] = f.Cents
	}
	for _, l := range p.Lists {
		c.Lists[l.Name] = l.Codes
	}
	var err error
	for i, r := range p.Rules {
		when, err := program(r.When, cel.BoolType, &c.Estimate)
		if err != nil {
			return nil, ruleError(err, "rule %d (%s) when", i+1, r.ID)
		}
		c.When = append(c.When, when)
		var allowed cel.Program
		if r.Allowed != "" {
			if allowed, err = program(r.Allowed, cel.IntType, &c.Estimate); err != nil {
				return nil, ruleError(err, "rule %d (%s) allowed", i+1, r.ID)
			}
		}
		c.Allowed = append(c.Allowed, allowed)
	}
	if c.Default, err = program(p.DefaultAllowed(), cel.IntType, &c.Estimate); err != nil {
		return nil, ruleError(err, "allowed")
	}
	if c.Estimate > LineCostLimit {
		return nil, ErrTooCostly.Wrapf("the rules together are estimated at up to %d a line, over the limit of %d", c.Estimate, LineCostLimit)
	}
	return c, nil
}

// ruleError names the expression that failed, keeping a coded error's
// code (rule_too_costly), else bad_rule.
func ruleError(err error, format string, args ...any) error {
	where := fmt.Sprintf(format, args...)
	var coded *ledger.Error
	if errors.As(err, &coded) {
		return fmt.Errorf("%s: %w", where, err)
	}
	return ErrBadRule.Wrapf("%s: %v", where, err)
}

// program checks one expression (its type, determinism and estimated
// cost) and plans it with the cost limit.
func program(src string, want *cel.Type, estimate *uint64) (cel.Program, error) {
	e, err := env()
	if err != nil {
		return nil, err
	}
	checked, iss := e.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if !checked.OutputType().IsExactType(want) {
		return nil, fmt.Errorf("is %s, want %s", checked.OutputType(), want)
	}
	if err := deterministic(checked); err != nil {
		return nil, err
	}
	est, err := e.EstimateCost(checked, sizes{})
	if err != nil {
		return nil, fmt.Errorf("cost: %v", err)
	}
	if est.Max > CostLimit {
		return nil, ErrTooCostly.Wrapf("estimated cost up to %d, over the limit of %d", est.Max, CostLimit)
	}
	*estimate += est.Max
	return e.Program(checked, cel.CostLimit(CostLimit))
}

// deterministic refuses doubles and comprehensions over maps.
func deterministic(checked *cel.Ast) error {
	native := checked.NativeRep()
	var bad error
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		if bad != nil {
			return
		}
		if t := native.GetType(x.ID()); t != nil && (t.Kind() == types.DoubleKind || t.Kind() == types.DynKind) {
			bad = fmt.Errorf("uses a %s value (amounts are integer cents; no floating point on the ledger)", t)
			return
		}
		// Timestamps and durations: their time-zone functions read each
		// node's own zone data (and "Local" its clock settings). Dates
		// are YYYY-MM-DD text, which compares in order.
		if t := native.GetType(x.ID()); t != nil && (t.Kind() == types.TimestampKind || t.Kind() == types.DurationKind) {
			bad = fmt.Errorf("uses a %s (time zones differ between nodes): compare dates as YYYY-MM-DD text", t)
			return
		}
		// A regular expression costs what its compiled program costs, which
		// CEL's cost does not count: use startsWith, endsWith, contains, in.
		if x.Kind() == ast.CallKind && x.AsCall().FunctionName() == "matches" {
			bad = fmt.Errorf("uses matches: a regular expression's cost is not bounded by CEL's count; use startsWith, endsWith, contains or a list")
			return
		}
		if x.Kind() == ast.ComprehensionKind {
			if t := native.GetType(x.AsComprehension().IterRange().ID()); t != nil && t.Kind() == types.MapKind {
				bad = fmt.Errorf("iterates over a map, whose order is random: iterate over a list")
			}
		}
	}))
	return bad
}

// sizes bounds every input for the cost estimate.
type sizes struct{}

func (sizes) EstimateSize(element cost.AstNode) *cost.SizeEstimate {
	path := element.Path()
	if len(path) == 0 {
		return nil // not an input: the checker sizes it
	}
	if n, ok := inputSizes[strings.Join(path, ".")]; ok {
		return &cost.SizeEstimate{Min: 0, Max: n}
	}
	if element.Type().Kind() == types.StringKind || path[len(path)-1] == "@items" || path[len(path)-1] == "@keys" {
		return &cost.SizeEstimate{Min: 0, Max: stringSize}
	}
	return nil
}

func (sizes) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}

// evalBool and evalInt run a program on one line's inputs and return its
// value and cost; an error (the cost limit, an overflow, a missing key) is
// the same on every node.
func evalBool(p cel.Program, in map[string]any) (bool, uint64, error) {
	v, cost, err := eval(p, in)
	if err != nil {
		return false, cost, err
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, cost, fmt.Errorf("not a bool")
	}
	return b, cost, nil
}

func evalInt(p cel.Program, in map[string]any) (int64, uint64, error) {
	v, cost, err := eval(p, in)
	if err != nil {
		return 0, cost, err
	}
	n, ok := v.Value().(int64)
	if !ok {
		return 0, cost, fmt.Errorf("not an int")
	}
	return n, cost, nil
}

func eval(p cel.Program, in map[string]any) (ref.Val, uint64, error) {
	v, det, err := p.Eval(in)
	var cost uint64
	if det != nil && det.ActualCost() != nil {
		cost = *det.ActualCost()
	}
	if err != nil {
		return nil, cost, err
	}
	if types.IsError(v) {
		return nil, cost, fmt.Errorf("%v", v)
	}
	return v, cost, nil
}
