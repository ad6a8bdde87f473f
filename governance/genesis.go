package governance

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/primum-health/primum/ledger"
)

// GenesisState is governance's section of the genesis document: how a
// consortium decides. (Its founding members are the document's own
// members list, admitted before any module section.)
type GenesisState struct {
	// VotingPeriod is how long a proposal stays open, in block time, as
	// a Go duration ("336h"): from 1 hour to 90 days.
	VotingPeriod string `json:"voting_period"`
}

// Bounds of the voting period a genesis may set.
const (
	MinVotingPeriod = time.Hour
	MaxVotingPeriod = 90 * 24 * time.Hour
)

var keyVotingPeriod = []byte("gov/params/voting_period") // seconds, big-endian uint64

func (g *GenesisState) period() (time.Duration, error) {
	d, err := time.ParseDuration(g.VotingPeriod)
	if err != nil {
		return 0, fmt.Errorf("governance.voting_period: %q is not a duration such as \"336h\"", g.VotingPeriod)
	}
	if d < MinVotingPeriod || d > MaxVotingPeriod || d%time.Second != 0 {
		return 0, fmt.Errorf("governance.voting_period: %s must be whole seconds from %s to %s", d, MinVotingPeriod, MaxVotingPeriod)
	}
	return d, nil
}

func decodeGenesis(raw []byte) (*GenesisState, time.Duration, error) {
	var g GenesisState
	if err := ledger.DecodeSection(raw, &g); err != nil {
		return nil, 0, fmt.Errorf("governance: %v", err)
	}
	d, err := g.period()
	return &g, d, err
}

// genesis declares the section (ledger.Genesis).
func genesis() *ledger.Genesis {
	return &ledger.Genesis{
		Default: func() any { return GenesisState{VotingPeriod: VotingPeriod.String()} },
		Validate: func(raw []byte) error {
			_, _, err := decodeGenesis(raw)
			return err
		},
		Init: func(w ledger.Writer, raw []byte) error {
			_, d, err := decodeGenesis(raw)
			if err != nil {
				return err
			}
			if d != VotingPeriod { // the default is not written: a chain's state is as before the setting
				w.Set(keyVotingPeriod, binary.BigEndian.AppendUint64(nil, uint64(d/time.Second)))
			}
			return nil
		},
		Export: func(r ledger.Reader) (any, error) {
			d, err := votingPeriod(r)
			return GenesisState{VotingPeriod: d.String()}, err
		},
	}
}

// votingPeriod is the consortium's voting period: VotingPeriod on a chain
// whose genesis predates the setting.
func votingPeriod(r ledger.Reader) (time.Duration, error) {
	b, err := r.Get(keyVotingPeriod)
	if err != nil || len(b) != 8 {
		return VotingPeriod, err
	}
	return time.Duration(binary.BigEndian.Uint64(b)) * time.Second, nil
}
