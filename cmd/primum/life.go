package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// errLife says what a lifetime may be written as.
var errLife = errors.New("want weeks or days (2w, 30d, 1w3d), a duration (36h, 90m), or both (2d12h)")

// parseLife reads how long something lasts (a consent, a token): whole
// weeks and days first (2w, 30d, 1w3d), which time.ParseDuration does not
// take, then an ordinary Go duration (12h, 90m), or both (2d12h). It must be
// more than zero.
func parseLife(s string) (time.Duration, error) {
	rest, total := s, time.Duration(0)
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', week}, {'d', day}} {
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

// formatLife writes a lifetime as parseLife reads it, in the largest whole
// unit: 2w, 30d, 36h0m0s.
func formatLife(d time.Duration) string {
	switch {
	case d > 0 && d%week == 0:
		return strconv.FormatInt(int64(d/week), 10) + "w"
	case d > 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// lifeFlag is a flag holding a lifetime (parseLife).
type lifeFlag time.Duration

func (l *lifeFlag) Set(s string) error {
	d, err := parseLife(s)
	if err != nil {
		return err
	}
	*l = lifeFlag(d)
	return nil
}

func (l *lifeFlag) String() string { return formatLife(time.Duration(*l)) }

func (l *lifeFlag) Type() string { return "duration" }
