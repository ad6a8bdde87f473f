package governance

import (
	"strconv"

	"github.com/primum-health/primum/ledger"
)

// queries are the governance module's reads: proposals and their votes,
// public to the consortium.
func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/proposals", Columns: ledger.Cols("PROPOSAL", "id", "ACTION", "action", "MEMBER", "member.name", "ORG", "@org_id", "UPGRADE", "upgrade.name", "AT", "upgrade.height", "STATUS", "status", "DEADLINE", "deadline", "YES", "@yes", "NO", "@no", "RESULT", "result"), Name: "list", Read: ledger.Public, Answer: ledger.Page{Items: []*Proposal{}, NextParam: "before"},
			Doc: "Governance proposals with their votes, newest first, a page at a time.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"},
				{Name: "before", Doc: "the proposal to start at, going back (an id, from a Link header; default: the newest)"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, err := q.Limit(100, 1000)
				if err != nil {
					return nil, err
				}
				var before uint64
				if v := q.Query.Get("before"); v != "" {
					if before, err = strconv.ParseUint(v, 10, 64); err != nil || before == 0 {
						return nil, ledger.ErrBadRequest.Wrapf("before must be a proposal id (a Link header's)")
					}
				}
				page, next, err := ListPage(q.State, q.BlockTime, before, limit)
				out := ledger.Page{Items: page}
				if next != 0 {
					out.Next = strconv.FormatUint(next, 10)
				}
				return out, err
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
		upgradeQuery(),
	}
}
