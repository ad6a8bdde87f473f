//go:build upgradetest

package governance

import (
	"encoding/json"

	"github.com/primum-health/primum/ledger"
)

// A test build's upgrade (go build -tags upgradetest) that changes a state
// encoding, so that the upgrade machinery is exercised end to end by real
// nodes: the upgrade UpgradeTest re-encodes every proposal as
// proposalV2 followed by its JSON, and from then on this build writes and
// reads only that. A build without the tag cannot read a re-encoded
// proposal (nor run past the upgrade: app/upgrade.go stops it).

// proposalV2 starts a proposal in the v2-test encoding (a JSON value never
// starts with it).
const proposalV2 = 0x02

var migrations = []ledger.Migration{{Upgrade: UpgradeTest, Run: reencodeProposals}}

// reencodeProposals rewrites every proposal in the v2-test encoding: all of
// governance's proposals, once (ledger.Migration).
func reencodeProposals(w ledger.Writer) error {
	var keys, values [][]byte
	err := w.Iterate(prefixProposal, func(k, v []byte) bool {
		keys, values = append(keys, append([]byte{}, k...)), append(values, append([]byte{}, v...))
		return true
	})
	if err != nil {
		return err
	}
	for i, v := range values {
		if len(v) > 0 && v[0] == proposalV2 {
			continue // cannot happen: the upgrade runs once
		}
		w.Set(keys[i], append([]byte{proposalV2}, v...))
	}
	return nil
}

func putProposal(w ledger.Writer, p *Proposal) {
	b, err := json.Marshal(p)
	if err != nil {
		panic("governance: cannot encode a proposal: " + err.Error())
	}
	done, err := UpgradesDone(w)
	if err != nil {
		panic(&ledger.StorageError{Err: err})
	}
	for _, d := range done {
		if d.Name == UpgradeTest {
			b = append([]byte{proposalV2}, b...)
		}
	}
	w.Set(proposalKey(p.ID), b)
}

func decodeProposal(b []byte, p *Proposal) error {
	if len(b) > 0 && b[0] == proposalV2 {
		return ledger.DecodeState(b[1:], p)
	}
	return ledger.DecodeState(b, p)
}
