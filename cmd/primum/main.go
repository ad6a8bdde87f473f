// Command primum runs and operates a Primum node. main sets up logging and
// runs the root command; each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/primum-health/primum/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		var p *client.Problem
		if errors.As(err, &p) {
			fmt.Fprintf(os.Stderr, "Error [%s]: %s\n", p.Code, p.Detail)
		} else {
			fmt.Fprintln(os.Stderr, "Error:", err)
		}
		os.Exit(1)
	}
}
