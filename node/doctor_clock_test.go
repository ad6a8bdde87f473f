package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/wire"
)

// TestClockCheck: doctor's clock check on what the node reports, read
// again after a block's time. A chain whose new blocks stay as old as the
// first is a clock ahead; one that resumes after a pause (its first block
// carrying the old votes' time) is not; a chain that does not move is a
// node behind or a chain halted, not a clock.
func TestClockCheck(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	at := func(height int64, age time.Duration) *wire.Status {
		return &wire.Status{Height: height, BlockTime: now.Add(-age)}
	}
	stale, fresh := 2*time.Minute, time.Second
	for _, c := range []struct {
		name   string
		first  *wire.Status
		again  []*wire.Status // what each read after the first answers
		status string
		detail string
	}{
		{"fresh blocks", at(10, fresh), nil, CheckOK, "the latest block is 1s old"},
		{"no block yet", &wire.Status{}, nil, CheckWarn, "no block yet"},
		{"a block ahead of this clock", at(10, -time.Minute), nil, CheckFail, "ahead of this machine's clock"},
		{"catching up", &wire.Status{Height: 10, BlockTime: now.Add(-time.Hour), CatchingUp: true}, nil, CheckWarn, "catching up"},
		{"halted", at(10, stale), []*wire.Status{at(10, stale)}, CheckWarn, "no block for 2m0s"},
		{"new blocks as old: a clock ahead", at(10, stale), []*wire.Status{at(11, stale), at(12, stale)}, CheckFail, "its clock is ahead"},
		{"resumed after a pause", at(10, stale), []*wire.Status{at(11, stale), at(12, fresh)}, CheckOK, "the latest block is 1s old"},
		{"resumed, its next block slow", at(10, stale), []*wire.Status{at(11, stale), at(11, stale), at(12, fresh)}, CheckOK, "1s old"},
		{"resumed at once", at(10, stale), []*wire.Status{at(11, fresh)}, CheckOK, "1s old"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reads := 0
			fetch := func() (*wire.Status, error) {
				if reads >= len(c.again) {
					t.Fatalf("read %d times, the case has %d answers", reads+1, len(c.again))
				}
				reads++
				return c.again[reads-1], nil
			}
			got := clockCheck(context.Background(), fetch, c.first, now, time.Millisecond)
			if got.Status != c.status || !strings.Contains(got.Detail, c.detail) {
				t.Errorf("%s: %s, want %s: …%s…", got.Status, got.Detail, c.status, c.detail)
			}
			if reads != len(c.again) {
				t.Errorf("read the node again %d times, want %d", reads, len(c.again))
			}
		})
	}
}
