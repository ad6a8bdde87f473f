// Package lifetime reads and writes how long something lasts (a consent, a
// service token) as people write it: whole weeks and days (2w, 30d, 1w3d),
// which time.ParseDuration does not take, an ordinary Go duration (36h,
// 90m), or both (2d12h). It only parses and formats: it never reads the
// clock.
package lifetime

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Day and Week are the units a lifetime is written in besides Go's.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// errLife says what a lifetime may be written as.
var errLife = errors.New("want weeks or days (2w, 30d, 1w3d), a duration (36h, 90m), or both (2d12h)")

// Parse reads a lifetime: whole weeks and days first (2w, 30d, 1w3d), then
// an ordinary Go duration (12h, 90m), or both (2d12h). It must be more than
// zero.
func Parse(s string) (time.Duration, error) {
	rest, total := s, time.Duration(0)
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', Week}, {'d', Day}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || rest[i] != u.suffix {
			continue // no such part: perhaps the next unit, or a Go duration
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > (math.MaxInt64-int64(total))/int64(u.unit) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total += time.Duration(n) * u.unit
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, errLife)
		}
		if d > math.MaxInt64-total {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q: must be longer than zero", s)
	}
	return total, nil
}

// Format writes a lifetime as Parse reads it, in the largest whole unit:
// 2w, 30d, 36h0m0s.
func Format(d time.Duration) string {
	switch {
	case d > 0 && d%Week == 0:
		return strconv.FormatInt(int64(d/Week), 10) + "w"
	case d > 0 && d%Day == 0:
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}

// Flag is a command-line flag (a pflag.Value) holding a lifetime.
type Flag time.Duration

func (l *Flag) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*l = Flag(d)
	return nil
}

func (l *Flag) String() string { return Format(time.Duration(*l)) }

func (l *Flag) Type() string { return "duration" }
