package trials

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/primum-health/primum/ledger"
)

// sponsors may register trials: research institutes, hospitals, clinics
// and manufacturers; sites are whichever members a protocol names.
var sponsors = []string{"organisation:research", "organisation:hospital", "organisation:clinic", "organisation:manufacturer"}

// Declare declares the trials module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "trials", Doc: "The clinical-trial registry: protocols with every version kept, outcome switching flagged, pseudonymous enrolment with research consent, results scored against what was registered.",
		Txs: routes(), Queries: queries(), Keys: []ledger.KeySpace{
			{Prefix: string(prefixTrial), Read: ledger.Public},
			{Prefix: string(prefixVersion), Read: ledger.Public},
			{Prefix: string(prefixBatch), Read: ledger.Public},
			// An enrolment names a pseudonym: it is the participant's.
			{Prefix: string(prefixParticipant), Read: ledger.PatientSelf, Subject: func(_ ledger.Reader, key string) (string, error) {
				_, p, _ := strings.Cut(key[len(prefixParticipant):], "/")
				return p, nil
			}},
		}}
}

func routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegister, Args: []string{"id"}, Allow: sponsors, Handle: ledger.Handle(register),
			Doc:     "A sponsor pre-registers a trial's protocol (WHO TRDS core items and a commitment to the full document). The registration time is the block time.",
			Example: `{"id":"PRM-2026-0001","protocol":{"title":"Metformin XR versus IR in type 2 diabetes","conditions":["Diabetes mellitus type 2"],"interventions":["metformin 500 mg XR"],"inclusion":"adults 40-75 with HbA1c 7-10%","exclusion":"eGFR < 45","sample_size":240,"primary_outcomes":[{"id":"hba1c","measure":"change in HbA1c","time_frame":"24 weeks"}],"sites":["<org id>"],"protocol_commitment":"<64 hex>"}}`},
		{Type: TypeAmend, Args: []string{"id", "reason..."}, Allow: sponsors, Handle: ledger.Handle(amend),
			Doc:     "The sponsor amends the protocol: a new version with its reason and time. A change to the primary outcomes after the first enrolment is flagged on the trial.",
			Example: `{"id":"PRM-2026-0001","reason":"a second site","protocol":{"...":"the whole protocol as amended"}}`},
		{Type: TypeEnrol, Args: []string{"trial", "participant"}, Allow: []string{"organisation", "practitioner"}, Handle: ledger.Handle(enrol),
			Doc:     "A site the protocol names enrols a participant (a patient pseudonym) who holds a research consent for it.",
			Example: `{"trial":"PRM-2026-0001","participant":"<patient id>"}`},
		{Type: TypeWithdraw, Args: []string{"trial", "participant"}, Allow: []string{"patient", "organisation", "practitioner"}, Handle: ledger.Handle(withdraw),
			Doc:     "A participant withdraws (themselves), or the site that enrolled them records the withdrawal.",
			Example: `{"trial":"PRM-2026-0001","participant":"<patient id>"}`},
		{Type: TypeAnchor, Args: []string{"trial"}, Allow: []string{"organisation", "practitioner"}, Handle: ledger.Handle(anchorBatch),
			Doc:     "A site anchors a batch of its case-report records: the batch's Merkle root and size (RFC 9162) and the participants it covers, each enrolled there and not withdrawn. Any record can later be proven to have been in it ('primum trials prove').",
			Example: `{"trial":"PRM-2026-0001","root":"<64 hex>","size":120,"participants":["<patient id>"]}`},
		{Type: TypeResults, Args: []string{"trial"}, Allow: sponsors, Handle: ledger.Handle(results),
			Doc:     "The sponsor registers results against the registered outcomes (each reported with a commitment to its analysis, or declared not reported with a reason; outcomes never registered go under added and are flagged). Enrolment closes.",
			Example: `{"trial":"PRM-2026-0001","results":{"reported":[{"id":"hba1c","summary":"-0.9 points (95% CI -1.1 to -0.7)","analysis_commitment":"<64 hex>"}]}}`},
	}
}

// TrialRow is a trial as the registry lists it.
type TrialRow struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Sponsor  string `json:"sponsor"`
	Status   string `json:"status"`
	Version  int64  `json:"version"`
	Enrolled int64  `json:"enrolled"`
	Flags    int    `json:"flags"`
	Score    *Score `json:"score,omitempty"`
}

// FlagRow is one flag of the registry-wide list (a flag's fields but its
// height, with its trial and sponsor).
type FlagRow struct {
	Trial   string   `json:"trial"`
	Sponsor string   `json:"sponsor"`
	Kind    string   `json:"kind"`
	Version int64    `json:"version"`
	Time    string   `json:"time"`
	Added   []string `json:"added,omitempty"`
	Dropped []string `json:"dropped,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// VersionChange is a version with what changed from the one before, in
// words (computed when read, not on the ledger).
type VersionChange struct {
	Version
	Changes []string `json:"changes"`
	Flagged bool     `json:"flagged,omitempty"`
}

func queries() []ledger.Query {
	return []ledger.Query{
		{Path: "/api/v1/trials", Name: "list", Read: ledger.Public, Answer: ledger.Page{Items: []*TrialRow{}},
			Columns: ledger.Cols("TRIAL", "id", "TITLE", "title", "SPONSOR", "@sponsor", "STATUS", "status", "VERSION", "version", "ENROLLED", "enrolled", "FLAGS", "flags",
				"REPORTED", "score.reported", "OF", "score.registered", "MISSING", "score.missing", "ADDED", "score.added"),
			Doc:    "The registry: every trial by id, with its status, version, enrolment and how many flags the ledger raised, a page at a time.",
			Params: []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}, {Name: "flagged", Doc: "true: only trials with a flag"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				flagged := q.Query.Get("flagged") == "true"
				page, next, err := ledger.ScanPage(q.State, prefixTrial, after, limit, func(t *Trial) bool { return !flagged || len(t.Flags) > 0 })
				rows := make([]*TrialRow, 0, len(page))
				for _, t := range page {
					rows = append(rows, &TrialRow{ID: t.ID, Title: t.Protocol.Title, Sponsor: t.Sponsor, Status: t.Status, Version: t.Version,
						Enrolled: t.Enrolled, Flags: len(t.Flags), Score: t.Score})
				}
				return ledger.Page{Items: rows, Next: next}, err
			}},
		{Path: "/api/v1/trial-flags", Name: "flags", Read: ledger.Public, Answer: ledger.Page{Items: []*FlagRow{}},
			Columns: ledger.Cols("TRIAL", "trial", "SPONSOR", "@sponsor", "FLAG", "kind", "VERSION", "version", "TIME", "time", "ADDED", "added", "DROPPED", "dropped", "CHANGED", "changed"),
			Doc:     "Every flag the ledger raised, registry-wide, by trial: outcome switches after enrolment (with the version and time) and outcomes added in results.",
			Params:  []ledger.Param{{Name: "limit", Doc: "trials a page: 1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage(q.State, prefixTrial, after, limit, func(t *Trial) bool { return len(t.Flags) > 0 })
				rows := []*FlagRow{}
				for _, t := range page {
					for _, f := range t.Flags {
						rows = append(rows, &FlagRow{Trial: t.ID, Sponsor: t.Sponsor, Kind: f.Kind, Version: f.Version, Time: f.Time,
							Added: f.Added, Dropped: f.Dropped, Changed: f.Changed})
					}
				}
				return ledger.Page{Items: rows, Next: next}, err
			}},
		{Path: "/api/v1/trials/{id}", Name: "show", Read: ledger.Public, Answer: &Trial{},
			Doc: "A trial as it stands: the current protocol, its flags (each with the version and time that raised it), enrolment counts, results and score.",
			Handle: func(q *ledger.Request) (any, error) {
				return Get(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/trials/{id}/batches", Name: "batches", Read: ledger.Public, Answer: ledger.Page{Items: []*Batch{}},
			Columns: ledger.Cols("BATCH", "seq", "SITE", "@site", "RECORDS", "size", "PARTICIPANTS", "participants", "ROOT", "root", "TIME", "time"),
			Doc:     "The trial's anchored data batches, oldest first: each one's site, Merkle root, size, how many participants it covers, and when.",
			Params:  []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				t, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[Batch](q.State, append(append(append([]byte{}, prefixBatch...), t.ID...), '/'), after, limit, nil)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/trials/{id}/batches/{seq}", Name: "batch", Read: ledger.Public, Answer: &Batch{},
			Doc: "One anchored batch by its number.",
			Handle: func(q *ledger.Request) (any, error) {
				seq, err := strconv.ParseInt(q.Path("seq"), 10, 64)
				if err != nil || seq < 1 {
					return nil, ErrUnknownBatch.Wrapf("batch numbers start at 1")
				}
				return GetBatch(q.State, q.Path("id"), seq)
			}},
		{Path: "/api/v1/trials/{id}/participants", Name: "participants", Read: ledger.Members, Answer: ledger.Page{Items: []*Participant{}},
			Columns: ledger.Cols("PARTICIPANT", "participant", "SITE", "@site", "STATUS", "status", "ENROLLED", "enrolled", "WITHDRAWN", "withdrawn"),
			Doc:     "A trial's enrolments (the participant's pseudonym, the site, enrolled or withdrawn, and when), as the caller may read them: the sponsor and a regulator every one, a site those it enrolled, a participant their own.",
			Params:  []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				t, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				page, next, err := Enrolments(q.State, t, q.Caller, after, limit)
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/trials/{id}/participants/{participant}", Name: "participant", Read: ledger.Members, Answer: &Participant{},
			Doc: "One enrolment, to those who may read it (as the list): an enrolment the caller may not read answers as one that does not exist.",
			Handle: func(q *ledger.Request) (any, error) {
				t, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				return Enrolment(q.State, t, q.Caller, q.Path("participant"))
			}},
		{Path: "/api/v1/trials/{id}/history", Name: "history", Read: ledger.Public, Answer: ledger.Page{Items: []*VersionChange{}},
			Columns: ledger.Cols("VERSION", "version", "TIME", "time", "REASON", "reason", "FLAGGED", "flagged", "CHANGES", "changes"),
			Doc:     "Every version of a trial's protocol, oldest first, each with its reason, time and what changed from the version before; a version that switched primary outcomes after enrolment is marked.",
			Params:  []ledger.Param{{Name: "limit", Doc: "1-100 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}},
			Handle:  historyQuery},
	}
}

func historyQuery(q *ledger.Request) (any, error) {
	limit, after, err := q.Paging(100, 100)
	if err != nil {
		return nil, err
	}
	t, err := Get(q.State, q.Path("id"))
	if err != nil {
		return nil, err
	}
	prefix := append(append(append([]byte{}, prefixVersion...), t.ID...), '/')
	// One version before the page, to say what the page's first changed.
	from := int64(1)
	if after != "" {
		if len(after) != 8 {
			return nil, ledger.ErrBadRequest.Wrapf("after must be a page token from the Link header")
		}
		from = int64(binary.BigEndian.Uint64([]byte(after)))
	}
	var prev *Version
	if from > 1 {
		var v Version
		if found, err := ledger.GetJSON(q.State, versionKey(t.ID, from-1), &v); err != nil {
			return nil, err
		} else if found {
			prev = &v
		}
	}
	page, next, err := ledger.ScanPage[Version](q.State, prefix, after, limit, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*VersionChange, 0, len(page))
	for _, v := range page {
		c := &VersionChange{Version: *v, Changes: []string{}}
		if prev == nil {
			c.Changes = append(c.Changes, "registered")
		} else {
			c.Changes = Diff(&prev.Protocol, &v.Protocol)
		}
		c.Flagged = slices.ContainsFunc(t.Flags, func(f Flag) bool { return f.Kind == FlagOutcomeSwitched && f.Version == v.Version })
		out = append(out, c)
		prev = v
	}
	return ledger.Page{Items: out, Next: next}, nil
}

// Diff says in words what changed between two versions of a protocol.
func Diff(a, b *Protocol) []string {
	var out []string
	text := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %q → %q", name, x, y))
		}
	}
	list := func(name string, x, y []string) {
		for _, s := range y {
			if !slices.Contains(x, s) {
				out = append(out, fmt.Sprintf("%s added: %q", name, s))
			}
		}
		for _, s := range x {
			if !slices.Contains(y, s) {
				out = append(out, fmt.Sprintf("%s removed: %q", name, s))
			}
		}
	}
	outcomes := func(name string, x, y []Outcome) {
		byID := map[string]Outcome{}
		for _, o := range x {
			byID[o.ID] = o
		}
		for _, o := range y {
			p, ok := byID[o.ID]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s added: %s %q (%s)", name, o.ID, o.Measure, o.TimeFrame))
			case p != o:
				out = append(out, fmt.Sprintf("%s %s changed: %q (%s) → %q (%s)", name, o.ID, p.Measure, p.TimeFrame, o.Measure, o.TimeFrame))
			}
		}
		for _, o := range x {
			if !slices.ContainsFunc(y, func(n Outcome) bool { return n.ID == o.ID }) {
				out = append(out, fmt.Sprintf("%s removed: %s %q", name, o.ID, o.Measure))
			}
		}
	}
	text("title", a.Title, b.Title)
	list("condition", a.Conditions, b.Conditions)
	list("intervention", a.Interventions, b.Interventions)
	text("inclusion", a.Inclusion, b.Inclusion)
	text("exclusion", a.Exclusion, b.Exclusion)
	if a.SampleSize != b.SampleSize {
		out = append(out, "sample size: "+strconv.FormatInt(a.SampleSize, 10)+" → "+strconv.FormatInt(b.SampleSize, 10))
	}
	outcomes("primary outcome", a.PrimaryOutcomes, b.PrimaryOutcomes)
	outcomes("secondary outcome", a.SecondaryOutcomes, b.SecondaryOutcomes)
	list("site", a.Sites, b.Sites)
	if a.ProtocolCommitment != b.ProtocolCommitment {
		out = append(out, "protocol document: a new version committed")
	}
	return out
}
