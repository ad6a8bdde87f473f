package governance

import (
	"strconv"

	"github.com/primum-health/primum/ledger"
)

// queries are the governance module's reads: proposals and their votes,
// public to the consortium.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/proposals", Name: "list", Read: ledger.Public, Answer: []*Proposal{},
			Doc: "Governance proposals with their votes, newest first.",
			Handle: func(q *ledger.Request) (any, error) {
				return List(q.State, q.BlockTime)
			}},
		{Path: "/api/v1/proposals/{id}", Name: "show", Read: ledger.Public, Answer: &Proposal{},
			Doc: "One proposal with its votes.",
			Handle: func(q *ledger.Request) (any, error) {
				id, err := strconv.ParseUint(q.Path("id"), 10, 64)
				if err != nil {
					return nil, ledger.ErrBadRequest.Wrapf("proposal id must be a number")
				}
				return Get(q.State, id, q.BlockTime)
			}},
	}
}
