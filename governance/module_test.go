package governance_test

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
)

// step is one transaction of a table: who sends what, and the error it
// must get (nil: success). then, if set, checks what a success did.
type step struct {
	name string
	as   string
	typ  string
	body any
	want error
	then func(t *testing.T)
}

func run(t *testing.T, w *moduletest.World, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
}

func proposal(t *testing.T, w *moduletest.World, id uint64) *governance.Proposal {
	t.Helper()
	p, err := governance.Get(w.St.Committed(), id, w.Now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantProposal(w *moduletest.World, id uint64, status string, yes, no int) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if p := proposal(t, w, id); p.Status != status || len(p.Yes) != yes || len(p.No) != no {
			t.Fatalf("proposal %d: %s, %d yes, %d no (%s); want %s, %d yes, %d no", id, p.Status, len(p.Yes), len(p.No), p.Result, status, yes, no)
		}
	}
}

// member is a proposal to admit name as orgType, with a validator of
// power when power > 0, its proofs signed by name's keys.
func member(name, orgType string, power int64) *governance.NewMember {
	var validator = moduletest.ValidatorKey(name)
	if power == 0 {
		validator = nil
	}
	m := governance.ProvedMember(moduletest.ChainID, name, orgType, moduletest.Key(name), validator)
	m.Power = power
	return m
}

func add(m *governance.NewMember) governance.Propose {
	return governance.Propose{Action: governance.ActionAddMember, Member: m, Reason: "regional expansion"}
}

func edited(m *governance.NewMember, edit func(*governance.NewMember)) *governance.NewMember {
	edit(m)
	return m
}

// TestGovernanceTransactions walks proposals and votes among four
// members, three of them validators: each step succeeds or gets its exact
// error, and a refused one changes nothing.
func TestGovernanceTransactions(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare(), identity.Declare())
	w.AddValidator("hosp", "hospital", 10)
	w.AddValidator("lab", "lab", 10)
	w.AddValidator("reg", "regulator", 10)
	w.AddOrg("clinic", "clinic")
	w.Commit()
	w.AddPractitioner("drA", "hosp")
	w.AddPatient("alice")
	const (
		propose = governance.TypePropose
		vote    = governance.TypeVote
	)
	yes := func(id uint64) governance.Vote { return governance.Vote{ProposalID: id, Vote: "yes"} }
	no := func(id uint64) governance.Vote { return governance.Vote{ProposalID: id, Vote: "no"} }
	remove := func(org string) governance.Propose {
		return governance.Propose{Action: governance.ActionRemoveMember, OrgID: w.ID(org)}
	}
	run(t, w, []step{
		// Proposals.
		{"a member proposes a new member: its own vote is yes", "hosp", propose, add(member("stolav", "hospital", 5)), nil, func(t *testing.T) {
			wantProposal(w, 1, governance.StatusOpen, 1, 0)(t)
			if p := proposal(t, w, 1); p.Proposer != w.ID("hosp") || p.Electors != 4 || p.Member.Name != "stolav" {
				t.Fatalf("proposal 1: %+v", p)
			}
		}},
		{"an unknown action", "hosp", propose, governance.Propose{Action: "merge"}, governance.ErrBadAction, nil},
		{"add_member names a member", "hosp", propose, governance.Propose{Action: governance.ActionAddMember}, governance.ErrBadMember, nil},
		{"and no org_id", "hosp", propose, governance.Propose{Action: governance.ActionAddMember, Member: member("x", "clinic", 0), OrgID: w.ID("lab")}, governance.ErrBadMember, nil},
		{"remove_member names no member", "hosp", propose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: w.ID("lab"), Member: member("x", "clinic", 0)}, governance.ErrBadMember, nil},
		{"remove_member of an unknown organisation", "hosp", propose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: "nobody"}, governance.ErrNotMember, nil},
		{"remove_member of a practitioner", "hosp", propose, remove("drA"), governance.ErrNotMember, nil},
		{"a name", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.Name = "" })), governance.ErrBadMember, nil},
		{"a name of at most 200 characters", "hosp", propose, add(member(strings.Repeat("x", 201), "clinic", 0)), governance.ErrBadMember, nil},
		{"a name without escape sequences", "hosp", propose, add(member("Evil\x1b]0;x\x07 Clinic", "clinic", 0)), identity.ErrBadName, nil},
		{"a known organisation type", "hosp", propose, add(member("x", "casino", 0)), identity.ErrBadOrgType, nil},
		{"a key", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.Key = "abc" })), identity.ErrBadKey, nil},
		{"a power within bounds", "hosp", propose, add(member("x", "clinic", governance.MaxPower+1)), governance.ErrBadPower, nil},
		{"not negative", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.Power = -1 })), governance.ErrBadPower, nil},
		{"power needs a validator key", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.Power = 5 })), governance.ErrBadPower, nil},
		{"a bad validator key", "hosp", propose, add(edited(member("x", "clinic", 5), func(m *governance.NewMember) { m.ValidatorKey = "abc" })), governance.ErrBadMember, nil},
		{"a validator proof without a validator key", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) {
			m.ValidatorKeyProof = member("x", "clinic", 5).ValidatorKeyProof
		})), governance.ErrBadMember, nil},
		{"a member's key is in use", "hosp", propose, add(member("lab", "lab", 0)), identity.ErrKeyInUse, nil},
		{"a key in use is not said so without its holder's proof", "hosp", propose, add(edited(member("lab", "lab", 0), func(m *governance.NewMember) {
			m.KeyProof = member("x", "clinic", 0).KeyProof
		})), identity.ErrBadKeyProof, nil},
		{"a validator key is another member's", "hosp", propose, add(edited(
			governance.ProvedMember(moduletest.ChainID, "x", "clinic", moduletest.Key("x"), moduletest.ValidatorKey("lab")),
			func(m *governance.NewMember) { m.Power = 5 })), identity.ErrValidatorKeyInUse, nil},
		{"which is not said without its holder's proof", "hosp", propose, add(edited(member("x", "clinic", 5), func(m *governance.NewMember) {
			m.ValidatorKey = hex.EncodeToString(moduletest.ValidatorKey("lab").Public().(ed25519.PublicKey))
		})), identity.ErrBadKeyProof, nil},
		{"the operator key's proof is required", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.KeyProof = "" })), identity.ErrNoKeyProof, nil},
		{"the proof binds the organisation type", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.OrgType = "regulator" })), identity.ErrBadKeyProof, nil},
		{"the proof binds the name", "hosp", propose, add(edited(member("x", "clinic", 0), func(m *governance.NewMember) { m.Name = "y" })), identity.ErrBadKeyProof, nil},
		{"the validator key's proof is required", "hosp", propose, add(edited(member("x", "clinic", 5), func(m *governance.NewMember) { m.ValidatorKeyProof = "" })), identity.ErrNoKeyProof, nil},
		{"the validator key's proof names the operator key", "hosp", propose, add(edited(member("x", "clinic", 5), func(m *governance.NewMember) {
			m.ValidatorKeyProof = member("y", "clinic", 5).ValidatorKeyProof
		})), identity.ErrBadKeyProof, nil},
		{"a reason of at most 500 characters", "hosp", propose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: w.ID("clinic"), Reason: strings.Repeat("r", 501)}, ledger.ErrInvalidBody, nil},
		{"a practitioner proposes nothing", "drA", propose, remove("clinic"), ledger.ErrUnauthorized, nil},
		{"a patient proposes nothing", "alice", propose, remove("clinic"), ledger.ErrUnauthorized, nil},

		// Votes.
		{"yes or no", "lab", vote, governance.Vote{ProposalID: 1, Vote: "maybe"}, governance.ErrBadVote, nil},
		{"an unknown proposal", "lab", vote, yes(99), governance.ErrNoProposal, nil},
		{"the proposer has voted", "hosp", vote, yes(1), governance.ErrAlreadyVoted, nil},
		{"a second yes: 2 of 4 is not enough", "lab", vote, yes(1), nil, wantProposal(w, 1, governance.StatusOpen, 2, 0)},
		{"a member votes once", "lab", vote, no(1), governance.ErrAlreadyVoted, nil},
		{"a practitioner votes not", "drA", vote, yes(1), ledger.ErrUnauthorized, nil},
		{"a third yes passes it: the member is admitted with its validator", "reg", vote, yes(1), nil, func(t *testing.T) {
			wantProposal(w, 1, governance.StatusPassed, 3, 0)(t)
			p := proposal(t, w, 1)
			org, err := identity.Get(w.St.Committed(), p.Result)
			if err != nil || org.Name != "stolav" || org.OrgType != "hospital" || org.Power != 5 || org.Status != identity.StatusActive {
				t.Fatalf("admitted %+v, %v", org, err)
			}
			vk := moduletest.ValidatorKey("stolav").Public().(ed25519.PublicKey)
			if len(w.Updates) != 1 || !bytes.Equal(w.Updates[0].PubKey, vk) || w.Updates[0].Power != 5 {
				t.Fatalf("validator updates %+v", w.Updates)
			}
		}},
		{"a decided proposal takes no votes", "clinic", vote, yes(1), governance.ErrClosed, nil},
		{"the new member proposes", "stolav", propose, remove("clinic"), nil, wantProposal(w, 2, governance.StatusOpen, 1, 0)},
		{"one no of five", "lab", vote, no(2), nil, wantProposal(w, 2, governance.StatusOpen, 1, 1)},
		{"two no of five: the yes cannot pass 2/3, rejected", "reg", vote, no(2), nil, wantProposal(w, 2, governance.StatusRejected, 1, 2)},
		{"a rejected proposal takes no votes", "hosp", vote, yes(2), governance.ErrClosed, nil},
		{"a member proposes removing a validator", "hosp", propose, remove("lab"), nil, nil},
		{"a second yes", "reg", vote, yes(3), nil, nil},
		{"a third yes of five is not enough", "stolav", vote, yes(3), nil, wantProposal(w, 3, governance.StatusOpen, 3, 0)},
		{"four of five remove it and its validator", "clinic", vote, yes(3), nil, func(t *testing.T) {
			wantProposal(w, 3, governance.StatusPassed, 4, 0)(t)
			if org, _ := identity.Get(w.St.Committed(), w.ID("lab")); org.Status != identity.StatusRemoved {
				t.Fatalf("lab: %+v", org)
			}
			vk := moduletest.ValidatorKey("lab").Public().(ed25519.PublicKey)
			if len(w.Updates) != 1 || !bytes.Equal(w.Updates[0].PubKey, vk) || w.Updates[0].Power != 0 {
				t.Fatalf("validator updates %+v", w.Updates)
			}
		}},
		{"a removed member proposes nothing", "lab", propose, remove("clinic"), ledger.ErrInactiveOrg, nil},
		{"nor can it be removed again", "hosp", propose, remove("lab"), governance.ErrNotMember, nil},
	})
}

// TestProposalExpires: past the voting period a proposal reads as expired
// and takes no votes.
func TestProposalExpires(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare())
	for _, name := range []string{"a", "b", "c"} {
		w.AddValidator(name, "hospital", 10)
	}
	w.Commit()
	w.Try(t, "a", governance.TypePropose, add(member("d", "clinic", 0)), nil)
	w.Advance(governance.VotingPeriod - 1)
	w.Try(t, "b", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}, nil)
	w.Advance(1)
	w.Try(t, "c", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}, governance.ErrClosed)
	if p := proposal(t, w, 1); p.Status != governance.StatusExpired {
		t.Fatalf("proposal: %+v", p)
	}
}

// TestLastValidator: a removal that would leave no validator passes the
// vote but is not carried out: the proposal is recorded as failed
// (last_validator) and the validator stays.
func TestLastValidator(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare())
	w.AddValidator("a", "hospital", 10)
	w.AddOrg("b", "clinic")
	w.Commit()
	w.Try(t, "b", governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: w.ID("a")}, nil)
	w.Try(t, "a", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}, nil)
	p := proposal(t, w, 1)
	if p.Status != governance.StatusFailed || !strings.HasPrefix(p.Result, governance.ErrLastValidator.Name+":") {
		t.Fatalf("proposal: %+v", p)
	}
	if org, _ := identity.Get(w.St.Committed(), w.ID("a")); org.Status != identity.StatusActive || len(w.Updates) != 0 {
		t.Fatalf("a: %+v, updates %+v", org, w.Updates)
	}
}

// TestAdmissionFailsWhenTheKeyIsTaken: a proposed member's key registered
// by someone else during the vote (with its holder's proof) fails the
// admission when the vote passes: recorded, not refused.
func TestAdmissionFailsWhenTheKeyIsTaken(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare(), identity.Declare())
	w.AddValidator("a", "hospital", 10)
	w.AddValidator("b", "hospital", 10)
	w.Commit()
	w.Try(t, "a", governance.TypePropose, add(member("newcomer", "clinic", 0)), nil)
	w.AddDevice("newcomer", "b", "monitor")
	w.Try(t, "b", governance.TypeVote, governance.Vote{ProposalID: 1, Vote: "yes"}, nil)
	if p := proposal(t, w, 1); p.Status != governance.StatusFailed || !strings.HasPrefix(p.Result, identity.ErrKeyInUse.Name+":") {
		t.Fatalf("proposal: %+v", p)
	}
}

// TestProposalsPageNewestFirst: the listing answers a page of proposals,
// newest first, and the id to go on from; it reads the page, not every
// proposal ever made.
func TestProposalsPageNewestFirst(t *testing.T) {
	w := moduletest.New(t, governance.New().Declare())
	for _, name := range []string{"a", "b", "c"} {
		w.AddValidator(name, "hospital", 10)
	}
	w.Commit()
	for i := range 25 {
		w.Try(t, "a", governance.TypePropose, add(member(fmt.Sprintf("new-%d", i), "clinic", 0)), nil)
	}
	var list ledger.Query
	for _, q := range governance.New().Declare().Queries {
		if q.Name == "list" {
			list = q
		}
	}
	for _, c := range []struct {
		name   string
		params url.Values
		want   string
		err    error
	}{
		{"the newest page", nil, "ids 25-1, next 0", nil},
		{"a short page", url.Values{"limit": {"10"}}, "ids 25-16, next 15", nil},
		{"from a token", url.Values{"limit": {"10"}, "before": {"15"}}, "ids 15-6, next 5", nil},
		{"the last page", url.Values{"limit": {"10"}, "before": {"5"}}, "ids 5-1, next 0", nil},
		{"before an id not yet given", url.Values{"limit": {"3"}, "before": {"900"}}, "ids 25-23, next 22", nil},
		{"before is an id", url.Values{"before": {"latest"}}, "", ledger.ErrBadRequest},
		{"ids start at 1", url.Values{"before": {"0"}}, "", ledger.ErrBadRequest},
		{"limit at most 1000", url.Values{"limit": {"1001"}}, "", ledger.ErrBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &statetest.Counting{R: w.St.Committed()}
			out, err := list.Handle(&ledger.Request{State: st, Query: c.params, BlockTime: w.Now})
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			page := out.(ledger.Page)
			ps := page.Items.([]*governance.Proposal)
			got := fmt.Sprintf("ids %d-%d, next %s", ps[0].ID, ps[len(ps)-1].ID, cmp.Or(page.Next, "0"))
			if got != c.want {
				t.Fatalf("%s, want %s", got, c.want)
			}
			if st.Reads > len(ps)+1 {
				t.Fatalf("%d reads for a page of %d", st.Reads, len(ps))
			}
		})
	}
}
