package identity

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"github.com/primum-health/primum/ledger"
)

// A practitioner's status changes are kept, dated by the block that made
// them, so that what the practitioner did on a past date can be checked
// against the status they had then: a claim for a service dated inside a
// suspension that has since been lifted is the case a current status
// cannot show (claims). The log starts with this release; changes made
// before it are not in it.

// StatusChange is one change of a practitioner's status.
type StatusChange struct {
	Status string `json:"status"`
	By     string `json:"by"`
	Date   string `json:"date"` // the block's date, UTC, YYYY-MM-DD
	Height int64  `json:"height"`
}

func statusKey(id, date string, height int64) []byte {
	k := append(append(append(append(slices.Clone(prefixStatus), id...), '/'), date...), '/')
	return binary.BigEndian.AppendUint64(k, uint64(height))
}

func logStatus(ctx *ledger.Context, p *Identity) {
	date := ctx.Time.UTC().Format(time.DateOnly)
	ledger.SetJSON(ctx.State, statusKey(p.ID, date, ctx.Height), &StatusChange{Status: p.Status, By: p.StatusBy, Date: date, Height: ctx.Height})
}

// MaxStatusScan bounds how many of a practitioner's status changes
// InactiveOn reads: a practitioner whose status changed more often than
// that on one day counts as not active on it.
const MaxStatusScan = 16

// InactiveOn answers whether the practitioner was suspended or revoked at
// any time on date (YYYY-MM-DD) as far as the log shows: the status in
// force when the day began (the latest change before it) or any change
// made that day. It returns the change that says so, or nil. It reads at
// most MaxStatusScan changes, whatever the log's length.
func InactiveOn(r ledger.Reader, id, date string) (*StatusChange, error) {
	prefix := append(append(slices.Clone(prefixStatus), id...), '/')
	// The last key dated date: the date, then '/' + 0xff…, sorts after
	// every height on that day.
	start := append(append(slices.Clone(prefix), date...), '/', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	var found *StatusChange
	var err error
	n := 0
	scanErr := ledger.Scan(r, prefix, start, true, func(k, v []byte) bool {
		n++
		var c StatusChange
		if err = ledger.DecodeState(v, &c); err != nil {
			return false
		}
		if c.Status != StatusActive {
			found = &c
			return false
		}
		if n >= MaxStatusScan {
			found = &c
			found.Status = "unknown"
			return false
		}
		// An active change made before the day began is the status the
		// day began with.
		return bytes.HasPrefix(k[len(prefix):], []byte(date+"/"))
	})
	if scanErr != nil {
		return nil, scanErr
	}
	return found, err
}
