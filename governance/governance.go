package governance

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers governance.go upgrade.go

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Transaction types.
const (
	TypePropose = "governance.propose"
	TypeVote    = "governance.vote"
)

// Actions a proposal may take.
const (
	ActionAddMember    = "add_member"
	ActionRemoveMember = "remove_member"
)

// Proposal statuses.
const (
	StatusOpen     = "open"
	StatusPassed   = "passed"
	StatusRejected = "rejected"
	StatusExpired  = "expired"
	StatusFailed   = "failed"
)

// VotingPeriod is how long a proposal stays open, in block time, unless
// the genesis sets another (GenesisState).
const VotingPeriod = 14 * 24 * time.Hour

// MaxPower bounds a member's validator power.
const MaxPower = 1_000_000

// Errors of codespace "governance". Codes are stable.
var (
	ErrBadAction     = ledger.NewError("governance", 1, "bad_action", 400, "action must be add_member, remove_member, upgrade or cancel_upgrade")
	ErrNoProposal    = ledger.NewError("governance", 2, "unknown_proposal", 404, "no such proposal")
	ErrClosed        = ledger.NewError("governance", 3, "proposal_closed", 409, "proposal is no longer open")
	ErrAlreadyVoted  = ledger.NewError("governance", 4, "already_voted", 409, "this member has already voted on the proposal")
	ErrBadVote       = ledger.NewError("governance", 5, "bad_vote", 400, "vote must be yes or no")
	ErrNotMember     = ledger.NewError("governance", 6, "not_a_member", 404, "the organisation to remove is not an active member")
	ErrBadPower      = ledger.NewError("governance", 7, "bad_power", 400, "power must be between 0 and 1000000, and needs a validator key when above 0")
	ErrLastValidator = ledger.NewError("governance", 8, "last_validator", 409, "removing this member would leave no validator")
	ErrBadMember     = ledger.NewError("governance", 9, "bad_member", 400, "the proposed member is invalid")
)

// NewMember describes an organisation proposed for admission.
type NewMember struct {
	Name         string `json:"name"`
	OrgType      string `json:"org_type"`
	Key          string `json:"key"`
	ValidatorKey string `json:"validator_key,omitempty"`
	Power        int64  `json:"power,omitempty"`
	// Proofs of possession (identity.PossessionProofBytes, hex) a proposal
	// needs, so nobody can propose, or squat, a key they do not hold, nor
	// propose an organisation as anything it did not agree to: the operator
	// key's over kind member and identity.MemberRegistrant (name, org type
	// and validator key; not the power, which is the proposer's to choose),
	// the validator key's over kind validator and the organisation's id.
	// The founding members of genesis carry none.
	KeyProof          string `json:"key_proof,omitempty"`
	ValidatorKeyProof string `json:"validator_key_proof,omitempty"`
}

// ProvedMember is an organisation to propose, with its keys' proofs of
// possession signed by key and validator (nil: a member without a
// validator): what the joining organisation, which alone holds both
// private keys, hands to the member who proposes it. The proofs bind the
// name, the type and the validator key; the proposer sets Power.
func ProvedMember(chainID, name, orgType string, key, validator ed25519.PrivateKey) *NewMember {
	m := &NewMember{Name: name, OrgType: orgType}
	if validator != nil {
		m.ValidatorKey = hex.EncodeToString(validator.Public().(ed25519.PublicKey))
		m.ValidatorKeyProof = identity.ProvePossession(validator, chainID, identity.ProofValidator, ledger.Address(key.Public().(ed25519.PublicKey)))
	}
	_ = m.ProveKey(chainID, key) // the validator key is well formed: made here
	return m
}

// ProveKey makes key nm's operator key, with the proof of possession that
// agrees to admission as exactly nm's name, type and validator key (as its
// holder, who has the key here, would sign it); a validator key that does
// not parse is refused.
func (nm *NewMember) ProveKey(chainID string, key ed25519.PrivateKey) error {
	var vk ed25519.PublicKey
	if nm.ValidatorKey != "" {
		var err error
		if vk, err = identity.ParseKey(nm.ValidatorKey); err != nil {
			return err
		}
	}
	nm.Key = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	nm.KeyProof = identity.ProvePossession(key, chainID, identity.ProofMember, identity.MemberRegistrant(nm.Name, nm.OrgType, vk))
	return nil
}

// CheckProofs verifies nm's proofs of possession for a proposal on chain
// chainID, as the ledger will: a proposer can check a membership request
// before sending it. Keys that do not parse are left to the ledger to
// refuse.
func (nm *NewMember) CheckProofs(chainID string) error {
	key, err := identity.ParseKey(nm.Key)
	if err != nil {
		return nil
	}
	var vk ed25519.PublicKey
	if nm.ValidatorKey != "" {
		if vk, err = identity.ParseKey(nm.ValidatorKey); err != nil {
			return nil
		}
	}
	return nm.checkProofs(chainID, key, vk)
}

func (nm *NewMember) checkProofs(chainID string, key, vk ed25519.PublicKey) error {
	err := identity.CheckPossession(chainID, identity.ProofMember, identity.MemberRegistrant(nm.Name, nm.OrgType, vk), key, nm.KeyProof)
	if errors.Is(err, identity.ErrBadKeyProof) {
		validator := "no validator key"
		if vk != nil {
			validator = "validator key " + hex.EncodeToString(vk)
		}
		return identity.ErrBadKeyProof.Wrapf("operator key %x: the proof must be its holder's agreement, on chain %q, to be admitted as %q (org_type %s) with %s "+
			"(primum keys prove-possession --as member; the power is the proposer's choice and is not signed)", key, chainID, nm.Name, nm.OrgType, validator)
	}
	if err != nil || vk == nil {
		return err
	}
	return identity.CheckPossession(chainID, identity.ProofValidator, ledger.Address(key), vk, nm.ValidatorKeyProof)
}

// Propose is the body of governance.propose.
type Propose struct {
	Action string     `json:"action"`
	Member *NewMember `json:"member,omitempty"` // add_member
	OrgID  string     `json:"org_id,omitempty"` // remove_member
	// Upgrade is the software upgrade to schedule (upgrade: name, height,
	// info) or to cancel (cancel_upgrade: its name).
	Upgrade *UpgradePlan `json:"upgrade,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// Vote is the body of governance.vote.
type Vote struct {
	ProposalID uint64 `json:"proposal_id"`
	Vote       string `json:"vote"`
}

// Proposal is a membership change put to the members.
//
//easyjson:json
type Proposal struct {
	ID     uint64     `json:"id"`
	Action string     `json:"action"`
	Member *NewMember `json:"member,omitempty"`
	OrgID  string     `json:"org_id,omitempty"`
	// Upgrade is an upgrade or cancel_upgrade proposal's plan.
	Upgrade   *UpgradePlan `json:"upgrade,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	Proposer  string       `json:"proposer"`
	Height    int64        `json:"height"`
	Deadline  string       `json:"deadline"` // RFC 3339
	Status    string       `json:"status"`
	Yes       []string     `json:"yes"`
	No        []string     `json:"no"`
	Electors  int          `json:"electors"` // active members when last counted
	DecidedAt int64        `json:"decided_at,omitempty"`
	// Result is the id of an admitted member.
	Result string `json:"result,omitempty"`
}

var (
	prefixProposal = []byte("gov/p/")
	keyNextID      = []byte("gov/next")
)

func proposalKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixProposal...), id)
}

// Module is the governance state machine.
type Module struct{ Members Members }

// New returns the module over the identity package.
func New() *Module { return &Module{Members: IdentityMembers{}} }

// Declare declares the governance module (see ledger.Module).
func (m *Module) Declare() ledger.Module {
	return ledger.Module{Name: "governance", Doc: "The members' votes on who joins, who leaves and who validates.",
		Txs: m.Routes(), Queries: queries(), Keys: []ledger.KeySpace{{Prefix: "gov/", Read: ledger.Public}}, Genesis: genesis(),
		Migrations: migrations}
}

// Routes are the transactions of this module.
func (m *Module) Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypePropose, Allow: []string{"organisation"}, Handle: ledger.Handle(m.propose),
			Doc:     "A member proposes admitting or removing a member organisation (and its validator power), or scheduling (or cancelling) a software upgrade at a height.",
			Example: `{"action":"add_member","member":{"name":"St Olav Hospital","org_type":"hospital","key":"<hex>","validator_key":"<hex>","power":10},"reason":"regional expansion"}`},
		{Type: TypeVote, Args: []string{"proposal_id", "vote"}, Allow: []string{"organisation"}, Handle: ledger.Handle(m.vote),
			Doc: "A member votes yes or no on an open proposal.", Example: `{"proposal_id":1,"vote":"yes"}`},
	}
}

// Get reads a proposal; an open proposal past its deadline reads as expired.
func Get(r ledger.Reader, id uint64, now time.Time) (*Proposal, error) {
	var p Proposal
	b, err := r.Get(proposalKey(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, ErrNoProposal.Wrapf("%d", id)
	}
	if err := decodeProposal(b, &p); err != nil {
		return nil, err
	}
	p.expire(now)
	return &p, nil
}

func (p *Proposal) expire(now time.Time) {
	if p.Status != StatusOpen {
		return
	}
	if d, err := time.Parse(time.RFC3339, p.Deadline); err == nil && !now.Before(d) {
		p.Status = StatusExpired
	}
}

// ListPage returns up to limit proposals, newest first, from the proposal
// numbered before (inclusive; 0: from the newest). next is the id of the
// proposal after the page (0: none). Proposal ids are sequential and keyed
// big-endian, so the page seeks backwards from its first key: it costs what
// it returns, however many proposals the consortium has voted on.
func ListPage(r ledger.Reader, now time.Time, before uint64, limit int) (page []*Proposal, next uint64, err error) {
	var start []byte
	if before != 0 {
		start = proposalKey(before)
	}
	var derr error
	err = ledger.Scan(r, prefixProposal, start, true, func(key, v []byte) bool {
		if len(page) == limit {
			next = binary.BigEndian.Uint64(key[len(prefixProposal):])
			return false
		}
		p := new(Proposal)
		if derr = decodeProposal(v, p); derr != nil {
			return false
		}
		p.expire(now)
		page = append(page, p)
		return true
	})
	if err == nil {
		err = derr
	}
	return page, next, err
}

func (m *Module) propose(ctx *ledger.Context, msg *Propose) error {
	if len(msg.Reason) > 500 {
		return ledger.ErrInvalidBody.Wrapf("reason is longer than 500")
	}
	if msg.Upgrade != nil && msg.Action != ActionUpgrade && msg.Action != ActionCancelUpgrade {
		return ErrBadMember.Wrapf("%s takes no upgrade", msg.Action)
	}
	switch msg.Action {
	case ActionUpgrade, ActionCancelUpgrade:
		if msg.Member != nil || msg.OrgID != "" {
			return ErrBadUpgrade.Wrapf("%s takes upgrade, not member or org_id", msg.Action)
		}
		if err := checkUpgrade(ctx, msg.Action, msg.Upgrade); err != nil {
			return err
		}
	case ActionAddMember:
		if msg.Member == nil || msg.OrgID != "" {
			return ErrBadMember.Wrapf("add_member needs member and no org_id")
		}
		if err := m.checkNewMember(ctx, msg.Member); err != nil {
			return err
		}
	case ActionRemoveMember:
		if msg.Member != nil {
			return ErrBadMember.Wrapf("remove_member takes org_id, not member")
		}
		org, err := m.Members.Get(ctx.State, msg.OrgID)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		if err != nil || org.Kind != ledger.KindOrganisation || org.Status != identity.StatusActive {
			return ErrNotMember.Wrapf("%q", msg.OrgID)
		}
	default:
		return ErrBadAction.Wrapf("%q", msg.Action)
	}
	id := uint64(1)
	if b, err := ctx.State.Get(keyNextID); err != nil {
		return err
	} else if len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	ctx.State.Set(keyNextID, binary.BigEndian.AppendUint64(nil, id+1))
	period, err := votingPeriod(ctx.State)
	if err != nil {
		return err
	}
	p := &Proposal{ID: id, Action: msg.Action, Member: msg.Member, OrgID: msg.OrgID, Upgrade: msg.Upgrade, Reason: msg.Reason,
		Proposer: ctx.Signer.ID, Height: ctx.Height, Deadline: ctx.Time.Add(period).UTC().Format(time.RFC3339),
		Status: StatusOpen, Yes: []string{}, No: []string{}}
	ctx.Emit("governance.proposed", [2]string{"proposal_id", strconv.FormatUint(id, 10)}, [2]string{"action", p.Action})
	// The proposer votes yes.
	return m.count(ctx, p, ctx.Signer.ID, "yes")
}

// checkNewMember checks a proposed member as far as it can be before the
// vote: its fields, that its keys' holders agreed to this admission (proofs
// of possession) and that the organisation could be admitted now (keys not
// weak, not in use; validator key no other member's). Execution checks the
// state again.
func (m *Module) checkNewMember(ctx *ledger.Context, nm *NewMember) error {
	if nm.Name == "" || len(nm.Name) > 200 {
		return ErrBadMember.Wrapf("name must be 1-200 characters")
	}
	if err := identity.CheckName(nm.Name, 200); err != nil {
		return err // a name every member's terminal and page shows
	}
	if !contains(identity.OrgTypes, nm.OrgType) {
		return identity.ErrBadOrgType.Wrapf("%q", nm.OrgType)
	}
	key, err := identity.ParseKey(nm.Key)
	if err != nil {
		return err
	}
	if nm.Power < 0 || nm.Power > MaxPower || (nm.Power > 0 && nm.ValidatorKey == "") {
		return ErrBadPower
	}
	var vk ed25519.PublicKey
	if nm.ValidatorKey != "" {
		if vk, err = identity.ParseKey(nm.ValidatorKey); err != nil {
			return ErrBadMember.Wrapf("validator_key: %v", err)
		}
	} else if nm.ValidatorKeyProof != "" {
		return ErrBadMember.Wrapf("validator_key_proof without validator_key")
	}
	// What the keys themselves are (weak or not), then the proofs, then
	// the state: whether a key is in use is said only to whoever holds it,
	// not to a member probing keys without their holders.
	if err := identity.CheckNewKey(key); err != nil {
		return err
	}
	if vk != nil {
		if err := identity.CheckNewKey(vk); err != nil {
			return fmt.Errorf("validator key: %w", err)
		}
	}
	if err := nm.checkProofs(ctx.ChainID, key, vk); err != nil {
		return err
	}
	return m.Members.CheckOrganisation(ctx.State, nm.Name, nm.OrgType, key, vk)
}

func (m *Module) vote(ctx *ledger.Context, msg *Vote) error {
	if msg.Vote != "yes" && msg.Vote != "no" {
		return ErrBadVote.Wrapf("%q", msg.Vote)
	}
	p, err := Get(ctx.State, msg.ProposalID, ctx.Time)
	if err != nil {
		return err
	}
	if p.Status != StatusOpen {
		return ErrClosed.Wrapf("proposal %d is %s", p.ID, p.Status)
	}
	if contains(p.Yes, ctx.Signer.ID) || contains(p.No, ctx.Signer.ID) {
		return ErrAlreadyVoted
	}
	return m.count(ctx, p, ctx.Signer.ID, msg.Vote)
}

// count adds a vote and decides the proposal when the outcome is certain:
// passed when yes votes exceed 2/3 of the active members, rejected when they
// no longer can.
func (m *Module) count(ctx *ledger.Context, p *Proposal, voter, vote string) error {
	if vote == "yes" {
		p.Yes = append(p.Yes, voter)
	} else {
		p.No = append(p.No, voter)
	}
	members, err := m.Members.ActiveMembers(ctx.State)
	if err != nil {
		return err
	}
	active := make(map[string]bool, len(members))
	for _, o := range members {
		active[o.ID] = true
	}
	yes, no := 0, 0
	for _, v := range p.Yes {
		if active[v] {
			yes++
		}
	}
	for _, v := range p.No {
		if active[v] {
			no++
		}
	}
	n := len(members)
	p.Electors = n
	switch {
	case 3*yes > 2*n:
		p.Status, p.DecidedAt = StatusPassed, ctx.Height
		if err := m.execute(ctx, p); err != nil {
			// The vote stands; the change could not be made (e.g. the key
			// was taken meanwhile). Record why instead of blocking the vote
			// — but only a rejection: a storage error is no decision, and
			// recording it would commit one node's disk fault as state.
			var rejection *ledger.Error
			if !errors.As(err, &rejection) {
				return err
			}
			p.Status, p.Result = StatusFailed, rejection.Name+": "+err.Error()
		}
	case 3*(n-no) <= 2*n:
		p.Status, p.DecidedAt = StatusRejected, ctx.Height
	}
	putProposal(ctx.State, p)
	ctx.Emit("governance.voted", [2]string{"proposal_id", strconv.FormatUint(p.ID, 10)},
		[2]string{"vote", vote}, [2]string{"status", p.Status})
	return nil
}

func (m *Module) execute(ctx *ledger.Context, p *Proposal) error {
	switch p.Action {
	case ActionAddMember:
		key, _ := identity.ParseKey(p.Member.Key)
		var vk []byte
		if p.Member.ValidatorKey != "" {
			vk, _ = identity.ParseKey(p.Member.ValidatorKey)
		}
		org, err := m.Members.AddOrganisation(ctx.State, p.Member.Name, p.Member.OrgType, key, vk, p.Member.Power, ctx.Height)
		if err != nil {
			return err
		}
		p.Result = org.ID
		if p.Member.Power > 0 {
			*ctx.ValidatorUpdates = append(*ctx.ValidatorUpdates, ledger.ValidatorUpdate{PubKey: vk, Power: p.Member.Power})
		}
	case ActionRemoveMember:
		org, err := m.Members.Get(ctx.State, p.OrgID)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return err
		}
		if err != nil || org.Status != identity.StatusActive {
			return ErrNotMember.Wrapf("%q", p.OrgID)
		}
		if org.Power > 0 {
			if err := m.checkNotLastValidator(ctx, org); err != nil {
				return err
			}
		}
		if _, err := m.Members.RemoveOrganisation(ctx.State, p.OrgID); err != nil {
			return err
		}
		if org.Power > 0 && org.ValidatorKey != "" {
			vk, _ := hex.DecodeString(org.ValidatorKey)
			*ctx.ValidatorUpdates = append(*ctx.ValidatorUpdates, ledger.ValidatorUpdate{PubKey: vk, Power: 0})
		}
	case ActionUpgrade, ActionCancelUpgrade:
		return executeUpgrade(ctx, p)
	default:
		return ErrBadAction.Wrapf("%q", p.Action)
	}
	return nil
}

// checkNotLastValidator refuses a removal that would leave CometBFT an
// empty validator set, which halts the chain for good. It counts validator
// keys, not members: the removal sets the leaving member's key to power 0,
// so another member holding the same key (admitted before keys had to be
// unique) leaves with it and does not count.
func (m *Module) checkNotLastValidator(ctx *ledger.Context, leaving *identity.Identity) error {
	members, err := m.Members.ActiveMembers(ctx.State)
	if err != nil {
		return err
	}
	for _, o := range members {
		if o.ID != leaving.ID && o.Power > 0 && o.ValidatorKey != "" && o.ValidatorKey != leaving.ValidatorKey {
			return nil
		}
	}
	return ErrLastValidator
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Summary says, in a line a person reads, where a proposal stands.
func (p *Proposal) Summary() string {
	what := p.Action
	switch {
	case p.Member != nil:
		what += fmt.Sprintf(" %q", p.Member.Name)
	case p.OrgID != "":
		what += " " + p.OrgID
	case p.Upgrade != nil && p.Action == ActionUpgrade:
		what += fmt.Sprintf(" %q at height %d", p.Upgrade.Name, p.Upgrade.Height)
	case p.Upgrade != nil:
		what += fmt.Sprintf(" %q", p.Upgrade.Name)
	}
	line := fmt.Sprintf("proposal %d (%s): %s", p.ID, what, p.Status)
	switch p.Status {
	case StatusOpen:
		line += fmt.Sprintf(" until %s, %d yes and %d no of %d members; it passes when more than 2/3 vote yes", p.Deadline, len(p.Yes), len(p.No), p.Electors)
	case StatusPassed:
		if p.Action == ActionAddMember && p.Result != "" {
			line += ", admitted as " + p.Result
		}
	case StatusFailed:
		line += ": " + p.Result
	}
	return line
}
