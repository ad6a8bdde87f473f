package federated

import (
	"slices"
	"strconv"

	"github.com/primum-health/primum/ledger"
)

// owners may define tasks: research institutes and hospitals.
var owners = []string{"organisation:research", "organisation:hospital"}

// Declare declares the federated learning module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "fl", Doc: "Federated learning: model tasks trained at each participating hospital on its own data, each round's contributions averaged by the ledger in exact integers into a global model anyone can recompute.",
		Txs: routes(), Queries: queries(), Keys: []ledger.KeySpace{
			{Prefix: string(prefixTask), Read: ledger.Members},
			{Prefix: string(prefixModel), Read: ledger.Members},
			{Prefix: string(prefixAccount), Read: ledger.Members},
			// A site's own model says something of its data: its proof,
			// to the regulator (the query, to the task's parties too).
			{Prefix: string(prefixContrib), Read: ledger.Regulator},
		}}
}

func routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeTask, Args: []string{"id", "title"}, Allow: owners, Orgs: []string{"participants"}, Handle: ledger.Handle(create),
			Doc:     "A research institute or hospital defines a model task: logistic regression over named features, its hyperparameters (integers: learning rate in millionths, clipping bound at scale 2^16), rounds, a round's length in blocks and the participating organisations. Round 1 opens; the global model of round 0 is zeros.",
			Example: `{"id":"t2d-risk","title":"Type 2 diabetes risk","features":["age","bmi","sbp","hba1c"],"label":"diabetes","learning_rate_micro":500000,"local_epochs":5,"clip":327680,"rounds":10,"round_blocks":200,"participants":["<org id>","<org id>"]}`},
		{Type: TypeContribute, Args: []string{"task", "round"}, Allow: []string{"organisation"}, Handle: ledger.Handle(contribute),
			Doc:     "A participant posts its locally trained model for the open round (fixed point, scale 2^16, each weight within the clipping bound) with its sample count and its evaluation of the round's starting model on its holdout. The last participant's contribution closes the round: the ledger averages the round's models, weighted by samples, into the next global model.",
			Example: `{"task":"t2d-risk","round":1,"samples":400,"weights":[12000,30000,-5000,41000,-9000],"eval":{"holdout_commitment":"<64 hex>","holdout_size":100,"accuracy_ppm":741000,"auc_ppm":802000}}`},
		{Type: TypeMaskKey, Args: []string{"task", "public_key"}, Allow: []string{"organisation"}, Handle: ledger.Handle(postMaskKey),
			Doc:     "A participant of a secure task posts its X25519 public key for the pair masks, before the task's first contribution (which freezes the key set).",
			Example: `{"task":"t2d-risk","public_key":"<64 hex>"}`},
		{Type: TypeUnmask, Args: []string{"task", "round"}, Allow: []string{"organisation"}, Handle: ledger.Handle(unmask),
			Doc:     "After a secure round's deadline with sites that dropped out, each survivor reveals its round seed with each of them (checked against the commitment it posted): the ledger removes those masks; the last survivor's reveal closes the round.",
			Example: `{"task":"t2d-risk","round":3,"seeds":["<64 hex>"]}`},
		{Type: TypeClose, Args: []string{"task", "round"}, Allow: []string{"organisation"}, Handle: ledger.Handle(closeAfterDeadline),
			Doc:     "After a round's deadline, its owner or a participant closes it with whoever contributed (none: the model carries over); the next round opens.",
			Example: `{"task":"t2d-risk","round":3}`},
	}
}

// TaskRow is a task as the list shows it.
type TaskRow struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Owner        string `json:"owner"`
	Status       string `json:"status"`
	Round        int64  `json:"round"`
	Rounds       int64  `json:"rounds"`
	Participants int    `json:"participants"`
	ModelHash    string `json:"model_hash"`
	Consented    bool   `json:"consented,omitempty"`
}

// RoundView is a round's global model with its contributors' samples
// and evaluations (not their weights: those, to the task's parties, in
// the contributions).
type RoundView struct {
	Model
	Evals []SiteEval `json:"evals"`
}

// SiteEval is one contributor's samples and evaluation in a round.
type SiteEval struct {
	Site    string `json:"site"`
	Samples int64  `json:"samples"`
	Eval    *Eval  `json:"eval,omitempty"`
}

func queries() []ledger.Query {
	paging := []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}}
	return []ledger.Query{
		{Path: "/api/v1/fl/tasks", Name: "list", Read: ledger.Members, Answer: ledger.Page{Items: []*TaskRow{}}, Params: paging,
			Columns: ledger.Cols("TASK", "id", "TITLE", "title", "OWNER", "@owner", "STATUS", "status", "ROUND", "round", "OF", "rounds", "SITES", "participants", "ON CONSENTED RECORDS", "consented"),
			Doc:     "Every model task, with its owner, status, open round and the latest global model's hash.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[State](q.State, prefixTask, after, limit, nil)
				rows := make([]*TaskRow, 0, len(page))
				for _, s := range page {
					round := s.Round
					if s.Status == StatusDone {
						round = s.Rounds // the last, not the one after it
					}
					rows = append(rows, &TaskRow{ID: s.ID, Title: s.Title, Owner: s.Owner, Status: s.Status, Round: round, Rounds: s.Rounds,
						Participants: len(s.Participants), ModelHash: s.ModelHash, Consented: s.Consented})
				}
				return ledger.Page{Items: rows, Next: next}, err
			}},
		{Path: "/api/v1/fl/tasks/{id}", Name: "status", Read: ledger.Members, Answer: &State{},
			Doc: "A task as it stands: its definition, the open round, its deadline (height), who has contributed to it, and the latest global model's hash.",
			Handle: func(q *ledger.Request) (any, error) {
				return Get(q.State, q.Path("id"))
			}},
		{Path: "/api/v1/fl/tasks/{id}/accounts", Name: "accounts", Read: ledger.Members, Answer: ledger.Page{Items: []*Account{}}, Params: paging,
			Columns: ledger.Cols("SITE", "@site", "ROUNDS", "rounds", "SAMPLES", "samples", "ACCURACY_PPM", "last_eval.accuracy_ppm", "AUC_PPM", "last_eval.auc_ppm"),
			Doc:     "Each participant's contributions to a task: rounds, samples, and its latest evaluation on its holdout.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				s, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[Account](q.State, append(append(append([]byte{}, prefixAccount...), s.ID...), '/'), after, limit, nil)
				if page == nil {
					page = []*Account{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/fl/tasks/{id}/models", Name: "models", Read: ledger.Members, Answer: ledger.Page{Items: []*RoundView{}}, Params: paging,
			Columns: ledger.Cols("ROUND", "round", "SAMPLES", "samples", "CONTRIBUTORS", "@contributors", "HASH", "hash", "TIME", "time"),
			Doc:     "Every round's global model, oldest first (round 0: zeros), with its hash, contributors, samples and the contributors' evaluations.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				s, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[Model](q.State, append(append(append([]byte{}, prefixModel...), s.ID...), '/'), after, limit, nil)
				if err != nil {
					return nil, err
				}
				out := make([]*RoundView, 0, len(page))
				for _, m := range page {
					v, err := roundView(q.State, m)
					if err != nil {
						return nil, err
					}
					out = append(out, v)
				}
				return ledger.Page{Items: out, Next: next}, nil
			}},
		{Path: "/api/v1/fl/tasks/{id}/models/{round}", Name: "model", Read: ledger.Members, Answer: &RoundView{},
			Doc: "One round's global model: its weights (scale 2^16, the bias last), hash, contributors and their evaluations ('latest' for the newest).",
			Handle: func(q *ledger.Request) (any, error) {
				s, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				round := s.Round - 1
				if r := q.Path("round"); r != "latest" {
					if round, err = strconv.ParseInt(r, 10, 64); err != nil || round < 0 {
						return nil, ErrUnknownRound.Wrapf("a round is a number from 0, or 'latest'")
					}
				}
				m, err := GetModel(q.State, s.ID, round)
				if err != nil {
					return nil, err
				}
				return roundView(q.State, m)
			}},
		{Path: "/api/v1/fl/tasks/{id}/rounds/{round}/contributions", Name: "contributions", Read: ledger.Members, Answer: []*Contribution{},
			Columns: ledger.Cols("SITE", "@site", "SAMPLES", "samples", "WEIGHTS", "weights"),
			Doc:     "A round's contributions, each site's model as posted: to the task's owner, its participants and a regulator, so that any of them can recompute the global model (federated.Average).",
			Handle: func(q *ledger.Request) (any, error) {
				s, err := Get(q.State, q.Path("id"))
				if err != nil {
					return nil, err
				}
				if !q.Caller.IsRegulator() && q.Caller.ActsFor() != s.Owner && !(q.Caller.Kind == ledger.KindOrganisation && slices.Contains(s.Participants, q.Caller.ID)) {
					return nil, ErrNoTaskStanding
				}
				round, err := strconv.ParseInt(q.Path("round"), 10, 64)
				if err != nil || round < 1 || round > s.Rounds {
					return nil, ErrUnknownRound.Wrapf("rounds are 1 to %d", s.Rounds)
				}
				return contributions(q.State, s.ID, round)
			}},
	}
}

// contributions reads a round's contributions, at most MaxParticipants.
func contributions(r ledger.Reader, id string, round int64) ([]*Contribution, error) {
	out := []*Contribution{}
	var derr error
	err := ledger.Scan(r, contribPrefix(id, round), nil, false, func(_, v []byte) bool {
		var c Contribution
		if derr = ledger.DecodeState(v, &c); derr != nil {
			return false
		}
		out = append(out, &c)
		return len(out) < MaxParticipants
	})
	if err == nil {
		err = derr
	}
	return out, err
}

func roundView(r ledger.Reader, m *Model) (*RoundView, error) {
	v := &RoundView{Model: *m, Evals: []SiteEval{}}
	if m.Round == 0 {
		return v, nil
	}
	cs, err := contributions(r, m.Task, m.Round)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		v.Evals = append(v.Evals, SiteEval{Site: c.Site, Samples: c.Samples, Eval: c.Eval})
	}
	return v, nil
}
