//go:build !upgradetest

package governance

import "github.com/primum-health/primum/ledger"

// putProposal and decodeProposal are the one place a proposal's state
// encoding (JSON) is written and read: a test build (-tags upgradetest,
// codec_upgradetest.go) changes it in a software upgrade.
func putProposal(w ledger.Writer, p *Proposal) { ledger.SetJSON(w, proposalKey(p.ID), p) }

func decodeProposal(b []byte, p *Proposal) error { return ledger.DecodeState(b, p) }

// migrations are governance's parts of the upgrades this binary carries:
// none yet.
var migrations []ledger.Migration
