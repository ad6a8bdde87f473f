// Command primum runs and operates a Primum node. main sets up logging and
// runs the root command; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"

	"github.com/primum-health/primum/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	// What the ledger holds (a member's name, a recall's reason, a node's
	// message) reaches a terminal only without control characters: no
	// escape sequence a member typed retitles a window or writes a
	// clipboard.
	stdout, stderr := terminalSafe{os.Stdout}, terminalSafe{os.Stderr}
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var p *client.Problem
		if errors.As(err, &p) {
			fmt.Fprintf(stderr, "Error [%s]: %s\n", p.Code, p.Detail)
		} else {
			fmt.Fprintln(stderr, "Error:", err)
		}
		os.Exit(1)
	}
}

// terminalSafe writes through to w with control characters other than
// newline, tab and carriage return (a progress line redrawn) replaced by
// U+FFFD. JSON output is unchanged: its encoder escapes them all.
type terminalSafe struct{ w io.Writer }

// escapes reports a control character a terminal could act on: all but
// the newline, the tab and a progress line's carriage return.
func escapes(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }

func (t terminalSafe) Write(p []byte) (int, error) {
	if strings.IndexFunc(string(p), escapes) < 0 {
		return t.w.Write(p) // the common case: nothing to replace
	}
	s := strings.Map(func(r rune) rune {
		if escapes(r) {
			return '\uFFFD'
		}
		return r
	}, string(p))
	if _, err := io.WriteString(t.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
