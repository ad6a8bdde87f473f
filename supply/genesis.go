package supply

import (
	"errors"
	"fmt"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// GenesisState is supply's section of the genesis document: the GS1
// company prefixes founding members hold from the first block, so that
// nobody can claim a manufacturer's prefix before it does on a new chain.
type GenesisState struct {
	Prefixes []GenesisPrefix `json:"prefixes"`
}

// GenesisPrefix is one founding member's company prefix.
type GenesisPrefix struct {
	Prefix string `json:"prefix"`
	// Org is the member's id (its operator key's address, as primum init
	// prints it).
	Org string `json:"org"`
}

// maxGenesisPrefixes bounds the section: every founding member may bring
// its MaxPrefixes, of up to a thousand members.
const maxGenesisPrefixes = 1000 * MaxPrefixes

func decodeGenesis(raw []byte) (*GenesisState, error) {
	var g GenesisState
	if err := ledger.DecodeSection(raw, &g); err != nil {
		return nil, fmt.Errorf("supply: %v", err)
	}
	if len(g.Prefixes) > maxGenesisPrefixes {
		return nil, fmt.Errorf("supply.prefixes: at most %d", maxGenesisPrefixes)
	}
	for i, p := range g.Prefixes {
		if err := checkPrefix(p.Prefix); err != nil {
			return nil, fmt.Errorf("supply.prefixes[%d]: %v", i, err)
		}
	}
	return &g, nil
}

// genesis declares the section (ledger.Genesis). Init runs after the
// founding members are admitted, and holds each prefix to the rules of a
// claim: an organisation of the genesis, no overlap, at most MaxPrefixes
// a member.
func genesis() *ledger.Genesis {
	return &ledger.Genesis{
		Default: func() any { return GenesisState{Prefixes: []GenesisPrefix{}} },
		Validate: func(raw []byte) error {
			_, err := decodeGenesis(raw)
			return err
		},
		Init: func(w ledger.Writer, raw []byte) error {
			g, err := decodeGenesis(raw)
			if err != nil {
				return err
			}
			for i, p := range g.Prefixes {
				org, err := identity.Get(w, p.Org)
				if errors.Is(err, ledger.ErrNotFound) || (err == nil && org.Kind != ledger.KindOrganisation) {
					return fmt.Errorf("supply.prefixes[%d]: org %q is not a founding member", i, p.Org)
				} else if err != nil {
					return err
				}
				if held, err := overlapping(w, p.Prefix); err != nil {
					return err
				} else if held != nil {
					return fmt.Errorf("supply.prefixes[%d]: %v", i, overlapError(w, p.Prefix, held))
				}
				if err := roomFor(w, p.Org); err != nil {
					return fmt.Errorf("supply.prefixes[%d]: %v", i, err)
				}
				ledger.SetJSON(w, k(prefixCompany, p.Prefix), CompanyPrefix{Prefix: p.Prefix, Owner: p.Org, Reason: "genesis"})
				ledger.SetPresent(w, k(prefixCompanyOf, p.Org, p.Prefix))
			}
			return nil
		},
		Export: func(r ledger.Reader) (any, error) {
			held, err := ledger.ScanJSON[CompanyPrefix](r, prefixCompany, 0)
			g := GenesisState{Prefixes: []GenesisPrefix{}}
			for _, p := range held {
				g.Prefixes = append(g.Prefixes, GenesisPrefix{Prefix: p.Prefix, Org: p.Owner})
			}
			return g, err
		},
	}
}
