package clienv

import (
	"strings"
	"testing"
)

// What reaches a terminal carries no escape sequence: control characters
// other than newline, tab and a progress line's carriage return are
// replaced; JSON, which escapes them, is unchanged.
func TestTerminalSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n", "plain text\n"},
		{"name\x1b]52;c;aGk=\x07 ok\n", "name\uFFFD]52;c;aGk=\uFFFD ok\n"},
		{"progress 10%\r", "progress 10%\r"},
		{"c1\u009bcontrol\n", "c1\uFFFDcontrol\n"},
		{`{"name": "evil\u001b[2J"}` + "\n", `{"name": "evil\u001b[2J"}` + "\n"},
	} {
		var out strings.Builder
		if n, err := (TerminalSafe{&out}).Write([]byte(tc.in)); err != nil || n != len(tc.in) || out.String() != tc.want {
			t.Errorf("%q: wrote %q (%d, %v), want %q", tc.in, out.String(), n, err, tc.want)
		}
	}
}
