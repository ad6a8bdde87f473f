// Command primum runs and operates a Primum node. main sets up logging and
// runs the root command; each subcommand lives in its own file.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/internal/clienv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	// What the ledger holds (a member's name, a recall's reason, a node's
	// message) reaches a terminal only without control characters: no
	// escape sequence a member typed retitles a window or writes a
	// clipboard.
	stdout, stderr := clienv.TerminalSafe{W: os.Stdout}, clienv.TerminalSafe{W: os.Stderr}
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var p *client.Problem
		if errors.As(err, &p) {
			// What the command says around the node's refusal (which
			// batch, what was done before) comes first.
			context, _ := strings.CutSuffix(err.Error(), p.Error())
			fmt.Fprintf(stderr, "Error [%s]: %s%s\n", p.Code, context, cmp.Or(p.Detail, p.Title))
		} else {
			fmt.Fprintln(stderr, "Error:", err)
		}
		var upgrade *app.UpgradeDueError
		if errors.As(err, &upgrade) {
			os.Exit(exitUpgrade)
		}
		os.Exit(1)
	}
}

// exitUpgrade is the exit status of a node that stopped for (or refuses
// to start without) a software upgrade it does not carry: a supervisor
// restarting on failure should not restart it with the same binary
// (systemd: RestartPreventExitStatus=3).
const exitUpgrade = 3
