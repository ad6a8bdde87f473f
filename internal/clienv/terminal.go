package clienv

import (
	"io"
	"strings"
	"unicode"
)

// TerminalSafe writes through to W with control characters other than
// newline, tab and carriage return (a progress line redrawn) replaced by
// U+FFFD: what the ledger holds (a member's name, a recall's reason, a
// node's message) reaches a terminal without an escape sequence a member
// typed to retitle a window or write a clipboard. JSON output is
// unchanged: its encoder escapes them all.
type TerminalSafe struct{ W io.Writer }

// escapes reports a control character a terminal could act on: all but
// the newline, the tab and a progress line's carriage return.
func escapes(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }

func (t TerminalSafe) Write(p []byte) (int, error) {
	if strings.IndexFunc(string(p), escapes) < 0 {
		return t.W.Write(p) // the common case: nothing to replace
	}
	s := strings.Map(func(r rune) rune {
		if escapes(r) {
			return '\uFFFD'
		}
		return r
	}, string(p))
	if _, err := io.WriteString(t.W, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
