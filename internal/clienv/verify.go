package clienv

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/internal/autocli"
	"github.com/primum-health/primum/supply"
)

// Verify asks the node whether the pack a scanner read as code may be
// dispensed (as the organisation as names, if any). With a trust root it
// does not trust the node: the verdict is computed here from the pack's,
// its product's and its lot's entries, each proven (proofs), and must be
// the node's; the custody trail stays the node's, unproven. note is what
// the check has to say beside the verdict.
func (e *Env) Verify(ctx context.Context, code, as string, trust *Trust) (v *supply.Verdict, proofs []*prove.Proven, note string, err error) {
	v = new(supply.Verdict)
	q := url.Values{"code": {code}}
	if as != "" {
		q.Set("as", as)
	}
	if err := e.Client().Get(ctx, "/api/v1/verify?"+q.Encode(), v); err != nil {
		return nil, nil, "", err
	}
	if trust == nil {
		return v, nil, "", nil
	}
	p, err := e.Prover(ctx, *trust, e.Client())
	if err != nil {
		return nil, nil, "", err
	}
	pv, proofs, note, err := p.CheckVerdict(ctx, code, as, v.Verdict, time.Now().UTC())
	if err != nil {
		return nil, nil, "", err
	}
	pv.Trail, pv.TrailSteps = v.Trail, v.TrailSteps
	return pv, proofs, note, nil
}

// WriteVerdict writes a verdict for a person at a scanner: a mark that
// says what to do, the message, and what is known of the pack (nothing
// that is not), with names for the identities' ids.
func WriteVerdict(w io.Writer, v *supply.Verdict, names autocli.Names) {
	who := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	// The mark says what to do: dispense, stop, look again (a scan to
	// repeat, a pack still on its way), or what it is (a case, an asset:
	// no alarm, and no pack to dispense).
	mark := "✗"
	switch v.Verdict {
	case supply.VerdictDispensable:
		mark = "✓"
	case supply.VerdictBadCode, supply.VerdictMissingSeparator, supply.VerdictInTransit:
		mark = "↻"
	case supply.VerdictLogisticUnit, supply.VerdictAsset:
		mark = "▣"
	}
	fmt.Fprintf(w, "%s %s — %s\n", mark, v.Verdict, names.In(v.Message))
	if v.Reading != "" {
		fmt.Fprintf(w, "  read as  %s\n", v.Reading)
	}
	if v.Product != nil {
		fmt.Fprintf(w, "  product  %s %s %s (GTIN %s)\n", v.Product.Name, v.Product.Strength, v.Product.Form, v.GTIN)
	}
	if v.Serial != "" {
		line := "  serial   " + v.Serial
		if v.Lot != "" {
			line += "  lot " + v.Lot
		}
		if v.Expiry != "" {
			line += "  expiry " + v.Expiry
		}
		fmt.Fprintln(w, line)
	}
	if v.Custodian != "" {
		// A recalled or quarantined pack is not simply "active".
		state := v.Status
		switch v.Verdict {
		case supply.VerdictRecalled:
			state = "lot recalled"
		case supply.VerdictQuarantined:
			state = "quarantined as suspect"
		}
		fmt.Fprintf(w, "  held by  %s (%s)\n", who(v.Custodian), state)
	}
	if v.Recall != nil {
		fmt.Fprintf(w, "  recall   %s (%s)\n", v.Recall.Reason, who(v.Recall.By))
	}
	if v.Suspect != "" {
		fmt.Fprintf(w, "  suspect  %s\n", v.Suspect)
	}
	if shown := uint64(len(v.Trail)); shown < v.TrailSteps {
		fmt.Fprintf(w, "  trail    the latest %d of %d steps (all of them: primum supply object %s --after N)\n", shown, v.TrailSteps, v.Key)
	}
	for _, s := range v.Trail {
		to := ""
		if s.To != "" {
			to = " → " + who(s.To)
		}
		fmt.Fprintf(w, "  %s  %-14s by %s%s\n", s.Time, s.Action, who(s.By), to)
	}
}
