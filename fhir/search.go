package fhir

import (
	"errors"
	"strings"
	"time"
)

// ErrBadDate is a date search parameter that does not parse.
var ErrBadDate = errors.New("date must be [eq|ne|gt|ge|lt|le]YYYY[-MM[-DD[Thh:mm:ss(Z|±hh:mm)]]]")

// DateFilter is one FHIR date search parameter: a prefix and the range the
// value's precision covers.
type DateFilter struct {
	prefix     string
	start, end time.Time
}

// ParseDate parses a date search value such as "ge2026-11" or "2026-11-22".
func ParseDate(v string) (DateFilter, error) {
	f := DateFilter{prefix: "eq"}
	for _, p := range []string{"eq", "ne", "gt", "ge", "lt", "le"} {
		if strings.HasPrefix(v, p) {
			f.prefix, v = p, v[2:]
			break
		}
	}
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{time.RFC3339, func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, v); err == nil {
			f.start, f.end = t, l.next(t)
			return f, nil
		}
	}
	return f, ErrBadDate
}

// Match reports whether an RFC 3339 instant satisfies the filter.
func (f DateFilter) Match(instant string) bool {
	t, err := time.Parse(time.RFC3339, instant)
	if err != nil {
		return false
	}
	in := !t.Before(f.start) && t.Before(f.end)
	switch f.prefix {
	case "ne":
		return !in
	case "gt":
		return !t.Before(f.end)
	case "ge":
		return !t.Before(f.start)
	case "lt":
		return t.Before(f.start)
	case "le":
		return t.Before(f.end)
	}
	return in
}
