// Package flrun is a site's side of a federated learning task (package
// federated): each round it reads the global model the ledger holds,
// evaluates it on the site's holdout, trains it further on the site's own
// data, and posts the result — the data never leaves the site. A site that
// was down catches up: it contributes to whatever round is open, and
// closes a round whose deadline passed so that the task goes on. In a
// secure task it posts its mask key (derived from its key: nothing to
// store), masks its update, and reveals its round seeds with a site that
// dropped out (federated/secure.go).
package flrun

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/federated"
	"github.com/primum-health/primum/ledger"
)

// Site is one participant's runner.
type Site struct {
	Client *client.Client
	// Key is the participant organisation's key: it signs reads and
	// contributions.
	Key            ed25519.PrivateKey
	Task           string
	Train, Holdout []federated.Example
	// Poll is how long to wait between looks at the task (default 500 ms).
	Poll time.Duration
	// Log, if set, is told each round's contribution.
	Log func(round int64, eval *federated.Eval)
}

// Run takes part in the task until it is done, and returns it as it ended.
func (s *Site) Run(ctx context.Context) (*federated.State, error) {
	poll := s.Poll
	if poll == 0 {
		poll = 500 * time.Millisecond
	}
	for {
		st, acted, err := s.Step(ctx)
		if err != nil || st.Status == federated.StatusDone {
			return st, err
		}
		if !acted {
			if err := sleep(ctx, poll); err != nil {
				return nil, err
			}
		}
	}
}

// Step looks at the task once and does what is due: post the mask key,
// contribute, reveal seeds, close a round past its deadline — or nothing
// (acted false: waiting for the others). It returns the task as it saw it.
func (s *Site) Step(ctx context.Context) (st *federated.State, acted bool, err error) {
	c := s.Client.WithKey(s.Key)
	me := ledger.Address(s.Key.Public().(ed25519.PublicKey))
	base := "/api/v1/fl/tasks/" + url.PathEscape(s.Task)
	st = &federated.State{}
	if err := c.Get(ctx, base, st); err != nil {
		return nil, false, err
	}
	if st.Status == federated.StatusDone {
		return st, false, nil
	}
	if !slices.Contains(st.Participants, me) {
		return nil, false, fmt.Errorf("this key's organisation (%s) is not a participant of %s", me, st.ID)
	}
	status, err := c.Status(ctx)
	if err != nil {
		return nil, false, err
	}
	switch {
	case st.Secure && st.KeySet != nil && !slices.Contains(st.KeySet, me):
		return nil, false, fmt.Errorf("%s's key set froze without this site's mask key: it takes no part in this secure task", st.ID)
	case st.Secure && len(st.Dropped) > 0 && slices.Contains(st.Contributed, me):
		err = s.reveal(ctx, c, st, me)
		return st, false, ignoreBenign(err) // then wait for the others'
	case st.Secure && st.KeySet == nil && !slices.ContainsFunc(st.MaskKeys, func(k federated.SiteKey) bool { return k.Site == me }):
		priv, err := federated.MaskKeyFor(s.Key.Seed(), st.ID)
		if err != nil {
			return nil, false, err
		}
		_, err = c.Send(ctx, s.Key, federated.TypeMaskKey, federated.MaskKey{Task: st.ID, PublicKey: hex.EncodeToString(priv.PublicKey().Bytes())}, true)
		return st, true, ignoreBenign(err)
	case st.Secure && st.KeySet == nil && len(st.MaskKeys) < len(st.Participants) && status.Height < st.Opened+st.RoundBlocks/2:
		// The first contribution freezes the key set: wait for the
		// others' keys, for half the round.
		return st, false, nil
	case status.Height >= st.Deadline:
		// The round's deadline has passed (the next block is past it):
		// close it with whoever contributed.
		_, err := c.Send(ctx, s.Key, federated.TypeClose, federated.Close{Task: st.ID, Round: st.Round}, true)
		return st, true, ignoreBenign(err)
	case slices.Contains(st.Contributed, me):
		return st, false, nil
	}
	return st, true, ignoreBenign(s.contribute(ctx, c, st, base))
}

// ignoreBenign drops the refusals a site meets when another moved the task
// on first: it looks again.
func ignoreBenign(err error) error {
	if benign(err) {
		return nil
	}
	return err
}

// contribute trains the round's starting model on the site's data and
// posts it.
func (s *Site) contribute(ctx context.Context, c *client.Client, st *federated.State, base string) error {
	var m federated.RoundView
	if err := c.Get(ctx, base+"/models/"+strconv.FormatInt(st.Round-1, 10), &m); err != nil {
		return err
	}
	w := federated.FromFixed(m.Weights)
	eval := federated.EvalOf(w, s.Holdout)
	local := federated.Train(w, s.Train, float64(st.LearningRate)/1e6, int(st.LocalEpochs))
	body := federated.Contribute{Task: st.ID, Round: st.Round, Samples: int64(len(s.Train)), Weights: federated.ToFixed(local, st.Clip), Eval: eval}
	if st.Secure {
		priv, err := federated.MaskKeyFor(s.Key.Seed(), st.ID)
		if err != nil {
			return err
		}
		me := ledger.Address(s.Key.Public().(ed25519.PublicKey))
		if body.Masked, body.Commitments, _, err = federated.MaskUpdate(priv, me, st.MaskKeys, federated.KeySetOf(st), st.Round, body.Samples, body.Weights); err != nil {
			return err
		}
		body.Weights = nil
	}
	if _, err := c.Send(ctx, s.Key, federated.TypeContribute, body, true); err != nil {
		return err
	}
	if s.Log != nil {
		s.Log(st.Round, eval)
	}
	return nil
}

// reveal posts the site's round seeds with the sites that dropped out of
// a secure round (recomputed: the same as it committed to).
func (s *Site) reveal(ctx context.Context, c *client.Client, st *federated.State, me string) error {
	priv, err := federated.MaskKeyFor(s.Key.Seed(), st.ID)
	if err != nil {
		return err
	}
	_, _, seeds, err := federated.MaskUpdate(priv, me, st.MaskKeys, st.KeySet, st.Round, 1, make([]int64, st.Dim()))
	if err != nil {
		return err
	}
	body := federated.Unmask{Task: st.ID, Round: st.Round}
	for _, d := range st.Dropped {
		body.Seeds = append(body.Seeds, hex.EncodeToString(seeds[d]))
	}
	_, err = c.Send(ctx, s.Key, federated.TypeUnmask, body, true)
	return err
}

// benign are the refusals a runner meets when another site moved the
// task on first: it looks again.
func benign(err error) bool {
	var p *client.Problem
	if !errors.As(err, &p) {
		return false
	}
	return slices.Contains([]string{federated.ErrWrongRound.Name, federated.ErrRoundClosed.Name, federated.ErrContributed.Name, federated.ErrRoundOpen.Name,
		federated.ErrNoUnmasking.Name, federated.ErrKeysFrozen.Name}, p.Code)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
